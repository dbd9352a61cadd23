"""Alignment recovers known shifts, rotations and scalings of a generated texture."""

from __future__ import annotations

import itertools
import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage as ndi

from organizer.jobs.tasks import Cancelled
from organizer.tools.align import MODELS, REFERENCES, align_images, megabytes, memory_estimate, write_aligned
from organizer.tools.registration import align_arrays, describe_transform, transform_stack

BIG = 260
CROP = 160
MARGIN = 20  # pixels near the border that a moved copy cannot fill from inside the crop


@pytest.fixture(scope="module")
def texture() -> np.ndarray:
    """Smoothed noise plus a few shapes, in [0, 1]: no period for the fit to lock onto."""
    rng = np.random.default_rng(7)
    image = ndi.gaussian_filter(rng.random((BIG, BIG)), 2.0)
    image = (image - image.min()) / (image.max() - image.min())
    yy, xx = np.mgrid[:BIG, :BIG]
    image[90:130, 60:150] += 0.6
    image[(yy - 170) ** 2 + (xx - 180) ** 2 < 25 ** 2] -= 0.5
    image[(yy - 80) ** 2 + (xx - 190) ** 2 < 12 ** 2] += 0.4
    return (image - image.min()) / (image.max() - image.min())


def warp(big: np.ndarray, angle: float = 0.0, scale: float = 1.0,
         shift: tuple[float, float] = (0.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
    """The centre crop of ``big`` moved by a known motion, and that motion's matrix.

    The motion turns ``angle`` degrees clockwise on screen and scales by ``scale`` about
    the crop's centre, then shifts the content by ``shift = (dx, dy)`` pixels. Its matrix,
    in the crop's (x, y) pixels, maps a point of the original to where it lands in the
    copy: the convention ``align`` documents for its transforms.
    """
    theta = np.radians(angle)
    cos, sin = scale * np.cos(theta), scale * np.sin(theta)
    linear = np.array([[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]])

    def about(centre: float) -> np.ndarray:
        to_origin = np.array([[1.0, 0.0, -centre], [0.0, 1.0, -centre], [0.0, 0.0, 1.0]])
        back = np.array([[1.0, 0.0, centre + shift[0]], [0.0, 1.0, centre + shift[1]], [0.0, 0.0, 1.0]])
        return back @ linear @ to_origin

    inverse = np.linalg.inv(about((BIG - 1) / 2))
    swap = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # (x, y) <-> (row, col)
    inverse_rc = swap @ inverse @ swap
    moved = ndi.affine_transform(big, inverse_rc[:2, :2], offset=inverse_rc[:2, 2], order=3, mode="reflect")
    start = (BIG - CROP) // 2
    return moved[start:start + CROP, start:start + CROP], about((CROP - 1) / 2)


def crop(big: np.ndarray) -> np.ndarray:
    start = (BIG - CROP) // 2
    return big[start:start + CROP, start:start + CROP]


def interior(image: np.ndarray) -> np.ndarray:
    return image[MARGIN:-MARGIN, MARGIN:-MARGIN]


def assert_motion(found: np.ndarray, expected: np.ndarray) -> None:
    got, want = describe_transform(found), describe_transform(expected)
    assert got["tx"] == pytest.approx(want["tx"], abs=0.5)
    assert got["ty"] == pytest.approx(want["ty"], abs=0.5)
    assert got["rotation"] == pytest.approx(want["rotation"], abs=0.5)
    assert got["scale"] == pytest.approx(want["scale"], rel=0.02)


def to_rgb(grey: np.ndarray) -> np.ndarray:
    channels = np.stack([grey, grey ** 2, 1.0 - 0.8 * grey], axis=-1)
    return np.clip(np.rint(channels * 255), 0, 255).astype(np.uint8)


def write_png(path, grey: np.ndarray) -> None:
    Image.fromarray(to_rgb(grey), "RGB").save(path)


# the matrix convention -------------------------------------------------------------------

def test_a_shift_reads_as_where_the_content_went(texture):
    moved, _ = warp(texture, shift=(5, -3))
    matrix = align_arrays(np.stack([crop(texture), moved]), "translation")[1]
    assert matrix[:2, 2] == pytest.approx([5, -3], abs=0.5)
    assert matrix[:2, :2] == pytest.approx(np.identity(2))


def test_describe_transform_reads_a_known_matrix():
    theta = np.radians(30)
    matrix = np.array([[2 * np.cos(theta), -2 * np.sin(theta), 4.0],
                       [2 * np.sin(theta), 2 * np.cos(theta), -1.5],
                       [0.0, 0.0, 1.0]])
    assert describe_transform(matrix) == pytest.approx({"tx": 4.0, "ty": -1.5, "rotation": 30.0, "scale": 2.0})
    bilinear = np.identity(4)
    bilinear[:2, 3] = (4.0, -1.5)
    bilinear[0, 2] = 0.01  # the x·y term, which has no angle or scale
    assert describe_transform(bilinear) == pytest.approx({"tx": 4.0, "ty": -1.5, "rotation": 0.0, "scale": 1.0})
    with pytest.raises(ValueError):
        describe_transform(np.identity(2))


# recovering known motions ----------------------------------------------------------------

@pytest.mark.parametrize(("model", "motions"), [
    ("translation", [dict(shift=(5, -3)), dict(shift=(-7, 2))]),
    ("bilinear", [dict(shift=(5, -3)), dict(shift=(-7, 2))]),
    ("rigid", [dict(angle=5, shift=(2, 1)), dict(angle=-8, shift=(-3, 4))]),
    ("scaled-rotation", [dict(angle=4, scale=1.06, shift=(-2, 3)), dict(angle=-3, scale=0.95)]),
    ("affine", [dict(angle=4, scale=1.06, shift=(-2, 3)), dict(angle=-3, scale=0.95)]),
])
def test_known_motions_are_recovered_and_undone(texture, model, motions):
    reference = crop(texture)
    copies, expected = zip(*(warp(texture, **motion) for motion in motions))
    stack = np.stack([reference, *copies])
    transforms = align_arrays(stack, model)
    assert transforms.shape == ((3, 4, 4) if model == "bilinear" else (3, 3, 3))
    assert transforms[0] == pytest.approx(np.identity(transforms.shape[1]))
    for found, want in zip(transforms[1:], expected):
        assert_motion(found, want)

    aligned = transform_stack(stack, transforms, model)
    for before, after in zip(stack[1:], aligned[1:]):
        error_before = np.abs(interior(before) - interior(reference)).mean()
        error_after = np.abs(interior(after) - interior(reference)).mean()
        assert error_after < error_before / 8


def test_transform_stack_handles_colour(texture):
    moved, motion = warp(texture, angle=5, shift=(3, -2))
    colour = np.stack([to_rgb(crop(texture)), to_rgb(moved)]).astype(float)
    transforms = np.stack([np.identity(3), motion])
    aligned = transform_stack(colour, transforms, "rigid")
    assert aligned.shape == colour.shape
    for channel in range(3):
        error = np.abs(interior(aligned[1, ..., channel]) - interior(colour[0, ..., channel])).mean()
        assert error < 3  # of 255


# references ------------------------------------------------------------------------------

def test_the_three_references_agree_on_the_relative_motions(texture):
    motions = [dict(), dict(angle=3, shift=(2, -1)), dict(angle=6, shift=(4, 3)), dict(angle=9, shift=(-1, 5))]
    images, expected = zip(*(warp(texture, **motion) for motion in motions))
    stack = np.stack(images)
    first = align_arrays(stack, "rigid", "first")
    sequential = align_arrays(stack, "rigid", "sequential")
    mean = align_arrays(stack, "rigid", "mean")
    for i in range(1, len(motions)):
        assert_motion(first[i], expected[i])
        # Chained image to image, yet still measured from the first image's frame.
        assert_motion(sequential[i], expected[i])
        # Measured from the mean's frame: relative to the first image, the same motion.
        assert_motion(mean[i] @ np.linalg.inv(mean[0]), expected[i])
    assert not np.allclose(mean[0], np.identity(3), atol=1e-3)


def test_bad_settings_are_refused(texture):
    stack = np.stack([crop(texture)] * 2)
    with pytest.raises(ValueError, match="bilinear"):
        align_arrays(stack, "bilinear", "sequential")
    with pytest.raises(ValueError, match="model"):
        align_arrays(stack, "perspective")
    with pytest.raises(ValueError, match="reference"):
        align_arrays(stack, "rigid", "previous")
    with pytest.raises(ValueError):
        align_arrays(crop(texture), "rigid")


@pytest.mark.parametrize(("model", "reference"), [
    pair for pair in itertools.product(MODELS, REFERENCES) if pair != ("bilinear", "sequential")])
def test_identical_images_need_no_motion_in_any_setting(texture, model, reference):
    stack = np.stack([texture[:96, :96]] * 3)
    transforms = align_arrays(stack, model, reference)
    assert transforms == pytest.approx(np.repeat(np.identity(transforms.shape[1])[None], 3, axis=0), abs=1e-3)


# files -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scan_folder(texture, tmp_path_factory):
    folder = tmp_path_factory.mktemp("scans")
    write_png(folder / "a.png", crop(texture))
    write_png(folder / "b.png", warp(texture, shift=(5, -3))[0])
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    write_png(folder / "c.png", warp(texture, angle=-6, shift=(-4, 2))[0])
    return folder


def test_align_images_end_to_end(texture, scan_folder):
    paths = [scan_folder / name for name in ("a.png", "b.png", "broken.png", "c.png")]
    reports = []
    result = align_images(paths, "rigid", "first", max_side=100,
                          progress=lambda done, total, note="": reports.append((done, total)))

    assert result.paths == [paths[0], paths[1], paths[3]]
    assert [p for p, _ in result.failures] == [paths[2]]
    assert result.failures[0][1]
    assert result.size == (100, 100) and result.source_size == (CROP, CROP)
    assert result.mean_image.size == (100, 100) and result.mean_image.mode == "RGB"

    # Working pixels are 100/160 of the originals.
    ratio = 100 / CROP
    assert describe_transform(result.transforms[1])["tx"] == pytest.approx(5 * ratio, abs=0.4)
    assert describe_transform(result.transforms[1])["ty"] == pytest.approx(-3 * ratio, abs=0.4)
    assert describe_transform(result.transforms[2])["rotation"] == pytest.approx(-6, abs=0.5)

    reference = np.asarray(Image.open(paths[0]).resize((100, 100), Image.Resampling.LANCZOS), dtype=float)
    plain = np.mean([np.asarray(Image.open(p).resize((100, 100), Image.Resampling.LANCZOS), dtype=float)
                     for p in result.paths], axis=0)
    aligned = np.asarray(result.mean_image, dtype=float)
    margin = MARGIN * 100 // CROP
    inner = np.s_[margin:-margin, margin:-margin]
    assert np.abs(aligned[inner] - reference[inner]).mean() < np.abs(plain[inner] - reference[inner]).mean() / 4

    assert reports[-1] == (12, 12)
    assert all(a[0] <= b[0] for a, b in zip(reports, reports[1:]))

    document = json.loads(json.dumps(result.to_json()))
    assert document["model"] == "rigid" and document["reference"] == "first"
    assert np.array(document["transforms"]).shape == (3, 3, 3)
    assert document["failures"][0]["path"].endswith("broken.png")
    assert len(document["motions"]) == 3


def test_images_of_another_size_are_resized_to_the_first(texture, tmp_path):
    write_png(tmp_path / "a.png", crop(texture))
    Image.fromarray(to_rgb(warp(texture, shift=(4, 4))[0])).resize((200, 200)).save(tmp_path / "b.png")
    result = align_images([tmp_path / "a.png", tmp_path / "b.png"], "translation")
    assert result.size == (CROP, CROP)
    assert result.transforms[1][:2, 2] == pytest.approx([4, 4], abs=0.5)


def test_the_source_size_is_the_files_not_the_draft_decodes(texture, tmp_path):
    wide = Image.fromarray(to_rgb(crop(texture))).resize((400, 200))
    wide.save(tmp_path / "a.jpg", quality=95)
    wide.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(tmp_path / "b.jpg", quality=95)
    result = align_images([tmp_path / "a.jpg", tmp_path / "b.jpg"], "translation", max_side=64)
    assert result.source_size == (400, 200)
    assert result.size == (64, 32)


def test_fewer_than_two_readable_images_is_an_error(scan_folder):
    with pytest.raises(ValueError, match="broken.png"):
        align_images([scan_folder / "a.png", scan_folder / "broken.png"])
    with pytest.raises(ValueError, match="two"):
        align_images([])


def test_more_images_than_the_cap_are_refused_before_any_is_read(tmp_path):
    never_written = [tmp_path / f"scan_{i}.png" for i in range(3)]
    with pytest.raises(ValueError, match=r"Aligning 3 images would take about [\d,]+ MB .*the limit is 2 images"):
        align_images(never_written, max_images=2)


def test_the_memory_estimate_covers_what_aligning_holds(texture, tmp_path):
    """Square images at the working size hold what the estimate says, all at once, at the peak."""
    paths = []
    for i in range(6):
        write_png(tmp_path / f"{i}.png", warp(texture, shift=(i, -i))[0])
        paths.append(tmp_path / f"{i}.png")
    tracemalloc.start()
    try:
        align_images(paths, "translation", max_side=96)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert memory_estimate(6, 96) == 6 * 96 * 96 * (3 + 8)
    assert peak >= memory_estimate(6, 96)


def test_the_align_command_refuses_more_images_than_max_images(scan_folder, tmp_path, capsys):
    from organizer.cli import main

    assert main(["align", str(scan_folder), "--out", str(tmp_path / "mean.png"), "--max-images", "2"]) == 2
    error = capsys.readouterr().err
    assert f"about {megabytes(memory_estimate(4))} of memory" in error and "the limit is 2 images" in error
    assert not (tmp_path / "mean.png").exists()


def test_cancelling_stops_each_step(texture, scan_folder):
    stack = np.stack([crop(texture)] * 4)
    calls = iter(range(100))
    with pytest.raises(Cancelled):
        align_arrays(stack, should_stop=lambda: next(calls) >= 2)
    paths = [scan_folder / name for name in ("a.png", "b.png", "c.png")]
    for allowed in (1, 4, 7):  # reading, registering, averaging
        calls = iter(range(100))
        with pytest.raises(Cancelled):
            align_images(paths, should_stop=lambda: next(calls) >= allowed)


def test_write_aligned_never_overwrites(scan_folder, tmp_path):
    paths = [scan_folder / name for name in ("a.png", "b.png", "c.png")]
    result = align_images(paths, "rigid")
    out = tmp_path / "aligned"
    written, failures = write_aligned(result, out)
    assert [p.name for p in written] == ["a.png", "b.png", "c.png"] and not failures
    again, _ = write_aligned(result, out)
    assert [p.name for p in again] == ["a (2).png", "b (2).png", "c (2).png"]
    assert not list(out.glob("*part*"))

    copy = np.asarray(Image.open(out / "b.png"), dtype=float)
    reference = np.asarray(Image.open(paths[0]), dtype=float)
    original = np.asarray(Image.open(paths[1]), dtype=float)
    inner = np.s_[MARGIN:-MARGIN, MARGIN:-MARGIN]
    assert np.abs(copy[inner] - reference[inner]).mean() < np.abs(original[inner] - reference[inner]).mean() / 4

    with pytest.raises(ValueError, match="original"):
        write_aligned(result, scan_folder)


# the command line ------------------------------------------------------------------------

def test_the_align_command_writes_the_mean_and_reports_each_motion(scan_folder, tmp_path, capsys):
    from organizer.cli import main

    out = tmp_path / "mean.png"
    copies = tmp_path / "aligned"
    assert main(["align", str(scan_folder), "--out", str(out), "--model", "rigid", "--json",
                 "--aligned-dir", str(copies)]) == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert [Path(p).name for p in document["paths"]] == ["a.png", "b.png", "c.png"]
    assert document["motions"][2]["rotation"] == pytest.approx(-6, abs=0.5)
    assert "broken.png" in captured.err
    assert Image.open(out).size == (CROP, CROP)
    assert sorted(p.name for p in copies.iterdir()) == ["a.png", "b.png", "c.png"]
    assert not list(tmp_path.glob("*.part"))


def test_the_align_command_needs_two_readable_images(tmp_path, capsys):
    from organizer.cli import main

    Image.new("RGB", (64, 64)).save(tmp_path / "only.png")
    assert main(["align", str(tmp_path), "--out", str(tmp_path / "mean.png")]) == 2
    assert "error:" in capsys.readouterr().err
