"""Bracelet-style sample pattern images for the demo folder, tests and benchmarks."""

from .palettes import PALETTES, Palette
from .render import FAMILIES, SampleSpec, family_of, render, write_sample_folder

__all__ = [
    "FAMILIES",
    "PALETTES",
    "Palette",
    "SampleSpec",
    "family_of",
    "render",
    "write_sample_folder",
]
