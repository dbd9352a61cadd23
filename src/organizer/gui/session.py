"""The opened folder as the views see it: its images, map, clusters and the user's edits.

The session owns no widget. It starts core jobs through the :class:`TaskRunner` (scan,
then map and clusters side by side) and hands their results to its
:class:`~organizer.folder.FolderModel`, which holds them with the cluster edits and their
undo history (the CLI reads the same model). The model saves edits from the session's
writer thread, and the session turns the model's events into signals. Each settings change re-runs only the steps it
invalidates. Every result is applied only while the folder, its scan and (for a split) its
clusters are those it was computed from; see :mod:`organizer.jobs.generation`.
"""

from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal

from ..analysis.edits import ClusterBook
from ..analysis.reduce import MapSpec, cached_map
from ..embedding.embed import ScanBatch
from ..embedding.library import Library, load_analysis_libraries, warm_up
from ..folder import ClusterResult, FolderModel, cluster_library, cluster_spec, load_annotations
from ..folder.invalidation import what_changed
from ..folder.loading import OpenedLibrary, open_library_or_default
from ..folder.scanning import PartialScan, ScanRate
from ..io.images import MB, Region
from ..jobs.generation import Generation
from ..jobs.writer import SerialWriter
from ..storage.cache import Cache
from ..storage.paths import cache_db_path
from ..storage.settings import Settings
from .dialogs.model_choice import fallback_text
from .panels.similar_search import file_search_job, search_job, searching_words
from .status import OWN_WORDS
from .workers import Task, TaskRunner, describe_error


