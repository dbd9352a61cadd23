"""Bring an image to a reference brightness, contrast and sharpness before embedding.

A dim, flat or soft scan looks different to the network from the rest of a library even
when the pattern is the same, so :func:`equalize` can first bring it to a reference level,
normally the folder's per-field median (:func:`reference_level`). Folders and caches are
the caller's business: it measures every image, takes the medians and equalizes each.

All metrics are taken on a copy whose short side is :data:`MEASURE_SIDE`, so they describe
the picture rather than its pixel count. Sharpness is the RMS luminance gradient (forward
differences) of that copy. Unlike the variance of the Laplacian it is a first derivative,
so noise and a few hard edges dominate it less; and being a quadratic measure, its effect
under any linear filter follows from the power spectrum, which makes the sharpening search
cost one FFT instead of one filtered image per step.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass
from typing import Iterable

import numpy as np
from PIL import Image, ImageFilter

from .images import LUMA_WEIGHTS

MEASURE_SIDE = 256
#: Longer strips are measured on their centre part of this aspect ratio, which keeps the
#: measuring copy small; a repeating strip's centre is representative of its whole.
MEASURE_MAX_ASPECT = 4
#: Contrast gain bounds: a nearly flat image is not stretched into amplified noise.
MIN_GAIN, MAX_GAIN = 0.25, 4.0
#: Bounds on the sharpness change, in pixels of the measuring copy, so a hopeless image
#: is improved rather than destroyed: unsharp mask radius and amount, blur sigma.
SHARPEN_RADIUS = 1.5
MAX_SHARPEN = 2.5
MAX_BLUR = 2.0
#: Relative sharpness within this fraction of the reference is left alone.
SHARPNESS_TOLERANCE = 0.03
SEARCH_STEPS = 12
TONE_STEPS = 6
TONE_SAMPLE = 16384
#: Below this spread an image is flat: there is nothing for a gain to scale.
_FLAT = 1e-3
_LUMA = np.array(LUMA_WEIGHTS, dtype=np.float32)


@dataclass(frozen=True)
class ImageMetrics:
    """Brightness, contrast and sharpness of an image, measured at :data:`MEASURE_SIDE`.

    Attributes
    ----------
    brightness
        Mean luminance (Rec. 601, as PIL's ``"L"``), 0..255.
    contrast
        Standard deviation of the luminance (RMS contrast), 0..255.
    sharpness
        RMS luminance gradient, in levels per pixel of the measuring copy.
    """

    brightness: float
    contrast: float
    sharpness: float

    def as_dict(self) -> dict:
        """Return the fields as a JSON-friendly dict."""
        return {k: float(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Adjustment:
    """What :func:`equalize` did to one image.

    Attributes
    ----------
    gain, offset
        Contrast multiplier and the brightness shift after it, about the mean luminance
        ``m``: ``out = (x - m) * gain + m + offset`` on all three channels.
    sharpen, blur
        Unsharp-mask amount (1.0 = 100 %, radius :data:`SHARPEN_RADIUS` scaled to the
        image) or Gaussian blur sigma in image pixels; at most one is non-zero.
    before, after
        Metrics of the input and of the equalized result.
    """

    gain: float
    offset: float
    sharpen: float
    blur: float
    before: ImageMetrics
    after: ImageMetrics

    def as_dict(self) -> dict:
        """Return a JSON-friendly dict: the settings, ``before``, ``after`` and ``changes``."""
        before, after = self.before.as_dict(), self.after.as_dict()
        return {"gain": float(self.gain), "offset": float(self.offset),
                "sharpen": float(self.sharpen), "blur": float(self.blur),
                "before": before, "after": after,
                "changes": {k: after[k] - before[k] for k in before}}


def _measure_copy(image: Image.Image) -> Image.Image:
    """Return the copy that metrics are measured on: short side MEASURE_SIDE, same mode."""
    w, h = image.size
    short, long = min(w, h), max(w, h)
    if short == 0:
        raise ValueError("image has no pixels")
    keep = math.ceil(short * MEASURE_MAX_ASPECT)
    if long > keep:
        start = (long - keep) // 2
        image = image.crop((start, 0, start + keep, h) if w > h else (0, start, w, start + keep))
        w, h = image.size
    scale = MEASURE_SIDE / short
    # Shrinking averages the covered pixels; enlarging must not add blocky edges.
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    return image.resize((max(1, round(w * scale)), max(1, round(h * scale))), resample)


def _metrics(luma: np.ndarray) -> ImageMetrics:
    gx = np.diff(luma, axis=1)[:-1, :]
    gy = np.diff(luma, axis=0)[:, :-1]
    sharpness = math.sqrt(float(np.mean(gx * gx + gy * gy))) if gx.size else 0.0
    return ImageMetrics(float(luma.mean(dtype=np.float64)), float(luma.std(dtype=np.float64)), sharpness)


def _luma(image: Image.Image) -> np.ndarray:
    return np.asarray(_measure_copy(image.convert("L")), dtype=np.float32)


def measure(image: Image.Image) -> ImageMetrics:
    """Return the :class:`ImageMetrics` of ``image`` (any mode, at least one pixel)."""
    return _metrics(_luma(image))


def reference_level(metrics: Iterable[ImageMetrics]) -> ImageMetrics:
    """Return the per-field median of ``metrics``; raises ``ValueError`` when empty."""
    items = list(metrics)
    if not items:
        raise ValueError("reference_level needs at least one ImageMetrics")
    return ImageMetrics(*(float(statistics.median(getattr(m, f) for m in items))
                          for f in ("brightness", "contrast", "sharpness")))


def _search(luma: np.ndarray, change: float) -> tuple[float, float]:
    """Return ``(amount, sigma)`` that scale sharpness/contrast of ``luma`` by ``change``.

    Sharpness over contrast is an RMS spatial frequency, which an unsharp mask raises and
    a blur lowers monotonically, so bisection applies. It is predicted from the power
    spectrum under each filter's transfer function; targeting a ratio to the unfiltered
    prediction cancels the FFT's wrap-around edges.
    """
    power = np.abs(np.fft.rfft2(luma)) ** 2
    power[0, 0] = 0.0
    fy = 2 * np.pi * np.fft.fftfreq(luma.shape[0])[:, None]
    fx = 2 * np.pi * np.fft.rfftfreq(luma.shape[1])[None, :]
    k2, diff = fy * fy + fx * fx, 4 * np.sin(fy / 2) ** 2 + 4 * np.sin(fx / 2) ** 2

    def rms_frequency(transfer: np.ndarray) -> float:
        energy = power * transfer * transfer
        return math.sqrt(float((energy * diff).sum()) / max(float(energy.sum()), 1e-12))

    sharpen = change > 1
    unsharp = 1 - np.exp(-k2 * SHARPEN_RADIUS ** 2 / 2)
    target = change * rms_frequency(np.ones_like(k2))
    lo, hi = 0.0, MAX_SHARPEN if sharpen else MAX_BLUR
    for _ in range(SEARCH_STEPS):
        mid = (lo + hi) / 2
        got = rms_frequency(1 + mid * unsharp if sharpen else np.exp(-k2 * mid * mid / 2))
        lo, hi = (mid, hi) if (got < target) == sharpen else (lo, mid)
    return ((lo + hi) / 2, 0.0) if sharpen else (0.0, (lo + hi) / 2)


def _tone(rgb: Image.Image, mean: float, contrast: float,
          reference: ImageMetrics) -> tuple[float, float]:
    """Return ``(gain, offset)`` of the map about ``mean`` that brings ``rgb`` to ``reference``.

    ``mean`` and ``contrast`` are the measuring copy's, which the map moves linearly. Only
    clipping at 0 and 255 (per channel, per full-resolution pixel) is not linear; its pull
    on the mean and spread is estimated on a fixed random sample of pixels, and the map is
    refined against it a few times.
    """
    pixels = np.asarray(rgb).reshape(-1, 3)
    if len(pixels) > TONE_SAMPLE:
        pixels = pixels[np.random.default_rng(0).integers(0, len(pixels), TONE_SAMPLE)]
    luma = pixels @ _LUMA
    spread = float(luma.std())
    flat = contrast < _FLAT or spread < _FLAT
    gain = 1.0 if flat else min(max(reference.contrast / contrast, MIN_GAIN), MAX_GAIN)
    offset = reference.brightness - mean
    for _ in range(TONE_STEPS):
        mapped = _levels(mean, gain, offset)[pixels] @ _LUMA
        linear = (luma - mean) * gain + mean + offset
        got_mean = mean + offset + float((mapped - linear).mean())
        offset = min(max(offset + reference.brightness - got_mean, -255.0), 255.0)
        got_contrast = contrast * float(mapped.std()) / spread if not flat else 0.0
        if got_contrast > _FLAT:
            gain = min(max(gain * reference.contrast / got_contrast, MIN_GAIN), MAX_GAIN)
    return gain, offset


def _levels(mean: float, gain: float, offset: float) -> np.ndarray:
    """Return the 256-entry table of ``(x - mean) * gain + mean + offset``, clipped."""
    return np.clip(np.rint((np.arange(256, dtype=np.float32) - mean) * gain + mean + offset), 0, 255)


def equalize(image: Image.Image, reference: ImageMetrics,
             before: ImageMetrics | None = None) -> tuple[Image.Image, Adjustment]:
    """Bring ``image`` to the brightness, contrast and sharpness of ``reference``.

    Sharpness goes first, matched as sharpness over contrast: the gain scales gradients,
    but the linear brightness/contrast map that follows leaves that ratio alone, so once it
    sets the contrast the absolute sharpness lands on the reference too. The unsharp amount
    or blur sigma is searched on the measuring copy and applied at full resolution with its
    radius scaled by the ratio of short sides. Filters touch luminance only: that is what is
    measured, it avoids colour fringes and it is a third of the work.

    Parameters
    ----------
    image
        The image to adjust; the result keeps its size and is RGB.
    reference
        The target level, typically :func:`reference_level` of a folder.
    before
        ``measure(image)`` when the caller already has it.

    Returns
    -------
    tuple of PIL.Image.Image and Adjustment
    """
    result, gain, offset, sharpen, blur, before = _equalize(image, reference, before)
    return result, Adjustment(gain, offset, sharpen, blur, before, measure(result))


def equalized(image: Image.Image, reference: ImageMetrics,
              before: ImageMetrics | None = None) -> Image.Image:
    """The image :func:`equalize` returns, for callers that have no use for its :class:`Adjustment`.

    Embedding is one: measuring the result for ``Adjustment.after`` is another pass over
    the image that it would throw away.
    """
    return _equalize(image, reference, before)[0]


def _equalize(image: Image.Image, reference: ImageMetrics, before: ImageMetrics | None
              ) -> tuple[Image.Image, float, float, float, float, ImageMetrics]:
    """:func:`equalize`'s image and the fields of its :class:`Adjustment` but ``after``."""
    rgb = image.convert("RGB")
    luma = _luma(rgb)
    before = before if before is not None else _metrics(luma)
    sharpen = blur = 0.0
    if min(before.contrast, before.sharpness, reference.contrast) > _FLAT:
        change = (reference.sharpness / reference.contrast) / (before.sharpness / before.contrast)
        if abs(change - 1) > SHARPNESS_TOLERANCE:
            sharpen, blur = _search(luma, change)
    scale = min(rgb.size) / MEASURE_SIDE
    sharpen, blur = round(sharpen, 2), blur * scale
    if sharpen > 0 or blur > 0:
        grey = rgb.convert("L")
        kernel = (ImageFilter.UnsharpMask(SHARPEN_RADIUS * scale, round(sharpen * 100), 0)
                  if sharpen > 0 else ImageFilter.GaussianBlur(blur))
        delta = np.asarray(grey.filter(kernel), dtype=np.int16) - np.asarray(grey, dtype=np.int16)
        shifted = np.asarray(rgb, dtype=np.int16) + delta[:, :, None]
        rgb = Image.fromarray(np.clip(shifted, 0, 255).astype(np.uint8), "RGB")
        luma = _luma(rgb)
    mean, contrast = float(luma.mean(dtype=np.float64)), float(luma.std(dtype=np.float64))
    gain, offset = _tone(rgb, mean, contrast, reference)
    result = rgb.point(_levels(mean, gain, offset).astype(np.uint8).tolist() * 3)
    return result, gain, offset, sharpen, blur, before
