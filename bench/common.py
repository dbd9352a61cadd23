"""What the benchmarks share: the rendered sample folder."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from organizer.embedding import ExtractorSpec
from organizer.embedding.embed import embed_folder
from organizer.folder.extractor import for_folder
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


def cached_vectors(folder: Path, spec: ExtractorSpec, equalize: bool = False) -> tuple[list[Path], np.ndarray, float]:
    """The folder's images and vectors through the real pipeline, cached in bench/out/cache.

    The spec is completed for the folder first (its equalization level, its autoencoder).
    Returns the paths, the vectors and the seconds the scan took (near 0 once cached).
    """
    with Cache(OUT / "cache" / f"{folder.name}.sqlite") as cache:
        started = time.perf_counter()
        spec = for_folder(spec, folder, cache, equalize=equalize)
        report = embed_folder(folder, spec, cache)
        seconds = time.perf_counter() - started
        return report.paths, cache.vectors(spec.id, report.hashes), seconds
