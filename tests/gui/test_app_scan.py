"""The whole app, offscreen, on a 504-image scan: it runs off the GUI thread, a cancel stops it, the next resumes."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer

from organizer.embedding import embed as embed_module
from organizer.embedding import embed_inputs
from organizer.samples import write_sample_folder

from .test_app import SCAN_TIMEOUT_MS, store, window  # noqa: F401 - the fixtures these tests share


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("five_hundred")
    write_sample_folder(folder, per_family=14, colourways=4, size=(128, 128))
    return folder


def test_cancel_mid_scan_stops_it_keeps_the_gui_responsive_and_the_next_scan_resumes(qtbot, window, big_folder):
    session = window.session
    progress = []
    session.progress.connect(lambda stage, done, total, note: progress.append(done) if stage == "scan" else None)
    window.open_folder(big_folder)
    qtbot.waitUntil(lambda: any(d >= 64 for d in progress), timeout=SCAN_TIMEOUT_MS)
    window.progress.cancel_button.click()
    assert "Resume scan" in window.message.text() and window.scan_view.resume_button.isVisible()
    qtbot.waitUntil(lambda: not session.runner.busy(), timeout=SCAN_TIMEOUT_MS)
    assert session.library is None
    # The event loop still turns after the cancel: a queued timer fires.
    fired = []
    QTimer.singleShot(0, lambda: fired.append(True))
    qtbot.waitUntil(lambda: bool(fired), timeout=SCAN_TIMEOUT_MS)

    # The cancelled job really stops, part-way: it had embedded at least 32 images, which
    # the next scan reuses, but not all of them.
    assert session.runner.shutdown(SCAN_TIMEOUT_MS)
    session.rescan()
    qtbot.waitUntil(lambda: session.library is not None, timeout=SCAN_TIMEOUT_MS)
    assert 32 <= session.library.report.reused < 504
    assert len(session.library) == 504


def test_a_scan_embeds_off_the_gui_thread_while_its_event_loop_turns(qtbot, window, big_folder, tmp_path, monkeypatch):
    # How long the loop stalls is a figure for bench/gui.py; this checks where the scan runs.
    monkeypatch.setenv("ORGANIZER_CACHE_DIR", str(tmp_path / "fresh-cache"))
    embedding_threads, batches = set(), []
    entered, holding, release = threading.Event(), threading.Event(), threading.Event()

    def held_spy(embedder, inputs):
        embedding_threads.add(threading.get_ident())
        if not batches:  # the first batch waits for the test: on the GUI thread, it would freeze the loop
            holding.set()
            entered.set()
            release.wait(SCAN_TIMEOUT_MS / 1000)
            holding.clear()
        vectors = embed_inputs(embedder, inputs)
        batches.append(len(inputs))
        return vectors

    monkeypatch.setattr(embed_module, "embed_inputs", held_spy)
    window.open_folder(big_folder)
    try:
        qtbot.waitUntil(entered.is_set, timeout=SCAN_TIMEOUT_MS)
        turned = []  # whether the embedding was still held when the GUI thread ran a queued call
        QTimer.singleShot(0, lambda: turned.append(holding.is_set()))
        qtbot.waitUntil(lambda: bool(turned), timeout=SCAN_TIMEOUT_MS)
    finally:
        release.set()
    qtbot.waitUntil(lambda: window.session.library is not None, timeout=SCAN_TIMEOUT_MS)
    assert turned == [True]
    assert threading.get_ident() not in embedding_threads
    assert window.session.library.report.embedded == sum(batches) == 504
