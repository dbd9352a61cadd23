"""Knot grids melted into flat cells before the network sees them.

A bracelet chart draws its motif (a heart, a word, a chevron) in knots, and all charts' knots look
alike, so the network's middle layers answer to that shared texture more than to the motif. Blurred at
its own knot pitch, a chart keeps its cells' colours and loses the knots: the views show the motif.
Measured on six labelled sets (docs/benchmarks.md, "Melting the knots"), find-similar P@10 rises on the
chart development set and on rendered swatches and photos of them, falls a little on dtd10 and garment
photos, and falls a long way on fabric prints, whose photos still pass the gate.

An image is taken for a knot grid (:class:`Gate`) when its grey levels repeat in two directions, as knots
do and stripes do not, or repeat in one very fine period, as a long chart's rows do, and when blurring at
that period leaves a motif: a print whose period is the whole pattern (polka dots, checks, pinstripes) would
keep only its mean colour, and is left as it is where the period found is its own (two thirds of the flat
prints the spectrum takes). Every length is a share of the image's long side, written in pixels of a 512 px
one, and the coarsest pitch taken is loose enough that a chart at any size, and a photo of it, fall on the
same side: a pattern is compared melted with melted. A photo of such a print on a garment still passes (its
outline and shading survive the blur), as do some photos of checks and crosshatching, which is why by
default a folder is melted only when most of its images are knot grids (``folder.extractor``), unless the
user chooses otherwise (``ExtractorSpec.melt_knots``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

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
#: Two frequencies at least this far apart in direction (radians) are two directions of repetition.
APART = np.pi / 6


@dataclass(frozen=True)
class Spectrum:
    """What the gate reads in an image's spectrum: the strongest period (in the analysed pixels), its share of
    the band's power, and how far the strongest frequency in another direction stands above its ring's mean
    power (the spectrum's slope divided out, so a coarse period does not win by being coarse)."""

    pitch: float
    share: float
    crossing: float


@dataclass(frozen=True)
class Gate:
    """When a :class:`Spectrum` is a knot grid's; pitches in pixels of an :data:`ANALYSIS_SIDE` long side.

    Measured on four sets (``bench/knots.py``, docs/benchmarks.md "Melting the knots"): a lattice pitch of
    24 px melts a chart at one size and not at another (about half of the rendered families change sides
    between 160 and 640 px); 40 costs the garment photos 0.011 to 0.038 of P@10."""

    #: A grid that repeats in two directions, up to 16 knots along the long side ...
    lattice_pitch: float = 32.0
    lattice_share: float = 0.05
    lattice_crossing: float = 20.0
    #: ... or one of 64 knots or more along it, which a long chart's rows of knots repeat in one direction.
    fine_pitch: float = 8.0
    fine_share: float = 0.02
    #: The least share of the image's contrast, its shading divided out, that blurring at the pitch must
    #: leave: below it the period is the whole pattern (dots, checks, pinstripes), and melting would erase it.
    #: At 0.05 every chart and bracelet render of bench/knots.py is melted as before and half as many fabric
    #: prints are (21 % against 41 %); at 0.08, 6 % of the photos of bracelets are no longer melted.
    least_left: float = 0.05

    def takes(self, spectrum: Spectrum, scale: float) -> bool:
        """Whether ``spectrum``, analysed at ``scale`` times :data:`ANALYSIS_SIDE`, is a knot grid's."""
        lattice = (spectrum.pitch <= self.lattice_pitch * scale and spectrum.share >= self.lattice_share
                   and spectrum.crossing >= self.lattice_crossing)
        fine = spectrum.pitch <= self.fine_pitch * scale and spectrum.share >= self.fine_share
        return lattice or fine


GATE = Gate()


def _blurred(pixels: np.ndarray, pitch: float) -> np.ndarray:
    import cv2

    # Two passes of a box one knot wide: each averages whole periods, so the knots' frequency and its
    # harmonics vanish while a motif of two knots or more stays; a box costs the same at any width, where a
    # Gaussian as wide took 4x as long.
    width = max(2, round(pitch))
    return cv2.blur(cv2.blur(pixels, (width, width), borderType=cv2.BORDER_REFLECT), (width, width),
                    borderType=cv2.BORDER_REFLECT)


@dataclass(frozen=True)
class _Band:
    """The frequencies of a ``rows`` × ``cols`` real FFT between two periods, and what the gate needs of them:
    the 2-D window, each band frequency's index in the flat spectrum, its period, its direction as a unit
    vector and its ring, and the ring of every frequency (its distance from zero in steps of the longer side's
    resolution) with each ring's size. Made once per shape and band (:func:`_band`): a folder's images share
    few."""

    window: np.ndarray
    index: np.ndarray
    period: np.ndarray
    unit: np.ndarray
    band_ring: np.ndarray
    ring: np.ndarray
    ring_size: np.ndarray


@functools.lru_cache(maxsize=64)
def _band(rows: int, cols: int, finest: float, coarsest: float) -> _Band:
    # The window keeps the crop's edges, a strip's end or a photo's border, from posing as a period.
    window = np.outer(np.hanning(rows), np.hanning(cols)).astype(np.float32)
    fy, fx = np.fft.fftfreq(rows)[:, None], np.fft.rfftfreq(cols)[None, :]
    radius = np.hypot(fy, fx).ravel()
    index = np.flatnonzero((radius > 1 / coarsest) & (radius < 1 / finest))
    direction = np.broadcast_to(np.arctan2(fy, fx), (rows, fx.size)).ravel()[index]
    ring = np.rint(radius * max(rows, cols)).astype(np.intp)
    band = _Band(window, index, (1 / radius[index]).astype(np.float32),
                 np.stack([np.cos(direction), np.sin(direction)]).astype(np.float32), ring[index], ring,
                 np.bincount(ring).astype(np.float64))
    for array in (band.window, band.index, band.period, band.unit, band.band_ring, band.ring, band.ring_size):
        array.flags.writeable = False
    return band


def _spectrum(grey: np.ndarray, scale: float) -> Spectrum | None:
    """What :class:`Gate` reads in ``grey``, within :data:`PERIODS` (times ``scale``), or ``None`` where the
    band is empty or flat."""
    from scipy import fft

    # Trimmed to lengths the FFT factors well: a prime side (337 px) took 0.7 ms against 0.1.
    height, width = (fft.prev_fast_len(side, real=True) for side in grey.shape)
    band = _band(height, width, max(PERIODS[0] * scale, FINEST_PERIOD), PERIODS[1] * scale)
    rows = grey[:height, :width].astype(np.float32)
    spectrum = fft.rfft2((rows - rows.mean()) * band.window).ravel()
    power = spectrum.real ** 2 + spectrum.imag ** 2
    inside = power[band.index]
    total = float(inside.sum())
    if total <= 0:
        return None
    strongest = int(np.argmax(inside))
    ring_mean = np.bincount(band.ring, power, minlength=band.ring_size.size) / band.ring_size
    prominence = inside / np.maximum(ring_mean[band.band_ring], np.finfo(np.float32).tiny)
    # Directions are the same modulo a half turn: two lie APART or more when |cos| of their angle is below
    # cos(APART).
    turned = np.abs(band.unit[:, int(np.argmax(prominence))] @ band.unit) < np.cos(APART)
    crossing = float(prominence[turned].max(initial=0.0))
    return Spectrum(float(band.period[strongest]), float(inside[strongest]) / total, crossing)


def knot_pitch(image: Image.Image, gate: Gate = GATE) -> float | None:
    """The knot pitch of ``image`` in its own pixels, or ``None`` where ``gate`` sees no knot grid in it."""
    if image.mode != "RGB" or min(image.size) < 2 * PERIODS[0]:
        return None
    # Judged at most ANALYSIS_SIDE long (a box reduce, cheap), in its middle square of ANALYSIS_CROP: a grid
    # repeats, so a part shows its period, and judging the whole took 2 to 4 times as long.
    factor = -(-max(image.size) // ANALYSIS_SIDE)
    scale = max(image.size) / factor / ANALYSIS_SIDE
    crop_w, crop_h = (min(side, ANALYSIS_CROP * factor) for side in image.size)
    left, top = (image.width - crop_w) // 2, (image.height - crop_h) // 2
    middle = image.reduce(factor, box=(left, top, left + crop_w, top + crop_h))
    grey = np.asarray(middle.convert("L"))
    spectrum = _spectrum(grey, scale)
    if spectrum is None or not gate.takes(spectrum, scale):
        return None
    if gate.least_left > 0 and _left_after_melting(grey, spectrum.pitch) < gate.least_left:
        return None
    return spectrum.pitch * factor


def _left_after_melting(grey: np.ndarray, pitch: float) -> float:
    """The share of ``grey``'s contrast that blurring at ``pitch`` leaves, after dividing out its shading, so a
    photo's light falloff does not pass for a motif. Both blurs are the melting's two boxes: one box over the
    knots judged 27 of the 98 prints the spectrum takes otherwise, and one box for the shading brought a photo
    of a bracelet to 0.051 against a :attr:`Gate.least_left` of 0.05 (docs/benchmarks.md, "Melting the knots")."""
    pixels = grey.astype(np.float32)
    width = max(2, round(pitch))
    # The shading is a box four pitches wide (odd, so centred); the 8 grey levels keep dark areas from
    # blowing the ratio up.
    evened = pixels / (_blurred(pixels, 4 * width + 1) + 8.0)
    # The blur reflects at the borders, which breaks the period there: a pitch is left out at each border of
    # a side that keeps a whole period without them.
    inner = tuple(slice(width, -width) if side > 3 * width else slice(None) for side in pixels.shape)
    spread = float(evened[inner].std())
    return float(_blurred(evened, width)[inner].std()) / spread if spread > 0 else 0.0


def melted(image: Image.Image, gate: Gate = GATE) -> Image.Image:
    """``image`` blurred at its knot pitch where ``gate`` takes it for a knot grid (:func:`knot_pitch`), else
    ``image`` itself."""
    pitch = knot_pitch(image, gate)
    return image if pitch is None else Image.fromarray(_blurred(np.asarray(image), pitch))
