"""Bracelet-style sample pattern images for the demo folder, tests and benchmarks."""

from .render import FAMILIES, PALETTES, Palette, SampleSpec, family_of, render, write_sample_folder

__all__ = [
    "FAMILIES",
    "PALETTES",
    "Palette",
    "SampleSpec",
    "family_of",
    "render",
    "write_sample_folder",
]
