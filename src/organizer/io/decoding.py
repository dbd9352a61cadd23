"""A scan's new files read, hashed and decoded into network views ahead of inference.

:func:`prepare` makes one file into its views: read, hash, decode in JPEG draft mode at the
size the views need (:func:`.images.decode`), equalize if asked, cut. :class:`Decoder` runs it
on a pool, at most ``ahead`` files at a time, and hands the results back in the files' order,
so the caller runs inference on one batch while the next batch is decoded, and holds no more
decoded views than ``ahead`` of them whatever the folder's size.

The pool is threads (PIL, hashlib and the resizes release the GIL) or processes, which also
run the Python between those calls in parallel. Processes come from the fork server of
:mod:`..jobs.subprocess_step` (never a fork of the app, which holds Qt and inference threads);
where they cannot start (inside a daemonic process such as a Dask worker, or without
semaphores) or one dies between two files, the files go to threads instead. Which pool a scan uses is chosen by
:func:`pool_for`, from the measurement in docs/benchmarks.md ("Decoding ahead of inference").
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import BrokenExecutor, Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from ..jobs.subprocess_step import child_context
from ..jobs.worker_pool import WorkerPool
from . import images, knots, preprocess
from .equalize import ImageMetrics, equalized
from .scan import FileEntry, hash_bytes

log = logging.getLogger(__name__)
#: Said when a decoding process dies, whether its file's result or the next submit finds out.
_PROCESS_ENDED = "a decoding process ended (%s); decoding in threads from here"


@dataclass(frozen=True)
class ViewPlan:
    """What an image becomes: its views at ``size`` under ``policy`` (see :mod:`.preprocess`),
    with a closer second view (inside its object, or its centre) when ``centre_view`` is set, after equalizing to
    ``equalize`` (the arguments of an :class:`ImageMetrics`; () for none). Images are decoded
    with both sides at least ``min_side`` where the format allows less. With ``cut_strips`` a strip lying in a
    photo that the policy tiles is cut out first (:func:`.preprocess.strip_alone`), and with ``melt_knots`` a
    knot grid is then blurred at its knot pitch (:mod:`.knots`), so the gate judges the strip, not the table."""

    size: int
    policy: str
    multiscale: bool
    equalize: tuple[float, ...]
    min_side: int
    centre_view: bool
    melt_knots: bool = False
    cut_strips: bool = False

    def views(self, image: Image.Image) -> dict[int, np.ndarray]:
        """``image``'s network inputs, keyed by input size."""
        if self.equalize:
            image = equalized(image, ImageMetrics(*self.equalize))
        if self.cut_strips:
            image = preprocess.strip_alone(image, self.policy)
        if self.melt_knots:
            image = knots.melted(image)
        return preprocess.network_inputs(image, self.size, self.policy, self.multiscale, self.centre_view)


@dataclass
class Prepared:
    """One file read, hashed and made into views (``inputs``), or why it could not be."""

    entry: FileEntry
    digest: str = ""
    inputs: dict[int, np.ndarray] | None = None
    error: str = ""
    #: An access problem rather than bad content: recorded, but retried on the next scan.
    transient: bool = False


def prepare(entry: FileEntry, plan: ViewPlan, embedded: Collection[str],
            max_file_bytes: int = images.MAX_FILE_BYTES) -> Prepared:
    """``entry`` read, hashed and, unless its content hash is in ``embedded``, made into views.

    Never raises for a bad file: what went wrong is the result's ``error``.
    """
    try:
        data = images.read_bytes(entry.path, max_file_bytes)
        digest = hash_bytes(data)
        if digest in embedded:
            return Prepared(entry, digest)
        return Prepared(entry, digest, plan.views(images.decode(data, plan.min_side)))
    except images.ImageError as exc:
        return Prepared(entry, error=exc.reason, transient=exc.transient)
    except Exception as exc:  # noqa: BLE001 - one bad file must never stop the scan
        return Prepared(entry, error=f"unexpected error while reading ({type(exc).__name__}: {exc})")


#: A scan with fewer new files than this decodes in threads: a decoding process costs about
#: 20 ms to start from a running fork server, and the server's first start 1.7 s.
PROCESS_FROM_FILES = 500


