"""Procedural friendship-bracelet pattern charts for the demo folder, tests and benchmarks.

Two chart styles are drawn, as on bracelet pattern sites:

* "normal" patterns: knots on a diagonal (brick) lattice, each knot a slanted oval in its
  string's colour on a dark ground; the colour of every knot follows the family's rule.
* "alpha" patterns: pixel art on a rectangular grid of square knots showing tiled motifs.

Everything is vectorised: the knot colours are worked out on the (small) knot grid, and each
pixel then looks up its knot and its position inside a pre-shaded knot sprite.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .palettes import PALETTES, RGB

NORMAL_FAMILIES = (
    "normal-stripes", "normal-chevron", "normal-diamonds", "normal-zigzag", "normal-knotgrid")
ALPHA_FAMILIES = ("alpha-hearts", "alpha-stars", "alpha-checker", "alpha-letters")
FAMILIES: tuple[str, ...] = NORMAL_FAMILIES + ALPHA_FAMILIES

# Width:height ratios that size=None cycles through: square, bracelet strips, landscape.
_SHAPES: tuple[tuple[int, int], ...] = ((1, 1), (3, 1), (1, 3), (4, 3))
_WORDS = ("LOVE", "BFF", "JOY", "HI", "PEACE", "XOXO", "SMILE")


@dataclass(frozen=True)
class SampleSpec:
    """Identifies one sample image: family, colourway (palette index) and variant (seed)."""

    family: str
    colourway: int
    variant: int

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"unknown family {self.family!r}; expected one of {FAMILIES}")
        if self.colourway < 0 or self.variant < 0:
            raise ValueError("colourway and variant must be non-negative")

    def filename(self, ext: str = "png") -> str:
        """Return the file name, e.g. ``normal-chevron__c02__v003.png``."""
        return f"{self.family}__c{self.colourway:02d}__v{self.variant:03d}.{ext.lstrip('.')}"


def family_of(path_or_name: str | os.PathLike[str]) -> str:
    """Recover the family from a file name made by :meth:`SampleSpec.filename`.

    Raises
    ------
    ValueError
        If the name does not start with a known family.
    """
    family = Path(path_or_name).name.split("__")[0]
    if family not in FAMILIES:
        raise ValueError(f"{path_or_name!r} is not a sample file name")
    return family


def _bitmap(rows: str) -> np.ndarray:
    return np.array([[ch == "X" for ch in row] for row in rows.split()], dtype=bool)


def _pad(motif: np.ndarray, rows: int, cols: int) -> np.ndarray:
    # Centre the motif in a tile so neighbouring motifs are separated by ground knots.
    tile = np.zeros((motif.shape[0] + rows, motif.shape[1] + cols), dtype=bool)
    tile[rows // 2:rows // 2 + motif.shape[0], cols // 2:cols // 2 + motif.shape[1]] = motif
    return tile


_HEART = _pad(_bitmap(".XX.XX. XXXXXXX XXXXXXX .XXXXX. ..XXX.. ...X..."), 2, 2)
_STAR = _pad(_bitmap(
    "....X.... ....X.... ...XXX... XXXXXXXXX .XXXXXXX. ..XXXXX.. .XXX.XXX. .XX...XX."), 2, 2)


@lru_cache(maxsize=32)
def _word_tile(word: str) -> np.ndarray:
    """The word in PIL's default font, thresholded to one knot per font pixel."""
    font = ImageFont.load_default()
    left, top, right, bottom = font.getbbox(word)
    canvas = Image.new("L", (right - left, bottom - top))
    ImageDraw.Draw(canvas).text((-left, -top), word, fill=255, font=font)
    return _pad(np.asarray(canvas) > 110, 4, 4)


# --- colour rules -------------------------------------------------------------------------
# Normal rules take the rotated lattice coordinates (a, b) of each knot (knot row r = a + b,
# half-column j = a - b) and the number of strings n; they return (colour index, slant).

def _tri(x: np.ndarray, half: int) -> np.ndarray:
    return np.abs(x % (2 * half) - half)


