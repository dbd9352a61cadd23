"""A scan shown as it runs: thumbnails and a partial map before it ends, and after a cancel, with Resume.

Each scan here embeds a few images per batch, and one batch waits on an event the test
sets, so what is on view "before the scan ends" is checked while the scan is surely held.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import numpy as np
import pytest

from organizer.embedding import embed as embed_module
from organizer.embedding import embed_inputs
from organizer.embedding.embed import ScanBatch
from organizer.folder import scanning
from organizer.folder.scanning import PartialScan, ScanRate
from organizer.gui.status import OWN_WORDS
from organizer.samples import write_sample_folder

from .test_app import SCAN_TIMEOUT_MS, store, window  # noqa: F401 - the fixtures these tests share

IMAGES = 36
HELD_AFTER = 12


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("live")
    write_sample_folder(folder, per_family=2, colourways=2, size=(64, 64))
    assert len(list(folder.rglob("*.png"))) == IMAGES
    return folder


class HeldScan:
    """Small batches, and the first batch after ``HELD_AFTER`` images waits until :meth:`release`."""

    def __init__(self, monkeypatch, tmp_path):
        monkeypatch.setenv("ORGANIZER_CACHE_DIR", str(tmp_path / "cache"))
        monkeypatch.setattr(embed_module, "auto_batch_size", lambda device, size: 4)
        monkeypatch.setattr(embed_module, "embed_inputs", self._embed)
        self.embedded = 0
        self.holding, self._release = threading.Event(), threading.Event()
        self._held_once = False

    def _embed(self, embedder, inputs):
        if self.embedded >= HELD_AFTER and not self._held_once:
            self._held_once = True
            self.holding.set()
            self._release.wait(SCAN_TIMEOUT_MS / 1000)
        vectors = embed_inputs(embedder, inputs)
        self.embedded += len(inputs)
        return vectors

    def release(self) -> None:
        self._release.set()


@pytest.fixture
def held(monkeypatch, tmp_path):
    scan = HeldScan(monkeypatch, tmp_path)
    yield scan
    scan.release()


def shown_in_grid(window) -> int:
    return sum(1 for row in range(window.grid.model.rowCount()) if not window.grid.model.is_header(row))


def test_thumbnails_and_a_first_map_show_before_the_scan_ends(qtbot, window, small_folder, held, monkeypatch):
    monkeypatch.setattr(scanning, "PARTIAL_MAP_AT", (8,))
    session = window.session
    window.open_folder(small_folder)
    qtbot.waitUntil(held.holding.is_set, timeout=SCAN_TIMEOUT_MS)
    # Every batch before the held one has reported its images; their signals may still be queued.
    qtbot.waitUntil(lambda: len(session.partial.paths) == held.embedded, timeout=SCAN_TIMEOUT_MS)
    ready = len(session.partial.paths)
    assert HELD_AFTER <= ready < IMAGES
    qtbot.waitUntil(lambda: shown_in_grid(window) == ready, timeout=SCAN_TIMEOUT_MS)
    assert window.grid.model.cluster_count() == 1 and "Scanning" in window.grid.summary.text()
    # The map of the first images ready: laid out while the scan is still held.
    qtbot.waitUntil(lambda: window.map_view.point_count() >= 8, timeout=SCAN_TIMEOUT_MS)
    assert session.library is None and session.runner.running("scan")
    held.release()
    qtbot.waitUntil(lambda: session.library is not None and session.book is not None, timeout=SCAN_TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.map_view.point_count() == IMAGES, timeout=SCAN_TIMEOUT_MS)
    assert shown_in_grid(window) == IMAGES


def test_after_a_cancel_the_map_and_grid_keep_the_images_and_resume_finishes(qtbot, window, small_folder, held,
                                                                              monkeypatch):
    monkeypatch.setattr(scanning, "PARTIAL_MAP_AT", (1_000,))  # no partial map before the cancel
    session = window.session
    window.open_folder(small_folder)
    qtbot.waitUntil(held.holding.is_set, timeout=SCAN_TIMEOUT_MS)
    # Every batch before the held one has reported its images; their signals may still be queued.
    qtbot.waitUntil(lambda: len(session.partial.paths) == held.embedded, timeout=SCAN_TIMEOUT_MS)
    ready = len(session.partial.paths)
    qtbot.waitUntil(lambda: shown_in_grid(window) == ready, timeout=SCAN_TIMEOUT_MS)
    assert window.map_view.point_count() == 0
    window.progress.cancel_button.click()
    held.release()
    # The images embedded so far stay on view, mapped, and Resume is offered.
    qtbot.waitUntil(lambda: window.map_view.point_count() == ready, timeout=SCAN_TIMEOUT_MS)
    qtbot.waitUntil(lambda: not session.runner.busy(), timeout=SCAN_TIMEOUT_MS)
    assert shown_in_grid(window) == ready and session.library is None
    assert window.scan_view.resume_button.isVisible()

    reports = []
    # The scan's own counts: adapting to the folder afterwards counts its sampled images (its own words).
    session.progress.connect(lambda stage, done, total, note: reports.append((done, total))
                             if stage == "scan" and not note.startswith(OWN_WORDS) else None)
    window.scan_view.resume_button.click()
    assert not window.scan_view.resume_button.isVisible()
    qtbot.waitUntil(lambda: session.library is not None and session.book is not None, timeout=SCAN_TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.map_view.point_count() == IMAGES, timeout=SCAN_TIMEOUT_MS)
    reused = session.library.report.reused
    assert reused >= ready and session.library.report.embedded == IMAGES - reused
    # The progress of the resumed scan counts the images still to embed, not those in the cache.
    counted = [(done, total) for done, total in reports if (done, total) != (1, 1)]
    assert counted and {total for _, total in counted} == {IMAGES - reused}
    assert counted[0][0] == 0


def test_the_rate_and_eta_count_only_the_images_still_to_embed():
    rate = ScanRate()
    assert rate.report(100, 200, now=50.0) == (0, 100, "")
    # 10 images in 10 s: 1 img/s, and 90 to go. Counting the 100 from the cache made it 11 img/s and 0:08.
    assert rate.report(110, 200, now=60.0) == (10, 100, "1.0 img/s · ETA 1:30 · 100 in the cache")
    fresh = ScanRate()
    fresh.report(0, 40, now=0.0)
    assert fresh.report(10, 40, now=5.0) == (10, 40, "2.0 img/s · ETA 0:15")


def test_a_partial_map_is_due_at_each_step_once():
    partial = PartialScan()
    batch = ScanBatch("x", [Path(f"{i}.png") for i in range(200)], [str(i) for i in range(200)])
    triple = ScanBatch("x", batch.paths * 3, batch.hashes * 3)
    assert not partial.add(batch)
    assert partial.add(batch)  # 400 ready: past 300
    partial.mapped = 400
    assert not partial.add(batch) and partial.unmapped()  # 600: no step between 400 and 600
    partial.mapped = 600
    assert not partial.unmapped()
    assert partial.add(triple)  # 1,200: past 1,000


def test_adapting_to_the_folder_is_shown_in_its_own_words(qtbot, window, sample_folder):
    shown: list[str] = []
    # Connected after the status bar's slot, so it reads the label the status bar has just set.
    window.session.progress.connect(lambda stage, done, total, note: shown.append(window.progress.label.text()))
    window.open_folder(sample_folder)
    qtbot.waitUntil(lambda: window.session.library is not None, timeout=SCAN_TIMEOUT_MS)
    assert window.session.library.projection is not None
    adapting = [text for text in shown if "adapting" in text.lower()]
    distinct = len({p.read_bytes() for p in sample_folder.iterdir()})
    # Counted in the sampled images, not the folder's: never "Embedding 16/36 images · adapting…".
    assert adapting and all(re.fullmatch(rf"Adapting to the folder \d+/{distinct}", text) for text in adapting)


def test_a_folder_entirely_in_the_cache_gets_no_partial_map():
    paths, hashes = [Path(f"{i}.png") for i in range(400)], [str(i) for i in range(400)]
    assert PartialScan().add(ScanBatch("x", paths, hashes))
    cached = PartialScan()
    assert not cached.add(ScanBatch("x", paths, hashes, complete=True))
    assert cached.paths == paths and cached.unmapped()


def test_the_latest_partial_map_is_where_the_final_one_starts():
    partial = PartialScan()
    assert partial.start_for(["a", "b"]) is None
    partial.laid_out(["a", "b"], np.array([[0.0, 1.0], [2.0, 3.0]]))
    partial.laid_out(["b", "c"], np.array([[4.0, 5.0], [6.0, 7.0]]))  # a later one replaces it whole
    start = partial.start_for(["c", "a", "b"])
    assert np.array_equal(start[[0, 2]], [[6.0, 7.0], [4.0, 5.0]]) and np.isnan(start[1]).all()
    # A new scan keeps it until a partial map of its own is laid out to its end.
    following = partial.next_scan()
    assert following.paths == [] and np.array_equal(following.start_for(["c"]), [[6.0, 7.0]])
