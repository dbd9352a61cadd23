"""Tests for the bracelet sample renderer (organizer.samples)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from organizer.samples import (
    FAMILIES,
    PALETTES,
    SampleSpec,
    family_of,
    render,
    write_sample_folder,
)
from organizer.samples.render import _layout


def test_families_are_named_by_style() -> None:
    assert len(FAMILIES) == len(set(FAMILIES)) >= 9
    assert all(f.split("-", 1)[0] in {"normal", "alpha"} and "__" not in f for f in FAMILIES)


def test_palettes_are_distinct() -> None:
    assert len(PALETTES) >= 8
    assert len({p.colours for p in PALETTES}) == len(PALETTES)


@pytest.mark.parametrize("family", FAMILIES)
def test_render_is_deterministic(family: str) -> None:
    spec = SampleSpec(family, colourway=1, variant=4)
    first, second = render(spec), render(spec)
    assert first.size == second.size
    assert np.asarray(first).tobytes() == np.asarray(second).tobytes()
    sized = render(spec, (200, 120))
    assert np.asarray(sized).tobytes() == np.asarray(render(spec, (200, 120))).tobytes()


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_renders_rgb_with_varied_bounded_sizes(family: str) -> None:
    sizes = set()
    for variant in range(8):
        image = render(SampleSpec(family, colourway=variant, variant=variant))
        assert image.mode == "RGB"
        assert 160 <= max(image.size) <= 640
        sizes.add(image.size)
        pixels = np.asarray(image).reshape(-1, 3)
        # A chart, not noise or a blank: several knot colours, but a small palette.
        assert 3 <= len(np.unique(pixels[:: 7], axis=0)) < 4000
    assert len(sizes) >= 6
    shapes = {"square" if w == h else "wide" if w >= 2.5 * h else "tall" if h >= 2.5 * w else
              "landscape" for w, h in sizes}
    assert shapes == {"square", "wide", "tall", "landscape"}


def test_explicit_size_is_used() -> None:
    for family in FAMILIES:
        assert render(SampleSpec(family, 0, 0), (123, 45)).size == (123, 45)
    with pytest.raises(ValueError):
        render(SampleSpec(FAMILIES[0], 0, 0), (0, 10))


@pytest.mark.parametrize("family", FAMILIES)
def test_filename_round_trip(family: str) -> None:
    spec = SampleSpec(family, colourway=2, variant=3)
    assert spec.filename() == f"{family}__c02__v003.png"
    assert spec.filename("jpg").endswith(".jpg")
    assert spec.filename().split("__")[0] == family
    assert family_of(spec.filename("jpg")) == family
    assert family_of(Path("/some/dir__x") / spec.filename()) == family


def test_bad_names_and_specs_are_rejected() -> None:
    with pytest.raises(ValueError):
        family_of("holiday-photo.png")
    with pytest.raises(ValueError):
        SampleSpec("normal-plaid", 0, 0)
    with pytest.raises(ValueError):
        SampleSpec(FAMILIES[0], -1, 0)


@pytest.mark.parametrize(("fmt", "pil_format"), [("png", "PNG"), ("jpg", "JPEG")])
def test_write_sample_folder(tmp_path: Path, fmt: str, pil_format: str) -> None:
    folder = tmp_path / "new" / "samples"
    paths = write_sample_folder(folder, per_family=2, colourways=2, size=(96, 64), fmt=fmt)
    assert len(paths) == len(FAMILIES) * 2 * 2
    # Nothing else is left in the folder: no temporary files from the atomic writes.
    assert sorted(folder.iterdir()) == sorted(paths)
    for path in paths:
        assert path.suffix == f".{fmt}"
        with Image.open(path) as image:
            assert image.format == pil_format
            assert image.size == (96, 64)
            image.load()
    assert sorted(family_of(p) for p in paths) == sorted(FAMILIES * 4)


def test_write_sample_folder_rejects_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_sample_folder(tmp_path, per_family=1, colourways=1, fmt="gif")
    assert list(tmp_path.iterdir()) == []


def _self_similarity(image: Image.Image, step: int) -> np.ndarray:
    """How often a pixel equals the pixel k knots away, for a fan of lattice offsets.

    Offsets are whole knot pitches, so equal pixels mean equal knots; the profile ignores
    where the pattern starts and which colours it uses, leaving only its geometry.
    """
    rgb = np.asarray(image).astype(np.int32)
    flat = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    height, width = flat.shape
    profile = []
    for i, j in itertools.product(range(5), range(-4, 5)):
        if i == 0 and j <= 0:
            continue
        dy, dx = i * step, j * step
        here = flat[dy:, max(dx, 0):width + min(dx, 0)]
        there = flat[:height - dy, max(-dx, 0):width - max(dx, 0)]
        profile.append(np.mean(here == there))
    return np.array(profile)


@pytest.mark.parametrize("colourway", [0, 5])
def test_families_differ_in_geometry(colourway: int) -> None:
    # Variants differ in knot size and string count, which would swamp any pixel-level
    # comparison; so pick, per family, two variants that share knot pitch and string count
    # (and word) and differ only in phase. Their profiles must be near-identical, while
    # every pair of families must differ by a wide margin.
    size, knot, strings = (384, 384), 12, 6
    profiles = {}
    for family in FAMILIES:
        by_word: dict[str, list[int]] = {}
        for variant in range(3000):
            lay = _layout(SampleSpec(family, colourway, variant), size)
            if (lay.knot, lay.n) == (knot, strings):
                by_word.setdefault(lay.word, []).append(variant)
        pair = next(v for v in by_word.values() if len(v) >= 2)[:2]
        profiles[family] = [
            _self_similarity(render(SampleSpec(family, colourway, v), size), knot) for v in pair
        ]
    within = {f: np.abs(a - b).mean() for f, (a, b) in profiles.items()}
    for fam_a, fam_b in itertools.combinations(FAMILIES, 2):
        between = np.abs(profiles[fam_a][0] - profiles[fam_b][0]).mean()
        assert between > 2 * max(within[fam_a], within[fam_b]) + 0.005, (fam_a, fam_b)
