"""The equalization report: the folder's median and each image's levels before and after, in a worker."""

from __future__ import annotations

import csv

import pytest
from PIL import ImageEnhance

from organizer.gui.dialogs.levels_dialog import LevelsDialog
from organizer.samples import SampleSpec, render
from organizer.tools.levels import REPORT_COLUMNS


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("ORGANIZER_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "charts"
    root.mkdir()
    for n, family in enumerate(("normal-chevron", "normal-diamonds", "alpha-hearts", "alpha-stars")):
        render(SampleSpec(family, n % 3, 1), (200, 200)).save(root / f"{family}.png")
    dim = ImageEnhance.Brightness(render(SampleSpec("normal-chevron", 0, 1), (200, 200))).enhance(0.5)
    dim.save(root / "dim-scan.png")
    (root / "broken.png").write_bytes(b"not an image")
    return root


def column(name: str) -> int:
    return REPORT_COLUMNS.index(name)


def test_the_report_lists_each_image_and_brightens_the_dim_one(qtbot, runner, folder, tmp_path):
    dialog = LevelsDialog(runner, folder)
    qtbot.addWidget(dialog)
    assert not dialog.save_button.isEnabled()
    dialog.start()
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=60_000)
    table = dialog.table
    assert table.rowCount() == 5
    names = [table.item(row, 0).text() for row in range(5)]
    assert "broken.png" not in names and "broken.png" in dialog.status.text()
    dim = names.index("dim-scan.png")
    before = table.item(dim, column("brightness_before")).data(0)
    after = table.item(dim, column("brightness_after")).data(0)
    median = dialog.report.reference[0]
    assert before < median and abs(after - median) < abs(before - median)
    assert table.item(dim, column("gain")).data(0) > 0 and "brightness" in dialog.reference_label.text()

    table.sortItems(column("brightness_before"))
    assert table.item(0, 0).text() == "dim-scan.png"  # sorted as numbers

    target = tmp_path / "levels.csv"
    dialog.save_csv(target)
    qtbot.waitUntil(lambda: target.exists(), timeout=10_000)
    rows = list(csv.DictReader(target.read_text(encoding="utf-8").splitlines()))
    assert len(rows) == 5 and list(rows[0]) == list(REPORT_COLUMNS)
    assert not list(tmp_path.glob("*.part"))


def test_a_folder_without_usable_images_says_so(qtbot, runner, tmp_path, monkeypatch):
    monkeypatch.setenv("ORGANIZER_CACHE_DIR", str(tmp_path / "cache"))
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "broken.png").write_bytes(b"nope")
    dialog = LevelsDialog(runner, empty)
    qtbot.addWidget(dialog)
    dialog.start()
    qtbot.waitUntil(lambda: "No usable images" in dialog.status.text(), timeout=20_000)
    assert dialog.report is None and dialog.measure_button.isEnabled()
