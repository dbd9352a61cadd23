"""The whole app, offscreen: a scan runs off the GUI thread, a cancel stops it part-way, the next resumes.

The scan is held at a known image by the test (``HeldScan``), not raced with a folder large enough to
outlast the clicks: the cancel lands part-way on any machine, and the folder can stay small.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QTimer

from organizer.embedding import embed as embed_module
from organizer.embedding import embed_inputs

from .test_app import SCAN_TIMEOUT_MS, store, window  # noqa: F401 - the fixtures these tests share
from .test_live_scan import HELD_AFTER, IMAGES, held, small_folder  # noqa: F401


def test_cancel_mid_scan_stops_it_keeps_the_gui_responsive_and_the_next_scan_resumes(qtbot, window, small_folder,
                                                                                    held):
    session = window.session
    window.open_folder(small_folder)
    qtbot.waitUntil(held.holding.is_set, timeout=SCAN_TIMEOUT_MS)
    window.progress.cancel_button.click()
    assert "Resume scan" in window.message.text() and window.scan_view.resume_button.isVisible()
    held.release()
    qtbot.waitUntil(lambda: not session.runner.busy(), timeout=SCAN_TIMEOUT_MS)
    assert session.library is None
    # The event loop still turns after the cancel: a queued timer fires.
    fired = []
    QTimer.singleShot(0, lambda: fired.append(True))
    qtbot.waitUntil(lambda: bool(fired), timeout=SCAN_TIMEOUT_MS)

    # The cancelled job really stops, part-way: it had embedded the images before the held batch, which
    # the next scan reuses, but not all of them.
    assert session.runner.shutdown(SCAN_TIMEOUT_MS)
    session.rescan()
    qtbot.waitUntil(lambda: session.library is not None, timeout=SCAN_TIMEOUT_MS)
    assert HELD_AFTER <= session.library.report.reused < IMAGES
    assert len(session.library) == IMAGES


def test_a_scan_embeds_off_the_gui_thread_while_its_event_loop_turns(qtbot, window, small_folder, tmp_path,
                                                                      monkeypatch):
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
    window.open_folder(small_folder)
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
    assert window.session.library.report.embedded == sum(batches) == IMAGES
