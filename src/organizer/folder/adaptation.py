"""Adapting the vectors to the folder: a projection learned from the folder's own images (issue 17).

A pretrained network's vector of a pattern moves when the photo is cropped otherwise, turned a
little, lit from one side or shot in another colour balance. Within one folder those moves share
directions, and they say nothing about which pattern it is. So a sample of the folder's images is
embedded once more, each through a random change of that kind, and the covariance of the
differences between an image's two vectors is learned (Sw). Every vector is then centred on the
folder's mean and multiplied by Sw to the power -1/4: the learned whitening of Radenović et al.
(2018) taken halfway, on pairs the folder itself provides, with Sw shrunk towards the identity so
that a few hundred pairs are enough. Measured on five labelled sets (docs/benchmarks.md,
"Adapting to the folder"); Sw fitted on other folders' pairs gained the garment photos a fifth as
much, so each folder gets its own.

The sample is the images with the smallest content hashes, and each image's change is seeded by
its hash: the same images always give the same projection, in the app and the CLI alike. A new or
removed image moves the folder's mean, so every vector moves a little, and Sw too where it enters or
leaves the sample. Clusters are cached for one set of images, so they are computed again; the map keeps
its layout and places the new images into it, as it always did, in a space that moved a little. The
changed views' vectors are cached under their own id, so reopening a folder embeds nothing again.
"""

from __future__ import annotations

import io
import logging
import math
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from ..embedding import embed_inputs
from ..embedding.embed import view_plan
from ..embedding.library import Library, Projection, shared_embedder
from ..embedding.registry import ADAPT_VERSION, ExtractorSpec
from ..io import images
from ..io.decoding import ViewPlan
from ..io.scan import hash_bytes
from ..jobs.tasks import Cancelled, ProgressFn, StopFn, never_stop, no_progress
from ..storage.cache import Cache

log = logging.getLogger(__name__)

#: Images embedded a second time, at most: 64 or 128 pairs kept two thirds of the garments' gain, and every
#: image gained dtd10 a little more at up to four times the cost (docs/benchmarks.md).
SAMPLE = 256
#: Below this many pairs the differences' covariance says too little, and the vectors stay as they are.
MIN_PAIRS = 32
#: How far Sw is shrunk towards a multiple of the identity, and the power of Sw applied is -EXPONENT / 2:
#: 0.5 and 0.2 came out best over the five sets; the full whitening (1.0) gained no set more and lost the charts.
EXPONENT, SHRINK = 0.5, 0.2
#: The side a sampled image is decoded at before it is cropped, for views of BASE_INPUT px (and in proportion
#: for larger ones): a crop of a third of it still fills a view.
DECODE_SIDE, BASE_INPUT = 512, 224
BATCH = 16
#: Threads making the changed copies, ahead of the network.
PREPARERS = 2
#: The progress note while the changed views are embedded: counted in sampled images, not the folder's.
ADAPTING_NOTE = "adapting to the folder"


def _mirrored(image: Image.Image, affine: tuple[float, ...], size: tuple[int, int]) -> tuple[Image.Image, tuple]:
    """``image`` with its edges mirrored outwards as far as the output's corners reach beyond them under
    ``affine`` (output pixel → image pixel), and ``affine`` moved onto it: a turned crop that leaves the image
    (a long image's does) sees more of the pattern at its corners, never the empty black no photo has."""
    a, b, c, d, e, f = affine
    xs = [a * x + b * y + c for x in (0, size[0]) for y in (0, size[1])]
    ys = [d * x + e * y + f for x in (0, size[0]) for y in (0, size[1])]
    pad_x = min(image.width - 1, max(0, math.ceil(max(-min(xs), max(xs) - image.width)) + 2))
    pad_y = min(image.height - 1, max(0, math.ceil(max(-min(ys), max(ys) - image.height)) + 2))
    if not (pad_x or pad_y):
        return image, affine
    pixels = np.pad(np.asarray(image), ((pad_y, pad_y), (pad_x, pad_x), (0, 0)), mode="symmetric")
    return Image.fromarray(pixels), (a, b, c + pad_x, d, e, f + pad_y)


