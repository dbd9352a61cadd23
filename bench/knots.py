"""Melting the knots (io.knots, `--melt-knots`, issue 17): the gate's settings on six labelled sets.

Melted, a knot grid is blurred at its own knot pitch before its views are cut, so the network sees the
motif the knots draw rather than the knots every chart shares; by default a folder mostly of knot grids is
melted (folder.extractor), and --melt-knots melts any folder's. This script cuts a strip lying in a photo
out of it, as the scan does, melts every image with the gate set each way below, makes its views through
the product's own ViewPlan, embeds them with the default network (not adapted: adapting fits a projection
per folder and would blur the comparison), and prints P@10 and mAP@R per set, with the share of images the
gate takes:

  none melted         the gate shut: the default
  the gate            io.knots as it is: a grid repeating in two directions up to a pitch of 32 px (at
                      512 px on the long side), or in one direction up to 8 px, where blurring at the
                      pitch leaves at least 5 % of the contrast (a motif)
  no motif test       the same without the last condition (KNOTS_VERSION 2)
  lattice up to 24    the same, with a largest lattice pitch of 24 px
  one period, 16 px   the first gate (KNOTS_VERSION 1): the strongest period, in any direction, up to 16 px
  every image         each image blurred at its strongest period, knot grid or not

then whether each gate judges a pattern alike wherever it appears: each of 36 renders (9 families, 2
colourways, 2 variants) at 160, 256, 400 and 640 px, and each render flat at 256 px against a photo of it on
an object; and, last, which labels of the sets that are not charts the gate takes.

    .venv/bin/python bench/knots.py          # about 2 min
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image
from quality import labelled_sets
from report import Report, add_arguments
from seriation import labels_of

from organizer.analysis.evaluate import retrieval_metrics
from organizer.embedding import embed_inputs, make_spec
from organizer.embedding.embed import view_plan
from organizer.embedding.library import shared_embedder
from organizer.io import images, knots, preprocess
from organizer.io.decoding import ViewPlan
from organizer.samples import FAMILIES, SampleSpec, render
from organizer.samples.objects import render_object

BATCH = 64
#: A gate that takes nothing, and one that takes every image with a period in the band.
SHUT = knots.Gate(lattice_share=float("inf"), fine_share=float("inf"))
OPEN = knots.Gate(lattice_pitch=float("inf"), lattice_share=0.0, lattice_crossing=0.0, least_left=0.0)
SETTINGS = {
    "none melted": SHUT,
    "the gate": knots.GATE,
    "no motif test": knots.Gate(least_left=0.0),
    "lattice up to 24": knots.Gate(lattice_pitch=24.0),
    "one period, 16 px": knots.Gate(lattice_pitch=16.0, lattice_share=0.02, lattice_crossing=0.0,
                                    fine_share=float("inf")),
    "every image": OPEN,
}


#: The sides a render is judged at, to see whether a gate judges it alike at each.
SIDES = (160, 256, 400, 640)


def consistency_renders() -> tuple[list[list[Image.Image]], list[tuple[Image.Image, Image.Image]]]:
    """Each of 36 renders (9 families, 2 colourways, 2 variants) at every one of :data:`SIDES`, and each flat
    at 256 px beside a photo of it on an object: made once, judged by every gate."""
    specs = [SampleSpec(family, colourway, variant)
             for family in FAMILIES for colourway in (0, 2) for variant in (0, 1)]
    sized = [[render(spec, (side, side)).convert("RGB") for side in SIDES] for spec in specs]
    photographed = [(render(spec, (256, 256)).convert("RGB"), render_object(spec, seed=0).convert("RGB"))
                    for spec in specs]
    return sized, photographed


def consistency(gate: knots.Gate, sized: list[list[Image.Image]],
                photographed: list[tuple[Image.Image, Image.Image]]) -> tuple[float, float]:
    """The share of renders ``gate`` judges alike at every one of :data:`SIDES`, and the share it judges alike
    flat and photographed on an object."""

    def taken(image: Image.Image) -> bool:
        return knots.knot_pitch(image, gate) is not None

    sizes = [len({taken(image) for image in row}) == 1 for row in sized]
    photos = [taken(flat) == taken(photo) for flat, photo in photographed]
    return float(np.mean(sizes)), float(np.mean(photos))


def labelled_images(folder: Path, plan: ViewPlan) -> tuple[list, np.ndarray]:
    """Every readable image of ``folder``, decoded as a scan decodes it and cut down to the strip it shows where
    ``plan`` cuts strips out (what the gate then judges), and its label (class folder or family)."""
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".png"))
    decoded = [images.decode(p.read_bytes(), plan.min_side) for p in paths]
    if plan.cut_strips:
        decoded = [preprocess.strip_alone(image, plan.policy) for image in decoded]
    return decoded, labels_of(folder, paths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args()
    report = Report("knots", "Melting the knots (`bench/knots.py`)", args)
    # Each setting melts the images itself, so the plan must not melt them again.
    spec = make_spec(adapt=False)
    plan, embedder = view_plan(spec), shared_embedder(spec)
    sets = labelled_sets()
    report.print("P@10 / mAP@R of the default network's vectors, not adapted, and the share of images melted.")
    report.print()
    report.print("| setting | " + " | ".join(sets) + " |")
    report.print("|---|" + "---|" * len(sets))
    loaded = {name: labelled_images(folder, plan) for name, folder in sets.items()}
    for setting, gate in SETTINGS.items():
        cells = []
        for decoded, labels in loaded.values():
            melted = [knots.melted(image, gate) for image in decoded]
            taken = np.mean([after is not before for after, before in zip(melted, decoded)])
            vectors = np.concatenate([embed_inputs(embedder, [plan.views(image) for image in melted[i:i + BATCH]])
                                      for i in range(0, len(melted), BATCH)])
            scores = retrieval_metrics(vectors, labels)
            cells.append(f"{scores['p_at_k']:.3f} / {scores['map_at_r']:.3f} ({taken:.0%})")
        report.print(f"| {setting} | " + " | ".join(cells) + " |")
    report.print()
    report.print("| setting | renders judged alike at every size | flat and photographed alike |")
    report.print("|---|---|---|")
    renders = consistency_renders()
    for setting, gate in SETTINGS.items():
        sizes, photos = consistency(gate, *renders)
        report.print(f"| {setting} | {sizes:.0%} | {photos:.0%} |")
    report.print()
    for name in ("dtd10", "garments", "prints"):
        decoded, labels = loaded[name]
        taken = Counter(label for image, label in zip(decoded, labels) if knots.knot_pitch(image) is not None)
        report.print(f"The gate takes in {name}: " + (", ".join(f"{label} {count}" for label, count
                                                                     in taken.most_common()) or "nothing") + ".")
    report.write()


if __name__ == "__main__":
    main()