def _stripes(a: np.ndarray, b: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    # Knots slant along the stripe ("/"), as each stripe is one string knotted across.
    return np.broadcast_arrays(a % n, np.ones_like(b))


def _chevron(a: np.ndarray, b: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    right = (a - b) % (2 * n) >= n
    return np.where(right, a, b) % n, right.astype(np.int64)


def _diamonds(a: np.ndarray, b: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    ring = (_tri(a - b, n) + _tri(a + b, n)) // 2
    slant = ((a - b) % (2 * n) < n) ^ ((a + b) % (2 * n) < n)
    return ring % n, slant.astype(np.int64)


def _zigzag(a: np.ndarray, b: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    # Vertical stripes whose columns swing left and right as the rows go down.
    r, j = a + b, a - b
    swing = max(3, n // 2)
    colour = ((j + _tri(r, swing)) // 2) % n
    return colour, ((r % (2 * swing)) < swing).astype(np.int64)


def _knotgrid(a: np.ndarray, b: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    # A diagonal lattice: lines in colour 0, the cells between them alternate colours 1 and 2.
    period = 2 + n // 3
    on_a, on_b = a % period == 0, b % period == 0
    cell = 1 + (a // period + b // period) % 2
    colour = np.where(on_a | on_b, 0, cell)
    return colour, np.broadcast_to(on_a, colour.shape).astype(np.int64)


_NormalRule = Callable[[np.ndarray, np.ndarray, int], tuple[np.ndarray, np.ndarray]]
_NORMAL_RULES: dict[str, _NormalRule] = dict(
    zip(NORMAL_FAMILIES, (_stripes, _chevron, _diamonds, _zigzag, _knotgrid), strict=True))
_FIXED_COLOURS = {"normal-knotgrid": 3}  # the other rules use one colour per string


def _tiled(tile: np.ndarray, r: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, ...]:
    """Half-drop tiling: returns (motif mask, tile row, tile column) per knot."""
    th, tw = tile.shape
    tile_row = r // th
    cc = c + (tile_row % 2) * (tw // 2)
    return tile[r % th, cc % tw], tile_row, cc // tw


def _alpha_codes(family: str, r: np.ndarray, c: np.ndarray, n: int, word: str,
                 upright: bool) -> np.ndarray:
    """Colour index per alpha knot: 0 is the ground, 1-3 are motif colours."""
    if family == "alpha-checker":
        block = 2 + n // 4
        return (r // block) % 2 + (c // block) % 2  # gingham: overlaps get the third tone
    if family == "alpha-letters":
        # Turned clockwise on tall images so the words still run along the bracelet.
        rows, cols = (r, c) if upright else (-c, r)
        mask, line, _ = _tiled(_word_tile(word), rows, cols)
        return np.where(mask, 1 + line % 3, 0)
    mask, tile_row, tile_col = _tiled(_HEART if family == "alpha-hearts" else _STAR, r, c)
    return np.where(mask, 1 + (tile_row + tile_col) % 3, 0)


# --- knot sprites -------------------------------------------------------------------------

def _spread(colours: tuple[RGB, ...], count: int) -> np.ndarray:
    # Take colours evenly across the palette so every string count shows the whole palette.
    return np.array([colours[i * len(colours) // count] for i in range(count)], np.float32)


def _blend(colours: np.ndarray, dark: RGB, shade: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Shaded knots over the dark ground: (n_colours, *shade.shape, 3) uint8."""
    knot = colours[:, None, None, :] * shade[None, ..., None]
    ground = np.asarray(dark, np.float32)
    out = ground + alpha[None, ..., None] * (knot - ground)
    return np.clip(out, 0, 255).astype(np.uint8)


def _rim(dist: np.ndarray) -> np.ndarray:
    # Darken the edge of each knot so neighbouring knots of one colour stay distinct.
    return 1.0 - 0.4 * np.clip((dist - 0.75) / 0.2, 0.0, 1.0)


@lru_cache(maxsize=256)
def _normal_sprites(palette: int, count: int, knot: int) -> np.ndarray:
    """Slanted knots in rotated-lattice space: shape (count * 2, knot, knot, 3).

    A rounded square in the rotated space is a rounded diamond on screen; shading across
    its short axis makes it read as a thread loop slanted along the long axis.
    """
    pal = PALETTES[palette]
    u = (np.arange(knot, dtype=np.float32) + 0.5) / knot - 0.5
    u, v = u[:, None], u[None, :]
    colours = _spread(pal.colours, count)
    edge_px = 0.4 * knot / np.sqrt(2.0)
    sprites = []
    for along, across in ((u, v), (v, u)):  # "\" slant, then "/"
        dist = ((np.abs(along) / 0.48) ** 3 + (np.abs(across) / 0.4) ** 3) ** (1 / 3)
        alpha = np.clip((1.0 - dist) * edge_px + 0.5, 0.0, 1.0)
        shade = (1.12 - 0.55 * (across / 0.4) ** 2 - 0.2 * (u + v)) * _rim(dist)
        sprites.append(_blend(colours, pal.dark, shade, alpha))
    return np.stack(sprites, axis=1).reshape(count * 2, knot, knot, 3)


@lru_cache(maxsize=256)
def _alpha_sprites(palette: int, knot: int) -> np.ndarray:
    """Rounded square knots: shape (4, knot, knot, 3), ground first."""
    pal = PALETTES[palette]
    u = (np.arange(knot, dtype=np.float32) + 0.5) / knot - 0.5
    u, v = u[None, :], u[:, None]
    half = 0.45
    dist = ((np.abs(u) / half) ** 4 + (np.abs(v) / half) ** 4) ** 0.25
    alpha = np.clip((1.0 - dist) * half * knot + 0.5, 0.0, 1.0)
    # Motifs use the three palette colours that stand out most from the ground.
    contrast = np.abs(np.array(pal.colours, np.float32) - pal.ground).sum(axis=1)
    motif = np.array(pal.colours, np.float32)[np.sort(np.argsort(-contrast)[:3])]
    colours = np.vstack([np.asarray(pal.ground, np.float32)[None], motif])
    shade = (1.05 - 0.25 * dist**2 - 0.2 * (u + v)) * _rim(dist)
    return _blend(colours, pal.dark, shade, alpha)


# --- rendering ----------------------------------------------------------------------------

def _auto_size(rng: np.random.Generator, variant: int) -> tuple[int, int]:
    ratio_w, ratio_h = _SHAPES[variant % len(_SHAPES)]
    short_ratio = min(ratio_w, ratio_h) / max(ratio_w, ratio_h)
    # Strips start longer so their short side stays wide enough to show a pattern.
    long_side = int(rng.integers(160 if short_ratio > 0.5 else 240, 641))
    short_side = round(long_side * short_ratio)
    return (long_side, short_side) if ratio_w >= ratio_h else (short_side, long_side)


class _Layout(NamedTuple):
    """Everything a variant varies; drawn once per spec so it can be inspected in tests."""

    width: int
    height: int
    knot: int  # knot pitch in pixels
    n: int  # strings (normal) or block/colour scale (alpha)
    ox: int  # pattern phase, in pixels
    oy: int
    word: str  # alpha-letters only


def _layout(spec: SampleSpec, size: tuple[int, int] | None) -> _Layout:
    rng = np.random.default_rng([FAMILIES.index(spec.family), spec.colourway, spec.variant])
    # Draw every parameter whether or not it is used, so a given size leaves the rest unchanged.
    auto = _auto_size(rng, spec.variant)
    knots_across = rng.uniform(14.0, 40.0)
    n = int(rng.integers(4, 11))
    ox, oy = (int(v) for v in rng.integers(0, 4096, size=2))
    word = _WORDS[int(rng.integers(len(_WORDS)))]
    width, height = auto if size is None else (int(size[0]), int(size[1]))
    if width < 1 or height < 1:
        raise ValueError(f"size must be positive, got {size}")
    # Scale knots to the short side so narrow strips still show whole motifs across.
    knot = int(np.clip(round(min(width, height) / knots_across), 8, 24))
    return _Layout(width, height, knot, n, ox, oy, word)


def _render_normal(family: str, palette: int, lay: _Layout) -> np.ndarray:
    # Rotating by 45 degrees turns the brick lattice into a square grid of knot cells with
    # a = (y + x) // knot and b = (y - x) // knot. The first knot row/column is taken as the
    # origin so all indices are small and non-negative (int32 keeps the pixel maths fast).
    knot, ox, oy = lay.knot, lay.ox, lay.oy
    a0, b0 = (oy + ox) // knot, (oy - ox - lay.width + 1) // knot
    ys = np.arange(oy, oy + lay.height, dtype=np.int32)[:, None]
    xs = np.arange(ox, ox + lay.width, dtype=np.int32)[None, :]
    a, la = np.divmod(ys + (xs - a0 * knot), knot)
    b, lb = np.divmod(ys - (xs + b0 * knot), knot)
    ga = np.arange(a0, a0 + int(a[-1, -1]) + 1)[:, None]
    gb = np.arange(b0, b0 + int(b[-1, 0]) + 1)[None, :]
    colour, slant = _NORMAL_RULES[family](ga, gb, lay.n)
    first_texel = ((colour * 2 + slant) * knot * knot).astype(np.int32)
    idx = np.take(first_texel, a * first_texel.shape[1] + b) + la * knot + lb
    sprites = _normal_sprites(palette, _FIXED_COLOURS.get(family, lay.n), knot)
    return np.take(sprites.reshape(-1, 3), idx, axis=0)


def _render_alpha(family: str, palette: int, lay: _Layout) -> np.ndarray:
    knot = lay.knot
    r, lr = np.divmod(np.arange(lay.oy, lay.oy + lay.height), knot)
    c, lc = np.divmod(np.arange(lay.ox, lay.ox + lay.width), knot)
    code = _alpha_codes(family, np.arange(r[0], r[-1] + 1)[:, None],
                        np.arange(c[0], c[-1] + 1)[None, :], lay.n, lay.word,
                        lay.width >= lay.height)
    first_texel = (code * knot * knot).astype(np.int32)
    idx = first_texel[np.ix_(r - r[0], c - c[0])] + (lr * knot)[:, None] + lc[None, :]
    return np.take(_alpha_sprites(palette, knot).reshape(-1, 3), idx, axis=0)


def render(spec: SampleSpec, size: tuple[int, int] | None = None, palette: int | None = None) -> Image.Image:
    """Render one bracelet pattern chart.

    Parameters
    ----------
    spec
        Family, colourway and variant; the same spec and size give identical pixels.
    size
        ``(width, height)`` in pixels; ``None`` picks a size from the variant (squares,
        3:1 and 1:3 strips, 4:3 landscape; long side 160-640 px).
    palette
        Draw the spec's layout in this colourway instead of its own: the same motif
        recoloured, as designers reuse one motif in many colourways.

    Returns
    -------
    PIL.Image.Image
        An RGB image.
    """
    lay = _layout(spec, size)
    palette = (spec.colourway if palette is None else palette) % len(PALETTES)
    draw = _render_normal if spec.family in NORMAL_FAMILIES else _render_alpha
    return Image.fromarray(draw(spec.family, palette, lay), "RGB")


_FORMATS = {"png": "PNG", "jpg": "JPEG"}


def write_sample_folder(folder: str | os.PathLike[str], per_family: int = 6,
                        colourways: int = 3, size: tuple[int, int] | None = None,
                        fmt: str = "png", quality: int = 90, overwrite: bool = False) -> list[Path]:
    """Render every family x colourway (0..colourways-1) x variant (0..per_family-1).

    Files are written under a temporary name in `folder` (created if missing) and renamed
    into place, so readers never see half-written images.

    Parameters
    ----------
    size
        Passed to :func:`render`.
    fmt, quality
        ``"png"`` or ``"jpg"``; `quality` applies to JPEG only.
    overwrite
        Re-render files that exist already. Off by default, so a second call leaves the
        folder (and its mtimes, which the scan cache trusts) untouched.

    Returns
    -------
    list of pathlib.Path
        The written files, in family, colourway, variant order.
    """
    if fmt not in _FORMATS:
        raise ValueError(f"fmt must be one of {sorted(_FORMATS)}, got {fmt!r}")
    options = {"quality": quality} if fmt == "jpg" else {}
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for family in FAMILIES:
        for colourway in range(colourways):
            for variant in range(per_family):
                spec = SampleSpec(family, colourway, variant)
                target = folder / spec.filename(fmt)
                paths.append(target)
                if target.exists() and not overwrite:
                    continue
                # A unique hidden name (not mkstemp, whose 0600 mode would survive the rename).
                tmp = folder / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
                try:
                    with open(tmp, "xb") as fh:
                        render(spec, size).save(fh, format=_FORMATS[fmt], **options)
                    os.replace(tmp, target)
                except BaseException:
                    tmp.unlink(missing_ok=True)
                    raise
    return paths
