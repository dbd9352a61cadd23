"""Photos of garments and objects made from a texture photo (the development set ``garments``).

A silhouette is a list of polygons in the object's own unit square; each polygon is cut
from the texture, from a darker or lighter take of it (a waistband, a collar), from a
plain colour (a sole, chair legs) or is a hole. The texture is mapped through the object's
rotation, a random scale, sinusoidal fold displacement and, on a mug, a cylinder; then
shaded (folds, light direction, puffiness), shadowed and laid over a background.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from scenes import Array, background, finish
from scipy.ndimage import map_coordinates

Material = str | tuple[int, int, int]  # "tex", "dark", "light", "hole" or a plain colour
SHADE = {"tex": 1.0, "dark": 0.72, "light": 1.12}


@dataclass
class Silhouette:
    """An object's outline: its parts drawn in order, later ones over earlier ones."""

    parts: list[tuple[Array, Material]]
    surface: str  # "cloth", "puffy", "flat", "cylinder" or "dome"
    axis: tuple[float, float] = (0.0, 0.5)  # a cylinder's centre and half width, unit x


def _ellipse(cx: float, cy: float, rx: float, ry: float, start: float = 0.0, end: float = 2 * math.pi,
             n: int = 48) -> Array:
    t = np.linspace(start, end, n)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], 1)


def _rrect(x0: float, y0: float, x1: float, y1: float, r: float) -> Array:
    corners = ((x1 - r, y1 - r, 0), (x0 + r, y1 - r, 0.5), (x0 + r, y0 + r, 1), (x1 - r, y0 + r, 1.5))
    return np.concatenate([_ellipse(x, y, r, r, a * math.pi, (a + 0.5) * math.pi, 8) for x, y, a in corners])


def _band(centre: Array, width: float) -> Array:
    """A strip of ``width`` along a polyline (a scarf, a handle, a lace)."""
    step = np.gradient(centre, axis=0)
    normal = np.stack([-step[:, 1], step[:, 0]], 1) / np.linalg.norm(step, axis=1, keepdims=True)
    return np.concatenate([centre + normal * width / 2, (centre - normal * width / 2)[::-1]])


def _mirror(right: Array) -> Array:
    """A symmetric outline from its right half, listed top to bottom."""
    return np.concatenate([right, (right * (-1, 1))[::-1]])


def _hem(half: float, y: float, rng: np.random.Generator) -> Array:
    x = np.linspace(half, -half, 24)
    return np.stack([x, y + rng.uniform(0.005, 0.02) * np.sin(x * rng.uniform(15, 30))], 1)


def tshirt(rng: np.random.Generator) -> Silhouette:
    w, sleeve, neck = rng.uniform(0.28, 0.36), rng.uniform(0.1, 0.2), rng.uniform(0.1, 0.14)
    collar = _ellipse(0, -0.5, neck, rng.uniform(0.05, 0.12), math.pi, 0, 16)
    right = np.array([(neck + 0.14, -0.47), (w + sleeve, -0.22), (w + sleeve - 0.07, -0.1), (w, -0.2),
                      (w * rng.uniform(0.95, 1.08), 0.5)])
    outline = np.concatenate([collar, right, (right * (-1, 1))[::-1]])
    return Silhouette([(outline, "tex")], "cloth")


def dress(rng: np.random.Generator) -> Silhouette:
    neck, waist, flare = rng.uniform(0.08, 0.13), rng.uniform(0.12, 0.16), rng.uniform(0.3, 0.5)
    collar = _ellipse(0, -0.5, neck, rng.uniform(0.06, 0.14), math.pi, 0, 16)
    right = np.array([(neck + 0.05, -0.5), (waist + 0.08, -0.36), (waist + 0.04, -0.2), (waist, -0.08)])
    hem = _hem(flare, 0.5, rng)
    outline = np.concatenate([collar, right, hem, (right * (-1, 1))[::-1]])
    return Silhouette([(outline, "tex")], "cloth")


