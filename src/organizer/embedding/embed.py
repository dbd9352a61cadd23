"""Scan a folder and bring its cache up to date for one extractor.

Reading, hashing and decoding run in a pool of threads or processes (:mod:`..io.decoding`)
while the calling thread runs inference on the previous batch. Every batch is committed
before the next ``should_stop()`` check, so a cancelled or killed run resumes where it
stopped, and a rescan of an unchanged folder reads no image at all.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from ..io import images
from ..io.decoding import DecodePool, Decoder, Prepared, ViewPlan, pool_for
from ..io.scan import FileEntry, scan_folder
from ..jobs.collector import collector_paused
from ..jobs.tasks import Cancelled, ProgressFn, StopFn, never_stop, no_progress
from ..storage.cache import Cache
from . import Embedder, ExtractorSpec, create_embedder, embed_inputs


@dataclass
class EmbedReport:
    """What a scan found and did. ``paths`` and ``hashes`` list the usable images in order."""

    folder: Path
    extractor: str
    paths: list[Path] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    failures: list[tuple[Path, str]] = field(default_factory=list)
    embedded: int = 0
    reused: int = 0
    seconds: float = 0.0

    @property
    def images_per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class ScanBatch:
    """Images of a running scan that are ready: found in the cache, or embedded by one batch.

    ``hashes`` name the vectors under ``extractor`` in the cache, so a view can show the
    images (and lay out a map of them) before the scan ends.
    """

    extractor: str
    paths: list[Path]
    hashes: list[str]
    #: Whether these are all the scan's images, every one from the cache: the library follows at once.
    complete: bool = False


ReadyFn = Callable[[ScanBatch], None]


def nothing_ready(_batch: ScanBatch) -> None:
    """An ``on_ready`` for a caller that waits for the whole scan."""


class Sink(Protocol):
    """Where an engine hands each batch it finished, and which contents need no embedding."""

    #: The content hashes already embedded for the extractor; swapped whole, never changed in place.
    embedded: frozenset[str]

    def commit(self, batch: list[Prepared], digests: list[str], vectors: np.ndarray | None) -> None:
        """Take ``batch``'s files, with ``vectors`` (one row per new content hash in ``digests``)."""


class Engine(Protocol):
    """What embeds the files a scan found new: :class:`Pipeline` on this computer, or a cluster's workers.

    ``run`` hands every finished batch to ``sink.commit``, which writes it and raises
    :class:`Cancelled` when told to stop.
    """

    def run(self, todo: list[FileEntry], sink: Sink) -> None: ...


#: Makes the engine for the extractor as the folder completed it; called only when there is work.
EngineFactory = Callable[[ExtractorSpec], Engine]


def auto_batch_size(device: str, size: int) -> int:
    """Views per inference batch: enough to keep the device busy, little enough to fit.

    Scaled by the pixel count of a view, from 32 views of 224² on a CPU (larger batches
    gain nothing there) and 256 on a GPU; GPU batches also halve on an out-of-memory error.
    """
    base = 256 if device in ("cuda", "mps") else 32
    return max(4, int(base * (224 / size) ** 2))