class FolderSession(QObject):
    library_changed = Signal()
    layout_changed = Signal(object)
    layout_finished = Signal(str)
    clusters_changed = Signal()
    similar_ready = Signal(object)
    failures_changed = Signal(list)
    #: The session replaced its settings (the chosen model's weights could not be had): the owner saves them.
    settings_replaced = Signal(object)
    #: stage ("scan", "map", "clusters", "similar", "split"), done, total, a note for people
    progress = Signal(str, int, int, str)
    message = Signal(str)
    #: slot, words for a job at work ("Scanning…"): shown until that slot's job ends
    working = Signal(str, str)
    #: a slot's job ended, however it did; its progress and working words go
    job_ended = Signal(str)
    #: A note that lasts while the folder is shown, unlike a message: why the chosen model gave way
    #: to the default. "" clears it.
    notice = Signal(str)
    busy_changed = Signal(bool)
    #: The edit history changed: what Undo and Redo would do now.
    history_changed = Signal()
    #: Tags, ratings or labels changed: the indices, or None for all.
    annotations_changed = Signal(object)
    #: A running scan's images ready so far (paths, hashes): shown before the library exists.
    scan_grew = Signal(list, list)
    #: A map of the running (or cancelled) scan's images so far: layout, paths, hashes.
    scan_layout = Signal(object, list, list)
    #: Whether a cancelled scan can be resumed.
    resumable = Signal(bool)

    def __init__(self, settings: Settings, parent: QObject | None = None):
        super().__init__(parent)
        self.settings = settings
        self.runner = TaskRunner(self)
        self.runner.busy_changed.connect(self.busy_changed)
        self.runner.slot_ended.connect(self.job_ended)
        self._closed = False
        self.device_description = "chosen when the first folder opens"
        self._writer = SerialWriter(
            on_error=lambda exc: self.message.emit(f"Your edits could not be saved: {describe_error(exc)}"))
        #: The folder's state, edits and undo history; the session runs its jobs and signals its changes.
        self.model = FolderModel(submit=self._writer.submit)
        self.model.library_changed.connect(self.library_changed.emit)
        self.model.layout_changed.connect(self.layout_changed.emit)
        self.model.clusters_changed.connect(self.clusters_changed.emit)
        self.model.history.changed.connect(self.history_changed.emit)
        self.model.annotations_changed.connect(self.annotations_changed.emit)
        self._rate = ScanRate()
        #: The running (or cancelled) scan's images ready so far, shown before its library exists.
        self.partial = PartialScan()
        self._warmed = False

    @property
    def folder(self) -> Path | None:
        return self.model.folder

    @property
    def library(self) -> Library | None:
        return self.model.library

    @property
    def layout(self) -> np.ndarray | None:
        return self.model.layout

    @property
    def book(self) -> ClusterBook | None:
        return self.model.book

    @property
    def medoids(self) -> dict[int, int]:
        return self.model.medoids

    @property
    def generation(self) -> Generation:
        return self.model.generation

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
        """Load the models' libraries in the background, once; see :func:`embedding.library.warm_up`."""
        if self._warmed or self.runner.running("warmup"):
            return
        device, backend = self.settings.device, self.settings.runtime

        def done(description: str) -> None:
            self._warmed = True
            self.device_description = description
            # torch, scikit-learn and Qt leave a few million long-lived objects behind, and
            # every full collection walked them all: 100-230 ms with the GIL held, from any
            # thread, so the window froze. Frozen objects are skipped by the collector.
            gc.freeze()

        self._start("warmup", lambda _ctx: warm_up(device, analysis=analysis, backend=backend), on_finished=done)

    def open_folder(self, folder: Path) -> None:
        self.model.open(folder)
        # The previous folder's problems and notice: this one's come with its scan.
        self.failures_changed.emit([])
        self.notice.emit("")
        self.rescan()

    def rescan(self) -> None:
        """Scan the folder again: after a settings change that needs new vectors, or after its files moved."""
        if self.folder is None or self._closed:
            return
        folder, settings = self.folder, self.settings
        self.generation.new_library()
        for slot in ("map", "clusters", "split", "similar"):
            self.runner.cancel(slot)

        def job(ctx) -> OpenedLibrary:
            # An invalid choice (a mistyped layer name) raises in the job, to reach the status bar as a failure.
            with Cache(cache_db_path(folder)) as cache:
                return open_library_or_default(folder, settings, cache, preparing=ctx.progress, progress=ctx.progress,
                                               should_stop=ctx.should_stop, max_file_bytes=settings.max_file_mb * MB,
                                               on_ready=ctx.partial)

        self._rate, self.partial = ScanRate(), self.partial.next_scan()
        self.resumable.emit(False)
        self._start("scan", job, on_finished=self._current_only(self._scanned), on_progress=self._scan_progress,
                    on_partial=self._current_only(self._scan_ready), on_failed=self._failed("scan"),
                    on_cancelled=lambda: None)
        self.working.emit("scan", f"Scanning {folder.name}…")  # after the start, which ends an old scan
        self.warm_up(analysis=False)

    def _scan_progress(self, done: int, total: int, note: str) -> None:
        if note.startswith(OWN_WORDS):  # before or after the scan: its own words, no rate
            self.progress.emit("scan", done, total, note)
            return
        self.progress.emit("scan", *self._rate.report(done, total, time.monotonic()))

    def _scan_ready(self, batch: ScanBatch) -> None:
        """More of the scan's images are ready: show them, and map them at each step of PARTIAL_MAP_AT."""
        if self.partial.add(batch):
            self._map_ready_images()
        self.scan_grew.emit(list(self.partial.paths), list(self.partial.hashes))

    def _map_ready_images(self) -> None:
        """Lay out the scan's images ready so far, in the map slot: a newer layout supersedes it."""
        folder, extractor = self.folder, self.partial.extractor
        paths, hashes = list(self.partial.paths), list(self.partial.hashes)
        spec = MapSpec(perplexity=self.settings.perplexity)
        self.partial.mapped = len(hashes)

        def job(ctx):
            load_analysis_libraries()
            with Cache(cache_db_path(folder)) as cache:
                vectors = cache.vectors(extractor, hashes)
                return cached_map(cache, extractor, hashes, vectors, spec, progress=ctx.progress,
                                  should_stop=ctx.should_stop, on_partial=ctx.partial)[0]

        partial = self.partial

        def show(layout: np.ndarray) -> None:
            self.scan_layout.emit(layout, paths, hashes)

        def finished(layout: np.ndarray) -> None:
            partial.laid_out(hashes, layout)
            show(layout)
            self.progress.emit("map", 1, 1, "")
        self._start("map", job, on_finished=self._current_only(finished), on_partial=self._current_only(show),
                    on_progress=lambda d, t, n: self.progress.emit("map", d, t, n),
                    on_failed=self._failed("map"))

    def _scanned(self, opened: OpenedLibrary) -> None:
        library = opened.library
        if opened.fallback is None:
            self.notice.emit("")
        else:
            self.notice.emit(fallback_text(self.settings.model, opened.fallback))
            # Every later scan uses the default too, until the user chooses again in the settings.
            self.settings = opened.settings
            self.settings_replaced.emit(opened.settings)
        # The model drops the old library's clusters, map and undo history: a move export may
        # have taken images away, so its indices mean other images now.
        self.failures_changed.emit(list(library.failures))
        self.model.set_library(library)
        report = library.report
        fresh = f", {report.embedded} embedded in {report.seconds:.1f} s" if report and report.embedded else ""
        failed = f", {len(library.failures)} could not be read" if library.failures else ""
        melted = "; bracelet charts' knots blurred away (Settings ▸ Blur knots away)" if library.spec.melt_knots else ""
        self.message.emit(f"{len(library)} images{fresh}{failed}{melted}")
        self.progress.emit("scan", 1, 1, "")
        self._load_annotations()
        self.recompute_map()
        self.recluster()

    def _load_annotations(self) -> None:
        """The images' saved tags, ratings and labels, read in a worker and handed to the model."""
        library, cache_path = self.library, self.model.cache_path
        self._start("annotations", lambda _ctx: load_annotations(cache_path, library),
                    on_finished=self._current_only(self.model.set_annotations), on_failed=self._failed("annotations"))

    def cancel(self) -> None:
        """Stop whatever runs; embedded batches stay cached, so :meth:`resume` goes on from them.

        A stopped scan leaves its images on view: those not in the latest partial map are
        laid out, so the map is never left blank.
        """
        was_scanning = self.runner.running("scan")
        self.runner.cancel_all()
        self.progress.emit("", 1, 1, "")
        self.message.emit("Cancelled; the images embedded so far are kept, and Resume scan goes on from them"
                          if was_scanning else "Cancelled")
        if was_scanning:
            self.resumable.emit(True)
            if self.partial.unmapped():
                self._map_ready_images()

    def resume(self) -> None:
        """Go on with a cancelled scan: the images already embedded come from the cache."""
        self.rescan()

    def _failed(self, stage: str, *, book: bool = False):
        def report(text: str) -> None:
            self.progress.emit(stage, 1, 1, "")
            self.message.emit(f"{stage.capitalize()} failed: {text}")
        return self._current_only(report, book=book)

    # map -------------------------------------------------------------------------------
    def recompute_map(self) -> None:
        """Lay the library out, from the cache when it can be. A computed map goes on from the latest map laid out
        to its end (a partial map of the scan, or the map on view before a settings change), keeping its shape."""
        library = self.library
        if library is None or not len(library):
            return
        spec, start = MapSpec(perplexity=self.settings.perplexity), self.partial.start_for(library.hashes)

        def job(ctx):
            load_analysis_libraries()
            with Cache(cache_db_path(library.folder)) as cache:
                return cached_map(cache, library.spec.id, library.hashes, library.vectors, spec,
                                  progress=ctx.progress, should_stop=ctx.should_stop, on_partial=ctx.partial,
                                  start=start)

        self._start("map", job, on_finished=self._current_only(self._mapped),
                          on_partial=self._current_only(self.model.set_layout),
                          on_progress=lambda d, t, n: self.progress.emit("map", d, t, n),
                          on_failed=self._failed("map"))

    def _mapped(self, result) -> None:
        layout, source = result
        self.partial.laid_out(self.library.hashes, layout)
        self.model.set_layout(layout)
        self.layout_finished.emit(source)
        self.progress.emit("map", 1, 1, "")

    # clusters --------------------------------------------------------------------------
    def recluster(self) -> None:
        library = self.library
        if library is None:
            return
        self.generation.new_book()
        spec, flush, cache_path = cluster_spec(self.settings), self._writer.flush, self.model.cache_path

        def job(ctx) -> ClusterResult:
            return cluster_library(library, spec, cache_path, progress=ctx.progress,
                                   should_stop=ctx.should_stop, flush=flush)
        self._start("clusters", job, on_finished=self._current_only(self._clustered),
                          on_progress=lambda d, t, n: self.progress.emit("clusters", d, t, n),
                          on_failed=self._failed("clusters"))

    def _clustered(self, result: ClusterResult) -> None:
        self.progress.emit("clusters", 1, 1, "")
        self.model.set_clusters(result)
        if result.restored:
            self.message.emit("Your cluster edits were restored")

    # editing: the model's edits, each one step of its undo history -------------------------
    def move_to_cluster(self, indices: list[int], label: int) -> None:
        self.model.move_to_cluster(indices, label)

    def new_cluster(self, indices: list[int]) -> int | None:
        return self.model.new_cluster(indices)

    def merge(self, keep: int, absorbed: int) -> None:
        self.model.merge(keep, absorbed)

    def rename(self, label: int, name: str) -> None:
        self.model.rename(label, name)

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
            self.model.apply_split(label, after)

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
        self.working.emit("similar", searching_words(self.library.paths[index].name, self.settings.similar_rerank))

    def find_similar_to_file(self, path: Path, region: Region | None = None) -> None:
        """Search with an image from outside the folder, or with its ``region`` (its embedding loads the model once)."""
        if self.library is None:
            self.message.emit("Open a folder first, then drop an image on it to search")
            return
        settings = self.settings
        job = file_search_job(self.library, Path(path), settings.similar_count, settings.device,
                              settings.similar_rerank, self.message.emit,
                              max_file_bytes=settings.max_file_mb * MB, region=region, backend=settings.runtime)
        self._start("similar", job, on_finished=self._current_only(self.similar_ready.emit),
                    on_failed=self._failed("search"))
        self.working.emit("similar", f"Searching with {Path(path).name}…")

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
