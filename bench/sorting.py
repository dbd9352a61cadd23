"""Sorting quality as a new user meets it: the product's default find-similar, automatic
clusters and 1-D order on labelled folders, the labels used only for scoring.

Each set is a folder with one class per sub-folder (like ../shared/data/dtd10). Its images
are opened as `organizer embed/cluster/order FOLDER` opens them (open_library, cached in
bench/out/cache), and every default is read from the CLI's own parser, so a change of a
default in the registries shows here without touching this file:

  find-similar  P@10 and mAP@R of plain cosine ranking and of the default find-similar
                path (search_similar with `organizer similar`'s re-ranking, every image a
                query, itself left out); the neighbourhood re-ranking for reference;
  clusters      `organizer cluster`'s method and parameters through cluster_library (the
                function the CLI and the app use; as in the app, steps on 2,000 images
                or more run in a child process): NMI and ARI (noise as its own label
                -1), clusters found against classes, the share of noise, and the largest
                cluster's share of the folder and its size over the median ("catch-all");
  order         `organizer order`'s default order: the share of adjacent pairs with the
                same label; every other order arrange/order.py offers for reference; and
                P@1 of plain cosine, the ceiling a path through these vectors stays near.

    .venv/bin/python bench/sorting.py [--sets NAME=PATH ...] [--extractor JSON] [--json OUT]

--extractor takes make_spec's keyword options (plus "equalize"), e.g. '{"flip": true}';
the default, {}, is the CLI's own extractor.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from common import OUT, cache_file, cached_library, cached_vectors
from report import Report, add_arguments

from organizer.analysis.cluster import ClusterSpec
from organizer.analysis.evaluate import clustering_metrics, folder_labels, ranking_scores, retrieval_metrics
from organizer.arrange import order as order_mod
from organizer.cli import build_parser
from organizer.cli.common import cluster_spec_from_args, spec_from_args
from organizer.embedding import ExtractorSpec, make_spec
from organizer.embedding.library import Library
from organizer.folder.clustering import cluster_library, cluster_spec
from organizer.search.similar import NEIGHBOURHOOD, search_similar
from organizer.storage.settings import Settings

HERE = Path(__file__).resolve().parent
K = 10


def default_sets() -> dict[str, Path]:
    """dtd10, and the generated development sets where they have been written."""
    sets = {"dtd10": HERE.parent.parent / "shared" / "data" / "dtd10"}
    for name in ("garments", "charts", "prints"):
        if (OUT / "devsets" / name).is_dir():
            sets[name] = OUT / "devsets" / name
    return sets


def named_path(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    return name, Path(path)


@dataclass(frozen=True)
class Defaults:
    """What `organizer embed/cluster/order/similar FOLDER` do with no options, from the CLI's parser."""

    cluster: ClusterSpec
    order_by: str
    rerank: str
    extractor: ExtractorSpec
    equalize: bool

    @classmethod
    def of_cli(cls, folder: Path) -> Defaults:
        """The defaults for ``folder`` (the parser checks that a folder it is given exists)."""
        parser = build_parser()
        clustering = parser.parse_args(["cluster", str(folder)])
        rerank = parser.parse_args(["similar", str(folder), "IMAGE"]).rerank or ""
        spec = cluster_spec_from_args(clustering)
        app = Settings()
        if rerank != app.similar_rerank or spec != cluster_spec(app):
            print(f"# warning: the app's defaults differ from the CLI's ({app.similar_rerank!r}, {cluster_spec(app)}); "
                  "the CLI's are scored", file=sys.stderr)
        return cls(spec, parser.parse_args(["order", str(folder)]).by, rerank, spec_from_args(clustering),
                   clustering.equalize)


def find_similar_scores(library: Library, codes: np.ndarray, rerank_by: str, queries: int = 0) -> dict:
    """P@10 and mAP@R of the find-similar the CLI and the app run, every image a query, or
    ``queries`` of them drawn at random where that path is too slow to ask every image."""
    relevant = np.bincount(codes)[codes] - 1
    depth = int(max(K, relevant.max()))
    row_of = {path: row for row, path in enumerate(library.paths)}
    asked = np.arange(len(library))
    if 0 < queries < len(library):
        asked = np.sort(np.random.default_rng(0).choice(len(library), queries, replace=False))
    hits = np.zeros((len(asked), depth), dtype=bool)
    started = time.perf_counter()
    for i, query in enumerate(asked):
        matches = search_similar(library.paths, library.vectors, int(query), depth, rerank_by=rerank_by).matches
        found = np.fromiter((row_of[m.path] for m in matches), dtype=np.int64, count=len(matches))
        hits[i, :len(found)] = codes[found] == codes[query]
    precision, average_precision = ranking_scores(hits, relevant[asked], K)
    return {"p_at_k": float(np.mean(precision)), "map_at_r": float(np.mean(average_precision)),
            "queries": len(asked), "ms_per_query": 1000 * (time.perf_counter() - started) / len(asked)}


