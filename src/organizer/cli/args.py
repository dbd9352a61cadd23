"""Argument types every command shares, so a bad value stops the run before any work starts.

Each check runs inside argparse, which names the option in its message:
``organizer grid: error: argument --cell: must be between 16 and 1024, got 0``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, NoReturn


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: the usage of a command with twenty
    options runs to a dozen lines and buries the reason."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def bounded_int(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse type for a whole number in ``lo..hi``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number between {lo} and {hi}, got {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be between {lo} and {hi}, got {value}")
        return value

    return parse


def bounded_float(lo: float, hi: float, *, above: bool = False) -> Callable[[str], float]:
    """An argparse type for a number in ``lo..hi``; ``above`` leaves ``lo`` itself out.

    NaN fails every comparison, and infinities lie outside any finite range, so neither passes.
    """
    wanted = f"above {lo:g} and at most {hi:g}" if above else f"between {lo:g} and {hi:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number {wanted}, got {text!r}") from None
        if not (lo < value <= hi if above else lo <= value <= hi):
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text}")
        return value

    return parse


def region(text: str) -> tuple[int, int, int, int]:
    """An argparse type for a part of an image, ``x,y,w,h`` in its pixels: a corner, a width and a height."""
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"must be x,y,w,h: four whole numbers, got {text!r}")
    if values[0] < 0 or values[1] < 0 or values[2] < 1 or values[3] < 1:
        raise argparse.ArgumentTypeError(f"needs x and y of at least 0 and w and h of at least 1, got {text}")
    return values


def folder(text: str) -> Path:
    """An argparse type for a folder that exists: ``Path('')`` is the current directory,
    so an empty argument (an unset shell variable) would otherwise scan wherever the user stands."""
    if not text or not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"not a folder: {text!r}")
    return Path(text)


def output_folder(text: str) -> Path:
    """An argparse type for a folder to write into, made if missing."""
    if not text or Path(text).exists() and not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"not a folder: {text!r}")
    return Path(text)


def add_folder(parser: argparse.ArgumentParser) -> None:
    """The FOLDER argument, checked to be a folder."""
    parser.add_argument("folder", metavar="FOLDER", type=folder)