def embed_folder(folder: Path, spec: ExtractorSpec, cache: Cache, *,
                 make_embedder: Callable[[], Embedder] | None = None, batch_size: int | None = None,
                 workers: int | None = None, progress: ProgressFn = no_progress,
                 should_stop: StopFn = never_stop, max_file_bytes: int = images.MAX_FILE_BYTES,
                 on_ready: ReadyFn = nothing_ready, make_engine: EngineFactory | None = None,
                 decoding: DecodePool | None = None) -> EmbedReport:
    """Scan ``folder`` and embed every image the cache lacks for ``spec``'s network: the vectors are stored
    under ``spec.unadapted``'s id, whether ``spec`` is adapted to the folder or not (folder.adaptation).

    Parameters
    ----------
    make_embedder
        Returns the embedder to use (default: :func:`create_embedder` for ``spec``). It is
        called only when there is work to do, so an unchanged folder never loads the model.
    max_file_bytes
        Larger files are listed as failures without being read.
    workers, decoding
        The decoding pool, or how many threads decode (see :class:`Pipeline`).
    on_ready
        Told which images are ready as they become so: first those the cache holds, then
        each batch's once it is committed.
    make_engine
        Makes what embeds the new files instead of this process's :class:`Pipeline` (a cluster;
        ``make_embedder``, ``batch_size``, ``workers`` and ``decoding`` then go unused); its batches are
        written here all the same.

    Raises
    ------
    Cancelled
        When ``should_stop()`` turns true; finished batches are already in the cache.
    """
    started = time.perf_counter()
    spec = spec.unadapted
    report = EmbedReport(Path(folder).resolve(), spec.id)
    # The scan and its match against the cache make half a million objects, none of them in a cycle.
    with collector_paused():
        scanned = scan_folder(folder, should_stop)
        report.failures.extend(scanned.problems)
        known = cache.known_files()
        embedded = cache.embedded_hashes(spec.id)
        known_failures = {f.path: f for f in cache.failures()}

        # Keyed by the path's text, as the cache is: hashing 100,000 Paths would cost a rescan 0.15 s.
        ready: dict[str, str] = {}
        todo: list[FileEntry] = []
        for entry in scanned.files:
            key = entry.key
            record, failure = known.get(key), known_failures.get(key)
            if record and (record.size, record.mtime_ns) == (entry.size, entry.mtime_ns) and record.hash in embedded:
                ready[key] = record.hash
            elif failure and (failure.size, failure.mtime_ns) == (entry.size, entry.mtime_ns):
                report.failures.append((entry.path, failure.reason))
            else:
                todo.append(entry)
        report.reused = len(ready)

        present = {e.key for e in scanned.files}
    gone, healed = known.keys() - present, (known_failures.keys() - present) | (known_failures.keys() & ready.keys())
    # An unchanged folder writes nothing, so its rescan never waits for another process writing the cache.
    if gone or healed or scanned.problems:
        with cache.transaction():
            cache.forget_files(gone)
            cache.forget_failures(healed)
            # Broken links and unlistable folders have no size or mtime; -1 marks them, and the
            # next scan finds them afresh.
            cache.put_failures((str(path), -1, -1, reason) for path, reason in scanned.problems)
    if ready:
        on_ready(ScanBatch(spec.id, [e.path for e in scanned.files if e.key in ready], list(ready.values()),
                           complete=not todo))
    if todo:
        total = len(scanned.files)
        sink = CacheSink(spec.id, cache, frozenset(embedded), ready, report, progress, should_stop, on_ready,
                         total, done=total - len(todo))
        if make_engine:
            engine = make_engine(spec)
        else:
            embedder = make_embedder() if make_embedder else create_embedder(spec)
            engine = Pipeline(spec, embedder, batch_size, workers, max_file_bytes, decoding)
        engine.run(todo, sink)

    for entry in scanned.files:
        if (digest := ready.get(entry.key)) is not None:
            report.paths.append(entry.path)
            report.hashes.append(digest)
    report.failures.sort(key=lambda item: str(item[0]))
    report.seconds = time.perf_counter() - started
    return report


