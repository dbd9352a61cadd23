"""Knot grids melted into flat cells before the network sees them.

A bracelet chart draws its motif (a heart, a word, a chevron) in knots, and all charts' knots look
alike, so the network's middle layers answer to that shared texture more than to the motif. Blurred at
its own knot pitch, a chart keeps its cells' colours and loses the knots: the views show the motif.
Measured on five labelled sets (docs/benchmarks.md, "Melting the knots"), find-similar P@10 rises by
0.10 on the chart development set, 0.07 on rendered swatches and 0.08 on photos of them, and falls by
0.002 on dtd10 and 0.005 on garment photos.

An image is taken for a knot grid when its grey levels have one sharp period, a frequency holding at
least :data:`LEAST_SHARE` of the power between the :data:`PERIODS`, no longer than :data:`MOST_PITCH`.
Every length is a share of the image's long side, written in pixels of a 512 px one, so an image and its
copy at another size are judged alike. The gate also takes some fine stripes, checks and crosshatching,
whose period is the pattern itself: 4 % of dtd10's photos.

It is an option (``ExtractorSpec.melt_knots``), not the default: the gate judges each image alone, and a
chart and a photo of it, or the same chart at another size, can fall on either side of it. Then the two are
compared melted against unmelted, and a photographed pattern finds its flat chart less often.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image

#: The long side every length below is measured at, in pixels.
ANALYSIS_SIDE = 512
#: The period is looked for in the middle square of at most this side, at that scale.
ANALYSIS_CROP = 192
#: The periods a knot pitch is looked for between: finer is the pixels' own noise, coarser a motif.
PERIODS = (4.0, 40.0)
#: ... and never finer than this many of the image's own pixels, whatever its size: near two, a period is
#: the JPEG's blocks and the resampling's aliases, not the pattern.
FINEST_PERIOD = 2.5
#: A knot grid's period is at most this (32 knots along the long side); texture photos mostly peak near
#: the coarse end of the band. 20 gained the swatches more and cost dtd10 and garment photos more.
MOST_PITCH = 16.0
#: The least share of the band's power in the peak frequency: knots give one sharp peak, textures a spread.
LEAST_SHARE = 0.02


def _blurred(pixels: np.ndarray, pitch: float) -> np.ndarray:
    import cv2

    # Two passes of a box one knot wide: each averages whole periods, so the knots' frequency and its
    # harmonics vanish while a motif of two knots or more stays; a box costs the same at any width, where a
    # Gaussian as wide took 4x as long.
    width = max(2, round(pitch))
    return cv2.blur(cv2.blur(pixels, (width, width), borderType=cv2.BORDER_REFLECT), (width, width),
                    borderType=cv2.BORDER_REFLECT)


@functools.lru_cache(maxsize=64)
def _radius(rows: int, cols: int) -> np.ndarray:
    """Each frequency's distance from zero, in cycles per pixel, of a ``rows`` × ``cols`` real FFT, flat. Kept
    per shape: the FFT's lengths are few."""
    radius = np.hypot(np.fft.fftfreq(rows)[:, None], np.fft.rfftfreq(cols)[None, :]).astype(np.float32).ravel()
    radius.flags.writeable = False
    return radius


def _peak(grey: np.ndarray, scale: float) -> tuple[float, float] | None:
    """The strongest period of ``grey`` within :data:`PERIODS` (times ``scale``) and its share of the band's
    power, or ``None`` where the band is empty or flat."""
    from scipy import fft

    # Trimmed to lengths the FFT factors well: a prime side (337 px) took 0.7 ms against 0.1.
    height, width = (fft.prev_fast_len(side, real=True) for side in grey.shape)
    rows = grey[:height, :width].astype(np.float32)
    # The window keeps the crop's edges, a strip's end or a photo's border, from posing as a period.
    windowed = (rows - rows.mean()) * np.hanning(height).astype(np.float32)[:, None]
    windowed *= np.hanning(width).astype(np.float32)[None, :]
    radius = _radius(height, width)
    inside = (radius > 1 / (PERIODS[1] * scale)) & (radius < 1 / max(PERIODS[0] * scale, FINEST_PERIOD))
    spectrum = fft.rfft2(windowed).ravel()[inside]
    power = spectrum.real ** 2 + spectrum.imag ** 2
    total = float(power.sum())
    if total <= 0:
        return None
    strongest = int(np.argmax(power))
    return float(1 / radius[inside][strongest]), float(power[strongest]) / total


def knot_pitch(image: Image.Image) -> float | None:
    """The knot pitch of ``image`` in its own pixels, or ``None`` where it shows no knot grid."""
    if image.mode != "RGB" or min(image.size) < 2 * PERIODS[0]:
        return None
    # Judged at most ANALYSIS_SIDE long (a box reduce, cheap), in its middle square of ANALYSIS_CROP: a grid
    # repeats, so a part shows its period, and judging the whole took 2 to 4 times as long.
    factor = -(-max(image.size) // ANALYSIS_SIDE)
    scale = max(image.size) / factor / ANALYSIS_SIDE
    crop_w, crop_h = (min(side, ANALYSIS_CROP * factor) for side in image.size)
    left, top = (image.width - crop_w) // 2, (image.height - crop_h) // 2
    middle = image.reduce(factor, box=(left, top, left + crop_w, top + crop_h))
    peak = _peak(np.asarray(middle.convert("L")), scale)
    if peak is None or peak[1] < LEAST_SHARE or peak[0] > MOST_PITCH * scale:
        return None
    return peak[0] * factor


def melted(image: Image.Image) -> Image.Image:
    """``image`` blurred at its knot pitch where it is a knot grid (:func:`knot_pitch`), else ``image`` itself."""
    pitch = knot_pitch(image)
    return image if pitch is None else Image.fromarray(_blurred(np.asarray(image), pitch))
