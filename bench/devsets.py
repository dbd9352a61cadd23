"""Labelled development sets that look like designers' libraries, not like the samples
(issue 17). The drawing lives in scenes.py (backgrounds, camera), garments.py, motifs.py
and charts.py; this script picks the sources and seeds and writes the folders.

  garments  photos of garments and objects (t-shirts, cushions, mugs …) cut from dtd10's
            texture photos, on procedural backgrounds; label = the texture class. Each
            source photo is used once, and its name is kept: garment_<source stem>.jpg.
  charts    alpha bracelet charts drawn as knotted strips or flat charts, grouped by
            subject (hearts, stars, flowers, animals, smileys, letters); label = subject.
  prints    fabric prints (dots, gingham, checks, geometric, stripes, floral) as flat
            scans, swatch photos and garment photos (prints.py); label = the print.

Each set is written as <out>/<set>/<label>/<name>.jpg, like dtd10, from fixed seeds, and
only when its folder is missing (or with --rebuild).

    .venv/bin/python bench/devsets.py [--data ../shared/data/dtd10] [--out bench/out/devsets]
                                      [--rebuild] [--sheets DIR]
"""

from __future__ import annotations

import argparse
import shutil
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import numpy as np
from charts import chart_image
from common import OUT
from garments import garment_photo
from motifs import SUBJECTS
from PIL import Image
from prints import KINDS, USES, print_image
from scenes import jpeg

from organizer.arrange.sheet import render_sheet

PER_CLASS = 40
COLOURWAYS = 5
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dtd10"
Item = tuple[str, str, Callable[[], bytes]]  # label, file name, the JPEG's bytes


def _build(folder: Path, items: Iterator[Item], rebuild: bool) -> Path:
    """Write the set into a scratch folder and move it in place only when complete,
    so an interrupted run never leaves a half set that later runs would take as built."""
    if folder.is_dir() and not rebuild:
        return folder
    scratch = folder.with_name(folder.name + ".partial")
    shutil.rmtree(scratch, ignore_errors=True)
    for label, name, make in items:
        (scratch / label).mkdir(parents=True, exist_ok=True)
        (scratch / label / name).write_bytes(make())
    shutil.rmtree(folder, ignore_errors=True)
    scratch.rename(folder)
    return folder


def _garment(source: Path, seed: tuple[int, ...]) -> bytes:
    rng = np.random.default_rng(seed)
    with Image.open(source) as photo:
        pixels = np.asarray(photo.convert("RGB"), np.float32)
    return jpeg(rng, garment_photo(rng, pixels))


def _garment_items(data: Path) -> Iterator[Item]:
    classes = sorted(p.name for p in data.iterdir() if p.is_dir())
    for c, label in enumerate(classes):
        photos = sorted((data / label).glob("*.jpg"))
        chosen = np.random.default_rng([17, c]).permutation(len(photos))[:PER_CLASS]
        for n, index in enumerate(chosen):
            yield label, f"garment_{photos[index].stem}.jpg", partial(_garment, photos[index], (17, c, int(n)))


def build_garments(data: Path, out: Path, rebuild: bool = False) -> Path:
    """The garments set under ``out``/garments: 40 photos per dtd10 class, one per source photo."""
    return _build(out / "garments", _garment_items(data), rebuild)


def _chart(design: str, seed: tuple[int, ...]) -> bytes:
    rng = np.random.default_rng(seed)
    return jpeg(rng, chart_image(rng, design))


def _chart_items() -> Iterator[Item]:
    for s, subject in enumerate(SUBJECTS):
        for d, design in enumerate(SUBJECTS[subject]):
            for colourway in range(COLOURWAYS):
                yield subject, f"{design}_c{colourway}.jpg", partial(_chart, design, (17, 100 + s, d, colourway))


def build_charts(out: Path, rebuild: bool = False) -> Path:
    """The charts set under ``out``/charts: each subject's designs in ``COLOURWAYS`` colourways."""
    return _build(out / "charts", _chart_items(), rebuild)


def _print(kind: str, use: str, seed: tuple[int, ...]) -> bytes:
    rng = np.random.default_rng(seed)
    return jpeg(rng, print_image(rng, kind, use))


def _print_items() -> Iterator[Item]:
    for k, kind in enumerate(KINDS):
        for n in range(PER_CLASS):
            use = USES[n % len(USES)]
            yield kind, f"{kind}_{use}_{n:02d}.jpg", partial(_print, kind, use, (17, 200 + k, n))


def build_prints(out: Path, rebuild: bool = False) -> Path:
    """The prints set under ``out``/prints: 40 of each print, in turn flat, as a swatch photo and on a garment."""
    return _build(out / "prints", _print_items(), rebuild)


def write_sheet(folder: Path, target: Path, count: int = 30) -> None:
    """A contact sheet of ``count`` images spread over the set's classes, to look at."""
    paths = sorted(folder.glob("*/*.jpg"))
    picked = [paths[int(i)] for i in np.linspace(0, len(paths) - 1, count)]
    target.write_bytes(render_sheet(picked, list(range(count)), cols=6, cell=220))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="dtd10's folder (one folder per class)")
    parser.add_argument("--out", type=Path, default=OUT / "devsets")
    parser.add_argument("--rebuild", action="store_true", help="write the sets again even if present")
    parser.add_argument("--sheets", type=Path, help="also write devsets_<set>.png contact sheets here")
    args = parser.parse_args()
    for name, build in (("garments", lambda: build_garments(args.data, args.out, args.rebuild)),
                        ("charts", lambda: build_charts(args.out, args.rebuild)),
                        ("prints", lambda: build_prints(args.out, args.rebuild))):
        started = time.perf_counter()
        folder = build()
        counts = {p.name: len(list(p.glob("*.jpg"))) for p in sorted(folder.iterdir())}
        print(f"{name}: {sum(counts.values())} images in {len(counts)} classes at {folder} "
              f"({time.perf_counter() - started:.1f} s)")
        print("  " + ", ".join(f"{label} {n}" for label, n in counts.items()))
        if args.sheets:
            write_sheet(folder, args.sheets / f"devsets_{name}.png")


if __name__ == "__main__":
    main()
