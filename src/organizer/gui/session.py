"""The opened folder as the views see it: its images, map, clusters and the user's edits.

The session owns no widget. It starts core jobs through the :class:`TaskRunner` (scan,
then map and clusters side by side), keeps their results, applies cluster edits through
the undo stack and saves them with the folder's cache, from one writer thread, and
announces every change with a signal. Each settings change re-runs only the steps it
invalidates. Every result is applied only while the folder, its scan and (for a split) its
clusters are those it was computed from; see :mod:`organizer.core.generation`.
"""

from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from ..core.edits import ClusterBook, image_keys
from ..core.folder_model import PREPARING_NOTES, for_folder
from ..core.generation import Generation
from ..core.images import MB
from ..core.invalidation import extractor_spec, what_changed
from ..core.library import Library, load_analysis_libraries, load_library, warm_up
from ..core.reduce import MapSpec, cached_map
from ..core.writer import SerialWriter
from ..folder.clustering import ClusterResult, cluster_library, cluster_spec, updated_medoids
from ..storage.cache import Cache
from ..storage.paths import cache_db_path
from ..storage.settings import Settings
from .similar_search import file_search_job, search_job
from .workers import Task, TaskRunner, describe_error


class _BookCommand(QUndoCommand):
    def __init__(self, session: "FolderSession", text: str, before, after):
        super().__init__(text)
        self._session, self._before, self._after = session, before, after

    def redo(self) -> None:
        self._session._set_book_state(self._after)

    def undo(self) -> None:
        self._session._set_book_state(self._before)


