"""The export dialog's "Only the images the filter shows": what the filter bar shows is what the export writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from organizer.io.scan import hash_file

from .test_window_defects import _folder, _open, window  # noqa: F401 - the window fixture these tests share

WAIT_MS = 20_000


@pytest.fixture
def opened(qtbot, window, tmp_path):
    _open(qtbot, window, _folder(tmp_path, 9), 9)
    return window


def _written(out: Path) -> list[str]:
    """The content hashes of the images written under ``out``: the export renames them."""
    return sorted(hash_file(p) for p in out.rglob("*.png"))


def test_with_a_filter_on_the_export_writes_only_the_images_it_shows(qtbot, opened, tmp_path):
    window = opened
    session, bar = window.session, window.filter_bar
    session.model.add_tag([1, 4, 6], "florals")
    session.model.set_rating([1, 4], 4)
    bar.search.setText("flor")
    bar.rating.setCurrentIndex(bar.rating.findData(4))
    shown = sorted(session.library.paths[i].name for i in (1, 4))

    window.open_export()
    dialog = window.export_dialog
    option = dialog.subset_option
    assert option.isEnabled() and option.isChecked()
    assert option.text() == "Only the 2 images the filter shows"
    assert "“flor” in names or tags" in option.toolTip() and "★★★★ or more" in option.toolTip()
    assert "Export 2 of 9 images" in dialog.heading.text()
    out = tmp_path / "out"
    dialog.set_target(out)
    dialog.set_plan("clusters")
    dialog.preview()
    qtbot.waitUntil(lambda: dialog.preview_table.rowCount() > 0, timeout=WAIT_MS)
    assert sorted(dialog.preview_table.item(row, 0).text() for row in range(dialog.preview_table.rowCount())) == shown
    assert "<b>2</b> files" in dialog.plan_summary.text()
    with qtbot.waitSignal(dialog.exported, timeout=WAIT_MS) as signal:
        dialog.start_export()
    assert signal.args[0].done == 2 and not signal.args[0].failed
    assert _written(out) == sorted(session.library.hashes[i] for i in (1, 4))


def test_unchecked_the_export_takes_every_image_again(qtbot, opened, tmp_path):
    window = opened
    window.filter_bar.search.setText(window.session.library.paths[3].stem)
    window.open_export()
    dialog = window.export_dialog
    assert dialog.subset_option.text() == "Only the 1 image the filter shows"
    dialog.subset_option.setChecked(False)
    assert "Export 9 images" in dialog.heading.text()
    out = tmp_path / "all"
    dialog.set_target(out)
    with qtbot.waitSignal(dialog.exported, timeout=WAIT_MS):
        dialog.start_export()
    assert _written(out) == sorted(window.session.library.hashes)


def test_without_a_filter_the_option_is_off_and_says_why(qtbot, opened):
    window = opened
    window.open_export()
    option = window.export_dialog.subset_option
    assert not option.isEnabled() and not option.isChecked() and option.subset() is None
    assert "No filter is on" in option.toolTip()
    assert "Export 9 images" in window.export_dialog.heading.text()
