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


def photo_folder(source: Path, count: int) -> Path:
    """``count`` photo-sized JPEGs (1 to 3 MP, quality 90) cut from ``source``'s photos, made once into bench/out.

    dtd10's photos are 384 px, an 80th of what a camera or a scanner writes: their decode
    costs next to nothing beside inference, which hides what the decoding of a real library
    costs. Each copy is a random crop of one photo, flipped or not, scaled up to 1,200 to
    2,000 px on its long side, so no two files share content.
    """
    from PIL import Image, ImageOps

    folder = OUT / f"photos{count}"
    sources = sorted(p for p in source.rglob("*.jpg"))
    if len(list(folder.glob("*.jpg"))) >= count:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(19)
    started = time.perf_counter()
    for i in range(count):
        target = folder / f"photo{i:06d}.jpg"
        with Image.open(sources[i % len(sources)]) as image:
            image = image.convert("RGB")
            width, height = image.size
            crop_w, crop_h = (int(side * rng.uniform(0.7, 1.0)) for side in (width, height))
            left, top = int(rng.integers(0, width - crop_w + 1)), int(rng.integers(0, height - crop_h + 1))
            image = image.crop((left, top, left + crop_w, top + crop_h))
            if rng.random() < 0.5:
                image = ImageOps.mirror(image)
            scale = rng.uniform(1200, 2000) / max(crop_w, crop_h)
            image = image.resize((round(crop_w * scale), round(crop_h * scale)), Image.Resampling.BICUBIC)
            image.save(target, quality=90)
    print(f"# photo folder: {count} images at {folder} ({time.perf_counter() - started:.0f} s to make)")
    return folder
