"""Photos of patterned objects, composed from sample patterns.

Users' libraries hold flat swatches and also photos of things made from a pattern: a
cushion, a shirt, a bracelet on a table. The pattern fills the middle, with a shape, some
shading and a background around it. This module fakes such photos, so extractors can be
measured on "find the swatch from the photo" without shipping anyone's pictures.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .render import SampleSpec, render

SHAPES = ("ellipse", "cushion", "shirt", "band")


def render_object(spec: SampleSpec, seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """Paste the pattern of ``spec`` onto a shape over a background, with soft shading.

    Deterministic for the same spec, seed and size. The object covers roughly 35–60% of
    the frame, off-centre by up to a tenth of the frame.
    """
    rng = np.random.default_rng([seed, spec.colourway, spec.variant, len(spec.family)])
    width, height = size
    background = _background(rng, width, height)
    pattern = render(spec, (width, height))
    mask = _shape_mask(rng, width, height, SHAPES[int(rng.integers(len(SHAPES)))])
    shade = _shading(rng, width, height)
    shaded = (np.asarray(pattern, dtype=np.float32) * shade[..., None]).clip(0, 255).astype(np.uint8)
    photo = Image.composite(Image.fromarray(shaded), background, mask)
    return photo.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.0, 0.8))))


def _background(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    kind = int(rng.integers(3))
    base = rng.integers(40, 230, 3).astype(np.float32)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    if kind == 0:  # a wall or table lit from one side
        ramp = (x / width * math.cos(rng.uniform(0, 6.3)) + y / height * math.sin(rng.uniform(0, 6.3)))
        pixels = base + 50 * ramp[..., None]
    elif kind == 1:  # wood-like stripes
        pixels = base + 25 * np.sin(y / rng.uniform(4, 12) + 3 * np.sin(x / 60))[..., None]
    else:  # fabric or carpet noise
        pixels = base + rng.normal(0, 18, (height, width, 1)).astype(np.float32)
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8), "RGB")


def _shape_mask(rng: np.random.Generator, width: int, height: int, shape: str) -> Image.Image:
    mask = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask)
    scale = rng.uniform(0.6, 0.8)
    cx = width / 2 + rng.uniform(-0.1, 0.1) * width
    cy = height / 2 + rng.uniform(-0.1, 0.1) * height
    half_w, half_h = scale * width / 2, scale * height / 2
    box = (cx - half_w, cy - half_h, cx + half_w, cy + half_h)
    if shape == "ellipse":
        draw.ellipse(box, fill=255)
    elif shape == "cushion":
        draw.rounded_rectangle(box, radius=int(min(half_w, half_h) * 0.5), fill=255)
    elif shape == "shirt":
        w, h = half_w, half_h
        draw.polygon([(cx - 0.45 * w, cy - h), (cx + 0.45 * w, cy - h), (cx + w, cy - 0.55 * h),
                      (cx + 0.7 * w, cy - 0.25 * h), (cx + 0.5 * w, cy - 0.4 * h), (cx + 0.5 * w, cy + h),
                      (cx - 0.5 * w, cy + h), (cx - 0.5 * w, cy - 0.4 * h), (cx - 0.7 * w, cy - 0.25 * h),
                      (cx - w, cy - 0.55 * h)], fill=255)
    else:  # a bracelet band across the frame
        draw.rounded_rectangle((cx - half_w, cy - half_h * 0.45, cx + half_w, cy + half_h * 0.45),
                               radius=int(half_h * 0.2), fill=255)
    return mask.filter(ImageFilter.GaussianBlur(radius=1.5))


def _shading(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Smooth light falloff, as on a curved object lit from one side."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    lx, ly = rng.uniform(0, width), rng.uniform(0, height)
    distance = np.hypot(x - lx, y - ly) / math.hypot(width, height)
    return (1.05 - 0.45 * distance).astype(np.float32)
