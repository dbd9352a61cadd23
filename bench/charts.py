"""Alpha bracelet charts drawn from the motifs (the development set ``charts``).

A chart repeats one design along a strip with its own spacing and borders, in a random
legible colourway, and draws it in one of three styles unlike the samples' square shaded
knots: a knotted strip of "V" knots photographed on a table (whole, with its strings, or a
close crop), a flat chart of round knots on a ruled page, or a flat chart of chevrons.
"""

from __future__ import annotations

import math

import numpy as np
from motifs import design
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from scenes import Array, background, finish


def palette(rng: np.random.Generator) -> Array:
    """A legible colourway: a ground and three motif colours, each apart from the others."""
    def luma(c: Array) -> float:
        return float(c @ (0.3, 0.59, 0.11)) / 255

    while True:
        colours = rng.integers(0, 256, (4, 3)).astype(np.float32)
        if rng.random() < 0.5:  # a pale or a black ground, the most common on charts
            colours[0] = rng.uniform(215, 255, 3) if rng.random() < 0.6 else rng.uniform(0, 50, 3)
        apart = all(np.linalg.norm(colours[i] - colours[j]) > 110 for i in range(4) for j in range(i))
        if apart and abs(luma(colours[1]) - luma(colours[0])) > 0.3:
            return colours