def cluster_scores(library: Library, labels: list[str], defaults: Defaults,
                   cache_path: Path) -> tuple[dict, np.ndarray]:
    started = time.perf_counter()
    # A stop the app's way: the CLI passes none, which keeps every step in this process, while
    # the app's stop sends steps on 2,000 rows or more to a child process; the labels are the same.
    result = cluster_library(library, defaults.cluster, cache_path, should_stop=lambda: False)
    seconds = time.perf_counter() - started
    found = result.book.labels
    sizes = np.bincount(found[found >= 0])
    sizes = sizes[sizes > 0]
    return {**clustering_metrics(labels, found), "method": result.clustering.method,
            "params": result.clustering.params, "k_found": len(sizes), "k_true": len(set(labels)),
            "noise": float(np.mean(found < 0)), "sizes": sorted(sizes.tolist(), reverse=True),
            "largest_share": float(sizes.max() / len(found)), "catch_all": float(sizes.max() / np.median(sizes)),
            "seconds": seconds}, found


#: Every order `organizer order --by` offers, and the greedy chain it improves on:
#: (vectors, clusters, mean colours) → order.
ORDERINGS: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
    "similarity": lambda vectors, _, __: order_mod.similarity_order(vectors),
    "greedy chain": lambda vectors, _, __: order_mod.greedy_chain(vectors),
    "cluster": lambda vectors, clusters, _: order_mod.cluster_order(vectors, clusters),
    "pca": lambda vectors, _, __: order_mod.axis_order(order_mod.pca_key(vectors)),
    "hue": lambda _, __, rgb: order_mod.axis_order(order_mod.hue_key(rgb)),
    "brightness": lambda _, __, rgb: order_mod.axis_order(order_mod.brightness_key(rgb)),
}
#: The default order starts from a row the seed picks and improves in a seeded random
#: sequence, so the files' order shifts its agreement: a shuffled flat folder scores otherwise.
SHUFFLES = 10


def order_scores(library: Library, labels: list[str], clusters: np.ndarray, defaults: Defaults) -> dict:
    colour_paths, mean_rgb, _ = cached_vectors(library.folder, make_spec(mode="mean-colour"))
    if colour_paths != library.paths:
        raise RuntimeError(f"{library.folder}: the mean colours cover other images than the vectors")
    if defaults.order_by not in ORDERINGS:
        raise RuntimeError(f"the default order {defaults.order_by!r} is not among {', '.join(ORDERINGS)}")
    inputs = (library.vectors, clusters, mean_rgb)
    scores = {}
    for name, make in ORDERINGS.items():
        started = time.perf_counter()
        order = make(*inputs)
        scores[name] = {"agreement": order_mod.neighbour_agreement(order, labels),
                        "seconds": time.perf_counter() - started}
    labels = np.asarray(labels)
    shuffled = []
    for seed in range(SHUFFLES):
        rows = np.random.default_rng(seed).permutation(len(labels))
        order = ORDERINGS[defaults.order_by](*(values[rows] for values in inputs))
        shuffled.append(order_mod.neighbour_agreement(order, labels[rows]))
    # A path gives each image two neighbours, mostly among its nearest few: its agreement
    # stays near how often the nearest image shares the class, whatever the path search.
    ceiling = retrieval_metrics(library.vectors, labels, 1)["p_at_k"]
    return {"default": defaults.order_by, "default_shuffled": {"mean": float(np.mean(shuffled)),
                                                               "sd": float(np.std(shuffled))},
            "p_at_1": ceiling, **scores}


def score_set(folder: Path, options: dict, defaults: Defaults, queries: int = 0) -> dict:
    options = dict(options)
    equalize = options.pop("equalize", defaults.equalize)
    spec = make_spec(**options) if options else defaults.extractor
    library, embed_seconds = cached_library(folder, spec, equalize)
    labels = folder_labels(library.folder, library.paths)
    if len(set(labels)) < 2 or "" in labels:
        raise ValueError(f"{folder}: every image must lie in a class sub-folder, with two classes at least")
    started = time.perf_counter()
    codes = np.unique(labels, return_inverse=True)[1]
    similar = {"default": defaults.rerank or "plain", "plain": retrieval_metrics(library.vectors, labels, K),
               NEIGHBOURHOOD: retrieval_metrics(library.vectors, labels, K, rerank=True),
               "default_path": find_similar_scores(library, codes, defaults.rerank, queries)}
    clusters, found = cluster_scores(library, labels, defaults, cache_file(folder))
    result = {"folder": str(folder), "extractor": library.spec.id, "images": len(library),
              "classes": len(set(labels)), "failed": len(library.failures), "embed_seconds": embed_seconds,
              "find_similar": similar, "clusters": clusters,
              "order": order_scores(library, labels, found, defaults)}
    result["scoring_seconds"] = time.perf_counter() - started
    return result


