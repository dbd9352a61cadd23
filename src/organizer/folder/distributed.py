"""Embedding a folder on a Dask cluster: the batch job for a library too large for one computer.

The driver (this process) scans the folder and compares it with the cache as a local scan
does, then ships batches of file paths, never pixels, to the workers. Each worker runs the
local :class:`~organizer.embedding.embed.Pipeline` on its batch with the one embedder it
keeps (built on its first batch by :func:`~organizer.embedding.library.shared_embedder`, on
the device the runtime picks there) and sends back content hashes, vectors and failures.
The driver writes them through the scan's own :class:`~organizer.embedding.embed.CacheSink`,
so the cache is the one the app and the CLI open, and a stop keeps every finished batch.

Workers must see the folder at the same path as the driver (a shared file system) and have
the same version of this package. Dask is an optional extra, imported only when asked for.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass, replace
from types import ModuleType
from typing import TYPE_CHECKING, Iterator

import numpy as np

from ..embedding.embed import Pipeline, Prepared, Sink
from ..embedding.library import shared_embedder
from ..embedding.registry import ExtractorSpec
from ..io.images import MAX_FILE_BYTES
from ..io.scan import FileEntry

if TYPE_CHECKING:
    from distributed import Client

ENGINES = ("local", "dask")
INSTALL_HINT = "install pattern-organizer[distributed] (pip install 'pattern-organizer[distributed]')"
#: The most files one task embeds: enough for a GPU worker's batches of 256 views, few enough
#: that a stop waits only for one batch per worker.
FILES_PER_TASK = 256
#: How long to wait for the first worker of an existing cluster.
WORKER_TIMEOUT_S = 120


class EngineUnavailable(RuntimeError):
    """The engine asked for is not installed."""


def require_dask() -> ModuleType:
    """Dask's ``distributed`` module, or :class:`EngineUnavailable` saying how to install it."""
    try:
        import distributed
    except ImportError as exc:
        raise EngineUnavailable(f"the dask engine needs Dask distributed: {INSTALL_HINT}") from exc
    return distributed


@dataclass
class DaskEngine:
    """Embeds a scan's new files on a Dask cluster (an :class:`~organizer.embedding.embed.Engine`).

    ``scheduler`` is an existing cluster's address; without it, a cluster of ``workers``
    processes (default: one per core) starts on this computer for the job and stops after it.
    ``device``, ``precision``, ``backend`` and ``batch_size`` are as for a local scan, chosen on each worker.
    """

    spec: ExtractorSpec
    scheduler: str | None = None
    workers: int | None = None
    device: str = "auto"
    precision: str = "auto"
    backend: str = "auto"
    batch_size: int | None = None
    max_file_bytes: int = MAX_FILE_BYTES

    def run(self, todo: list[FileEntry], sink: Sink) -> None:
        distributed = require_dask()
        with _client(distributed, self.scheduler, self.workers) as client:
            threads = sum(client.nthreads().values()) or 1
            # At least two tasks per worker thread, so a small folder still reaches every worker.
            size = max(1, min(FILES_PER_TASK, -(-len(todo) // (2 * threads))))
            chunks = iter([todo[i:i + size] for i in range(0, len(todo), size)])
            # Sent once to every worker rather than with every task: a worker skips decoding
            # the files whose content the cache already holds (moved or copied files).
            known = client.scatter([sink.embedded], broadcast=True)[0] if sink.embedded else frozenset()
            running = distributed.as_completed()

            def submit_next() -> None:
                if (chunk := next(chunks, None)) is not None:
                    running.add(client.submit(embed_on_worker, chunk, self.spec, self.device, self.precision,
                                              self.backend, self.batch_size, self.max_file_bytes, known,
                                              pure=False))

            # Two tasks in flight per thread: a worker has its next batch while the driver writes.
            for _ in range(2 * threads):
                submit_next()
            # Leaving the block (done, a stop, Ctrl+C) closes the client, which cancels what still runs.
            for future in running:
                batch, digests, vectors = future.result()
                submit_next()
                future.release()
                sink.commit(batch, digests, vectors)


@contextmanager
def _client(distributed: ModuleType, scheduler: str | None, workers: int | None) -> Iterator[Client]:
    if scheduler:
        with distributed.Client(scheduler) as client:
            client.wait_for_workers(1, timeout=WORKER_TIMEOUT_S)
            yield client
        return
    # Processes, one thread each: every worker has its own model and interpreter, and its
    # Pipeline its own decoding threads. No dashboard: it needs bokeh and a port. The workers'
    # warnings are those of a stop (tasks cancelled mid-batch); their errors reach the driver.
    with distributed.LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                  processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster) as client:
        yield client


class _Collected:
    """A worker's sink: keeps each batch's hashes, vectors and failures to send to the driver."""

    def __init__(self, embedded: frozenset[str]):
        self.embedded = embedded
        self.batch: list[Prepared] = []
        self.digests: list[str] = []
        self.vectors: list[np.ndarray] = []

    def commit(self, batch: list[Prepared], digests: list[str], vectors: np.ndarray | None) -> None:
        # The views stay here: only what the cache stores travels back.
        self.batch.extend(replace(item, inputs=None) for item in batch)
        if vectors is not None:
            self.digests.extend(digests)
            self.vectors.append(vectors)
        self.embedded = self.embedded | set(digests)


def embed_on_worker(entries: list[FileEntry], spec: ExtractorSpec, device: str, precision: str, backend: str,
                    batch_size: int | None, max_file_bytes: int,
                    embedded: frozenset[str]) -> tuple[list[Prepared], list[str], np.ndarray | None]:
    """One task on a worker: embed ``entries`` with the worker's one embedder, as a local scan would.

    Returns every file (with its hash, or why it could not be used), the new content hashes,
    and their vectors in that order (None when there are none).
    """
    pipeline = Pipeline(spec, shared_embedder(spec, device, precision, backend), batch_size, None, max_file_bytes)
    collected = _Collected(embedded)
    pipeline.run(entries, collected)
    vectors = np.concatenate(collected.vectors) if collected.vectors else None
    return collected.batch, collected.digests, vectors
