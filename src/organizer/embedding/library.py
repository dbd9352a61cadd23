"""One opened folder: its usable images, their vectors and the files that failed.

This is what the GUI holds between steps, built by :func:`load_library` (a scan plus the
embeddings the cache lacks). Embedders are shared per extractor and device, because the
first one costs seconds (weights, warm-up) and every query from outside the folder
needs one again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..io.images import MAX_FILE_BYTES, Region
from ..jobs.subprocess_step import start_server
from ..jobs.tasks import ProgressFn, StopFn, never_stop, no_progress
from . import Embedder, create_embedder
from .embed import EmbedReport, EngineFactory, ReadyFn, nothing_ready, embed_file, embed_folder
from .registry import ExtractorSpec
from .runtime import choose, describe_runtime, preload_torch


#: Rows projected at a time: a folder of 100,000 images never holds a second copy of its vectors in float64.
_APPLY_ROWS = 8192


@dataclass(frozen=True)
class Projection:
    """A linear map fitted on one folder's vectors (see folder.adaptation): centred, then multiplied by
    ``scale`` · I + ``basis`` · diag(``gains``) · ``basisᵀ``, then scaled to unit length, so cosine similarity
    stays the measure. Kept in that low-rank form: a D × D matrix would take gigabytes for the widest
    descriptors (texture mode with Gram matrices has 44,376 numbers)."""

    mean: np.ndarray
    basis: np.ndarray
    gains: np.ndarray
    scale: float

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """The projected rows of ``vectors`` (one vector or a matrix of them), float32, each of unit length."""
        rows = np.atleast_2d(vectors)
        projected = np.empty(rows.shape, dtype=np.float32)
        # No copies where the fit gave float32 already (fit_projection does): an outside query projects one row.
        mean, basis, gains = (np.asarray(part, dtype=np.float32) for part in (self.mean, self.basis, self.gains))
        for start in range(0, len(rows), _APPLY_ROWS):
            centred = rows[start:start + _APPLY_ROWS].astype(np.float32) - mean
            block = self.scale * centred + ((centred @ basis) * gains) @ basis.T
            projected[start:start + _APPLY_ROWS] = block / np.maximum(np.linalg.norm(block, axis=1, keepdims=True),
                                                                      1e-12)
        return projected


@dataclass
class Library:
    folder: Path
    spec: ExtractorSpec
    paths: list[Path]
    hashes: list[str]
    vectors: np.ndarray
    failures: list[tuple[Path, str]] = field(default_factory=list)
    report: EmbedReport | None = None
    #: How the network's vectors were projected into ``vectors``; None where the spec is not adapted.
    #: A query from outside the folder goes through it too, or it would be compared in another space.
    projection: Projection | None = None

    def __len__(self) -> int:
        return len(self.paths)

    def index_of(self, path: Path) -> int | None:
        try:
            return self.paths.index(Path(path))
        except ValueError:
            return None


_embedders: dict[tuple[str, str, str, str], Embedder] = {}
_embedders_lock = threading.Lock()


def shared_embedder(spec: ExtractorSpec, device: str = "auto", precision: str = "auto",
                    backend: str = "auto") -> Embedder:
    """The one embedder for this extractor, device, precision and backend (``runtime.BACKENDS``), created on
    first use (thread-safe)."""
    key = (spec.unadapted.id, device, precision, backend)  # adapting changes no weight: one network serves both
    with _embedders_lock:
        if key not in _embedders:
            preload_torch()
            _embedders.clear()  # one model in memory at a time: switching extractors frees the old
            _embedders[key] = create_embedder(spec.unadapted, choose(device, precision, backend))
        return _embedders[key]


def load_library(folder: Path, spec: ExtractorSpec, cache, *, device: str = "auto", precision: str = "auto",
                 backend: str = "auto", batch_size: int | None = None, progress: ProgressFn = no_progress,
                 should_stop: StopFn = never_stop, max_file_bytes: int = MAX_FILE_BYTES,
                 on_ready: ReadyFn = nothing_ready, make_engine: EngineFactory | None = None) -> Library:
    """Scan and embed ``folder`` (resuming from ``cache``) and return its library of the network's own
    vectors, under ``spec.unadapted``: :func:`organizer.folder.loading.open_library` adapts them to the folder.

    Files over ``max_file_bytes`` are listed as failures, unread. ``batch_size`` views go
    through the network at once (None: chosen for the device). ``on_ready`` hears of the
    images ready so far while the scan runs, and ``make_engine`` makes what embeds the new
    files instead of this process (a cluster; see :func:`~.embed.embed_folder`).

    Raises
    ------
    Cancelled
        When ``should_stop()`` turns true; finished batches stay in the cache.
    """
    spec = spec.unadapted
    report = embed_folder(Path(folder), spec, cache,
                          make_embedder=lambda: shared_embedder(spec, device, precision, backend),
                          batch_size=batch_size, progress=progress, should_stop=should_stop,
                          max_file_bytes=max_file_bytes, on_ready=on_ready, make_engine=make_engine)
    vectors = cache.vectors(spec.id, report.hashes)
    return Library(report.folder, spec, report.paths, report.hashes, vectors, report.failures, report)


def embed_outside_image(path: Path, spec: ExtractorSpec, device: str = "auto", precision: str = "auto",
                        max_file_bytes: int = MAX_FILE_BYTES, region: Region | None = None,
                        backend: str = "auto") -> np.ndarray:
    """The vector of an image from outside the folder, or of its ``region``, for a query; raises ``ImageError``."""
    return embed_file(Path(path), spec, shared_embedder(spec, device, precision, backend), max_file_bytes, region)


def query_for(library: Library, path: Path, device: str = "auto", precision: str = "auto",
              max_file_bytes: int = MAX_FILE_BYTES, region: Region | None = None,
              backend: str = "auto") -> int | np.ndarray:
    """What find-similar searches with for the file ``path``: its row when the folder holds it
    (its stored vector, and it is left out of its matches), else its vector; with ``region``,
    always the vector of that part of it."""
    index = library.index_of(path) if region is None else None
    if index is not None:
        return index
    vector = embed_outside_image(path, library.spec.unadapted, device, precision, max_file_bytes, region, backend)
    return vector if library.projection is None else library.projection.apply(vector)[0]


def warm_up(device: str = "auto", precision: str = "auto", analysis: bool = True, backend: str = "auto") -> str:
    """Load what the first scan (and with ``analysis``, map and clustering) needs; name the device.

    Run it in the background as soon as the app is up: the first folder then starts
    without the seconds of imports, and the imports' unavoidable GIL pauses fall while
    the user is still choosing a folder. Once a scan runs, leave ``analysis`` off: the
    imports would only compete with it for the GIL.
    """
    import importlib

    description = describe_runtime(device, precision, backend)
    # backbones brings in torchvision through the one place that handles its CUDA-wheel mismatch.
    importlib.import_module("organizer.embedding.backbones")
    if analysis:
        load_analysis_libraries()
        start_server()
    return description


_analysis_lock = threading.Lock()
_ANALYSIS_MODULES = ("sklearn.decomposition", "sklearn.cluster", "sklearn.metrics", "scipy.cluster.hierarchy",
                     "openTSNE", "hdbscan", "networkx")


def load_analysis_libraries() -> None:
    """Import the map's and clustering's libraries, one thread at a time.

    The map and the clustering start together in two threads; their first imports of
    scikit-learn, racing, failed with "partially initialized module". Call this at the
    start of any job that uses them: the second caller waits until the first is done.
    """
    import importlib

    with _analysis_lock:
        for module in _ANALYSIS_MODULES:
            importlib.import_module(module)
