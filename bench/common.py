"""What the benchmarks share: the rendered sample folder."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from organizer.embedding import ExtractorSpec
from organizer.embedding.library import Library
from organizer.folder.loading import open_library
from organizer.samples import write_sample_folder
from organizer.storage.cache import Cache

OUT = Path(__file__).resolve().parent / "out"


def render_folder(count: int, size: int = 512) -> Path:
    """``count`` bracelet samples as ``size`` px JPEGs, rendered once into bench/out."""
    folder = OUT / (f"samples{count}" if size == 512 else f"samples{count}_{size}px")
    per_family = -(-count // (9 * 10))  # 9 families × 10 colourways
    started = time.perf_counter()
    paths = write_sample_folder(folder, per_family=per_family, colourways=10, size=(size, size), fmt="jpg")
    for extra in paths[count:]:
        extra.unlink(missing_ok=True)
    print(f"# sample folder: {count} images at {folder} ({time.perf_counter() - started:.0f} s to render)")
    return folder


def cache_file(folder: Path) -> Path:
    """The bench cache of ``folder``'s vectors, layouts and clusters, one per folder name."""
    return OUT / "cache" / f"{folder.name}.sqlite"


def cached_library(folder: Path, spec: ExtractorSpec, equalize: bool = False) -> tuple[Library, float]:
    """The folder's library as the CLI and the app open it (:func:`open_library`), cached in bench/out/cache.

    Returns the library and the seconds the scan took (near 0 once cached).
    """
    with Cache(cache_file(folder)) as cache:
        started = time.perf_counter()
        library = open_library(folder, spec, cache, equalize=equalize)
        return library, time.perf_counter() - started


def cached_vectors(folder: Path, spec: ExtractorSpec, equalize: bool = False) -> tuple[list[Path], np.ndarray, float]:
    """The folder's images and vectors through the real pipeline, cached in bench/out/cache.

    The spec is completed for the folder first (its equalization level, its autoencoder).
    Returns the paths, the vectors and the seconds the scan took (near 0 once cached).
    """
    library, seconds = cached_library(folder, spec, equalize)
    return library.paths, library.vectors, seconds