def shirt(rng: np.random.Generator) -> Silhouette:
    w, neck, cuff = rng.uniform(0.22, 0.28), rng.uniform(0.07, 0.1), rng.uniform(0.15, 0.35)
    right = np.array([(neck, -0.5), (w + 0.04, -0.46), (0.5, cuff), (0.4, cuff + 0.05), (w, -0.15), (w, 0.5)])
    collar_right = np.array([(0.0, -0.4), (neck + 0.02, -0.5), (neck + 0.05, -0.38)])
    buttons = [(_ellipse(0, y, 0.012, 0.012, n=10), (235, 232, 225)) for y in np.linspace(-0.33, 0.42, 6)]
    return Silhouette([(_mirror(right), "tex"), (collar_right, "light"), (collar_right * (-1, 1), "light"),
                       (np.array([(-0.02, -0.4), (0.02, -0.4), (0.02, 0.5), (-0.02, 0.5)]), "dark")]
                      + buttons, "cloth")


def skirt(rng: np.random.Generator) -> Silhouette:
    waist, flare, band = rng.uniform(0.2, 0.28), rng.uniform(0.35, 0.5), rng.uniform(0.05, 0.1)
    body = np.concatenate([np.array([(-waist, -0.5 + band), (waist, -0.5 + band)]), _hem(flare, 0.5, rng)])
    band_poly = np.array([(-waist, -0.5), (waist, -0.5), (waist, -0.5 + band), (-waist, -0.5 + band)])
    return Silhouette([(body, "tex"), (band_poly, "dark")], "cloth")


def scarf(rng: np.random.Generator) -> Silhouette:
    y = np.linspace(-0.45, 0.45, 40)
    sway, turns, width = rng.uniform(0.05, 0.2), rng.uniform(0.5, 1.5), rng.uniform(0.18, 0.3)
    centre = np.stack([sway * np.sin(math.pi * turns * y + rng.uniform(0, 6)), y], 1)
    parts: list[tuple[Array, Material]] = [(_band(centre, width), "tex")]
    for end, sign in ((centre[0], -1), (centre[-1], 1)):
        for dx in np.linspace(-width / 2 + 0.01, width / 2 - 0.01, 9):
            x = end[0] + dx
            parts.append((np.array([(x - 0.005, end[1]), (x + 0.005, end[1]),
                                    (x + 0.005, end[1] + sign * 0.05), (x - 0.005, end[1] + sign * 0.05)]), "dark"))
    return Silhouette(parts, "cloth")


def cushion(rng: np.random.Generator) -> Silhouette:
    if rng.random() < 0.25:
        return Silhouette([(_ellipse(0, 0, 0.5, 0.5), "tex")], "puffy")
    bow, t = rng.uniform(0.03, 0.08), np.linspace(0, 1, 16)[:, None]
    corners = np.array([(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)])
    edges = []
    for a, b in zip(corners, np.roll(corners, -1, 0)):
        control = (a + b) / 2 * (1 - 2 * bow)
        edges.append((1 - t) ** 2 * a + 2 * (1 - t) * t * control + t ** 2 * b)
    return Silhouette([(np.concatenate(edges), "tex")], "puffy")


def tote(rng: np.random.Generator) -> Silhouette:
    top, flare = rng.uniform(0.28, 0.34), rng.uniform(0.0, 0.06)
    strap: Material = "dark" if rng.random() < 0.5 else tuple(int(c) for c in rng.integers(30, 200, 3))
    handles = [(_band(_ellipse(dx, -0.15, 0.13, 0.35, math.pi, 2 * math.pi, 24), 0.04), strap)
               for dx in (-0.03, 0.03)]
    body = np.array([(-top, -0.15), (top, -0.15), (top + flare, 0.5), (-top - flare, 0.5)])
    return Silhouette(handles + [(body, "tex")], "flat")


def cap(rng: np.random.Generator) -> Silhouette:
    brim = rng.uniform(0.25, 0.4)
    dome = _ellipse(0, 0.1, 0.36, rng.uniform(0.35, 0.45), math.pi, 2 * math.pi, 32)
    visor = _ellipse(0.12 + brim / 2, 0.1, brim, rng.uniform(0.05, 0.09))
    top = float(dome[:, 1].min())
    seams = [(_band(_ellipse(0, 0.1, rx, 0.1 - top, 1.05 * math.pi, 1.95 * math.pi, 16), 0.008), "dark")
             for rx in (0.12, 0.24)]
    return Silhouette([(visor, "dark"), (dome, "tex"), (_ellipse(0, top + 0.02, 0.03, 0.02, n=12), "dark")]
                      + seams, "dome")