class FolderSession(QObject):
    library_changed = Signal()
    layout_changed = Signal(object)
    layout_finished = Signal(str)
    clusters_changed = Signal()
    dendrogram_changed = Signal(object)
    similar_ready = Signal(object)
    failures_changed = Signal(list)
    #: stage ("scan", "map", "clusters", "similar", "split"), done, total, a note for people
    progress = Signal(str, int, int, str)
    message = Signal(str)
    busy_changed = Signal(bool)

    def __init__(self, settings: Settings, parent: QObject | None = None):
        super().__init__(parent)
        self.settings = settings
        self.runner = TaskRunner(self)
        self.runner.busy_changed.connect(self.busy_changed)
        self.undo_stack = QUndoStack(self)
        self.folder: Path | None = None
        self.library: Library | None = None
        self.layout: np.ndarray | None = None
        self.book: ClusterBook | None = None
        self.medoids: dict[int, int] = {}
        #: The edits key the book was computed for; the settings may name another by now.
        self._book_key = ""
        self._closed = False
        self.device_description = "chosen when the first folder opens"
        self.generation = Generation()
        self._writer = SerialWriter(
            on_error=lambda exc: self.message.emit(f"Your edits could not be saved: {describe_error(exc)}"))
        self._scan_started = 0.0
        self._warmed = False

    def _current_only(self, handler: Callable, *, book: bool = False, on_stale: Callable[[], None] | None = None
                      ) -> Callable:
        """``handler`` for a result of the library as it is now (with ``book``, of its clusters
        too): one that lands after they changed is dropped, never shown, and ``on_stale`` called."""
        stamp = self.generation.stamp()

        def deliver(*args) -> None:
            if self.generation.is_current(stamp, book=book):
                handler(*args)
            elif on_stale is not None:
                on_stale()
        return deliver

    def _start(self, slot: str, job: Callable, **handlers: Callable) -> Task | None:
        """Start ``job`` unless the session is shut down: its result would reach a closed window."""
        return None if self._closed else self.runner.start(slot, job, **handlers)

    # opening and scanning ---------------------------------------------------------------
    def warm_up(self, analysis: bool = True) -> None:
        """Load the models' libraries in the background, once; see :func:`core.library.warm_up`."""
        if self._warmed or self.runner.running("warmup"):
            return
        device = self.settings.device

        def done(description: str) -> None:
            self._warmed = True
            self.device_description = description
            # torch, scikit-learn and Qt leave a few million long-lived objects behind, and
            # every full collection walked them all: 100-230 ms with the GIL held, from any
            # thread, so the window froze. Frozen objects are skipped by the collector.
            gc.freeze()

        self._start("warmup", lambda _ctx: warm_up(device, analysis=analysis), on_finished=done)

    def open_folder(self, folder: Path) -> None:
        self.folder = Path(folder).resolve()
        self.library, self.layout, self.book, self.medoids = None, None, None, {}
        self.undo_stack.clear()
        self.library_changed.emit()
        self.rescan()

    def rescan(self) -> None:
        """Scan the folder again: after a settings change that needs new vectors, or after its files moved."""
        if self.folder is None or self._closed:
            return
        folder, settings, device = self.folder, self.settings, self.settings.device
        self.generation.new_library()
        for slot in ("map", "clusters", "split", "similar"):
            self.runner.cancel(slot)

        def job(ctx):
            # In the job, so an invalid choice (a mistyped layer name) reaches the status bar as a failure.
            spec = extractor_spec(settings)
            limit = settings.max_file_mb * MB
            with Cache(cache_db_path(folder)) as cache:
                spec = for_folder(spec, folder, cache, equalize=settings.equalize, device=device,
                                  progress=ctx.progress, should_stop=ctx.should_stop, max_file_bytes=limit)
                return load_library(folder, spec, cache, device=device, progress=ctx.progress,
                                    should_stop=ctx.should_stop, max_file_bytes=limit)

        self._scan_started = time.monotonic()
        self.message.emit(f"Scanning {folder.name}…")
        self._start("scan", job, on_finished=self._current_only(self._scanned), on_progress=self._scan_progress,
                          on_failed=self._failed("scan"), on_cancelled=lambda: None)
        self.warm_up(analysis=False)

    def _scan_progress(self, done: int, total: int, note: str) -> None:
        if note.startswith(PREPARING_NOTES):  # measuring or training before the scan: its own words, no rate
            self.progress.emit("scan", done, total, note)
            return
        elapsed = time.monotonic() - self._scan_started
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else 0.0
        note = f"{rate:.1f} img/s · ETA {int(eta) // 60}:{int(eta) % 60:02d}" if 0 < done < total else ""
        self.progress.emit("scan", done, total, note)

    def _scanned(self, library: Library) -> None:
        # Indices into the old library mean other images now (a move export took some away):
        # its clusters, map and undo history go with it, and results still running are stale.
        self.generation.new_library()
        self.library, self.layout, self.book, self.medoids = library, None, None, {}
        self.undo_stack.clear()
        self.failures_changed.emit(list(library.failures))
        self.library_changed.emit()
        report = library.report
        fresh = f", {report.embedded} embedded in {report.seconds:.1f} s" if report and report.embedded else ""
        failed = f", {len(library.failures)} could not be read" if library.failures else ""
        self.message.emit(f"{len(library)} images{fresh}{failed}")
        self.progress.emit("scan", 1, 1, "")
        self.recompute_map()
        self.recluster()

    def cancel(self) -> None:
        """Stop whatever runs; embedded batches stay cached, so the next open resumes."""
        was_scanning = self.runner.running("scan")
        self.runner.cancel_all()
        self.progress.emit("", 1, 1, "")
        self.message.emit("Cancelled; the images embedded so far are cached and the next scan resumes"
                          if was_scanning else "Cancelled")

    def _failed(self, stage: str, *, book: bool = False):
        def report(text: str) -> None:
            self.progress.emit(stage, 1, 1, "")
            self.message.emit(f"{stage.capitalize()} failed: {text}")
        return self._current_only(report, book=book)

    # map -------------------------------------------------------------------------------
    def recompute_map(self) -> None:
        library = self.library
        if library is None or len(library) < 2:
            return
        spec = MapSpec(perplexity=self.settings.perplexity)

        def job(ctx):
            load_analysis_libraries()
            with Cache(cache_db_path(library.folder)) as cache:
                return cached_map(cache, library.spec.id, library.hashes, library.vectors, spec,
                                  progress=ctx.progress, should_stop=ctx.should_stop, on_partial=ctx.partial)

        self._start("map", job, on_finished=self._current_only(self._mapped),
                          on_partial=self._current_only(self._map_partial),
                          on_progress=lambda d, t, n: self.progress.emit("map", d, t, n),
                          on_failed=self._failed("map"))

    def _map_partial(self, layout: np.ndarray) -> None:
        self.layout = layout
        self.layout_changed.emit(layout)

    def _mapped(self, result) -> None:
        self.layout, source = result
        self.layout_changed.emit(self.layout)
        self.layout_finished.emit(source)
        self.progress.emit("map", 1, 1, "")

    # clusters --------------------------------------------------------------------------
    def recluster(self) -> None:
        library = self.library
        if library is None:
            return
        self.generation.new_book()
        spec, flush = cluster_spec(self.settings), self._writer.flush

        def job(ctx) -> ClusterResult:
            return cluster_library(library, spec, cache_db_path(library.folder), progress=ctx.progress,
                                   should_stop=ctx.should_stop, flush=flush)
        self._start("clusters", job, on_finished=self._current_only(self._clustered),
                          on_progress=lambda d, t, n: self.progress.emit("clusters", d, t, n),
                          on_failed=self._failed("clusters"))

    def _clustered(self, result: ClusterResult) -> None:
        self.generation.new_book()
        self.undo_stack.clear()
        self.book, self.medoids, self._book_key = result.book, result.medoids, result.key
        self.progress.emit("clusters", 1, 1, "")
        self.clusters_changed.emit()
        self.dendrogram_changed.emit(result.dendrogram)
        if result.restored:
            self.message.emit("Your cluster edits were restored")

    # editing ---------------------------------------------------------------------------
    def _edit(self, text: str, change) -> None:
        if self.book is None:
            return
        before = self.book.snapshot()
        change(self.book)
        after = self.book.snapshot()
        self.book.restore(before)
        self.undo_stack.push(_BookCommand(self, text, before, after))

    def _set_book_state(self, state) -> None:
        old_labels = self.book.labels
        self.book.restore(state)
        self.generation.new_book()
        self.medoids = updated_medoids(self.book, self.library.vectors, self.medoids, old_labels)
        self._save_edits()
        self.clusters_changed.emit()

    def _save_edits(self) -> None:
        """Save the book on the writer thread (opening the cache on the GUI thread froze the window),
        under the key it was computed for: a recluster for new settings would restore it as theirs."""
        library, (labels, names), key = self.library, self.book.snapshot(), self._book_key

        def write() -> None:
            text = ClusterBook(labels, names).to_json(image_keys(library.folder, library.paths), library.hashes)
            with Cache(cache_db_path(library.folder)) as cache:
                cache.put_edits(key, text)
        self._writer.submit((library.folder, key), write)

    def move_to_cluster(self, indices: list[int], label: int) -> None:
        moving = [i for i in indices if self.book is not None and self.book.labels[i] != label]
        if moving:
            name = self.book.name(label)
            self._edit(f"Move {len(moving)} image{'s' * (len(moving) != 1)} to {name}",
                       lambda book: book.move(moving, label))

    def new_cluster(self, indices: list[int]) -> int | None:
        if self.book is None or not indices:
            return None
        label = self.book.new_label()
        self._edit(f"New cluster of {len(indices)}", lambda book: book.move(indices, label))
        return label

    def merge(self, keep: int, absorbed: int) -> None:
        if self.book is not None and keep != absorbed:
            self._edit(f"Merge {self.book.name(absorbed)} into {self.book.name(keep)}",
                       lambda book: book.merge(keep, absorbed))

    def rename(self, label: int, name: str) -> None:
        if self.book is not None and name.strip() != self.book.name(label):
            self._edit(f"Rename to {name.strip()}", lambda book: book.rename(label, name))

    def split(self, label: int) -> None:
        """Re-cluster one cluster's members in a worker, then apply the result as one edit."""
        if self.book is None or self.library is None:
            return
        scratch = ClusterBook(*self.book.snapshot())
        vectors, name = self.library.vectors, self.book.name(label)

        def job(ctx):
            scratch.split(label, vectors, should_stop=ctx.should_stop)
            return scratch.snapshot()

        def done(after) -> None:
            before = self.book.snapshot()
            self.undo_stack.push(_BookCommand(self, f"Split {self.book.name(label)}", before, after))

        def dropped() -> None:
            self.message.emit(f"The split of {name} was dropped: the clusters changed while it ran")

        # Computed from the clusters as they are now: after a recluster or another edit it would undo those.
        self._start("split", job, on_finished=self._current_only(done, book=True, on_stale=dropped),
                    on_failed=self._failed("split", book=True))

    # find similar ----------------------------------------------------------------------
    def find_similar(self, index: int) -> None:
        if self.library is None:
            return
        job = search_job(self.library, index, self.settings.similar_count, self.settings.similar_rerank,
                         self.message.emit, max_file_bytes=self.settings.max_file_mb * MB)
        self._start("similar", job, on_finished=self._current_only(self.similar_ready.emit),
                    on_failed=self._failed("similar"))

    def find_similar_to_file(self, path: Path) -> None:
        """Search with an image from outside the folder (its embedding loads the model once)."""
        if self.library is None:
            self.message.emit("Open a folder first, then drop an image on it to search")
            return
        settings = self.settings
        self.message.emit(f"Searching with {Path(path).name}…")
        job = file_search_job(self.library, Path(path), settings.similar_count, settings.device,
                              settings.similar_rerank, self.message.emit,
                              max_file_bytes=settings.max_file_mb * MB)
        self._start("similar", job, on_finished=self._current_only(self.similar_ready.emit),
                          on_failed=self._failed("search"))

    # settings --------------------------------------------------------------------------
    def apply_settings(self, settings: Settings) -> None:
        changed = what_changed(self.settings, settings)
        self.settings = settings
        if "embedding" in changed:
            self.rescan()
            return
        if "map" in changed:
            self.recompute_map()
        if "clusters" in changed:
            self.recluster()

    def shutdown(self) -> None:
        """Stop the jobs and write the edits still waiting; the session starts no work after it."""
        self._closed = True
        self.runner.shutdown()
        self._writer.close()