def strip(rng: np.random.Generator, motif: Array, colours: Array) -> Array:
    """The knot grid of a strip: the motif repeated with gaps, padding and borders, as RGB."""
    gap, pad, border = int(rng.integers(1, 7)), int(rng.integers(1, 3)), int(rng.integers(0, 3))
    tile = np.zeros((motif.shape[0] + 2 * pad, motif.shape[1] + gap), int)
    tile[pad:pad + motif.shape[0], gap // 2:gap // 2 + motif.shape[1]] = motif
    rows = tile.shape[0] + 2 * border
    length = int(rows * rng.uniform(3, 6))
    repeats = -(-length // tile.shape[1])
    tiles = [tile[:, ::-1] if rng.random() < 0.15 and n % 2 else tile for n in range(repeats)]
    grid = np.concatenate(tiles, 1)[:, :length]
    if border:
        edge = np.full((border, length), int(rng.integers(1, 3)))
        if rng.random() < 0.5:
            edge[-1, ::2] = 0
        grid = np.concatenate([edge, grid, edge[::-1]])
    return colours[grid]


def _lobe(angle: float, n: int = 14) -> Array:
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    points = np.stack([0.4 * np.cos(t), 0.22 * np.sin(t)], 1)
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    return points @ turn.T


def _knot_sprites(rng: np.random.Generator, cell: int, count: int = 8) -> tuple[Array, Array, Array]:
    """``count`` slightly different "V" knots of two shaded thread lobes, as (shade, coverage,
    sheen) maps of ``cell`` pixels, drawn at four times the size for smooth edges."""
    big = 4 * cell
    maps: list[list[Array]] = [[], [], []]
    for _ in range(count):
        layers = [Image.new("L", (big, big), 0) for _ in range(3)]
        shade, cover, sheen = (ImageDraw.Draw(layer) for layer in layers)
        centre = np.array([0.5, 0.5]) + rng.normal(0, 0.04, 2)
        size = rng.uniform(0.95, 1.12)
        for side, angle in ((-0.21, 45), (0.21, -45)):
            lobe = _lobe(math.radians(angle + rng.normal(0, 4)))
            for value, shrink, lift in ((55, 1.0, 0.0), (100, 0.8, -0.03), (135, 0.35, -0.06)):
                points = [tuple(p) for p in (lobe * size * shrink + centre + (side, lift)) * big]
                shade.polygon(points, fill=value)
                cover.polygon(points, fill=255)
            sheen.polygon([tuple(p) for p in (lobe * size * 0.35 + centre + (side, -0.06)) * big], fill=255)
        for found, layer, unit in zip(maps, layers, (100, 255, 255)):
            found.append(np.asarray(layer.resize((cell, cell), Image.Resampling.BOX), np.float32) / unit)
    shades, covers, sheens = (np.stack(found) for found in maps)
    return shades, covers, sheens


def knotted(rng: np.random.Generator, knots: Array, cell: int) -> Image.Image:
    """The strip as real knots: every knot a "V" of two thread lobes over the dark gaps
    between them, each knot one of a few irregular shapes, its colour a little off, with a
    sheen on top so that even black thread shows its knots."""
    rows, cols = knots.shape[:2]
    shades, covers, sheens = _knot_sprites(rng, cell)
    colours = knots * rng.uniform(0.92, 1.06, (rows, cols, 1)) + rng.normal(0, 4, (rows, cols, 3))
    variant = rng.integers(len(shades), size=(rows, cols))
    y, x = np.mgrid[0:rows * cell, 0:cols * cell]
    r, c, py, px = y // cell, x // cell, y % cell, x % cell
    which = variant[r, c]
    gap = colours[r, c] * 0.25
    pixels = (colours[r, c] * shades[which, py, px][..., None] + gap * (1 - covers[which, py, px])[..., None]
              + 40 * sheens[which, py, px][..., None])
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def flat_chart(rng: np.random.Generator, knots: Array, cell: int, chevrons: bool) -> Image.Image:
    """The strip as a printed chart: round knots (or flat chevrons) on a ruled page."""
    rows, cols = knots.shape[:2]
    margin = cell * 2
    page = tuple(int(v) for v in rng.uniform(235, 255, 3))
    image = Image.new("RGB", (cols * cell + 2 * margin, rows * cell + 2 * margin), page)
    draw = ImageDraw.Draw(image)
    line = tuple(int(v) for v in rng.uniform(150, 210, 3))
    for c in range(cols + 1):
        draw.line([(margin + c * cell, margin), (margin + c * cell, margin + rows * cell)], fill=line)
    for r in range(rows + 1):
        draw.line([(margin, margin + r * cell), (margin + cols * cell, margin + r * cell)], fill=line)
    font = ImageFont.load_default()
    for c in range(0, cols, 5):
        draw.text((margin + c * cell + 1, margin - cell), str(c + 1), fill=(90, 90, 90), font=font)
    for r in range(rows):
        for c in range(cols):
            colour = tuple(int(v) for v in knots[r, c])
            x, y = margin + c * cell, margin + r * cell
            if chevrons:
                draw.polygon([(x + 1, y + 1), (x + cell / 2, y + cell * 0.55), (x + cell - 1, y + 1),
                              (x + cell - 1, y + cell * 0.45), (x + cell / 2, y + cell - 1), (x + 1, y + cell * 0.45)],
                             fill=colour)
            else:
                rim = tuple(int(v * 0.6) for v in knots[r, c])
                draw.ellipse((x + 1.5, y + 1.5, x + cell - 1.5, y + cell - 1.5), fill=colour, outline=rim)
                glint = tuple(int(min(255, v * 1.3 + 40)) for v in knots[r, c])
                draw.ellipse((x + cell * 0.28, y + cell * 0.22, x + cell * 0.48, y + cell * 0.4), fill=glint)
    return image


def _on_table(rng: np.random.Generator, strip_image: Image.Image, knots: Array) -> Image.Image:
    """The knotted strip photographed lying on a table, its strings loose at both ends."""
    tail = int(strip_image.height * rng.uniform(0.5, 1.2))
    width, height = strip_image.width + 2 * tail, strip_image.height
    canvas = Image.new("RGB", (width, height))
    mask = Image.new("L", (width, height), 0)
    draw, mask_draw = ImageDraw.Draw(canvas), ImageDraw.Draw(mask)
    for end in (0, 1):
        for y in np.linspace(0.1, 0.9, int(rng.integers(4, 9))) * height:
            x0 = tail if end == 0 else tail + strip_image.width
            x1 = x0 + (-1 if end == 0 else 1) * tail * rng.uniform(0.6, 1.0)
            wave, phase = rng.uniform(2, 6), rng.uniform(0, 2 * math.pi)
            points = [(x0 + (x1 - x0) * t, y + height * 0.08 * math.sin(t * wave + phase) * t)
                      for t in np.linspace(0, 1, 24)]
            colour = tuple(int(v) for v in knots[int(rng.integers(knots.shape[0])), 0 if end == 0 else -1])
            thick = max(2, height // 18)
            draw.line(points, fill=colour, width=thick)
            mask_draw.line(points, fill=255, width=thick)
    canvas.paste(strip_image, (tail, 0))
    mask.paste(255, (tail, 0, tail + strip_image.width, height))
    turn = rng.uniform(-8, 8)
    canvas = canvas.rotate(turn, Image.Resampling.BICUBIC, expand=True)
    mask = mask.rotate(turn, Image.Resampling.BICUBIC, expand=True)
    frame_w = int(canvas.width * rng.uniform(1.05, 1.2))
    frame_h = max(int(frame_w / rng.uniform(1.5, 3.0)), int(canvas.height * 1.6))
    scene = background(rng, frame_w, frame_h)
    x, y = (frame_w - canvas.width) // 2, (frame_h - canvas.height) // 2
    shadow = np.zeros((frame_h, frame_w), np.float32)
    shadow[y:y + canvas.height, x:x + canvas.width] = np.asarray(mask, np.float32) / 255
    shadow = np.asarray(Image.fromarray((shadow * 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(height * 0.1)), np.float32) / 255
    scene *= 1 - 0.35 * np.roll(shadow, (height // 10, height // 12), (0, 1))[..., None]
    photo = Image.fromarray(scene.clip(0, 255).astype(np.uint8))
    photo.paste(canvas, (x, y), mask)
    return finish(rng, np.asarray(photo, np.float32), blur=0.2, noise=0.4)


def chart_image(rng: np.random.Generator, name: str) -> Image.Image:
    """One chart of the design ``name``: a new colourway, strip layout, size and drawing style."""
    knots = strip(rng, design(name, rng), palette(rng))
    rows, cols = knots.shape[:2]
    # Mostly knotted strips, as bracelet sites render alpha patterns; some flat round-knot charts.
    style = rng.choice(["table", "close", "dots", "chevrons"], p=[0.4, 0.1, 0.1, 0.4])
    long = int(rng.integers(500, 1101))
    if style in ("dots", "chevrons"):
        image = flat_chart(rng, knots, max(9, long // (cols + 4)), style == "chevrons")
    elif style == "close":
        # A close-up: a square from the strip, at the knot size that fills 400–700 px.
        cell = int(rng.integers(400, 701)) // rows
        image = knotted(rng, knots, cell)
        left = int(rng.integers(0, image.width - image.height + 1))
        image = finish(rng, np.asarray(image.crop((left, 0, left + image.height, image.height)), np.float32))
    else:
        image = _on_table(rng, knotted(rng, knots, max(4, int(0.7 * long / cols))), knots)
        image.thumbnail((long, long), Image.Resampling.LANCZOS)
    if rng.random() < 0.4:
        image = image.transpose(Image.Transpose.ROTATE_90)
    return image