def sneaker(rng: np.random.Generator) -> Silhouette:
    sole_colour: Material = ((240, 240, 236), (40, 40, 40), (190, 150, 100))[rng.integers(3)]
    ankle = rng.uniform(-0.12, 0.0)
    upper = np.array([(-0.5, 0.28), (-0.49, ankle + 0.02), (-0.42, ankle - 0.02), (-0.28, ankle + 0.03),
                      (-0.12, ankle - 0.02), (-0.04, ankle - 0.06), (0.2, 0.06), (0.38, 0.12),
                      (0.47, 0.17), (0.5, 0.28)])
    sole = np.array([(-0.5, 0.26), (0.5, 0.26), (0.5, 0.33), (0.44, 0.37), (-0.47, 0.37), (-0.5, 0.34)])
    start, end = np.array([-0.08, ankle - 0.02]), np.array([0.16, 0.07])
    across = np.array([end[1] - start[1], start[0] - end[0]]) / np.linalg.norm(end - start) * 0.04
    laces = [(_band(np.array([p - across, p + across]), 0.016), (245, 245, 240))
             for p in np.linspace(start, end, 5)]
    return Silhouette([(upper, "tex"), (sole, sole_colour)] + laces, "flat")


def mug(rng: np.random.Generator) -> Silhouette:
    r, rim = rng.uniform(0.24, 0.32), rng.uniform(0.04, 0.07)
    cx = -0.1
    glaze: Material = "tex" if rng.random() < 0.4 else (240, 238, 232)
    body = np.concatenate([_ellipse(cx, -0.4, r, rim, math.pi, 2 * math.pi, 24),
                           _ellipse(cx, 0.42, r, rim, 0, math.pi, 24)])
    return Silhouette([(_ellipse(cx + r, 0.0, 0.18, 0.22, -0.5 * math.pi, 0.5 * math.pi), glaze),
                       (_ellipse(cx + r, 0.0, 0.1, 0.13, -0.5 * math.pi, 0.5 * math.pi), "hole"),
                       (body, "tex"), (_ellipse(cx, -0.4, r * 0.93, rim * 0.8), (60, 40, 30))],
                      "cylinder", (cx, r))


def armchair(rng: np.random.Generator) -> Silhouette:
    arm, seat = rng.uniform(0.14, 0.2), rng.uniform(0.0, 0.12)
    wood: Material = ((110, 75, 45), (60, 40, 30), (170, 130, 90))[rng.integers(3)]
    legs = [(np.array([(x - 0.03, 0.36), (x + 0.03, 0.36), (x + 0.02, 0.5), (x - 0.02, 0.5)]), wood)
            for x in (-0.42, 0.42)]
    return Silhouette(legs + [(_rrect(-0.4, -0.5, 0.4, 0.15, 0.1), "tex"),
                              (_rrect(-0.5, -0.15 + seat, -0.5 + arm, 0.38, 0.06), "light"),
                              (_rrect(0.5 - arm, -0.15 + seat, 0.5, 0.38, 0.06), "light"),
                              (_rrect(-0.5 + arm, 0.05 + seat, 0.5 - arm, 0.38, 0.05), "tex"),
                              (np.array([(-0.5 + arm, 0.3), (0.5 - arm, 0.3), (0.5 - arm, 0.38),
                                         (-0.5 + arm, 0.38)]), "dark")], "puffy")


SILHOUETTES: dict[str, Callable[[np.random.Generator], Silhouette]] = {
    f.__name__: f for f in (tshirt, dress, shirt, skirt, scarf, cushion, tote, cap, sneaker, mug, armchair)}


def _normalised(shape: Silhouette, stretch: tuple[float, float]) -> tuple[Silhouette, Array]:
    """The silhouette stretched and centred with its longer side 1; also its extent (w, h)."""
    parts = [(points * stretch, material) for points, material in shape.parts]
    every = np.concatenate([p for p, _ in parts])
    low, high = every.min(0), every.max(0)
    mid, side = (low + high) / 2, (high - low).max()
    axis = ((shape.axis[0] * stretch[0] - mid[0]) / side, shape.axis[1] * stretch[0] / side)
    return Silhouette([((p - mid) / side, m) for p, m in parts], shape.surface, axis), (high - low) / side