def changed_view(image: Image.Image, seed: int, reach: float = 1.0) -> Image.Image:
    """``image`` turned by up to 20°, cropped to 30–64 % of its area, scaled, recoloured, lit from one side,
    perhaps blurred, and saved as a JPEG of middling quality: how two photos of one pattern differ.

    ``reach`` scales the copy's size (256–512 px on its long side for the 224 px views) with the views'.
    """
    rng = np.random.default_rng(seed)
    image = image.convert("RGB")
    width, height = image.size
    angle = math.radians(rng.uniform(-20, 20))
    area, aspect = rng.uniform(0.3, 0.85) * width * height, np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
    crop_w, crop_h = min(0.8 * width, np.sqrt(area * aspect)), min(0.8 * height, np.sqrt(area / aspect))
    left = rng.uniform(0.1 * width, max(0.1 * width, 0.9 * width - crop_w))
    top = rng.uniform(0.1 * height, max(0.1 * height, 0.9 * height - crop_h))
    scale = reach * rng.uniform(256, 512) / max(crop_w, crop_h)
    size = max(8, int(crop_w * scale)), max(8, int(crop_h * scale))
    # Turn, crop and scale in one resampling of the output's pixels (an image turned whole, then cropped and
    # resized, took twice as long): each output pixel is mapped back to the frame turned about the image's
    # centre, then into the image. Shrinking first by the whole factor leaves at most a halving to bilinear
    # sampling, which would skip pixels (and alias a fine stripe) beyond it.
    shrink = max(1, int(1 / scale))
    if shrink > 1:
        image = image.reduce(shrink)
    cos, sin, (cx, cy) = math.cos(angle), math.sin(angle), (width / 2, height / 2)
    # The frame's point (u, v) lies at (cos·(u−cx) − sin·(v−cy) + cx, sin·(u−cx) + cos·(v−cy) + cy) in the
    # image.
    u0, v0 = left - cx, top - cy
    affine = (cos / scale / shrink, -sin / scale / shrink, (cos * u0 - sin * v0 + cx) / shrink,
              sin / scale / shrink, cos / scale / shrink, (sin * u0 + cos * v0 + cy) / shrink)
    image, affine = _mirrored(image, affine, size)
    image = image.transform(size, Image.Transform.AFFINE, affine, Image.Resampling.BILINEAR)
    for enhancer, low, high in ((ImageEnhance.Brightness, 0.7, 1.3), (ImageEnhance.Contrast, 0.7, 1.3),
                                (ImageEnhance.Color, 0.6, 1.4)):
        image = enhancer(image).enhance(rng.uniform(low, high))
    pixels = np.asarray(image, np.float32)
    along_x = rng.random() < 0.5
    light = np.linspace(rng.uniform(0.75, 1.0), rng.uniform(1.0, 1.2), pixels.shape[1 if along_x else 0])
    pixels = pixels * (light[None, :, None] if along_x else light[:, None, None])
    image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    encoded = io.BytesIO()
    image.save(encoded, "JPEG", quality=int(rng.integers(60, 92)))
    encoded.seek(0)
    with Image.open(encoded) as reread:
        return reread.convert("RGB")


def fit_projection(vectors: np.ndarray, originals: np.ndarray, changed: np.ndarray,
                   exponent: float = EXPONENT, shrink: float = SHRINK) -> Projection:
    """The projection that centres ``vectors`` and weighs down what differs between ``originals`` and their
    ``changed`` views (rows paired): Sw ** (-exponent / 2), Sw shrunk by ``shrink`` of its mean variance.

    Sw is the n pairs' differences' covariance, of rank n at most: with the differences' thin SVD
    U S Vᵀ and the shrinkage λ, Sw + λI = V diag(S²/n + λ) Vᵀ + λ(I − V Vᵀ), so its power is
    λ^p I + V diag((S²/n + λ)^p − λ^p) Vᵀ, exactly, in O(n² D) rather than O(D³). Rows that are not
    finite (a vector a broken file left) take no part in the fit.
    """
    vectors, originals, changed = (np.asarray(rows) for rows in (vectors, originals, changed))
    finite = np.isfinite(vectors).all(axis=1)
    pairs = np.isfinite(originals).all(axis=1) & np.isfinite(changed).all(axis=1)
    differences = originals[pairs].astype(np.float64) - changed[pairs].astype(np.float64)
    _, values, axes = np.linalg.svd(differences, full_matrices=False)
    variances = values ** 2 / len(differences)
    ridge = shrink * variances.sum() / differences.shape[1]
    power = -exponent / 2
    # A folder's mean without a copy of its vectors, unless some must be left out: 200 MB at 100,000.
    mean = (vectors if finite.all() else vectors[finite]).mean(axis=0, dtype=np.float64)
    return Projection(mean.astype(np.float32), np.ascontiguousarray(axes.T, dtype=np.float32),
                      ((variances + ridge) ** power - ridge ** power).astype(np.float32), float(ridge ** power))