def main_row(name: str, r: dict) -> str:
    similar, clusters = r["find_similar"], r["clusters"]
    plain, default = similar["plain"], similar["default_path"]
    order = r["order"]
    return (f"| {name} | {r['images']:,} | {r['classes']} | {plain['p_at_k']:.3f} / {default['p_at_k']:.3f} | "
            f"{plain['map_at_r']:.3f} / {default['map_at_r']:.3f} | {clusters['nmi']:.3f} "
            f"({clusters['k_found']} / {clusters['k_true']}) | {clusters['ari']:.3f} | {clusters['noise']:.0%} | "
            f"{clusters['largest_share']:.0%}, {clusters['catch_all']:.1f}× | "
            f"{order[order['default']]['agreement']:.3f} |")


def print_tables(results: dict[str, dict], defaults: Defaults, report: Report) -> None:
    rerank = defaults.rerank or "none, the plain ranking"
    report.print(f"\nDefaults, from the CLI: find-similar re-ranking {rerank}; clusters {defaults.cluster}; "
                 f"order by {defaults.order_by}.\n")
    report.print("| set | images | classes | P@10 plain / default path | mAP@R plain / default path | "
                 "NMI (k found / true k) | ARI | noise | largest cluster: share, × median | order agreement |")
    report.print("|---|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        report.print(main_row(name, r))
    report.print(f"\nOrders, neighbour agreement (the default marked *, then its mean ± sd over {SHUFFLES} "
                 "shufflings of the files), the P@1 ceiling, and find-similar with the neighbourhood re-ranking:\n")
    report.print(f"| set | {' | '.join(n + ('*' if n == defaults.order_by else '') for n in ORDERINGS)} | "
                 f"{defaults.order_by}, shuffled | ceiling, P@1 | P@10 / mAP@R, {NEIGHBOURHOOD} |")
    report.print("|---" * (len(ORDERINGS) + 4) + "|")
    for name, r in results.items():
        cells = " | ".join(f"{r['order'][n]['agreement']:.3f}" for n in ORDERINGS)
        shuffled, rerank = r["order"]["default_shuffled"], r["find_similar"][NEIGHBOURHOOD]
        report.print(f"| {name} | {cells} | {shuffled['mean']:.3f} ± {shuffled['sd']:.3f} | "
                     f"{r['order']['p_at_1']:.3f} | {rerank['p_at_k']:.3f} / {rerank['map_at_r']:.3f} |")
    report.print("\n| set | extractor | embed s (0 when cached) | scoring s | find-similar queries, ms each | "
                 "clustering s |")
    report.print("|---|---|---|---|---|---|")
    for name, r in results.items():
        path = r["find_similar"]["default_path"]
        report.print(f"| {name} | {r['extractor']} | {r['embed_seconds']:.0f} | {r['scoring_seconds']:.1f} | "
                     f"{path['queries']:,}, {path['ms_per_query']:.1f} | {r['clusters']['seconds']:.1f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", type=named_path, metavar="NAME=PATH",
                        help="labelled folders (default: dtd10 and bench/out/devsets/{garments,charts} if written)")
    parser.add_argument("--extractor", type=json.loads, default={},
                        help="make_spec keyword options as JSON (default: {}, the product's extractor)")
    parser.add_argument("--queries", type=int, default=0,
                        help="ask the default find-similar path this many random queries, not every image (0: all)")
    parser.add_argument("--json", type=Path, default=OUT / "sorting.json", help="where to write the figures")
    add_arguments(parser)
    args = parser.parse_args()
    report = Report("sorting", "Sorting quality on labelled folders (`bench/sorting.py`)", args)
    sets = dict(args.sets) if args.sets else default_sets()
    missing = [f"{name}={path}" for name, path in sets.items() if not path.is_dir()]
    if missing:
        print(f"no such folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    defaults = Defaults.of_cli(next(iter(sets.values())))
    results = {}
    for name, folder in sets.items():
        results[name] = score_set(folder.resolve(), args.extractor, defaults, args.queries)
        print(f"# {main_row(name, results[name])}", file=sys.stderr, flush=True)
    print_tables(results, defaults, report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"extractor_options": args.extractor, "sets": results}, indent=2))
    report.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
