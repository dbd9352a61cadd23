"""Melting the knots (io.knots, `--melt-knots`, issue 17): the gate's settings on five labelled sets.

With the option a knot grid is blurred at its own knot pitch before its views are cut, so the network
sees the motif the knots draw rather than the knots every chart shares. This script makes every image's
views through the product's own ViewPlan with the option on and the gate set each way below, embeds
them with the default network (not adapted: adapting fits a projection per folder and would blur the
comparison), and prints P@10 and mAP@R per set, with the share of images the gate takes:

  none melted       the gate shut: the default
  the option        io.knots as it is
  pitch <= 20, 24   a longer largest pitch: more of the swatches taken, and more textures
  every image       each image blurred at its strongest period, knot grid or not

and, last, which labels of the sets that are not charts the option's gate takes.

    .venv/bin/python bench/knots.py          # about 2 min
"""

from __future__ import annotations

import argparse
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from common import OUT
from quality import build_objects_set
from report import Report, add_arguments
from seriation import labels_of
from sorting import default_sets

from organizer.analysis.evaluate import retrieval_metrics
from organizer.embedding import embed_inputs, make_spec
from organizer.embedding.embed import view_plan
from organizer.embedding.library import shared_embedder
from organizer.io import images, knots

BATCH = 64
#: Each setting's (LEAST_SHARE, MOST_PITCH) for io.knots.
SETTINGS = {
    "none melted": (float("inf"), knots.MOST_PITCH),
    "the option": (knots.LEAST_SHARE, knots.MOST_PITCH),
    "pitch <= 20": (knots.LEAST_SHARE, 20.0),
    "pitch <= 24": (knots.LEAST_SHARE, 24.0),
    "every image": (0.0, float("inf")),
}


@contextmanager
def gate(least_share: float, most_pitch: float):
    saved = knots.LEAST_SHARE, knots.MOST_PITCH
    knots.LEAST_SHARE, knots.MOST_PITCH = least_share, most_pitch
    try:
        yield
    finally:
        knots.LEAST_SHARE, knots.MOST_PITCH = saved


def labelled_images(folder: Path, min_side: int) -> tuple[list, np.ndarray]:
    """Every readable image of ``folder``, decoded as a scan decodes it, and its label (class folder or family)."""
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".png"))
    return [images.decode(p.read_bytes(), min_side) for p in paths], labels_of(folder, paths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args()
    report = Report("knots", "Melting the knots (`bench/knots.py`)", args)
    spec = make_spec(adapt=False, melt_knots=True)
    plan, embedder = view_plan(spec), shared_embedder(spec)
    sets = {**default_sets(), "objects": build_objects_set(OUT / "objects")}
    report.print("P@10 / mAP@R of the default network's vectors, not adapted, and the share of images melted.")
    report.print()
    report.print("| setting | " + " | ".join(sets) + " |")
    report.print("|---|" + "---|" * len(sets))
    loaded = {name: labelled_images(folder, plan.min_side) for name, folder in sets.items()}
    for setting, (least_share, most_pitch) in SETTINGS.items():
        cells = []
        with gate(least_share, most_pitch):
            for decoded, labels in loaded.values():
                taken = np.mean([knots.knot_pitch(image) is not None for image in decoded])
                vectors = np.concatenate([embed_inputs(embedder, [plan.views(image) for image in decoded[i:i + BATCH]])
                                          for i in range(0, len(decoded), BATCH)])
                scores = retrieval_metrics(vectors, labels)
                cells.append(f"{scores['p_at_k']:.3f} / {scores['map_at_r']:.3f} ({taken:.0%})")
        report.print(f"| {setting} | " + " | ".join(cells) + " |")
    report.print()
    for name in ("dtd10", "garments"):
        decoded, labels = loaded[name]
        taken = Counter(label for image, label in zip(decoded, labels) if knots.knot_pitch(image) is not None)
        report.print(f"The option's gate takes in {name}: " + (", ".join(f"{label} {count}" for label, count
                                                                     in taken.most_common()) or "nothing") + ".")
    report.write()


if __name__ == "__main__":
    main()
