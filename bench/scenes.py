"""Backgrounds and camera finish for the development sets' photos (bench/devsets.py).

Everything is procedural: a photo's background must never be another texture photo of
the set, or a query could match on the background instead of the object.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageFilter

Array = np.ndarray
WALLS = ((236, 232, 222), (222, 216, 204), (205, 208, 210), (190, 198, 186), (226, 210, 196),
         (180, 190, 205), (238, 238, 236), (160, 150, 140), (214, 200, 170), (120, 130, 140))
WOODS = ((196, 160, 118), (160, 112, 70), (118, 80, 50), (90, 60, 40), (212, 184, 140), (140, 100, 74))


def smooth_noise(rng: np.random.Generator, width: int, height: int, cell: float,
                 cell_y: float | None = None) -> Array:
    """Zero-mean noise of about unit spread, varying over ``cell`` pixels across and
    ``cell_y`` (default ``cell``) down, by bicubic upsampling."""
    cols, rows = max(2, int(width / cell) + 2), max(2, int(height / (cell_y or cell)) + 2)
    grid = Image.fromarray(rng.normal(0, 1, (rows, cols)).astype(np.float32), "F")
    return np.asarray(grid.resize((width, height), Image.Resampling.BICUBIC), dtype=np.float32)


def _jitter(rng: np.random.Generator, colour: tuple[int, int, int], spread: float) -> Array:
    return np.asarray(colour, np.float32) * rng.uniform(1 - spread, 1 + spread) + rng.normal(0, 6, 3)


def _ramp(rng: np.random.Generator, width: int, height: int, strength: float) -> Array:
    # Light falling off across the frame from a random side, plus a soft hot spot.
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    ramp = (x / width - 0.5) * math.cos(angle) + (y / height - 0.5) * math.sin(angle)
    hx, hy = rng.uniform(0, width), rng.uniform(0, height)
    spot = np.exp(-((x - hx) ** 2 + (y - hy) ** 2) / (2 * (0.4 * max(width, height)) ** 2))
    return 1 + strength * (ramp + 0.6 * spot - 0.3)


def wall(rng: np.random.Generator, width: int, height: int) -> Array:
    """A painted wall lit from one side; sometimes a floor and skirting board below it."""
    pixels = np.empty((height, width, 3), np.float32)
    pixels[:] = _jitter(rng, WALLS[rng.integers(len(WALLS))], 0.12)
    if rng.random() < 0.5:
        line = int(height * rng.uniform(0.6, 0.85))
        pixels[line:] = _jitter(rng, WOODS[rng.integers(len(WOODS))], 0.1) * 0.85
        board = max(3, int(height * rng.uniform(0.02, 0.05)))
        pixels[line - board:line] = _jitter(rng, (235, 235, 230), 0.05)
    pixels *= _ramp(rng, width, height, rng.uniform(0.15, 0.45))[..., None]
    return pixels + 2.5 * smooth_noise(rng, width, height, 3)[..., None]


def wood(rng: np.random.Generator, width: int, height: int) -> Array:
    """Planks of a table top or floor, each with its own tone and grain, dark seams between."""
    plank = rng.uniform(60, 170)
    vertical = rng.random() < 0.5
    long, across = (height, width) if vertical else (width, height)
    a, b = np.mgrid[0:across, 0:long].astype(np.float32)
    index = (a // plank).astype(int)
    warp = 6 * smooth_noise(rng, long, across, 90) + 0.002 * (b - long / 2) ** 2 / plank
    grain = np.sin((a + warp + 17 * index) / rng.uniform(1.5, 4.0)) + 0.5 * smooth_noise(rng, long, across, 5)
    base = _jitter(rng, WOODS[rng.integers(len(WOODS))], 0.1)
    tones = rng.uniform(0.85, 1.12, index.max() + 1)[index]
    pixels = base * (tones * (1 + 0.07 * grain))[..., None]
    pixels[(a % plank) < 2] *= 0.55
    if vertical:
        pixels = pixels.transpose(1, 0, 2)
    return pixels * _ramp(rng, width, height, rng.uniform(0.1, 0.35))[..., None]


def tiles(rng: np.random.Generator, width: int, height: int) -> Array:
    """Floor or wall tiles, slightly turned, with grout lines and a tone per tile."""
    size, grout, turn = rng.uniform(40, 130), rng.uniform(1.5, 5), rng.uniform(-0.3, 0.3)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    u = x * math.cos(turn) + y * math.sin(turn) + 1000
    v = -x * math.sin(turn) + y * math.cos(turn) + 1000
    ti, tj = (u // size).astype(int), (v // size).astype(int)
    tone = rng.uniform(0.9, 1.08, (ti.max() + 1, tj.max() + 1))[ti, tj]
    base = _jitter(rng, ((236, 236, 232), (190, 110, 80), (150, 150, 150), (120, 150, 170),
                         (220, 210, 190))[rng.integers(5)], 0.08)
    pixels = base * tone[..., None]
    joint = np.minimum(u % size, v % size) < grout
    pixels[joint] = _jitter(rng, (200, 200, 195) if base.mean() < 160 else (110, 110, 105), 0.1)
    return pixels * _ramp(rng, width, height, rng.uniform(0.1, 0.4))[..., None]


def carpet(rng: np.random.Generator, width: int, height: int) -> Array:
    """Carpet or felt: a muted colour with blotchy low-frequency tone and fibre speckle."""
    base = rng.uniform(50, 200, 3).astype(np.float32)
    base = base.mean() + 0.5 * (base - base.mean())
    tone = 1 + 0.035 * smooth_noise(rng, width, height, rng.uniform(30, 90))
    tuft = 1 + 0.08 * smooth_noise(rng, width, height, rng.uniform(2, 4))
    speckle = rng.standard_normal((height, width, 1), np.float32) * rng.uniform(6, 14)
    return base * (tone * tuft)[..., None] * _ramp(rng, width, height, 0.2)[..., None] + speckle


def linen(rng: np.random.Generator, width: int, height: int) -> Array:
    """A bed sheet or tablecloth: plain cloth with soft wrinkles, for flat-lay photos."""
    base = _jitter(rng, WALLS[rng.integers(len(WALLS))], 0.1)
    # Creases are long and narrow: ridges of noise stretched along one direction.
    cell = rng.uniform(25, 50)
    along, across = (cell * 4, cell) if rng.random() < 0.5 else (cell, cell * 4)
    folds = smooth_noise(rng, width, height, along, across)
    creases = 1 - np.abs(np.tanh(folds))
    fine = smooth_noise(rng, width, height, 1.5)
    shade = 1 + 0.04 * folds - 0.04 * creases + 0.015 * fine
    return base * shade[..., None] * _ramp(rng, width, height, rng.uniform(0.1, 0.3))[..., None]


def room(rng: np.random.Generator, width: int, height: int) -> Array:
    """A room out of focus: soft blocks of wall, floor, a window, furniture and a plant."""
    image = Image.new("RGB", (width, height), tuple(int(c) for c in _jitter(rng, WALLS[rng.integers(10)], 0.1)))
    pixels = np.asarray(image, np.float32).copy()
    floor = int(height * rng.uniform(0.55, 0.8))
    pixels[floor:] = _jitter(rng, WOODS[rng.integers(len(WOODS))], 0.15)
    for _ in range(int(rng.integers(3, 7))):
        w, h = int(width * rng.uniform(0.1, 0.45)), int(height * rng.uniform(0.1, 0.5))
        x, y = int(rng.uniform(-0.1, 0.9) * width), int(rng.uniform(0.0, 0.8) * height)
        # Furniture in muted colours; now and then a window, brighter than anything else.
        colour = rng.uniform(30, 220, 3) if rng.random() < 0.7 else np.full(3, rng.uniform(235, 255))
        colour = colour.mean() + rng.uniform(0.3, 0.7) * (colour - colour.mean())
        pixels[max(0, y):y + h, max(0, x):x + w] = colour
    if rng.random() < 0.5:
        yy, xx = np.mgrid[0:height, 0:width]
        px, py, r = rng.uniform(0, width), rng.uniform(0.3, 0.9) * height, rng.uniform(0.08, 0.2) * width
        pixels[(xx - px) ** 2 + ((yy - py) * 1.4) ** 2 < r * r] = (60, 110, 50)
    blurred = Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(rng.uniform(0.02, 0.05) * max(width, height)))
    return np.asarray(blurred, np.float32) * _ramp(rng, width, height, 0.2)[..., None]


BACKGROUNDS: dict[str, Callable[[np.random.Generator, int, int], Array]] = {
    "wall": wall, "wood": wood, "tiles": tiles, "carpet": carpet, "linen": linen, "room": room}


def background(rng: np.random.Generator, width: int, height: int) -> Array:
    """One of the backgrounds, chosen at random, as float RGB in 0–255."""
    names = sorted(BACKGROUNDS)
    return BACKGROUNDS[names[rng.integers(len(names))]](rng, width, height)


def finish(rng: np.random.Generator, pixels: Array, blur: float = 0.25, noise: float = 0.3) -> Image.Image:
    """The camera: exposure, white balance, vignette, sometimes soft focus or sensor noise."""
    height, width = pixels.shape[:2]
    warmth = rng.uniform(-0.1, 0.1)
    balance = np.array([1 + warmth, 1 + 0.2 * warmth, 1 - warmth], np.float32)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    edge = ((x / width - 0.5) ** 2 + (y / height - 0.5) ** 2) * 2
    vignette = 1 - rng.uniform(0, 0.3) * edge
    pixels = pixels * (rng.uniform(0.75, 1.12) * balance) * vignette[..., None]
    if rng.random() < noise:
        grain = (rng.standard_normal((height, width, 1), np.float32) * rng.uniform(2, 6)
                 + rng.standard_normal((height, width, 3), np.float32) * 1.5)
        pixels = pixels + grain
    image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8), "RGB")
    if rng.random() < blur:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.4)))
    return image


def jpeg(rng: np.random.Generator, image: Image.Image) -> bytes:
    """The image as a JPEG of quality 70–92, as phones and web pages save them."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=int(rng.integers(70, 93)))
    return buffer.getvalue()
