"""The CNN's CPU path without torch: the exported taps (:mod:`.exported`) fed and pooled in numpy.

Each function here is the numpy twin of the torch one of the same name in :mod:`.cnn`, and gives its
numbers (tests/test_torchless.py); a new pooling in :mod:`.cnn` gets its twin here. With the export
shipped in the bundle, the default extractor embeds without torch installed at all.
"""

from __future__ import annotations

import logging

import numpy as np

from ..io.images import LUMA_WEIGHTS
from . import backbones, exported
from .cnn import CENTRE_SIGMA, OBJECT_FLOOR, OBJECT_POWER, NetworkSpec
from .runtime import Runtime, torch_installed

log = logging.getLogger(__name__)


def _l2(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def image_descriptors(descriptors: np.ndarray, owners: np.ndarray, n_images: int) -> np.ndarray:
    """The unit-length sum of each image's view descriptors, as (n_images, D) float32."""
    summed = np.zeros((n_images, descriptors.shape[1]), dtype=np.float32)
    np.add.at(summed, owners, descriptors)
    return _l2(summed).astype(np.float32)


def spatial_weights(height: int, width: int, pooling: str) -> np.ndarray:
    """Pooling weights over an H×W map that sum to one (``avg`` or ``centre``), flattened."""
    if pooling == "avg":
        weights = np.ones((height, width), dtype=np.float32)
    else:
        y = (np.arange(height, dtype=np.float32) + 0.5) / height - 0.5
        x = (np.arange(width, dtype=np.float32) + 0.5) / width - 0.5
        weights = np.exp(-(y[:, None] ** 2 + x[None, :] ** 2) / np.float32(2 * CENTRE_SIGMA**2))
    return (weights / weights.sum()).ravel()


def object_saliency(deepest: np.ndarray) -> np.ndarray:
    """Per position of an (N, C, H, W) map, in [0, 1]: how unlike the frame's border it looks."""
    unit = _l2(deepest.astype(np.float32, copy=False))
    border = np.ones(unit.shape[2:], dtype=bool)
    border[1:-1, 1:-1] = False
    background = _l2(unit[:, :, border].mean(2))
    unlike = np.maximum(1 - np.einsum("nchw,nc->nhw", unit, background), 0)
    return unlike / np.maximum(unlike.max(axis=(1, 2), keepdims=True), 1e-6)


def resize_bilinear(maps: np.ndarray, height: int, width: int) -> np.ndarray:
    """(N, h, w) maps resized to (N, height, width) as torch's ``interpolate(mode="bilinear")`` does:
    pixel centres aligned, no antialiasing."""

    def axis(size_in: int, size_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        source = np.maximum((np.arange(size_out) + 0.5) * (size_in / size_out) - 0.5, 0)
        low = np.minimum(source.astype(np.int64), size_in - 1)
        high = np.minimum(low + 1, size_in - 1)
        return low, high, (source - low).astype(np.float32)

    (y0, y1, fy), (x0, x1, fx) = axis(maps.shape[1], height), axis(maps.shape[2], width)
    rows = maps[:, y0] * (1 - fy)[None, :, None] + maps[:, y1] * fy[None, :, None]
    return rows[:, :, x0] * (1 - fx) + rows[:, :, x1] * fx


def _pooling_weights(fmap: np.ndarray, pooling: str, saliency: np.ndarray | None) -> np.ndarray:
    """(N, H·W) weights that sum to one per image, for one tapped map."""
    height, width = fmap.shape[2:]
    prior = spatial_weights(height, width, "centre" if pooling == "object" else pooling)
    if pooling != "object":
        return np.broadcast_to(prior, (fmap.shape[0], prior.size))
    resized = resize_bilinear(saliency, height, width).reshape(fmap.shape[0], -1)
    weights = (OBJECT_FLOOR + resized**OBJECT_POWER) * prior
    return weights / weights.sum(axis=1, keepdims=True)


def pool_maps(maps: list[np.ndarray], mode: str, pooling: str = "avg", gram: bool = False) -> np.ndarray:
    """Pool a list of (N, C, H, W) maps into one (N, D) float32 descriptor, unit-norm per part."""
    for fmap in maps:
        if fmap.ndim != 4:
            raise ValueError(f"a tapped layer gives shape {fmap.shape}, not a feature map; tap a convolutional block")
    # The coarsest map is the deepest tap; of two maps of one size (Lite0's blocks 11 and 14), the later
    # named, which is the deeper where taps are named in the network's order, as every default is.
    saliency = None
    if pooling == "object":
        saliency = object_saliency(min(reversed(maps), key=lambda m: m.shape[2] * m.shape[3]))
    parts = []
    for fmap in maps:
        flat = fmap.astype(np.float32, copy=False).reshape(*fmap.shape[:2], -1)
        weights = _pooling_weights(fmap, pooling, saliency)[:, :, None]
        # Batched matrix products, which BLAS runs, rather than einsum's loops.
        mean = (flat @ weights)[..., 0]
        parts.append(_l2(mean))
        if mode == "texture":
            variance = (((flat - mean[..., None]) ** 2) @ weights)[..., 0]
            parts.append(_l2(np.sqrt(np.maximum(variance, 0))))
            if gram:
                gram_matrix = flat @ flat.transpose(0, 2, 1) / flat.shape[2]
                upper = np.triu_indices(flat.shape[1])
                values = gram_matrix[:, upper[0], upper[1]]
                parts.append(_l2(np.sign(values) * np.sqrt(np.abs(values))))
    return np.concatenate(parts, axis=1) / np.float32(len(parts) ** 0.5)


class ExportedEmbedder:
    """:class:`~.cnn.CnnEmbedder`'s vectors from the exported taps, with numpy for everything around them."""

    def __init__(self, spec: NetworkSpec, runtime: Runtime, taps: exported.TapRunner):
        self.spec = spec
        self.runtime = runtime
        self.taps = taps
        backbone = backbones.get(spec.model)
        self._mean = np.array(backbone.mean, dtype=np.float32).reshape(1, 3, 1, 1)
        self._std = np.array(backbone.std, dtype=np.float32).reshape(1, 3, 1, 1)

    def embed(self, views: np.ndarray, owners: np.ndarray, n_images: int) -> np.ndarray:
        """Embed ``views`` (uint8, N×S×S×3); ``owners[i]`` is the image view i belongs to."""
        batch = np.asarray(views, dtype=np.float32).transpose(0, 3, 1, 2)
        if self.spec.mode == "structure":
            luminance = np.einsum("nchw,c->nhw", batch, np.asarray(LUMA_WEIGHTS, dtype=np.float32))[:, None]
            luminance = np.broadcast_to(luminance, batch.shape)
            descriptors = self._symmetrised(luminance) + self._symmetrised(255 - luminance)
        else:
            descriptors = self._symmetrised(batch)
        return image_descriptors(descriptors, owners, n_images)

    def _symmetrised(self, pixels: np.ndarray) -> np.ndarray:
        """The summed descriptors of ``pixels`` (N×3×S×S, 0..255) over the flips the spec asks for."""
        batch = (pixels - self._mean) / self._std
        descriptors = self._describe(batch)
        if self.spec.invariant:
            # The other 7 elements of D4: 3 turns, the mirror and its 3 turns.
            for mirrored in (False, True):
                source = batch[..., ::-1] if mirrored else batch
                for turns in range(0 if mirrored else 1, 4):
                    descriptors = descriptors + self._describe(np.rot90(source, turns, axes=(2, 3)))
        elif self.spec.flip:
            descriptors = descriptors + self._describe(batch[..., ::-1])
        return descriptors

    def _describe(self, batch: np.ndarray) -> np.ndarray:
        maps = self.taps(np.ascontiguousarray(batch, dtype=np.float32))
        return pool_maps(maps, self.spec.mode, self.spec.pooling, self.spec.gram)


def exported_embedder(spec: NetworkSpec, runtime: Runtime) -> ExportedEmbedder | None:
    """The embedder for ``spec`` on ``runtime``'s exported backend, or None where torch must run it instead
    (said in one warning).

    Raises
    ------
    TorchMissing
        No export of this network is at hand, and torch, which would make one, is not installed.
    ExportUnavailable
        The backend cannot run, and torch, which would run instead, is not installed.
    """
    try:
        return ExportedEmbedder(spec, runtime, exported.taps_runner(spec, runtime.backend, runtime.precision))
    except exported.ExportUnavailable as exc:
        if not torch_installed():
            raise
        log.warning("the %s runtime is unavailable (%s); running on torch instead", runtime.backend, exc)
        return None
