"""Tests for melting a knot grid's knots before its views are cut (organizer.io.knots)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from fabric import fabric_print

from organizer.embedding import make_spec
from organizer.embedding.embed import view_plan
from organizer.embedding.registry import KNOTS_VERSION
from organizer.io import knots
from organizer.io.preprocess import network_inputs
from organizer.samples import SampleSpec, render


def _chart(family: str = "alpha-hearts", size: tuple[int, int] = (600, 200)) -> Image.Image:
    return render(SampleSpec(family, 0, 0), size=size).convert("RGB")


def _band_power(image: Image.Image, pitch: float) -> float:
    """The grey levels' spectral power within 15 % of the frequency 1 / ``pitch``."""
    grey = np.asarray(image.convert("L"), dtype=np.float64)
    power = np.abs(np.fft.rfft2(grey - grey.mean())) ** 2
    radius = np.hypot(np.fft.fftfreq(grey.shape[0])[:, None], np.fft.rfftfreq(grey.shape[1])[None, :])
    return float(power[np.abs(radius * pitch - 1) < 0.15].sum())


def _cells(image: Image.Image, pitch: float) -> np.ndarray:
    """The image averaged over squares of three knots: the motif, without the knots."""
    side = int(round(3 * pitch))
    pixels = np.asarray(image, dtype=np.float64)
    rows, cols = pixels.shape[0] // side, pixels.shape[1] // side
    return pixels[:rows * side, :cols * side].reshape(rows, side, cols, side, 3).mean(axis=(1, 3))


@pytest.mark.parametrize("family", ["alpha-hearts", "alpha-letters", "normal-chevron"])
def test_a_rendered_chart_loses_its_knots_and_keeps_its_motif(family):
    chart = _chart(family)
    pitch = knots.knot_pitch(chart)
    assert pitch is not None and 4 <= pitch <= 16
    melted = knots.melted(chart)
    assert melted.size == chart.size and melted.mode == "RGB"
    # The knots' own frequency all but gone ...
    assert _band_power(melted, pitch) < 0.05 * _band_power(chart, pitch)
    # ... and the cells' colours, the motif, where they were: far closer than the knots' contrast.
    knot_contrast = np.asarray(chart, dtype=np.float64).std()
    assert np.abs(_cells(melted, pitch) - _cells(chart, pitch)).mean() < 0.25 * knot_contrast


def test_a_chart_at_twice_the_size_has_twice_the_pitch():
    chart = _chart()
    larger = chart.resize((2 * chart.width, 2 * chart.height), Image.Resampling.BICUBIC)
    assert knots.knot_pitch(larger) == pytest.approx(2 * knots.knot_pitch(chart), rel=0.1)