def _coverage(shape: Silhouette, to_pixels: Callable[[Array], Array], size: tuple[int, int]) -> dict[Material, Array]:
    """Each material's soft coverage in the window, drawn at twice the size for smooth edges."""
    labels = Image.new("L", (size[0] * 2, size[1] * 2), 0)
    draw = ImageDraw.Draw(labels)
    for index, (points, material) in enumerate(shape.parts):
        draw.polygon([tuple(p) for p in to_pixels(points) * 2], fill=0 if material == "hole" else index + 1)
    label = np.asarray(labels)
    masks: dict[Material, Array] = {}
    for index, (_, material) in enumerate(shape.parts):
        if material != "hole":
            masks[material] = masks.get(material, np.zeros(label.shape, bool)) | (label == index + 1)
    return {m: np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize(size, Image.Resampling.BOX),
                          np.float32) / 255 for m, mask in masks.items()}


def _folds(rng: np.random.Generator, u: Array, v: Array, light: tuple[float, float],
           cloth: bool) -> tuple[Array, Array, Array]:
    """Sinusoidal folds: how far each point's print moves (du, dv) and how it is lit."""
    # A fold stretches or squeezes the print by up to ``squeeze`` and shades it by up to ``band``.
    squeeze = rng.uniform(0.1, 0.3) if cloth else 0.03
    band = rng.uniform(0.15, 0.35) if cloth else 0.05
    du, dv, slope = np.zeros_like(u), np.zeros_like(u), np.zeros_like(u)
    for _ in range(3):
        # Drape folds run mostly down the garment, so their waves run mostly across it.
        angle = rng.normal(0, 0.5) + (0 if rng.random() < 0.8 else math.pi / 2)
        cos, sin = math.cos(angle), math.sin(angle)
        wavelength = rng.uniform(0.1, 0.35)
        phase = (cos * u + sin * v) * (2 * math.pi / wavelength) + rng.uniform(0, 2 * math.pi)
        shift = squeeze / 3 * wavelength / (2 * math.pi) * np.sin(phase)
        du += shift * cos
        dv += shift * sin
        slope += np.cos(phase) * ((cos * light[0] + sin * light[1]) / 3)
    return du, dv, 1 + band * slope


