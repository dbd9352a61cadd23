"""Retrieval quality of every extractor and mode, as P@10 and mAP@R with cosine similarity,
for plain ranking and for find-similar's re-ranking.

Two labelled sets:
  dtd10    real texture photos, one class per folder (../shared/data/dtd10 by default);
  objects  rendered bracelet swatches (9 families) and composed photos of patterned
           objects (the same patterns on shapes over backgrounds). Two query sets:
           swatches (flat pattern against everything) and photos ("find the pattern in
           the photo"); a hit is an image of the same pattern family.

Vectors go through the real pipeline (scan, decode, embed, SQLite cache) into
bench/out/cache, so a re-run only computes new configurations.

Last, the default's sorting on dtd10 and the development sets (bench/sorting.py's own scoring):
find-similar P@10 and mAP@R, the automatic clusters' NMI, count and largest share, and the
order's neighbour agreement.

    .venv/bin/python bench/quality.py [--data DIR] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from common import OUT, cached_vectors
from report import Report, add_arguments
from sorting import Defaults, default_sets, print_tables, score_set

from organizer.analysis.evaluate import retrieval_metrics
from organizer.embedding import make_spec
from organizer.embedding.weights import WeightsUnavailable
from organizer.samples import FAMILIES, SampleSpec, family_of, render
from organizer.samples.objects import render_object

HERE = Path(__file__).resolve().parent

CONFIGS: dict[str, dict] = {
    "default (lite1 blocks 14+15+19, object pooling, centre view inside the object, adapted to the folder)": {},
    "default, not adapted": {"adapt": False},
    "default, knots melted in every folder (--melt-knots)": {"melt_knots": True},
    "lite1 blocks 14+19 (Lite1's default taps before it became the default)": {
        "model": "lite1", "layers": "_blocks.14,_blocks.19"},
    "lite0 default before Lite1 (blocks 10+11+14, object pooling, centre view inside the object, adapted)": {
        "model": "lite0"},
    "lite0 default, not adapted": {"model": "lite0", "adapt": False},
    "lite0 default, knots melted in every folder (--melt-knots)": {"model": "lite0", "melt_knots": True},
    "lite0 blocks 10+14, whole view only (the default before the centre view)": {"model": "lite0",
        "layers": "_blocks.10,_blocks.14", "centre_view": False, "adapt": False},
    "lite0 blocks 10+14, centre prior (the default before object pooling)": {"model": "lite0",
        "layers": "_blocks.10,_blocks.14", "pooling": "centre", "centre_view": False, "adapt": False},
    "lite0 default, whole view only": {"model": "lite0", "centre_view": False},
    "lite0 default, plain average": {"model": "lite0", "pooling": "avg"},
    "lite0 late (blocks 14+15), object pooling": {"model": "lite0", "layers": "late"},
    "lite0 blocks 12+15, object pooling": {"model": "lite0", "layers": "_blocks.12,_blocks.15"},
    "lite0 blocks 10+15, object pooling": {"model": "lite0", "layers": "_blocks.10,_blocks.15"},
    "lite0 blocks 12+14, object pooling": {"model": "lite0", "layers": "_blocks.12,_blocks.14"},
    "lite0 blocks 10+14, object pooling, centre view, not adapted": {"model": "lite0",
        "layers": "_blocks.10,_blocks.14", "adapt": False},
    "lite0 block 10 alone": {"model": "lite0", "layers": "_blocks.10"},
    "lite0 last layer only (head), plain average": {"model": "lite0", "layers": "_bn1", "pooling": "avg"},
    "lite0 early (blocks 2+4)": {"model": "lite0", "layers": "early"},
    "lite0 mid (blocks 7+10)": {"model": "lite0", "layers": "mid"},
    "lite0 late (blocks 14+15)": {"model": "lite0", "layers": "late"},
    "lite0 default at 320 px": {"model": "lite0", "size": 320},
    "lite2 default (blocks 14+19)": {"model": "lite2"},
    "lite2 blocks 14+15+19 (the default's taps)": {"model": "lite2", "layers": "_blocks.14,_blocks.15,_blocks.19"},
    "lite2 default at 320 px": {"model": "lite2", "size": 320},
    "lite0 default + flip": {"model": "lite0", "flip": True},
    "lite0 default + invariant (8 flips and turns)": {"model": "lite0", "invariant": True},
    "lite0 default, policy pad": {"model": "lite0", "policy": "pad"},
    "lite0 default + multiscale": {"model": "lite0", "multiscale": True},
    "lite0 default + multiscale + flip": {"model": "lite0", "multiscale": True, "flip": True},
    "lite0 default + equalize (folder median)": {"model": "lite0", "equalize": True},
    "lite0 structure (mid, luminance and negative)": {"model": "lite0", "mode": "structure"},
    "lite0 structure, whole view only": {"model": "lite0", "mode": "structure", "centre_view": False},
    "autoencoder (trained on each folder)": {"model": "autoencoder"},
    "palette (k-means Lab, kernel signature)": {"mode": "palette"},
    "lite0 texture (blocks 10+11+14)": {"model": "lite0", "mode": "texture"},
    "lite0 texture, whole view only": {"model": "lite0", "mode": "texture", "centre_view": False},
    "lite0 texture early": {"model": "lite0", "mode": "texture", "layers": "early"},
    "lite0 texture mid": {"model": "lite0", "mode": "texture", "layers": "mid"},
    "lite0 texture mid + gram": {"model": "lite0", "mode": "texture", "layers": "mid", "gram": True},
    "resnet50 mid": {"model": "resnet50", "layers": "mid"},
    "vgg19 block4_conv1": {"model": "vgg19", "layers": "late"},
    "efficientnet_b0 mid": {"model": "efficientnet_b0", "layers": "mid"},
    "densenet121 mid": {"model": "densenet121", "layers": "mid"},
    "colour histogram": {"mode": "colour"},
    "mean colour (baseline)": {"mode": "mean-colour"},
}


def build_objects_set(folder: Path) -> Path:
    """Flat swatches and object photos: 9 families × 4 colourways × 3 variants of each."""
    if folder.is_dir() and any(folder.iterdir()):
        return folder
    folder.mkdir(parents=True)
    for family in FAMILIES:
        for colourway in range(4):
            for variant in range(3):
                spec = SampleSpec(family, colourway, variant)
                render(spec).save(folder / spec.filename("jpg"), quality=92)
                photo = render_object(SampleSpec(family, colourway, variant + 10), seed=variant)
                photo.save(folder / f"{family}__photo__c{colourway:02d}__v{variant:03d}.jpg", quality=92)
    return folder


def labelled_sets() -> dict[str, Path]:
    """Every labelled folder the benches score by name: dtd10, the development sets written so far, the objects."""
    return {**default_sets(), "objects": build_objects_set(OUT / "objects")}


def objects_queries(paths: list) -> dict[str, np.ndarray]:
    """The objects folder's two query sets, as rows of ``paths``: its flat swatches and its photos."""
    photos = np.array(["__photo__" in Path(p).name for p in paths])
    return {"swatches": np.flatnonzero(~photos), "photos": np.flatnonzero(photos)}