def changes_id(library: Library) -> str:
    """The cache's name for the changed views' vectors of ``library``'s network."""
    return f"{library.spec.unadapted.id}#changed{ADAPT_VERSION}"


def sample_hashes(hashes: list[str], size: int = SAMPLE) -> list[str]:
    """The ``size`` smallest distinct content hashes: a sample that new images change only by entering it."""
    return sorted(set(hashes))[:size]


def _prepared(path: Path, digest: str, plan: ViewPlan, reach: float,
              max_file_bytes: int) -> dict[int, np.ndarray] | None:
    """The network views of one image's changed copy, or None where the file is no longer the one the scan
    hashed (changed or gone since): it is left out of the pairs, and tried again next time."""
    try:
        data = images.read_bytes(path, max_file_bytes)
    except images.ImageError:
        return None
    if hash_bytes(data) != digest:
        return None
    try:
        image = images.decode(data, round(DECODE_SIDE * reach))
        return plan.views(changed_view(image, int(digest[:16], 16) + ADAPT_VERSION, reach))
    except Exception as exc:  # noqa: BLE001 - the scan decoded this file: say what failed now, and go on without it
        log.warning("adapting to the folder left out %s: %s: %s", path, type(exc).__name__, exc)
        return None


def changed_vectors(library: Library, sample: list[str], cache: Cache, embed, progress: ProgressFn,
                    should_stop: StopFn, max_file_bytes: int) -> dict[str, np.ndarray]:
    """The changed views' vectors of ``sample``, from the cache or embedded now by ``embed`` (those that
    cannot be read are left out).

    The next batch's copies are made in threads while the network embeds this one: PIL lets go of the GIL.
    """
    key = changes_id(library)
    stored = cache.embedded_hashes(key)
    missing = [h for h in sample if h not in stored]
    path_of = {h: p for p, h in zip(reversed(library.paths), reversed(library.hashes))}
    plan = view_plan(library.spec.unadapted)
    reach = library.spec.largest_input / BASE_INPUT
    batches = [missing[start:start + BATCH] for start in range(0, len(missing), BATCH)]
    pool = ThreadPoolExecutor(PREPARERS, thread_name_prefix="adapting")

    def submit(number: int) -> list[tuple[str, Future]]:
        return [(h, pool.submit(_prepared, path_of[h], h, plan, reach, max_file_bytes))
                for h in batches[number]] if number < len(batches) else []
    try:
        ahead = submit(0)
        for number in range(len(batches)):
            if should_stop():
                raise Cancelled()
            progress(number * BATCH, len(missing), ADAPTING_NOTE)
            current, ahead = ahead, submit(number + 1)
            ready = [(h, views) for h, views in ((h, future.result()) for h, future in current) if views is not None]
            if ready:
                cache.put_embeddings(key, [h for h, _ in ready], embed([views for _, views in ready]))
                stored.update(h for h, _ in ready)
    finally:
        pool.shutdown(cancel_futures=True)
    if missing:
        progress(len(missing), len(missing), ADAPTING_NOTE)
    kept = [h for h in sample if h in stored]
    return dict(zip(kept, cache.vectors(key, kept))) if kept else {}


def adapt_library(library: Library, spec: ExtractorSpec, cache: Cache, *, device: str = "auto", precision: str = "auto",
                  backend: str = "auto", progress: ProgressFn = no_progress, should_stop: StopFn = never_stop,
                  max_file_bytes: int = images.MAX_FILE_BYTES) -> Library:
    """``library`` (the network's vectors) under the adapted ``spec``, its vectors projected for the folder.

    A folder with fewer than :data:`MIN_PAIRS` usable pairs keeps its vectors as they are, under the
    unadapted spec and its id: maps and clusters are never cached under the adapted id for vectors that
    were not projected.

    Raises
    ------
    Cancelled
        When ``should_stop()`` turns true; the changed views embedded so far stay in the cache.
    """
    sample = sample_hashes(library.hashes)
    if len(sample) < MIN_PAIRS:
        return library
    # The network is loaded only where a changed view is missing: reopening a folder loads no model.
    changed = changed_vectors(library, sample, cache,
                              lambda inputs: embed_inputs(shared_embedder(spec, device, precision, backend), inputs),
                              progress, should_stop, max_file_bytes)
    if len(changed) < MIN_PAIRS:
        return library
    row_of = {h: i for i, h in enumerate(library.hashes)}
    originals = library.vectors[[row_of[h] for h in changed]]
    projection = fit_projection(library.vectors, originals, np.stack(list(changed.values())))
    return replace(library, spec=spec, vectors=projection.apply(library.vectors), projection=projection)
