"""The window's export: the dialog it opens plans from the folder model, as ``organizer export`` does, and
the window keeps the dialog it opened last."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from .test_window_defects import _folder, _open, window  # noqa: F401 - the window fixture these tests share

WAIT_MS = 20_000


@pytest.fixture
def opened(qtbot, window, tmp_path):
    _open(qtbot, window, _folder(tmp_path, 9), 9)
    return window


def test_the_apps_export_writes_the_tags_ratings_and_labels_set_in_the_app(qtbot, opened, tmp_path):
    window = opened
    model = window.session.model
    model.add_tag([2, 5], "florals")
    model.add_tag([5], "Summer, 2026")
    model.set_rating([2], 4)
    model.set_label([5], "red")
    paths = window.session.library.paths

    window.open_export()
    dialog = window.export_dialog
    out = tmp_path / "tagged"
    dialog.set_target(out)
    with qtbot.waitSignal(dialog.exported, timeout=WAIT_MS):
        dialog.start_export()
    rows = {Path(row["original_path"]).name: row for row in json.loads((out / "ordering.json").read_text())}
    assert len(rows) == 9
    assert (rows[paths[2].name]["tags"], rows[paths[2].name]["rating"], rows[paths[2].name]["label"]) == (["florals"], 4, "")
    assert (rows[paths[5].name]["tags"], rows[paths[5].name]["label"]) == (["florals", "Summer, 2026"], "red")
    assert rows[paths[0].name]["tags"] == [] and rows[paths[0].name]["rating"] == 0
    with (out / "ordering.csv").open(newline="") as table:
        cells = {Path(row["original_path"]).name: row for row in csv.DictReader(table)}
    assert (cells[paths[2].name]["tags"], cells[paths[2].name]["rating"]) == ("florals", "4")
    assert (cells[paths[5].name]["tags"], cells[paths[5].name]["label"]) == ("florals; Summer, 2026", "red")


def test_a_second_export_dialog_stays_the_windows_after_the_first_is_gone(qtbot, opened):
    window = opened
    window.open_export()
    first = window.export_dialog
    window.open_export()
    second = window.export_dialog
    assert second is not first
    gone = []
    first.destroyed.connect(lambda: gone.append(first))
    qtbot.waitUntil(lambda: bool(gone), timeout=WAIT_MS)
    assert window.export_dialog is second and second.isVisible()
