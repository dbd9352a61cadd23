"""Tests for leaving the knot melting to the folder (organizer.folder.extractor.with_knot_choice)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image
from fabric import fabric_print

from organizer.embedding import make_spec
from organizer.embedding.registry import KNOTS_VERSION
from organizer.folder import extractor
from organizer.folder.extractor import with_knot_choice
from organizer.folder.loading import open_library
from organizer.samples import FAMILIES, SampleSpec, render
from organizer.storage.cache import Cache

SMALL = make_spec(weights=None, size=64)


def _charts(folder, count: int, start: int = 0) -> None:
    folder.mkdir(exist_ok=True)
    for i in range(start, start + count):
        spec = SampleSpec(FAMILIES[i % len(FAMILIES)], i % 4, i // len(FAMILIES))
        render(spec, (200 + 40 * (i % 5), 200)).convert("RGB").save(folder / f"chart_{i:03d}.png")


def _photos(folder, count: int, start: int = 0) -> None:
    """Smooth colour blobs, as texture photos are to the gate: no period."""
    folder.mkdir(exist_ok=True)
    for i in range(start, start + count):
        coarse = np.random.default_rng(i).uniform(0, 255, (16, 20, 3)).astype(np.uint8)
        Image.fromarray(coarse).resize((320, 256), Image.Resampling.BICUBIC).save(folder / f"photo_{i:03d}.jpg")


def _choice(folder, cache_path, spec=SMALL):
    with Cache(cache_path) as cache:
        return with_knot_choice(spec, folder, cache).melt_knots


def test_a_folder_of_charts_is_melted_and_one_of_photos_is_not(tmp_path):
    _charts(tmp_path / "charts", 10)
    _photos(tmp_path / "photos", 10)
    assert _choice(tmp_path / "charts", tmp_path / "charts.sqlite") is True
    assert _choice(tmp_path / "photos", tmp_path / "photos.sqlite") is False


def test_a_folder_is_melted_only_where_most_of_it_is_knot_grids(tmp_path):
    _charts(tmp_path / "mostly", 7)
    _photos(tmp_path / "mostly", 3)
    _charts(tmp_path / "few", 3)
    _photos(tmp_path / "few", 7)
    assert _choice(tmp_path / "mostly", tmp_path / "mostly.sqlite") is True
    assert _choice(tmp_path / "few", tmp_path / "few.sqlite") is False


def test_a_folder_of_prints_that_repeat_is_not_melted(tmp_path):
    # Dots, checks and pinstripes repeat as knots do; blurred at their period they would keep only their mean
    # colour, so they are no knot grids, and a fabric library made of them is left as it is.
    folder = tmp_path / "prints"
    folder.mkdir()
    for i, (kind, pitch) in enumerate([("dots", 16), ("dots", 24), ("checks", 20), ("pinstripes", 6)] * 2):
        fabric_print(kind, pitch, lit=i >= 4).save(folder / f"{kind}_{i}.png")
    _photos(folder, 2)
    assert _choice(folder, tmp_path / "prints.sqlite") is False


def test_the_choice_is_kept_as_the_folder_grows(tmp_path, monkeypatch):
    # Images added later never flip it, which would embed the whole folder again.
    monkeypatch.setattr(extractor, "SAMPLE", 6)
    folder, cache = tmp_path / "library", tmp_path / "library.sqlite"
    _charts(folder, 8)
    assert _choice(folder, cache) is True
    _photos(folder, 30)
    assert _choice(folder, cache) is True
    # ... unless the stored choice is gone or unreadable: then it is made again, on the folder as it is now.
    for damaged in ("null", "{not json", '{"melt": "yes", "files": 8}'):
        with Cache(cache) as opened:
            opened.put_meta(extractor.CHOICE_KEY, damaged)
        assert _choice(folder, cache) is False


def test_a_choice_made_on_a_handful_of_images_is_made_again_once_the_folder_holds_more(tmp_path, monkeypatch):
    monkeypatch.setattr(extractor, "SAMPLE", 12)
    folder, cache = tmp_path / "library", tmp_path / "library.sqlite"
    _photos(folder, 2)
    assert _choice(folder, cache) is False
    _charts(folder, 20)
    assert _choice(folder, cache) is True


def test_a_choice_the_user_made_is_kept_and_nothing_is_judged(tmp_path):
    _charts(tmp_path / "charts", 4)
    for chosen in (True, False):
        with Cache(tmp_path / "cache.sqlite") as cache:
            assert with_knot_choice(make_spec(weights=None, melt_knots=chosen), tmp_path / "charts", cache).melt_knots \
                is chosen
            assert cache.get_meta(extractor.CHOICE_KEY) is None
    assert make_spec(mode="colour").melt_knots is False


def test_judging_reports_each_image_and_can_be_cancelled(tmp_path):
    from organizer.folder.extractor import JUDGING_NOTE
    from organizer.jobs.tasks import Cancelled

    _charts(tmp_path / "charts", 5)
    reported = []
    with Cache(tmp_path / "cache.sqlite") as cache:
        with_knot_choice(SMALL, tmp_path / "charts", cache, progress=lambda *step: reported.append(step))
    assert reported == [(done, 5, JUDGING_NOTE) for done in range(6)]
    with Cache(tmp_path / "stopped.sqlite") as cache:
        with pytest.raises(Cancelled):
            with_knot_choice(SMALL, tmp_path / "charts", cache, should_stop=lambda: True)
        assert cache.get_meta(extractor.CHOICE_KEY) is None


def test_unreadable_files_are_not_judged(tmp_path):
    folder = tmp_path / "library"
    _charts(folder, 3)
    for i in range(5):
        (folder / f"broken_{i}.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    assert _choice(folder, tmp_path / "cache.sqlite") is True
    only_broken = tmp_path / "broken"
    only_broken.mkdir()
    (only_broken / "broken.jpg").write_bytes(b"\xff\xd8\xff nothing")
    with Cache(tmp_path / "broken.sqlite") as cache:
        assert with_knot_choice(SMALL, only_broken, cache).melt_knots is False
        assert cache.get_meta(extractor.CHOICE_KEY) is None


def test_folders_judged_at_once_get_the_serial_choices(tmp_path):
    folders = []
    for i in range(4):
        folder = tmp_path / f"f{i}"
        (_charts if i % 2 else _photos)(folder, 6)
        folders.append(folder)
    serial = [_choice(folder, tmp_path / f"serial{i}.sqlite") for i, folder in enumerate(folders)]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda i: _choice(folders[i % 4], tmp_path / f"together{i}.sqlite"), range(8)))
    assert serial == [False, True, False, True] and together == serial * 2


@pytest.mark.parametrize("maker, melted", [(_charts, True), (_photos, False)])
def test_an_opened_library_is_embedded_and_searched_as_its_folder_chose(tmp_path, maker, melted):
    folder = tmp_path / "library"
    maker(folder, 6)
    with Cache(tmp_path / "cache.sqlite") as cache:
        library = open_library(folder, SMALL, cache)
    assert library.spec.melt_knots is melted
    assert (f"+kn{KNOTS_VERSION}" in library.spec.id) is melted


def test_the_folder_is_judged_on_what_its_views_are_cut_from(tmp_path, monkeypatch):
    # A bracelet photographed on a table is cut out of the photo before its knots are melted and its tiles cut
    # (io.preprocess.strip_alone), so the gate judges the strip, as the scan will melt it, not the table.
    folder = tmp_path / "photos"
    folder.mkdir()
    table = np.zeros((300, 720, 3), np.uint8) + np.array([150, 105, 70], np.uint8)
    for i in range(3):
        photo = Image.fromarray(table)
        photo.paste(render(SampleSpec(FAMILIES[i], 0, 0), (480, 96)).convert("RGB"), (120, 102))
        photo.save(folder / f"bracelet_{i}.png")
    judged = []
    monkeypatch.setattr(extractor.knots, "knot_pitch", lambda image: judged.append(image.size))

    _choice(folder, tmp_path / "cache.sqlite")

    assert len(judged) == 3
    # The strip is 480 × 96 px of the 720 × 300 photo; its box takes a cell or two of table around it.
    assert all(480 <= width <= 500 and 96 <= height <= 130 for width, height in judged)
