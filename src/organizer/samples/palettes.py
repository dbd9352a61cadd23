"""The colourways the sample charts are drawn in: a dark outline, a ground and the string colours.

A table of its own, apart from the drawing in :mod:`.render`, so a colourway is added or
changed in one place and read without the rendering code around it.
"""

from __future__ import annotations

from dataclasses import dataclass

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Palette:
    """A colourway: `dark` outlines normal knots, `ground` is the alpha background."""

    name: str
    dark: RGB
    ground: RGB
    colours: tuple[RGB, ...]


def _palette(name: str, hexes: str) -> Palette:
    # Hex triplets, "dark ground | string colours...", keep the table compact and readable.
    dark, ground, *colours = (_rgb(h) for h in hexes.replace("|", " ").split())
    return Palette(name, dark, ground, tuple(colours))


def _rgb(hex_triplet: str) -> RGB:
    red, green, blue = bytes.fromhex(hex_triplet)
    return red, green, blue


PALETTES: tuple[Palette, ...] = (
    _palette("rainbow", "26222e faf7ee | e63946 f48c28 fad23c 50b45a 28aab4 3c6ed2 8c50be e664aa"),
    _palette("pastel", "5c5870 fffcf6 | ffb3ba ffdfba fffab4 baf0c9 bae1ff d7beff ffc8eb"),
    _palette("ocean", "081222 e2f1f8 | 004678 0077b6 00b4d8 48cae4 90e0ef 2ec4b6 1e5aa0"),
    _palette("autumn", "2c1a10 faeed8 | 96281e c44620 e27628 eeac3e c4983c 7c642c a84e36"),
    _palette("greys", "121212 f6f6f6 | f5f5f5 cdcdcd a5a5a5 7d7d7d 5a5a5a e1e1e1"),
    _palette("neon", "0e0a18 1a1626 | ff1493 00f0ff 39ff14 fff000 ff6e00 be00ff"),
    _palette("earth", "282018 ece1c8 | 6b4f38 a07850 ccac78 748854 466042 b6623e"),
    _palette("pink-purple", "2e1434 fff0f8 | ffb6d5 ff69b4 db70db ba55d3 941ed3 682c94"),
    _palette("citrus", "1e2814 fcfae2 | ffd60a ffa014 aad628 5aaa32 fa783c f0ec78"),
    _palette("navy-red", "0c1028 f4eee0 | 182c6e c81e2d f0ece2 466eb4 961428 b4c8e6"),
)
