"""A strip lying in a photo is cut out of it before it is melted and tiled (io/preprocess.py ``strip_alone``,
issue 17 item 2).

A long image is cut into tiles along its long side. A photo of a bracelet lying on a table is long too, but
its tiles then see the table above and below the strip, and the knot gate judges the whole photo. The scan
now cuts the strip out first, where one lies along the photo with background on both its long sides and
fills its box. This script embeds every image of the labelled sets with the default network (the product's
views, melted as each folder chooses, not adapted, so only the cut differs), once as before and once with
the cut, and prints find-similar P@10 (plain cosine) with the paired change and its standard error over the
queries, how many images are tiled and how many of those are cut, the share the knot gate takes, and what
looking for the strip costs per tiled image.

    .venv/bin/python bench/strips.py          # about 1 min
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
from common import cache_file
from quality import labelled_sets
from regions import precisions
from report import Report, add_arguments
from seriation import labels_of

from organizer.embedding import embed_inputs, make_spec
from organizer.embedding.embed import view_plan
from organizer.embedding.library import shared_embedder
from organizer.folder.extractor import with_knot_choice
from organizer.io import images, knots, preprocess
from organizer.storage.cache import Cache

BATCH = 64


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args()
    report = Report("strips", "A strip is cut out of its photo (`bench/strips.py`)", args)
    spec = make_spec(adapt=False)
    embedder = shared_embedder(spec)
    sets = labelled_sets()
    report.print("Find-similar P@10, plain cosine, not adapted; the knot gate's share of each set, whole and cut.\n")
    report.print("| set | images | tiled | cut | P@10 before | P@10 with the cut | change | the gate takes, before "
                 "→ with the cut | ms to look, per tiled image |")
    report.print("|---|---|---|---|---|---|---|---|---|")
    for name, folder in sets.items():
        with Cache(cache_file(folder)) as cache:
            melt = bool(with_knot_choice(spec, folder, cache).melt_knots)
        with_cut = view_plan(replace(spec, melt_knots=melt))
        before = replace(with_cut, cut_strips=False)
        paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".png"))
        decoded = [images.decode(p.read_bytes(), with_cut.min_side) for p in paths]
        tiled = [image for image in decoded if preprocess.tiled(image, spec.policy)]
        started = time.perf_counter()
        cut = [preprocess.strip_alone(image, spec.policy) for image in tiled]
        seconds = time.perf_counter() - started
        scores = {}
        for plan in (before, with_cut):
            vectors = np.concatenate([embed_inputs(embedder, [plan.views(image) for image in decoded[i:i + BATCH]])
                                      for i in range(0, len(decoded), BATCH)])
            scores[plan.cut_strips] = precisions(vectors, labels_of(folder, paths), np.arange(len(paths)))
        change = scores[True] - scores[False]
        gate_whole = np.mean([knots.knot_pitch(image) is not None for image in decoded])
        gate_cut = np.mean([knots.knot_pitch(preprocess.strip_alone(image, spec.policy)) is not None
                            for image in decoded])
        looking = f"{1000 * seconds / len(tiled):.2f}" if tiled else "–"
        report.print(f"| {name}{' (melted)' if melt else ''} | {len(decoded):,} | {len(tiled)} | "
                     f"{sum(after is not image for after, image in zip(cut, tiled))} | {scores[False].mean():.3f} | "
                     f"{scores[True].mean():.3f} | {change.mean():+.3f} ± {change.std() / len(change) ** 0.5:.3f} | "
                     f"{gate_whole:.0%} → {gate_cut:.0%} | {looking} |")
    report.write()


if __name__ == "__main__":
    main()