@dataclass(frozen=True)
class DecodePool:
    """What decodes: ``workers`` threads or processes (``kind``)."""

    kind: str = "threads"
    workers: int = 1

    def __post_init__(self) -> None:
        if self.kind not in ("threads", "processes"):
            raise ValueError(f"unknown decoding pool {self.kind!r}: 'threads' or 'processes'")


def pool_for(files: int, cpus: int) -> DecodePool:
    """The pool for decoding ``files`` new files on ``cpus`` cores.

    Processes, one a core up to 8, from :data:`PROCESS_FROM_FILES` files. On 2 cores (bench/embed.py,
    docs/benchmarks.md "Decoding ahead of inference") two processes against the four threads of
    before embedded dtd10 and 10,000 photos of 1-3 MP 1.34x as fast at the median of 8 paired
    rounds (0.95-3.0x); on a GPU's 16 cores, 16 threads decoded no faster than one, bound by the GIL.
    """
    if files < PROCESS_FROM_FILES or cpus < 2:
        return DecodePool("threads", min(4, cpus))
    return DecodePool("processes", min(8, cpus))


class Decoder:
    """Prepares files ahead of the caller on a :class:`DecodePool`.

    A context manager: leaving it, on a stop or an error too, drops the files not yet started
    and waits for the few being decoded, so no thread or process outlives it.
    """

    def __init__(self, plan: ViewPlan, pool: DecodePool = DecodePool(), max_file_bytes: int = images.MAX_FILE_BYTES):
        self.plan, self.pool, self.max_file_bytes = plan, pool, max_file_bytes
        self._pool: Executor | None = None

    def __enter__(self) -> Decoder:
        return self

    def __exit__(self, *_exc) -> None:
        self._close()

    def prepared(self, todo: Iterable[FileEntry], embedded: Callable[[], frozenset[str]],
                 ahead: int) -> Iterator[Prepared]:
        """Each file of ``todo`` prepared, in order, with at most ``ahead`` in flight or waiting.

        ``embedded`` gives the content hashes to skip as they are now; it is asked as each file
        is handed to a thread, and once when processes start.
        """
        files = iter(todo)
        pending: deque[tuple[FileEntry, Future[Prepared]]] = deque()
        while True:
            while len(pending) < ahead and (entry := next(files, None)) is not None:
                pending.append((entry, self._submit(entry, embedded)))
            if not pending:
                return
            entry, future = pending.popleft()
            try:
                yield future.result()
            except BrokenExecutor as exc:
                # A decoding process died (killed, out of memory), at any moment, even half-way
                # through sending a result (jobs/worker_pool.py): this file and those in flight
                # are decoded again, in threads.
                self._to_threads(logging.WARNING, _PROCESS_ENDED, exc)
                waiting = [entry, *(e for e, _ in pending)]
                pending = deque((e, self._submit(e, embedded)) for e in waiting)

    def _submit(self, entry: FileEntry, embedded: Callable[[], frozenset[str]]) -> Future[Prepared]:
        if self.pool.kind == "processes":
            try:
                if self._pool is None:
                    # The content hashes to skip go to each process once, as they are when it starts:
                    # what the caller embeds later is decoded, and dropped by the caller, which checks again.
                    self._pool = WorkerPool(self.pool.workers, child_context(), prepare,
                                            (self.plan, embedded(), self.max_file_bytes))
                return self._pool.submit(entry)
            except BrokenExecutor as exc:  # one ended since the last file; its files fail and come back
                self._to_threads(logging.WARNING, _PROCESS_ENDED, exc)
            except (OSError, AssertionError, RuntimeError, ImportError) as exc:
                # A daemonic process may have no children (AssertionError); a system without
                # POSIX semaphores has no process pools (OSError, ImportError).
                self._to_threads(logging.INFO, "decoding processes could not start (%s); decoding in threads", exc)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.pool.workers, thread_name_prefix="decode")
        # The set as it is now: the caller swaps it whole, so a thread never sees it change.
        return self._pool.submit(prepare, entry, self.plan, embedded(), self.max_file_bytes)

    def _to_threads(self, level: int, message: str, exc: Exception) -> None:
        log.log(level, message, exc)
        self._close()
        self.pool = replace(self.pool, kind="threads")

    def _close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
