"""The motifs of the development set ``charts`` (bench/devsets.py), grouped by subject.

Each subject has several designs (different shapes, not colours), drawn as pixel art on
a knot grid: '.' is the ground, '1'–'3' the motif's colours. Most are drawn by hand; round
flowers, stars and faces are drawn from their geometry, words in PIL's bitmap font.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scenes import Array

ART = {
    "heart": """
        .11...11.
        1111.1111
        111111111
        111111111
        .1111111.
        ..11111..
        ...111...
        ....1....""",
    "shine-heart": """
        .111...111.
        11221.11111
        12211111111
        11111111111
        11111111111
        .111111111.
        ..1111111..
        ...11111...
        ....111....
        .....1.....""",
    "outline-heart": """
        .11...11.
        1221.1221
        122212221
        122222221
        .1222221.
        ..12221..
        ...121...
        ....1....""",
    "two-hearts": """
        .11.11.........
        1111111........
        1111111.22.22..
        .11111.2222222.
        ..111..2222222.
        ...1....22222..
        .........222...
        ..........2....""",
    "arrow-heart": """
        ...........33
        ..11...11..33
        .1111.1111.3.
        .111111111.3.
        .11111113....
        ..111113.....
        ...1131......
        ...31.1......
        3.3..........
        .3...........""",
    "star": """
        .....1.....
        ....111....
        ....111....
        11111111111
        .111111111.
        ..1111111..
        ...11111...
        ..111.111..
        ..11...11..
        .11.....11.""",
    "sparkle": """
        ....1....
        ....1....
        ...121...
        ..12221..
        112222211
        ..12221..
        ...121...
        ....1....
        ....1....""",
    "shooting-star": """
        ..........1....
        .........111...
        3.......11111..
        .33..1111121111
        ...3322111111..
        ....222111111..
        ......2.111111.
        .......111.111.
        ......11.....11""",
    "moon-star": """
        ..111.......
        .111........
        111......1..
        111.....111.
        111......1..
        111.........
        .111....2...
        ..111..222..
        ...1111.2...""",
    "cat": """
        1.......1
        11.....11
        111111111
        111111111
        112111211
        111111111
        111131111
        .1111111.
        ..11111..""",
    "fish": """
        .....111......
        ...1111111...1
        .112111111..11
        11111211111111
        .11111111111.1
        ...1111111...1
        .....111......""",
    "bird": """
        ..111.......
        .11211......
        .111113.....
        ..1111...11.
        ..1111111111
        ...11111111.
        ....111111..
        .....3..3...""",
    "turtle": """
        ......11.....
        .....1111....
        ..3..1111..3.
        ..332222233..
        ...2212122...
        ..322121223..
        ...2212122...
        ..3.22222.3..
        ......3......""",
    "butterfly": """
        11.......11
        111..3..111
        1121.3.1211
        11211311211
        .111131111.
        ..1113111..
        .112131211.
        .1111311111
        ..11.3.11..""",
    "tulip": """
        .1.1.1.
        .11111.
        .11111.
        .11111.
        ..111..
        ...3...
        33.3.33
        .33333.
        ...3...""",
    "rose": """
        ..1111...
        .122211..
        1221121..
        1212221..
        .12221...
        ..111.33.
        .33.3333.
        .3333....
        ....3....""",
    "clover": """
        ..11.11..
        .1111111.
        .1111111.
        111111111
        .1111111.
        .1111111.
        ..11311..
        ....3....
        .....3...""",
}
SUBJECTS: dict[str, tuple[str, ...]] = {
    "hearts": ("heart", "shine-heart", "outline-heart", "two-hearts", "arrow-heart"),
    "stars": ("star", "sparkle", "shooting-star", "moon-star", "two-tone-star"),
    "flowers": ("daisy", "sunflower", "tulip", "rose", "clover"),
    "animals": ("cat", "fish", "bird", "turtle", "butterfly"),
    "smileys": ("smile", "wink", "heart-eyes", "sad", "sunglasses"),
    "letters": ("LOVE", "HOPE", "DREAM", "BFF", "HELLO"),
}


def _art(text: str) -> Array:
    rows = [row.strip() for row in text.strip().splitlines()]
    return np.array([[int(ch) if ch.isdigit() else 0 for ch in row] for row in rows])


def _radial(size: int, petals: int, centre: float, inner: int = 2) -> Array:
    """A round flower (or star) of ``petals`` lobes around a disc, on a ``size``-knot grid."""
    y, x = np.mgrid[0:size, 0:size] - (size - 1) / 2
    radius, angle = np.hypot(x, y) / (size / 2), np.arctan2(y, x)
    grid = np.where(radius < 0.55 + 0.45 * np.abs(np.cos(petals / 2 * angle)) ** 1.5, 1, 0)
    grid[radius < centre] = inner
    return grid


def _star(size: int) -> Array:
    """A five-pointed star, point up, its inside in the second colour."""
    def points(outer: float) -> list[tuple[float, float]]:
        return [((size / 2) + outer * (1 if k % 2 == 0 else 0.45) * math.sin(k * math.pi / 5),
                 (size / 2) - outer * (1 if k % 2 == 0 else 0.45) * math.cos(k * math.pi / 5) + 0.5)
                for k in range(10)]

    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    draw.polygon(points(size / 2), fill=1)
    draw.polygon(points(size / 2 - 3.5), fill=2)
    return np.asarray(canvas, int)


def _face(size: int, kind: str) -> Array:
    y, x = np.mgrid[0:size, 0:size] - (size - 1) / 2
    grid = np.where(np.hypot(x, y) < size / 2, 1, 0)
    eye_y, eye_x, mouth_y = int(size * 0.35), int(size * 0.3), int(size * 0.62)
    left, right = eye_x, size - 1 - eye_x
    if kind == "sunglasses":
        grid[eye_y:eye_y + 2, left - 1:right + 2] = 2
        grid[eye_y + 2, left - 1:left + 2] = 2
        grid[eye_y + 2, right - 1:right + 2] = 2
    elif kind == "heart-eyes":
        for cx in (left, right):
            grid[eye_y - 1, [cx - 1, cx + 1]] = 3
            grid[eye_y, cx - 1:cx + 2] = 3
            grid[eye_y + 1, cx] = 3
    else:
        grid[eye_y:eye_y + 2, left] = 2
        grid[eye_y:eye_y + 2, right] = 2 if kind != "wink" else 1
        if kind == "wink":
            grid[eye_y + 1, right - 1:right + 2] = 2
    curve = np.arange(left - 1, right + 2)
    bend = np.round(2 * (1 - ((curve - (size - 1) / 2) / ((right - left) / 2 + 1)) ** 2)).astype(int)
    grid[mouth_y + (-bend + 1 if kind == "sad" else bend), curve] = 2
    return grid


def _word(word: str, tall: bool) -> Array:
    font = ImageFont.load_default_imagefont()
    canvas = Image.new("1", (8 * len(word), 12))
    ImageDraw.Draw(canvas).text((0, 0), word, fill=1, font=font)
    pixels = np.asarray(canvas)
    rows, cols = np.nonzero(pixels.any(1))[0], np.nonzero(pixels.any(0))[0]
    grid = pixels[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].astype(int)
    return np.repeat(grid, 2, 0) if tall else grid


def design(name: str, rng: np.random.Generator) -> Array:
    """The knot grid of one design: 0 ground, 1–3 the motif colours."""
    if name in ART:
        return _art(ART[name])
    if name == "daisy":
        return _radial(int(rng.integers(11, 14)), 8, 0.28)
    if name == "sunflower":
        return _radial(int(rng.integers(12, 15)), 12, 0.45)
    if name == "two-tone-star":
        return _star(int(rng.integers(13, 16)))
    if name in ("smile", "wink", "heart-eyes", "sad", "sunglasses"):
        return _face(int(rng.integers(11, 14)), name)
    return _word(name, tall=rng.random() < 0.3)
