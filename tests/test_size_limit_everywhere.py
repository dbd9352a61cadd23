"""The "Largest image file" setting reaches every job that reads image files, not only the scan.

A 2.2 MB file against limits of 1 and 3 MB: thumbnails, re-ranking, the levels report,
contact sheets, the preview and the CLI's compare, equalize and align follow the limit
they are given, so a raised one reads the file and a lowered one leaves it out with the
limit's reason, as the scan does.
"""

from __future__ import annotations

import io
import os
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image
from untrusted import needs_fifo, one_line, run_child

from organizer.arrange.sheet import render_sheet
from organizer.cli import main
from organizer.io.images import MB, ImageError
from organizer.samples import write_sample_folder
from organizer.search.rerank import rerank
from organizer.search.similarity import Match
from organizer.storage.settings import Settings

TOO_LARGE = "file too large: 2.2 MB is over the 1.0 MB limit"
UNREADABLE_RED = (200, 60, 60)


@pytest.fixture
def folder(tmp_path) -> Path:
    """Eight rendered samples and ``big.bmp``, one of them enlarged to 2.2 MB."""
    folder = tmp_path / "library"
    paths = write_sample_folder(folder, per_family=1, colourways=1, size=(48, 48))
    for extra in sorted(paths)[8:]:
        extra.unlink()
    with Image.open(sorted(paths)[0]) as sample:
        sample.convert("RGB").resize((900, 820)).save(folder / "big.bmp")
    assert 2.2 * MB < (folder / "big.bmp").stat().st_size < 2.25 * MB
    return folder


def _window(qtbot, folder: Path, **settings):
    from organizer.gui.main_window import MainWindow

    window = MainWindow(Settings(feature_mode="colour", **settings))
    qtbot.addWidget(window)
    window.open_folder(folder)
    qtbot.waitUntil(lambda: window.session.library is not None, timeout=60_000)
    return window


def test_rerank_leaves_out_a_file_over_the_limit_and_reads_it_under_a_raised_one(folder):
    paths = sorted(folder.iterdir())
    query, matches = paths[1], [Match(path, 0.0) for path in paths if path != paths[1]]
    ranked, skipped = rerank(query, matches, "mse", len(matches), max_file_bytes=MB)
    assert [(path.name, reason[:len(TOO_LARGE)]) for path, reason in skipped] == [("big.bmp", TOO_LARGE)]
    assert len(ranked) == len(matches) - 1
    ranked, skipped = rerank(query, matches, "mse", len(matches), max_file_bytes=3 * MB)
    assert skipped == [] and len(ranked) == len(matches)


def test_the_apps_find_similar_reranks_with_its_limit(qtbot, folder):
    window = _window(qtbot, folder, max_file_mb=3, similar_rerank="mse")
    assert len(window.session.library) == 9
    # The limit lowered: the next search re-ranks without reading the big file, and says why.
    window._save_settings(replace(window.session.settings, max_file_mb=1))
    messages = []
    window.session.message.connect(messages.append)
    window.session.find_similar(0)
    qtbot.waitUntil(lambda: any(m.startswith("Re-ranking left out") for m in messages), timeout=30_000)
    (message,) = [m for m in messages if m.startswith("Re-ranking left out")]
    assert message.startswith(f"Re-ranking left out 1 image(s): big.bmp: {TOO_LARGE}")
    window.close()


def test_the_levels_report_leaves_out_what_the_lowered_limit_refuses(qtbot, folder):
    from organizer.gui.dialogs.levels_dialog import LevelsDialog

    window = _window(qtbot, folder, max_file_mb=1)
    window.open_levels()
    dialog = window.findChild(LevelsDialog)
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=60_000)
    assert {path.name: reason[:len(TOO_LARGE)] for path, reason in dialog.report.failures} == {"big.bmp": TOO_LARGE}
    assert "big.bmp" not in {path.name for path, _ in dialog.report.rows} and len(dialog.report.rows) == 8
    window.close()


