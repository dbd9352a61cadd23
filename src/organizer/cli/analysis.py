"""The analysis commands: map, cluster, duplicates, evaluate."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np

from ..analysis.cluster import ClusterSpec, cluster
from ..analysis.dedup import DEFAULT_THRESHOLD, find_duplicates
from ..analysis.evaluate import clustering_metrics, folder_labels, retrieval_metrics
from ..analysis.identity import cluster_number
from ..analysis.reduce import MapSpec, cached_map
from ..embedding import make_spec
from ..embedding.backbones import BACKBONES, DEFAULT_MODEL, LITES, weights_on_disk
from ..embedding.weights import WeightsUnavailable
from ..export.plan import cluster_folders
from ..folder.loading import open_library
from ..io.printable import printable
from ..io.transfer import replace_atomically
from .args import add_folder, bounded_float, bounded_int
from .common import StderrProgress, add_cluster_options, add_extractor_options, folder_state, open_cache, scan_library


def _json_default(value):
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _dump(data) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=_json_default))


def cmd_map(args) -> int:
    library = scan_library(args)
    report, vectors, spec = library.report, library.vectors, library.spec
    map_spec = MapSpec(perplexity=args.perplexity, seed=args.seed)
    with open_cache(Path(args.folder), args.cache_beside) as cache:
        layout, source = cached_map(cache, spec.id, report.hashes, vectors, map_spec,
                                    progress=StderrProgress("map"))

    def write(partial: Path) -> None:
        with open(partial, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["path", "x", "y"])
            writer.writerows((str(p), f"{x:.4f}", f"{y:.4f}") for p, (x, y) in zip(report.paths, layout))

    out = replace_atomically(Path(args.out), write)
    print(f"map of {len(report.paths)} images ({source}) written to {out}", file=sys.stderr)
    return 0


def cmd_cluster(args) -> int:
    model, result = folder_state(args, scan_library(args))
    book, paths, computed = model.book, model.library.paths, result.clustering
    identities = book.identities()
    folders = cluster_folders(list(identities), book.names)
    noise = float(np.mean(book.labels < 0))
    if result.restored:
        print("the clusters as edited in the app", file=sys.stderr)
    if args.json:
        # Clusters by number, as the app's grid, map and export folders show them; the raw labels stay inside.
        numbered = [identity for identity in identities.values() if identity.number is not None]
        _dump({"labels": {str(p): cluster_number(label) for p, label in zip(paths, book.labels)},
               "clusters": [{"number": i.number, "name": i.name, "colour": i.colour, "size": book.size(i.label),
                             "medoid": str(paths[model.medoids[i.label]]) if i.label in model.medoids else None,
                             "folder": folders[i.label]} for i in identities.values()],
               "method": computed.method, "params": computed.params, "scores": computed.scores,
               "sizes": {str(i.number): book.size(i.label) for i in numbered},
               "medoids": {str(i.number): str(paths[model.medoids[i.label]]) for i in numbered},
               "names": {str(cluster_number(k)) if k >= 0 else "unclustered": v for k, v in book.names.items()},
               "edited": result.restored, "noise_fraction": noise})
        return 0
    clustered = sum(identity.number is not None for identity in identities.values())
    print(f"{clustered} clusters by {computed.method} {computed.params}, noise {noise:.0%}")
    for label, identity in identities.items():
        medoid = f", medoid {printable(paths[model.medoids[label]].name)}" if label in model.medoids else ""
        print(f"  {identity.number or '-':>3} {printable(identity.name)}: {book.size(label):5d} images{medoid}")
    return 0


def cmd_duplicates(args) -> int:
    # Near-duplicates are judged on the network's own vectors of each image seen whole, which --threshold was
    # set for: adapting to the folder centres and stretches them (a resized, recompressed copy fell from 0.973 to
    # 0.964), and the closer view inside an object moves with the object's outline.
    library = scan_library(args, near_duplicates=True)
    report, vectors = library.report, library.vectors
    groups = find_duplicates(report.paths, report.hashes, vectors, args.threshold)
    if args.json:
        _dump([{"kind": g.kind, "similarity": round(g.similarity, 6), "paths": [str(p) for p in g.paths]}
               for g in groups])
        return 0
    for group in groups:
        print(f"{group.kind} ({len(group.paths)} images, similarity >= {group.similarity:.3f}):")
        for path in group.paths:
            print(f"  {printable(path)}")
    if not groups:
        print("no duplicates found", file=sys.stderr)
    return 0


def evaluation_specs() -> dict[str, dict]:
    """Every extractor this machine can run: the default model's settings, the other Lites if installed, colour,
    and cached torchvision models."""
    model = DEFAULT_MODEL
    options = {f"{model} default": {}, f"{model} texture": {"mode": "texture"},
               f"{model} structure": {"mode": "structure"}, f"{model} invariant": {"invariant": True},
               f"{model} equalized": {"equalize": True}}
    for layers in ("early", "mid", "late"):
        options[f"{model} {layers}"] = {"layers": layers}
        options[f"{model} texture {layers}"] = {"mode": "texture", "layers": layers}
    for name in BACKBONES:
        if name in LITES and name != DEFAULT_MODEL and weights_on_disk(name):
            options[f"{name} default"] = {"model": name}
        elif name not in LITES and weights_on_disk(name):
            options[f"{name} mid"] = {"model": name, "layers": "mid"}
    options["colour histogram"] = {"mode": "colour"}
    options["mean colour"] = {"mode": "mean-colour"}
    options["palette"] = {"mode": "palette"}
    options["autoencoder (this folder)"] = {"model": "autoencoder"}
    return options


def cmd_evaluate(args) -> int:
    folder = Path(args.folder).resolve()  # the scan reports resolved paths; labels are read relative to it
    rows = []
    with open_cache(folder, args.cache_beside) as cache:
        for name, options in evaluation_specs().items():
            try:
                options = dict(options)
                equalize = options.pop("equalize", False)
                library = open_library(folder, make_spec(**options), cache, equalize=equalize,
                                       preparing=StderrProgress(f"{name} (preparing)"), progress=StderrProgress(name))
            except WeightsUnavailable as exc:
                print(f"skipped {name}: {exc}", file=sys.stderr)
                continue
            labels = folder_labels(folder, library.paths)
            if len(set(labels)) < 2:
                raise ValueError(f"{folder} needs at least two first-level subfolders with images (the labels)")
            vectors = library.vectors
            clustering = cluster(vectors, ClusterSpec())
            rows.append({"extractor": name, "id": library.spec.id, **retrieval_metrics(vectors, labels),
                         **clustering_metrics(labels, clustering.labels), "clusters": len(clustering.sizes)})
    rows.sort(key=lambda row: (-row["p_at_k"], -row["map_at_r"]))
    if args.json:
        _dump(rows)
        return 0
    print(f"{'extractor':24s} {'P@10':>6s} {'mAP@R':>6s} {'NMI':>6s} {'ARI':>6s}")
    for row in rows:
        print(f"{row['extractor']:24s} {row['p_at_k']:6.3f} {row['map_at_r']:6.3f} {row['nmi']:6.3f} {row['ari']:6.3f}")
    return 0


def register(sub) -> None:
    map_parser = sub.add_parser("map", help="lay the folder out in 2-D (t-SNE) and write path,x,y as CSV")
    add_folder(map_parser)
    map_parser.add_argument("--out", required=True)
    map_parser.add_argument("--perplexity", type=bounded_float(1, 500), default=MapSpec.perplexity)
    map_parser.add_argument("--seed", type=bounded_int(0, 2**32 - 1), default=0)
    add_extractor_options(map_parser)
    map_parser.set_defaults(func=cmd_map)

    clusters = sub.add_parser("cluster", help="group the folder's images")
    add_folder(clusters)
    add_cluster_options(clusters)
    clusters.add_argument("--json", action="store_true")
    add_extractor_options(clusters)
    clusters.set_defaults(func=cmd_cluster)

    duplicates = sub.add_parser("duplicates", help="list exact and near-duplicate groups")
    add_folder(duplicates)
    duplicates.add_argument("--threshold", type=bounded_float(0, 1), default=DEFAULT_THRESHOLD,
                            help="cosine similarity from which two images count as near duplicates")
    duplicates.add_argument("--json", action="store_true")
    add_extractor_options(duplicates)
    duplicates.set_defaults(func=cmd_duplicates)

    evaluate = sub.add_parser("evaluate", help="score every extractor on a folder whose subfolders are labels")
    add_folder(evaluate)
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument("--cache-beside", action="store_true")
    evaluate.set_defaults(func=cmd_evaluate)