def _smooth_texture(seed: int, size: int = 384) -> Image.Image:
    """Random blobs with no period: noise blurred over many pixels, in colour."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, (size // 16, size // 16, 3)).astype(np.uint8)
    return Image.fromarray(coarse).resize((size, size), Image.Resampling.BICUBIC)


def _stripes(period: int, size: int = 512) -> Image.Image:
    x = np.arange(size)
    row = np.where((x // (period // 2)) % 2 == 0, 40, 220).astype(np.uint8)
    return Image.fromarray(np.repeat(np.tile(row, (size, 1))[..., None], 3, axis=2))


@pytest.mark.parametrize("image", [_smooth_texture(0), _smooth_texture(1), _stripes(64), _stripes(128)],
                         ids=["blobs", "other blobs", "stripes of 64 px", "stripes of 128 px"])
def test_images_with_no_fine_period_are_left_as_they_are(image):
    assert knots.knot_pitch(image) is None
    assert knots.melted(image) is image


@pytest.mark.parametrize("period", [12, 16, 32])
def test_stripes_repeat_in_one_direction_and_are_no_knot_grid(period):
    # Knots repeat across and along a bracelet; stripes only across, and blurred at their own period they
    # would turn to one flat colour.
    assert knots.knot_pitch(_stripes(period)) is None


@pytest.mark.parametrize("lit", [False, True], ids=["flat", "lit"])
@pytest.mark.parametrize(("kind", "pitch"), [("dots", 16), ("dots", 24), ("checks", 20), ("pinstripes", 6)])
def test_a_print_whose_period_is_the_whole_pattern_is_left_as_it_is(kind, pitch, lit):
    # Knots and such a print both repeat, and the spectrum alone takes either for a knot grid; blurred at its
    # period, though, the print keeps only its mean colour, where a chart keeps its motif.
    image = fabric_print(kind, pitch, lit)
    assert knots.knot_pitch(image, knots.Gate(least_left=0.0)) is not None
    assert knots.knot_pitch(image) is None
    assert knots.melted(image) is image


def test_a_print_strip_a_few_periods_tall_is_left_as_it_is():
    # The blur reflects at the square's borders; a side too short to lose them must still lose them on the
    # other side, or the broken period there passes for a motif.
    strip = fabric_print("dots", 22, lit=True, size=512).crop((0, 0, 512, 72))
    assert knots.knot_pitch(strip, knots.Gate(least_left=0.0)) is not None
    assert knots.knot_pitch(strip) is None


@pytest.mark.parametrize("family", ["alpha-hearts", "normal-chevron"])
def test_a_chart_under_a_light_falloff_is_still_melted(family):
    # The motif test divides out a photo's shading by a blur four knots wide; a narrower one would take the
    # motif, which spans several knots, for shading too, and no chart would be melted.
    chart = np.asarray(_chart(family), dtype=np.float64)
    height, width = chart.shape[:2]
    y, x = np.mgrid[0:height, 0:width]
    falloff = 1.05 - 0.45 * np.hypot(x - 0.2 * width, y - 0.3 * height) / np.hypot(width, height)
    lit = Image.fromarray((chart * falloff[..., None]).astype(np.uint8))
    assert knots.knot_pitch(lit) == pytest.approx(knots.knot_pitch(_chart(family)), rel=0.1)


@pytest.mark.parametrize("family", ["alpha-hearts", "alpha-stars", "normal-diamonds", "normal-knotgrid",
                                    "normal-stripes", "normal-zigzag"])
def test_a_pattern_is_judged_alike_at_any_size(family):
    # A chart at one size melted and at another not would be compared melted against unmelted. A largest
    # pitch of 16 px judged each of these families otherwise at one of these sizes than at another.
    pitches = {side: knots.knot_pitch(render(SampleSpec(family, 0, 1), (side, side)).convert("RGB"))
               for side in (160, 256, 400, 640)}
    assert all(pitch is not None for pitch in pitches.values()), pitches


def test_images_it_cannot_judge_are_left_as_they_are():
    grey = _chart().convert("L")
    tiny = _chart().resize((6, 6))
    for image in (grey, tiny):
        assert knots.knot_pitch(image) is None
        assert knots.melted(image) is image


def test_melting_is_left_to_the_folder_and_named_in_the_id_where_it_melts():
    assert make_spec().melt_knots is None and "+kn" not in make_spec().id
    assert not view_plan(make_spec()).melt_knots and not view_plan(make_spec(melt_knots=False)).melt_knots
    melting = make_spec(melt_knots=True)
    assert melting.id == make_spec().id.replace("+lw", f"+kn{KNOTS_VERSION}+lw")
    assert make_spec(melt_knots=False).id == make_spec().id


@pytest.mark.parametrize("flags, setting", [([], "auto"), (["--melt-knots"], "on"), (["--no-melt-knots"], "off")])
def test_the_cli_option_and_the_app_setting_make_the_same_spec(tmp_path, flags, setting):
    from organizer.cli import build_parser
    from organizer.cli.common import spec_from_args
    from organizer.folder.invalidation import extractor_spec
    from organizer.storage.settings import Settings

    args = build_parser().parse_args(["embed", str(tmp_path), *flags])
    assert spec_from_args(args) == extractor_spec(Settings(melt_knots=setting))
    assert spec_from_args(args).melt_knots is {"auto": None, "on": True, "off": False}[setting]


def test_a_network_sees_a_chart_melted_and_a_photo_as_it_is():
    plan = view_plan(make_spec(weights=None, size=64, melt_knots=True))
    assert plan.melt_knots
    chart, photo = _chart(), _smooth_texture(2)

    def same(a: dict, b: dict) -> bool:
        return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)

    assert same(plan.views(chart), network_inputs(knots.melted(chart), 64, "auto", centre_view=True))
    assert not same(plan.views(chart), network_inputs(chart, 64, "auto", centre_view=True))
    assert same(plan.views(photo), network_inputs(photo, 64, "auto", centre_view=True))


def test_a_flat_image_is_left_as_it_is():
    flat = Image.new("RGB", (300, 200), (90, 140, 30))
    assert knots.knot_pitch(flat) is None
    assert knots.melted(flat) is flat


@pytest.mark.parametrize("mode", ["colour", "mean-colour", "palette"])
def test_colour_modes_see_a_chart_s_own_thread_colours(mode):
    plan = view_plan(make_spec(mode=mode, melt_knots=True))
    chart = _chart()
    assert not plan.melt_knots
    views = plan.views(chart)
    assert all(np.array_equal(views[k], v) for k, v in network_inputs(chart, plan.size, "auto").items())


def test_threads_melting_at_once_get_the_serial_results():
    # Decoding threads melt images side by side and share the spectrum's cached grids.
    from concurrent.futures import ThreadPoolExecutor

    charts = [_chart(family, size) for family in ("alpha-hearts", "normal-chevron", "alpha-letters")
              for size in ((600, 200), (256, 256), (333, 457))]
    serial = [np.asarray(knots.melted(chart)) for chart in charts]
    knots._band.cache_clear()
    with ThreadPoolExecutor(4) as pool:
        together = [np.asarray(image) for image in pool.map(knots.melted, charts * 4)]
    assert all(np.array_equal(got, serial[i % len(charts)]) for i, got in enumerate(together))