def test_thumbnails_follow_the_setting_as_it_changes(qtbot, folder):
    window = _window(qtbot, folder, max_file_mb=3)
    loader, big = window.thumbnails, folder / "big.bmp"
    with qtbot.waitSignal(loader.ready, timeout=30_000):
        assert loader.pixmap(big, "big-under-a-raised-limit") is None
    assert loader.pixmap(big, "big-under-a-raised-limit") is not None
    assert not loader.is_broken("big-under-a-raised-limit")
    window._save_settings(replace(window.session.settings, max_file_mb=1))
    with pytest.raises(ImageError, match=f"^{TOO_LARGE}"):
        loader.store.make(big)
    window.close()


def test_a_preview_shows_why_a_file_over_the_limit_is_not_read(qtbot, folder):
    from organizer.gui.panels.preview import PreviewDialog

    preview = PreviewDialog()
    qtbot.addWidget(preview)
    preview.show_image(folder / "big.bmp", "big.bmp", "", max_file_bytes=MB)
    assert not preview.has_image() and TOO_LARGE in preview.image_label.text()
    preview.show_image(folder / "big.bmp", "big.bmp", "", max_file_bytes=3 * MB)
    assert preview.has_image()


@needs_fifo
def test_a_preview_of_a_named_pipe_says_why_instead_of_hanging(tmp_path):
    pipe = tmp_path / "pipe.png"
    os.mkfifo(pipe)
    result = run_child("""
        from pathlib import Path
        app = QApplication([])
        preview = PreviewDialog()
        preview.show_image(Path(sys.argv[1]), "pipe.png", "")
        print(repr(preview.image_label.text()))
    """, str(pipe), imports="from PySide6.QtWidgets import QApplication; from organizer.gui.panels.preview import PreviewDialog",
                       memory_mb=4000)
    assert result.returncode == 0, result.stderr
    assert one_line(result.stdout) == repr("This image cannot be shown.\n\n"
                                           "pipe.png: not a regular file (a named pipe), so not an image")


def test_a_contact_sheet_draws_a_file_over_its_limit_as_unreadable(folder):
    paths = [folder / "big.bmp"]
    for limit, red in ((MB, True), (3 * MB, False)):
        sheet = Image.open(io.BytesIO(render_sheet(paths, [0], 1, cell=32, max_file_bytes=limit)))
        assert (sheet.convert("RGB").getpixel((4 + 16, 4 + 16)) == UNREADABLE_RED) == red, limit


def test_the_cli_compare_takes_the_limit(folder, capsys):
    small, big = str(sorted(folder.iterdir())[0]), str(folder / "big.bmp")
    assert main(["compare", small, big, "--max-file-mb", "1"]) == 2
    assert one_line(capsys.readouterr().err).startswith(f"error: {TOO_LARGE}")
    assert main(["compare", small, big, "--max-file-mb", "3", "--index", "mse"]) == 0


@pytest.mark.parametrize("command", [["equalize"], ["align", "--out", "{tmp}/mean.png"]])
def test_the_cli_equalize_and_align_leave_out_a_file_over_the_limit(folder, tmp_path, capsys, command):
    args = [part.format(tmp=tmp_path) for part in command]
    assert main([args[0], str(folder), *args[1:], "--max-file-mb", "1"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning: left out")]
    assert len(warnings) == 1 and f"big.bmp: {TOO_LARGE}" in warnings[0]


def test_the_export_dialogs_contact_sheet_gets_the_apps_limit(qtbot, folder, tmp_path, monkeypatch):
    from organizer.gui.dialogs import export_dialog as export_module

    given = []

    def recording_run_export(prepared, mode, progress, should_stop, max_file_bytes):
        given.append(max_file_bytes)
        return real_run_export(prepared, mode, progress, should_stop, max_file_bytes)
    real_run_export = export_module.run_export
    monkeypatch.setattr(export_module, "run_export", recording_run_export)
    window = _window(qtbot, folder, max_file_mb=3)
    window.session.settings = replace(window.session.settings, max_file_mb=1)
    window.open_export()
    dialog = window.export_dialog
    dialog.set_plan("grid")
    dialog.set_target(tmp_path / "out")
    dialog.start_export()
    qtbot.waitUntil(lambda: (tmp_path / "out" / "contact_sheet.png").exists(), timeout=60_000)
    assert given == [1 * MB]
    window.close()