def place(rng: np.random.Generator, canvas: Array, source: Array, name: str, fraction: float,
          centre: tuple[float, float]) -> None:
    """Draw one object of ``source`` texture on ``canvas`` (in place), its long side ``fraction`` of the frame."""
    height, width = canvas.shape[:2]
    shape, extent = _normalised(SILHOUETTES[name](rng), tuple(rng.uniform(0.85, 1.15, 2)))
    side = float(fraction * min(width / extent[0], height / extent[1]))
    turn = rng.uniform(-0.2, 0.2)
    cos, sin = math.cos(turn), math.sin(turn)
    reach = side * 0.85
    x0, y0 = int(max(0, centre[0] - reach)), int(max(0, centre[1] - reach))
    x1, y1 = int(min(width, centre[0] + reach)), int(min(height, centre[1] + reach))
    ox, oy = centre[0] - x0, centre[1] - y0
    masks = _coverage(shape, lambda p: p * side @ np.array([[cos, sin], [-sin, cos]]) + (ox, oy),
                      (x1 - x0, y1 - y0))

    y, x = np.mgrid[0:y1 - y0, 0:x1 - x0].astype(np.float32)
    u = ((x - ox) * cos + (y - oy) * sin) / side
    v = ((y - oy) * cos - (x - ox) * sin) / side
    angle = rng.uniform(0, 2 * math.pi)
    light = (math.cos(angle), math.sin(angle))
    du, dv, shade = _folds(rng, u, v, light, shape.surface == "cloth")
    shade *= 1 + rng.uniform(0.15, 0.4) * (u * light[0] + v * light[1])
    if shape.surface == "cylinder":
        centre_x, half = shape.axis
        phi = np.arcsin(np.clip((u - centre_x) / half, -1, 1))
        u = centre_x + half * phi
        lit = rng.uniform(-0.6, 0.6)
        shade *= 0.6 + 0.45 * np.cos(phi - lit) + 0.35 * np.exp(-((phi - lit - 0.3) / 0.08) ** 2)
    elif shape.surface == "dome":
        shade *= np.sqrt(np.clip(1 - (u / 0.55) ** 2 - ((v + 0.05) / 0.7) ** 2, 0.1, 1)) * 0.5 + 0.6
    alpha = sum(masks.values())
    soft = np.asarray(Image.fromarray((alpha * 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(side * (0.06 if shape.surface == "puffy" else 0.015))), np.float32) / 255
    shade *= (0.55 + 0.45 * soft) if shape.surface == "puffy" else (0.85 + 0.15 * soft)

    # The print, at 0.5–2× the photo's own scale, but not so small that a large object
    # would need more than the photo holds: mirrored repeats read as a kaleidoscope.
    need = 0.85 * side * float(max(extent[1] / source.shape[0], extent[0] / source.shape[1]))
    scale = math.exp(rng.uniform(math.log(min(2.0, max(0.5, need))), math.log(2.0)))
    start = [rng.uniform(min(0.5, r), max(0.5, 1 - r)) * n
             for n, r in zip(source.shape[:2], extent[::-1] * side / scale / source.shape[:2] / 2)]
    inside = alpha > 0
    rows = start[0] + (v + dv)[inside] * (side / scale)
    cols = start[1] + (u + du)[inside] * (side / scale)
    texture = np.zeros(u.shape + (3,), np.float32)
    for c in range(3):
        texture[..., c][inside] = map_coordinates(source[..., c], [rows, cols], order=1, mode="mirror")

    window = canvas[y0:y1, x0:x1]
    shadow = np.asarray(Image.fromarray((alpha * 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(side * 0.03)), np.float32) / 255
    dy, dx = int(-light[1] * side * 0.025), int(-light[0] * side * 0.025)
    cast = np.zeros_like(shadow)  # the shadow moved away from the light, not wrapped round
    cast[max(dy, 0):shadow.shape[0] + min(dy, 0), max(dx, 0):shadow.shape[1] + min(dx, 0)] = \
        shadow[max(-dy, 0):shadow.shape[0] - max(dy, 0), max(-dx, 0):shadow.shape[1] - max(dx, 0)]
    window *= 1 - rng.uniform(0.2, 0.45) * cast[..., None]
    for material, mask in masks.items():
        colour = texture * SHADE[material] if isinstance(material, str) else np.asarray(material, np.float32)
        window[:] = window * (1 - mask[..., None]) + (colour * shade[..., None]) * mask[..., None]


def garment_photo(rng: np.random.Generator, source: Array) -> Image.Image:
    """A photo of one garment or object (sometimes two) made from the texture ``source``."""
    long = int(rng.integers(480, 801))
    aspect = (3 / 4, 4 / 3, 1.0)[rng.integers(3)]
    width, height = (long, int(long / aspect)) if aspect >= 1 else (int(long * aspect), long)
    canvas = background(rng, width, height)
    names = sorted(SILHOUETTES)
    if rng.random() < 0.15:
        halves = ((0.27, 0.5), (0.73, 0.5)) if width >= height else ((0.5, 0.27), (0.5, 0.73))
        for hx, hy in halves:
            at = (width * (hx + rng.uniform(-0.05, 0.05)), height * (hy + rng.uniform(-0.05, 0.05)))
            place(rng, canvas, source, names[rng.integers(len(names))], rng.uniform(0.4, 0.5), at)
    else:
        # Product and catalogue photos: the garment is the subject and fills most of the frame.
        fraction = rng.uniform(0.6, 0.95)
        slack = (1 - fraction) / 2 + 0.05
        at = (width * (0.5 + rng.uniform(-slack, slack)), height * (0.5 + rng.uniform(-slack, slack)))
        place(rng, canvas, source, names[rng.integers(len(names))], fraction, at)
    return finish(rng, canvas)
