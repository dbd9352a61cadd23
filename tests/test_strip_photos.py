"""A strip photographed lying in a frame (a bracelet on a table, a chart on a page) is cut out of the photo
before its tiles are (organizer.io.preprocess.strip_alone), so the tiles see the strip, not the table."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from organizer.embedding import make_spec
from organizer.embedding.library import load_library
from organizer.io.preprocess import STRIP_MAX_ASPECT, strip_alone, strip_box
from organizer.samples import FAMILIES, SampleSpec, render
from organizer.search.similar import search_similar
from organizer.storage.cache import Cache

STRIP = (480, 96)
TABLE = (720, 300)
AT = (120, 102)
#: One cell of the grid the strip is found on, in pixels of the table photo (48 cells along its short side).
CELL = TABLE[1] / 48


def _strip(family: str = "normal-chevron", colourway: int = 0) -> Image.Image:
    return render(SampleSpec(family, colourway, 0), STRIP).convert("RGB")


def _table(seed: int = 0) -> Image.Image:
    """A wooden table: smooth brown grain, nothing like a knot grid."""
    rng = np.random.default_rng(seed)
    grain = rng.normal(0, 1, (TABLE[1] // 10, 3)).cumsum(axis=0)
    rows = np.repeat(grain, 10, axis=0)[:, None, :] * 6 + (150, 105, 70)
    return Image.fromarray(np.broadcast_to(rows, (TABLE[1], TABLE[0], 3)).clip(0, 255).astype(np.uint8))


def _on_table(strip: Image.Image, seed: int = 0) -> Image.Image:
    photo = _table(seed)
    photo.paste(strip, AT)
    return photo


def test_a_strip_on_a_table_is_found_to_within_a_cell():
    box = strip_box(_on_table(_strip()))

    assert box is not None
    expected = (AT[0], AT[1], AT[0] + STRIP[0], AT[1] + STRIP[1])
    assert np.abs(np.subtract(box, expected)).max() <= 2 * CELL


def test_an_upright_strip_on_a_table_is_found_too():
    photo = _on_table(_strip()).transpose(Image.Transpose.ROTATE_270)

    box = strip_box(photo)

    # Turned a quarter clockwise, the strip's left end is at the top, and its top edge on the right.
    expected = (TABLE[1] - AT[1] - STRIP[1], AT[0], TABLE[1] - AT[1], AT[0] + STRIP[0])
    assert box is not None and np.abs(np.subtract(box, expected)).max() <= 2 * CELL


@pytest.mark.parametrize("family", FAMILIES)
def test_a_flat_strip_is_left_whole(family: str):
    # Flat charts run to the frame's edges, and an alpha row of motifs on its ground leaves the ground between
    # them: neither is a strip lying on something.
    flat = render(SampleSpec(family, 0, 1), (600, 200)).convert("RGB")

    assert strip_box(flat) is None
    assert strip_alone(flat, "auto") is flat


def test_a_strip_the_frame_cuts_along_its_length_is_left_whole():
    photo = _table()
    photo.paste(_strip(), (AT[0], 8))  # 8 px of table above it: under a tenth of the short side

    assert strip_box(photo) is None


def test_only_images_the_policy_tiles_are_cut():
    photo = _on_table(_strip())
    square = photo.crop((0, 0, TABLE[1], TABLE[1]))

    assert strip_alone(photo, "auto").size == strip_alone(photo, "tiles").size != photo.size
    assert strip_alone(photo, "crop") is photo and strip_alone(photo, "pad") is photo
    assert strip_alone(square, "auto") is square


def test_no_strip_is_looked_for_in_a_very_long_image_or_a_grey_one():
    long_photo = Image.new("RGB", (int(TABLE[1] * STRIP_MAX_ASPECT) + 10, TABLE[1]), (150, 105, 70))
    long_photo.paste(_strip(), AT)

    assert strip_box(long_photo) is None
    assert strip_box(_on_table(_strip()).convert("L")) is None


def test_a_bracelet_photographed_on_a_table_finds_its_own_flat_strip(tmp_path):
    strips = FAMILIES[:6]
    for number, family in enumerate(strips):
        flat = _strip(family, number % 4)
        flat.save(tmp_path / f"flat_{family}.png")
        _on_table(flat, seed=number).save(tmp_path / f"table_{family}.png")
    with Cache(tmp_path / "cache.sqlite") as cache:
        library = load_library(tmp_path, make_spec(adapt=False, melt_knots=False), cache)

    for family in strips:
        query = library.paths.index(tmp_path / f"table_{family}.png")
        matches = search_similar(library.paths, library.vectors, query, len(library) - 1).matches
        flats = [m.path.name for m in matches if m.path.name.startswith("flat_")]
        assert flats[0] == f"flat_{family}.png"
