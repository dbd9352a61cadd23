"""Equalizing a folder to its median level: measured once, keyed into the extractor id, reported per image."""

import csv
import json
from dataclasses import replace

import pytest
from PIL import Image, ImageEnhance, ImageFilter

from organizer.cli import main
from organizer.embedding import make_spec
from organizer.embedding.embed import embed_folder
from organizer.folder.invalidation import what_changed
from organizer.io import images
from organizer.io.equalize import ImageMetrics
from organizer.samples import SampleSpec, render
from organizer.storage.cache import Cache
from organizer.storage.settings import Settings
from organizer.tools import levels
from organizer.tools.levels import folder_spec, measure_folder, quantised


def dull(image: Image.Image) -> Image.Image:
    """A dim, flat, soft scan of ``image``."""
    image = ImageEnhance.Brightness(image).enhance(0.55)
    image = ImageEnhance.Contrast(image).enhance(0.5)
    return image.filter(ImageFilter.GaussianBlur(1.5))


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "charts"
    root.mkdir()
    for n, family in enumerate(("normal-chevron", "normal-diamonds", "alpha-hearts", "alpha-stars", "normal-zigzag")):
        render(SampleSpec(family, n % 3, 1), (224, 224)).save(root / f"{family}.png")
    dull(render(SampleSpec("normal-chevron", 0, 1), (224, 224))).save(root / "scan-of-chevron.png")
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    return root


def test_the_folder_is_measured_once_and_a_broken_file_is_listed(folder, tmp_path, monkeypatch):
    with Cache(tmp_path / "cache.sqlite") as cache:
        first = measure_folder(folder, cache)
        assert len(first.paths) == 6 and [p.name for p, _ in first.failures] == ["broken.png"]
        dim = first.metrics[[p.name for p in first.paths].index("scan-of-chevron.png")]
        assert dim.brightness < first.reference.brightness and dim.contrast < first.reference.contrast

        decoded = []
        real_decode = images.decode
        monkeypatch.setattr(images, "decode", lambda *a, **k: decoded.append(1) or real_decode(*a, **k))
        # Embedding records the files' hashes; from then on the metrics come from the cache alone.
        embed_folder(folder, make_spec(mode="mean-colour"), cache)
        decoded.clear()
        again = measure_folder(folder, cache)
        assert decoded == []
        assert again.reference.brightness == pytest.approx(first.reference.brightness, abs=0.2)


def test_a_second_measure_reads_no_image_and_a_copy_is_not_decoded(folder, tmp_path, monkeypatch):
    import shutil

    with Cache(tmp_path / "cache.sqlite") as cache:
        first = measure_folder(folder, cache)
        decoded, read = [], []
        real_decode, real_read = images.decode, images.read_bytes
        monkeypatch.setattr(images, "decode", lambda *a, **k: decoded.append(1) or real_decode(*a, **k))
        monkeypatch.setattr(images, "read_bytes", lambda path, *a: read.append(path.name) or real_read(path, *a))
        again = measure_folder(folder, cache)
        assert decoded == [] and read == []
        assert again.metrics == first.metrics and [p.name for p, _ in again.failures] == ["broken.png"]

        shutil.copy(folder / "alpha-hearts.png", folder / "copy-of-hearts.png")
        third = measure_folder(folder, cache)
        assert read == ["copy-of-hearts.png"] and decoded == []
        assert len(third.paths) == 7


def test_the_reference_enters_the_id_quantised(folder, tmp_path):
    with Cache(tmp_path / "cache.sqlite") as cache:
        spec = folder_spec(make_spec(), folder, cache)
    assert "+eq" in spec.id and spec.largest_input >= 256
    close = quantised(ImageMetrics(120.4, 60.2, 30.0)), quantised(ImageMetrics(120.6, 59.9, 30.4))
    assert close[0] == close[1]
    assert quantised(ImageMetrics(120, 60, 30)) != quantised(ImageMetrics(130, 60, 30))


def test_equalizing_brings_a_dull_scan_closer_to_its_original(folder, tmp_path):
    with Cache(tmp_path / "cache.sqlite") as cache:
        # The whole view alone: with the centre view added, this scan and its original come to
        # 0.936 either way (equalized 0.001 lower), so the view would decide the test, not equalizing.
        plain_spec = make_spec(centre_view=False, adapt=False)  # the network's own vectors, which embed_folder stores
        equal_spec = folder_spec(plain_spec, folder, cache)
        similarity = {}
        for name, spec in (("plain", plain_spec), ("equalized", equal_spec)):
            report = embed_folder(folder, spec, cache)
            vectors = cache.vectors(spec.id, report.hashes)
            names = [p.name for p in report.paths]
            original, scan = (vectors[names.index(n)] for n in ("normal-chevron.png", "scan-of-chevron.png"))
            similarity[name] = float(original @ scan)
    assert similarity["equalized"] > similarity["plain"]


def test_the_equalize_command_reports_each_image(folder, capsys):
    assert main(["equalize", str(folder), "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    rows = {row["path"].rsplit("/", 1)[-1]: row for row in report["images"]}
    assert set(rows) == {p.name for p in folder.iterdir()} - {"broken.png"}
    scan = rows["scan-of-chevron.png"]
    assert scan["gain"] > 1 and scan["offset"] > 0 and scan["sharpen"] > 0
    target = report["reference"]["brightness"]
    assert abs(scan["after"]["brightness"] - target) < abs(scan["before"]["brightness"] - target)
    assert "broken.png" in captured.err


def test_the_csv_report_has_a_row_per_image_matching_the_json(folder, capsys):
    assert main(["equalize", str(folder), "--json"]) == 0
    as_json = {row["path"]: row for row in json.loads(capsys.readouterr().out)["images"]}
    assert main(["equalize", str(folder), "--csv"]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert list(rows[0]) == list(levels.REPORT_COLUMNS) and len(rows) == len(as_json) == 6
    for row in rows:
        expected = as_json[row["path"]]
        assert float(row["gain"]) == pytest.approx(expected["gain"], abs=1e-3)
        assert float(row["brightness_after"]) == pytest.approx(expected["after"]["brightness"], abs=1e-2)


def test_scan_with_equalize_uses_a_folder_reference(folder, capsys):
    assert main(["scan", str(folder), "--equalize", "--json", "--mode", "colour"]) == 0
    assert "+eq" in json.loads(capsys.readouterr().out)["extractor"]


def test_turning_equalization_on_in_the_settings_embeds_again():
    assert what_changed(Settings(), replace(Settings(), equalize=True)) == {"embedding", "map", "clusters"}


def test_a_folder_without_images_has_no_reference(tmp_path):
    with Cache(tmp_path / "cache.sqlite") as cache:
        with pytest.raises(ValueError):
            folder_spec(make_spec(), tmp_path, cache)


def test_measuring_can_be_cancelled(folder, tmp_path):
    from organizer.jobs.tasks import Cancelled

    with Cache(tmp_path / "cache.sqlite") as cache, pytest.raises(Cancelled):
        levels.measure_folder(folder, cache, should_stop=lambda: True)