def scores(vectors: np.ndarray, labels: list[str], queries: np.ndarray | None = None) -> dict:
    plain = retrieval_metrics(vectors, labels, k=10, queries=queries)
    reranked = retrieval_metrics(vectors, labels, k=10, queries=queries, rerank=True)
    return {**plain, **{f"rerank_{key}": value for key, value in reranked.items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "dtd10")
    parser.add_argument("--only", nargs="*", choices=list(CONFIGS), metavar="NAME",
                        help="configuration names to run (default: all)")
    add_arguments(parser)
    args = parser.parse_args()
    report = Report("quality", "Retrieval quality (`bench/quality.py`)", args)
    if not args.data.is_dir():
        print(f"no evaluation data at {args.data}", file=sys.stderr)
        return 2
    objects = build_objects_set(OUT / "objects")
    results = {}
    report.print("Each cell: plain cosine ranking / with find-similar's --rerank (DBA + αQE).\n")
    report.print("| extractor | dtd10 P@10 | dtd10 mAP@R | swatches P@10 | swatches mAP@R | photos P@10 | "
                 "photos mAP@R | dtd10 embed s |")
    report.print("|---|---|---|---|---|---|---|---|")
    for name, options in CONFIGS.items():
        if args.only and name not in args.only:
            continue
        try:
            options = dict(options)
            equalize = options.pop("equalize", False)
            spec = make_spec(**options)
            dtd_paths, dtd_vectors, seconds = cached_vectors(args.data, spec, equalize)
            obj_paths, obj_vectors, _ = cached_vectors(objects, spec, equalize)
        except WeightsUnavailable as exc:
            report.print(f"| {name} | skipped: {str(exc).split('.')[0]} |||||||")
            continue
        families = [family_of(p) for p in obj_paths]
        result = {"dtd10": scores(dtd_vectors, [p.parent.name for p in dtd_paths]),
                  **{name: scores(obj_vectors, families, rows) for name, rows in objects_queries(obj_paths).items()}}
        results[name] = {"options": options, "dtd10_embed_seconds": round(seconds, 1), **result}
        cells = [f"{m[key]:.3f} / {m['rerank_' + key]:.3f}" for m in result.values() for key in ("p_at_k", "map_at_r")]
        report.print(f"| {name} | {' | '.join(cells)} | {seconds:.0f} |")
    (OUT / "quality.json").write_text(json.dumps(results, indent=2))
    sets = {**default_sets(), "dtd10": args.data}
    defaults = Defaults.of_cli(args.data)
    print_tables({name: score_set(folder.resolve(), {}, defaults) for name, folder in sets.items()}, defaults, report)
    report.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
