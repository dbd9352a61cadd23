"""Blurring the knots away: a study for bracelet charts' subjects (issue 17, the charts' P@10).

A bracelet chart's subject (a heart, a star, a word) is drawn in knots. The network's middle
layers answer to the knots' texture, which every chart shares, more than to the motif they draw.
This script measures what happens when each image is low-passed at its own knot pitch, so that
the knots melt into flat cells and the motif stays:

  pitch     the strongest period between 4 and 40 px of the image's grey levels, at 512 px on the
            long side (the peak of its Hann-windowed power spectrum), and the peak's share of all
            the power in that band: a knot grid gives one sharp peak at a small period;
  low-pass  a Gaussian blur of radius half that pitch, on the same 512 px image;
  gate      the low-pass only where the peak is sharp (share >= --share) and the period small
            (pitch <= --pitch px), the image as it is elsewhere.

For each set (dtd10, the development sets garments and charts, bench/quality.py's swatches and
object photos) it writes the low-passed copies once into bench/out/knots/<set>, embeds both
folders with the default extractor, not adapted (adapting fits a projection per folder, and the
gated column mixes vectors of two folders), and prints P@10 and mAP@R three ways, how many images
the gate takes, and, for the sets whose labels are not charts, which classes it takes.

    .venv/bin/python bench/knots.py [--share 0.01] [--pitch 14]     # about 3 min the first time
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np
from common import OUT, cached_vectors
from PIL import Image, ImageFilter
from quality import build_objects_set
from report import Report, add_arguments
from sorting import default_sets

from organizer.analysis.evaluate import folder_labels, retrieval_metrics
from organizer.embedding import make_spec
from organizer.samples import family_of
from organizer.search.index import unit_rows

SIDE = 512
PERIODS = (4.0, 40.0)


def knot_pitch(image: Image.Image) -> tuple[float, float]:
    """The strongest period (px at :data:`SIDE`) of ``image``'s grey levels, and its peak's share of the band's power."""
    grey = np.asarray(image.convert("L"), dtype=np.float32)
    grey = (grey - grey.mean()) * np.outer(np.hanning(grey.shape[0]), np.hanning(grey.shape[1]))
    power = np.abs(np.fft.rfft2(grey)) ** 2
    fy = np.fft.fftfreq(grey.shape[0])[:, None]
    fx = np.fft.rfftfreq(grey.shape[1])[None, :]
    radius = np.hypot(fy, fx)
    inside = (radius > 1 / PERIODS[1]) & (radius < 1 / PERIODS[0])
    band = power[inside]
    peak = int(np.argmax(band))
    return float(1 / radius[inside][peak]), float(band[peak] / band.sum())


def shrunk(path: Path) -> Image.Image:
    image = Image.open(path).convert("RGB")
    image.thumbnail((SIDE, SIDE))
    return image


def low_passed_copies(folder: Path, name: str) -> tuple[Path, dict[str, tuple[float, float]]]:
    """``folder``'s images blurred at their own pitch, written once under bench/out/knots, and each one's pitch and share."""
    target = OUT / "knots" / name
    measured: dict[str, tuple[float, float]] = {}
    for path in sorted(folder.rglob("*.jpg")):
        image = shrunk(path)
        pitch, share = measured[path.stem] = knot_pitch(image)
        copy = target / path.relative_to(folder).with_suffix(".png")
        if not copy.exists():
            copy.parent.mkdir(parents=True, exist_ok=True)
            image.filter(ImageFilter.GaussianBlur(radius=pitch / 2)).save(copy)
    return target, measured


def labelled(folder: Path, spec) -> tuple[list[str], np.ndarray, list[str]]:
    paths, vectors, _ = cached_vectors(folder, spec)
    labels = folder_labels(folder, paths)
    if not any(labels):  # a flat folder of rendered families
        labels = [family_of(p) for p in paths]
    order = np.argsort([p.stem for p in paths])
    return [paths[i].stem for i in order], unit_rows(vectors)[order], [labels[i] for i in order]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--share", type=float, default=0.01, help="the gate's least peak share (default 0.01)")
    parser.add_argument("--pitch", type=float, default=14, help="the gate's largest pitch in px at 512 (default 14)")
    add_arguments(parser)
    args = parser.parse_args()
    report = Report("knots", "Blurring the knots away (`bench/knots.py`)", args)
    spec = make_spec(adapt=False)
    sets = {**default_sets(), "objects": build_objects_set(OUT / "objects")}
    report.print(f"Default extractor, not adapted; the gate: share >= {args.share}, pitch <= {args.pitch:g} px at {SIDE}.")
    report.print()
    report.print("| set | images | gated | P@10 as is / low-passed / gated | mAP@R as is / low-passed / gated | classes gated |")
    report.print("|---|---|---|---|---|---|")
    for name, folder in sets.items():
        copies, measured = low_passed_copies(folder, name)
        stems, plain, labels = labelled(folder, spec)
        copy_stems, blurred, _ = labelled(copies, spec)
        assert stems == copy_stems, f"{name}: the copies do not match the originals"
        gate = np.array([measured[s][1] >= args.share and measured[s][0] <= args.pitch for s in stems])
        gated = np.where(gate[:, None], blurred, plain)
        scores = [retrieval_metrics(v, labels) for v in (plain, blurred, gated)]
        classes = Counter(label for label, taken in zip(labels, gate) if taken)
        shown = ", ".join(f"{label} {count}" for label, count in classes.most_common(6)) if name != "charts" else "all subjects"
        report.print(f"| {name} | {len(stems)} | {gate.mean():.0%} | "
                     + " / ".join(f"{s['p_at_k']:.3f}" for s in scores) + " | "
                     + " / ".join(f"{s['map_at_r']:.3f}" for s in scores) + f" | {shown} |")
    report.write()


if __name__ == "__main__":
    main()