class Pipeline:
    """The engine of one computer: files read, hashed and decoded in a pool of threads or processes
    (:mod:`..io.decoding`) while this thread runs inference on the previous batch. A cluster's
    workers run it on their share too.

    ``decoding`` is the pool; by default :func:`~..io.decoding.pool_for` chooses it, and ``workers``
    alone means that many threads.
    """

    def __init__(self, spec: ExtractorSpec, embedder: Embedder, batch_size: int | None = None,
                 workers: int | None = None, max_file_bytes: int = images.MAX_FILE_BYTES,
                 decoding: DecodePool | None = None):
        self.spec, self.embedder = spec, embedder
        self.max_file_bytes = max_file_bytes
        device = getattr(getattr(embedder, "runtime", None), "device", "cpu")
        self.batch_size = batch_size or auto_batch_size(device, spec.size)
        self.workers, self.decoding = workers, decoding

    def run(self, todo: list[FileEntry], sink: Sink) -> None:
        pool = self.decoding or (DecodePool("threads", self.workers) if self.workers
                                 else pool_for(len(todo), os.cpu_count() or 1))
        batch: list[Prepared] = []
        batch_views = 0.0
        with Decoder(view_plan(self.spec), pool, self.max_file_bytes) as decoder:
            for item in decoder.prepared(todo, lambda: sink.embedded, max(2 * self.batch_size, 8)):
                batch.append(item)
                # Counted in views of the base size, so multiscale detail views weigh 4×.
                batch_views += sum(len(v) * (size / self.spec.size) ** 2 for size, v in (item.inputs or {}).items())
                if batch_views >= self.batch_size or len(batch) >= 4 * self.batch_size:
                    self._flush(batch, sink)
                    batch, batch_views = [], 0.0
            if batch:
                self._flush(batch, sink)

    def _embed(self, inputs: list[dict[int, np.ndarray]]) -> np.ndarray:
        try:
            return embed_inputs(self.embedder, inputs)
        except RuntimeError as exc:
            if "out of memory" not in str(exc).lower() or len(inputs) == 1:
                raise
            self.batch_size = max(1, self.batch_size // 2)
            half = len(inputs) // 2
            return np.concatenate([self._embed(inputs[:half]), self._embed(inputs[half:])])

    def _flush(self, batch: list[Prepared], sink: Sink) -> None:
        to_embed = {}
        for item in batch:
            if item.inputs is not None and item.digest not in sink.embedded:
                to_embed.setdefault(item.digest, item.inputs)
        vectors = self._embed(list(to_embed.values())) if to_embed else None
        sink.commit(batch, list(to_embed), vectors)


class CacheSink:
    """Writes each finished batch to the cache in one transaction, then tells ``on_ready`` and
    ``progress``, then checks ``should_stop``: a cancel loses no finished batch."""

    def __init__(self, extractor: str, cache: Cache, embedded: frozenset[str], ready: dict[str, str],
                 report: EmbedReport, progress: ProgressFn, should_stop: StopFn, on_ready: ReadyFn, total: int,
                 done: int):
        self.extractor, self.cache, self.embedded = extractor, cache, embedded
        self.ready, self.report = ready, report
        self.progress, self.should_stop, self.on_ready = progress, should_stop, on_ready
        self.total, self.done = total, done
        self.started = time.perf_counter()
        progress(done, total, "")

    def commit(self, batch: list[Prepared], digests: list[str], vectors: np.ndarray | None) -> None:
        # Another worker of a cluster may have embedded the same content meanwhile: it is stored once.
        new = [i for i, digest in enumerate(digests) if digest not in self.embedded]
        with self.cache.transaction():
            if vectors is not None and new:
                self.cache.put_embeddings(self.extractor, [digests[i] for i in new], vectors[new])
            good = [i for i in batch if not i.error]
            bad = [i for i in batch if i.error]
            self.cache.put_files((i.entry.key, i.entry.size, i.entry.mtime_ns, i.digest) for i in good)
            self.cache.forget_failures(i.entry.key for i in good)
            # Size and mtime -1 never match a stat, so a transient failure is retried next time.
            self.cache.put_failures((i.entry.key, -1 if i.transient else i.entry.size,
                                     -1 if i.transient else i.entry.mtime_ns, i.error) for i in bad)
        # A new frozenset, swapped in whole, so decode threads never see a set being changed.
        self.embedded = self.embedded | set(digests)
        self.report.embedded += len(new)
        for item in bad:
            self.report.failures.append((item.entry.path, item.error))
        for item in good:
            self.ready[item.entry.key] = item.digest
        if good:
            self.on_ready(ScanBatch(self.extractor, [i.entry.path for i in good], [i.digest for i in good]))
        self.done += len(batch)
        rate = self.report.embedded / max(time.perf_counter() - self.started, 1e-9)
        self.progress(self.done, self.total, f"{rate:.1f} img/s")
        if self.should_stop():
            raise Cancelled()


def embed_file(path: Path, spec: ExtractorSpec, embedder: Embedder, max_file_bytes: int = images.MAX_FILE_BYTES,
               region: images.Region | None = None) -> np.ndarray:
    """Embed one image file (for example a query from outside the folder), or only its ``region``,
    which is then seen at the views' size as a whole image would be.

    Raises
    ------
    images.ImageError
        If the file cannot be used, with the same reasons a scan would give, or ``region`` is
        empty or outside the image.
    """
    try:
        image = images.load(Path(path), spec.largest_input, max_file_bytes, region)
        inputs = view_plan(spec).views(image)
    except images.ImageError:
        raise
    except Exception as exc:  # noqa: BLE001 - a plugin's odd failure is still just a bad file
        raise images.ImageError(f"unexpected error while reading ({type(exc).__name__}: {exc})") from exc
    return embed_inputs(embedder, [inputs])[0]


def view_plan(spec: ExtractorSpec) -> ViewPlan:
    """What :mod:`..io.decoding` makes of each image for ``spec``."""
    return ViewPlan(spec.size, spec.policy, spec.multiscale, tuple(spec.equalize), spec.largest_input,
                    spec.centre_view, spec.melt_knots is True, spec.cuts_strips)
