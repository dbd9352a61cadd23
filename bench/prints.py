"""Fabric prints, flat, photographed as swatches and made into garments (the development set ``prints``).

A fabric library is full of prints whose period is the whole pattern: polka dots, gingham, checks, small
geometric repeats and stripes, beside florals that do not repeat at all. They test what melting a bracelet
chart's knots (io.knots) must leave alone: blurred at its own period, such a print keeps nothing but its mean
colour. Each print is drawn at a random scale, colourway and slight skew, with a little weave noise, then
used in one of three ways: a flat scan, a swatch photographed flat (light falloff, camera, JPEG) or a
garment photo (bench/garments.py).
"""

from __future__ import annotations

import math

import numpy as np
from garments import garment_photo
from PIL import Image, ImageDraw, ImageFilter
from scenes import Array, finish

KINDS = ("dots", "gingham", "checks", "geometric", "stripes", "floral")
USES = ("flat", "swatch", "garment")


def _colours(rng: np.random.Generator, count: int) -> list[Array]:
    return [rng.integers(0, 256, 3).astype(np.float32) for _ in range(count)]


def _skewed_grid(rng: np.random.Generator, width: int, height: int) -> tuple[Array, Array]:
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(-0.15, 0.15)
    return x * math.cos(angle) - y * math.sin(angle), x * math.sin(angle) + y * math.cos(angle)


def _dots(rng: np.random.Generator, x: Array, y: Array, pitch: float) -> Array:
    radius = pitch * rng.uniform(0.15, 0.35)
    if rng.random() < 0.5:  # rows offset by half a pitch, as most polka dots are printed
        row = np.floor(y / (pitch * 0.866))
        cy = (row + 0.5) * pitch * 0.866
        cx = (np.floor(x / pitch - 0.5 * (row % 2)) + 0.5 + 0.5 * (row % 2)) * pitch
    else:
        cx, cy = (np.floor(x / pitch) + 0.5) * pitch, (np.floor(y / pitch) + 0.5) * pitch
    return (np.hypot(x - cx, y - cy) < radius).astype(np.float32)


def _drawn(rng: np.random.Generator, kind: str, width: int, height: int, pitch: float) -> Array:
    """The print as float RGB: ``pitch`` is its period in pixels (a floral's spacing)."""
    ground, ink, accent = _colours(rng, 3)
    x, y = _skewed_grid(rng, width, height)
    if kind == "dots":
        return np.where(_dots(rng, x, y, pitch)[..., None] > 0, ink, ground)
    if kind == "gingham":
        across, down = (x % pitch) < pitch / 2, (y % pitch) < pitch / 2
        half = np.where((across | down)[..., None], (ink + ground) / 2, ground)
        return np.where((across & down)[..., None], ink, half)
    if kind == "checks":
        return np.where(((np.floor(x / (pitch / 2)) + np.floor(y / (pitch / 2))) % 2 == 0)[..., None], ink, ground)
    if kind == "geometric":
        u, v = (x % pitch) / pitch - 0.5, (y % pitch) / pitch - 0.5
        diamond = np.abs(u) + np.abs(v) < rng.uniform(0.2, 0.4)
        cross = (np.abs(u) < 0.06) | (np.abs(v) < 0.06)
        return np.where(diamond[..., None], ink, np.where(cross[..., None], accent, ground))
    if kind == "stripes":
        phase = (x % pitch) / pitch
        return np.where((phase < rng.uniform(0.15, 0.5))[..., None], ink,
                        np.where((phase > 0.8)[..., None], accent, ground))
    image = Image.new("RGB", (width, height), tuple(int(c) for c in ground))
    draw = ImageDraw.Draw(image)
    for _ in range(int(width * height / (pitch * pitch * 2.5))):
        fx, fy, size = rng.uniform(0, width), rng.uniform(0, height), pitch * rng.uniform(0.3, 0.7)
        petal = tuple(int(c) for c in (ink if rng.random() < 0.6 else accent))
        turn = rng.uniform(0, 1)
        for k in range(5):
            angle = turn + k * 2 * math.pi / 5
            px, py = fx + size / 2 * math.cos(angle), fy + size / 2 * math.sin(angle)
            draw.ellipse((px - size * 0.3, py - size * 0.3, px + size * 0.3, py + size * 0.3), fill=petal)
        heart = tuple(int(c) for c in accent)
        draw.ellipse((fx - size * 0.15, fy - size * 0.15, fx + size * 0.15, fy + size * 0.15), fill=heart)
    return np.asarray(image, np.float32)


def flat_print(rng: np.random.Generator, kind: str) -> Array:
    """One print of ``kind`` as float RGB, 300 to 1200 px on its long side, its period 12 to 64 px at 512."""
    long = int(rng.integers(300, 1201))
    aspect = (1.0, 4 / 3, 3 / 4, 3 / 2)[rng.integers(4)]
    width, height = (long, int(long / aspect)) if aspect >= 1 else (int(long * aspect), long)
    pitch = rng.uniform(12, 64) * long / 512
    pixels = _drawn(rng, kind, width, height, pitch) + rng.normal(0, 4, (height, width, 3))
    return np.asarray(Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.6)),
                      np.float32)


def print_image(rng: np.random.Generator, kind: str, use: str) -> Image.Image:
    """A print of ``kind`` used as ``use`` (one of :data:`USES`)."""
    pixels = flat_print(rng, kind)
    if use == "flat":
        return Image.fromarray(pixels.astype(np.uint8))
    if use == "garment":
        return garment_photo(rng, pixels)
    height, width = pixels.shape[:2]
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    lx, ly = rng.uniform(0, width), rng.uniform(0, height)
    falloff = 1.05 - 0.45 * np.hypot(x - lx, y - ly) / math.hypot(width, height)
    return finish(rng, pixels * falloff[..., None])
