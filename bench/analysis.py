"""Analysis figures: the map against sklearn, clustering quality on dtd10, search latency.

    .venv/bin/python bench/analysis.py                 # everything (about 10 minutes)
    .venv/bin/python bench/analysis.py --skip-sklearn  # without the slow reference t-SNE

  map         openTSNE (ours: PCA 50, BH or FFT gradients by size, at most 250 + 500 iterations,
              each phase ending once the layout settles) against sklearn.manifold.TSNE
              (Barnes-Hut, the same 750 iterations and its defaults) on the default extractor's
              vectors of 10,000 rendered samples (80 px); time to our first partial, and what
              each layout keeps of the neighbours and classes. Interleaved runs (--repeats).
              Then the map going on from a partial map of the network's vectors, as the app's first
              scan does: what it keeps of that partial map's shape, and of the neighbours and classes.
  clustering  NMI, ARI and noise on dtd10 with the default extractor, k given and automatic.
  search      find-similar latency at 10k and 100k random vectors, exact and HNSW, with
              HNSW's recall@10 against exact search; and with the neighbourhood re-ranking.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from common import cached_vectors, render_folder
from report import Report, add_arguments

from organizer.analysis.cluster import ClusterSpec, cluster
from organizer.analysis.evaluate import clustering_metrics
from organizer.analysis.reduce import MapSpec, compute_map, gradient_method
from organizer.embedding import make_spec
from organizer.search.index import ExactIndex, HnswIndex
from organizer.search.similarity import find_similar

HERE = Path(__file__).resolve().parent


def _layout_quality(reduced: np.ndarray, layout: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """The share of each point's 10 nearest neighbours (PCA 50) kept in 2-D, and the 10-NN
    class accuracy in 2-D (3-fold): what a map should keep, whatever its speed."""
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

    _, high = NearestNeighbors(n_neighbors=11).fit(reduced).kneighbors(reduced)
    _, low = NearestNeighbors(n_neighbors=11).fit(layout).kneighbors(layout)
    kept = float(np.mean([len(set(a[1:]) & set(b[1:])) / 10 for a, b in zip(high, low)]))
    return kept, float(cross_val_score(KNeighborsClassifier(10), layout, labels, cv=3).mean())


def bench_map(vectors: np.ndarray, labels: np.ndarray, with_sklearn: bool, repeats: int, report: Report,
              perplexities: tuple[float, ...] = ()) -> None:
    """Ours (the layout stops once it settles), ours for the whole schedule, and sklearn's
    TSNE at the same 750 iterations and at its defaults, interleaved ``repeats`` times so a
    busy machine slows each alike; the median time of each, and the mean of its figures.

    Run ``r`` of each map takes seed ``r``: how long a settled layout takes varies by seed as it
    does by folder (±50 iterations at 10k), so one seed would time one draw of it."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    spec = MapSpec()
    reduced = PCA(50, random_state=0).fit_transform(vectors)

    def ours(settle: bool, perplexity: float = spec.perplexity):
        def run(seed: int):
            first: list[float] = []
            started = time.perf_counter()
            layout = compute_map(vectors, replace(spec, settle=settle, perplexity=perplexity, seed=seed),
                                 on_partial=lambda _: first or first.append(time.perf_counter() - started)).layout
            return layout, first[0]
        return run

    # The reference runs at scikit-learn's own default perplexity, 30; ours defaults to 20, so
    # sklearn at 20 is timed too.
    def sklearn(iterations: int | None, perplexity: float = 30.0):
        def run(seed: int):
            options = {} if iterations is None else {"max_iter": iterations}
            pca = PCA(50, random_state=0).fit_transform(vectors)
            return TSNE(perplexity=perplexity, init="pca", random_state=seed, n_jobs=-1, **options
                        ).fit_transform(pca), None
        return run

    early, method = gradient_method(len(vectors), exaggerated=True).upper(), gradient_method(len(vectors)).upper()
    method = method if early == method else f"{early} then {method}"
    runs = {f"ours (openTSNE {method}, perplexity {spec.perplexity:g}, stops once settled)": ours(True),
            f"ours (openTSNE {method}, all {spec.early_iterations} + {spec.iterations} iterations)": ours(False)}
    if with_sklearn:
        runs[f"sklearn TSNE, perplexity 30, {spec.early_iterations + spec.iterations} iterations"] = sklearn(
            spec.early_iterations + spec.iterations)
        runs["sklearn TSNE, its defaults (perplexity 30, 1,000 iterations)"] = sklearn(None)
        runs[f"sklearn TSNE, perplexity {spec.perplexity:g}, {spec.early_iterations + spec.iterations} "
             "iterations"] = sklearn(spec.early_iterations + spec.iterations, spec.perplexity)
    # Fewer neighbours make each iteration cheaper (openTSNE takes 3 × perplexity of them).
    for perplexity in perplexities:
        runs[f"ours, settled, perplexity {perplexity:g}"] = ours(True, perplexity)
    times: dict[str, list[float]] = {name: [] for name in runs}
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    firsts: dict[str, list[float]] = {name: [] for name in runs}
    for seed in range(repeats):
        for name, run in runs.items():
            started = time.perf_counter()
            layout, first = run(seed)
            times[name].append(time.perf_counter() - started)
            figures[name].append(_layout_quality(reduced, layout, labels))
            if first is not None:
                firsts[name].append(first)
    # Each time over the reference measured in the same run: sklearn at the same iterations, or
    # without sklearn, ours for the whole schedule.
    reference = list(runs)[2 if with_sklearn else 1]
    report.print(f"\n**Map of {len(vectors)} vectors ({repeats} interleaved runs, seeds 0–{repeats - 1}: median "
                 "seconds, mean figures)**\n")
    report.print(f"| implementation | seconds | time ÷ {reference} | first partial layout s | 10-NN kept | "
                 "class 10-NN accuracy |")
    report.print("|---|---|---|---|---|---|")
    for name in runs:
        kept, accuracy = np.mean(figures[name], axis=0)
        shown = f"{np.median(firsts[name]):.2f}" if firsts[name] else "none"
        ratio = np.median(times[name]) / np.median(times[reference])
        report.print(f"| {name} | {np.median(times[name]):.1f} | {ratio:.2f} | {shown} | {kept:.3f} | {accuracy:.3f} |")
    ours_time = np.median(times[next(iter(runs))])
    for name in list(runs)[1:]:
        report.print(f"\nours / {name} = {ours_time / np.median(times[name]):.2f}")


def bench_start(vectors: np.ndarray, network: np.ndarray, labels: np.ndarray, repeats: int, report: Report) -> None:
    """The finished map from the PCA start and from partial maps of the network's vectors (``network``) that a
    first scan shows: of the first 3,000 images by name (whole families unseen), of 3,000 scattered ones, and of
    all. Shape kept is 1 − the Procrustes disparity between a partial map and the finished map of its images."""
    from scipy.spatial import procrustes
    from sklearn.decomposition import PCA

    count = len(vectors)
    reduced = PCA(50, random_state=0).fit_transform(vectors)
    partial_rows = {"the first 3,000 by name": np.arange(3000),
                    "3,000 scattered": np.sort(np.random.default_rng(0).choice(count, 3000, replace=False)),
                    "all 10,000": np.arange(count)}
    rows: dict[str, dict[str, list]] = {}
    for seed in range(repeats):
        spec = replace(MapSpec(), seed=seed)
        partials = {name: compute_map(network[chosen], spec).layout for name, chosen in partial_rows.items()}
        for start_name in ["the PCA (no partial map)", *partial_rows]:
            start = None
            if start_name in partial_rows:
                start = np.full((count, 2), np.nan)
                start[partial_rows[start_name]] = partials[start_name]
            started = time.perf_counter()
            layout = compute_map(vectors, spec, start=start).layout
            seconds = time.perf_counter() - started
            figures = rows.setdefault(start_name, {"seconds": [], "quality": [], "kept": []})
            figures["seconds"].append(seconds)
            figures["quality"].append(_layout_quality(reduced, layout, labels))
            figures["kept"].append([1 - procrustes(partials[name], layout[chosen])[2]
                                    for name, chosen in partial_rows.items()])
    report.print(f"\n**The finished map going on from a partial map** ({repeats} seeds: median seconds, "
                 "mean figures)\n")
    report.print("| starts from | seconds | 10-NN kept | class 10-NN accuracy | shape kept of the partial map of "
                 + " / ".join(partial_rows) + " |")
    report.print("|---|---|---|---|---|")
    for name, figures in rows.items():
        kept, accuracy = np.mean(figures["quality"], axis=0)
        shapes = np.mean(figures["kept"], axis=0)
        shown = " / ".join(f"**{value:.2f}**" if partial == name else f"{value:.2f}"
                           for partial, value in zip(partial_rows, shapes))
        report.print(f"| {name} | {np.median(figures['seconds']):.1f} | {kept:.3f} | {accuracy:.3f} | {shown} |")


CLUSTER_RUNS = {
    "auto (graph communities)": ClusterSpec(),
    "agglomerative ward, automatic k (auto before issue 17)": ClusterSpec("agglomerative"),
    "kmeans k=10": ClusterSpec("kmeans", k=10),
    "kmeans automatic k": ClusterSpec("kmeans"),
    "agglomerative ward k=10": ClusterSpec("agglomerative", k=10),
    "agglomerative average k=10": ClusterSpec("agglomerative", k=10, linkage="average"),
    "agglomerative complete k=10": ClusterSpec("agglomerative", k=10, linkage="complete"),
    "agglomerative single k=10": ClusterSpec("agglomerative", k=10, linkage="single"),
    "spectral k=10": ClusterSpec("spectral", k=10),
    "spectral automatic k": ClusterSpec("spectral"),
    "affinity propagation": ClusterSpec("affinity"),
    "hdbscan, 50-D": ClusterSpec("hdbscan"),
    "hdbscan, 10-D": ClusterSpec("hdbscan", space_dims=10),
    "hdbscan, 10-D, noise reassigned": ClusterSpec("hdbscan", space_dims=10, reassign_noise=True),
    "dbscan, automatic eps": ClusterSpec("dbscan"),
    "dbscan, automatic eps, noise reassigned": ClusterSpec("dbscan", reassign_noise=True),
}


def bench_clustering(dtd: Path, report: Report) -> None:
    paths, vectors, _ = cached_vectors(dtd, make_spec())
    truth = [p.parent.name for p in paths]
    report.print(f"\n**Clustering dtd10 ({len(paths)} images, 10 classes, default extractor)**\n")
    report.print("| method | k | NMI | ARI | noise | seconds |\n|---|---|---|---|---|---|")
    for name, spec in CLUSTER_RUNS.items():
        started = time.perf_counter()
        result = cluster(vectors, spec)
        seconds = time.perf_counter() - started
        scores = clustering_metrics(truth, result.labels)
        report.print(f"| {name} | {len(result.sizes)} | {scores['nmi']:.3f} | {scores['ari']:.3f} | "
                     f"{result.noise_fraction:.0%} | {seconds:.1f} |")


#: The default extractor's width: Lite0's blocks 10, 11 and 14 (112 + 192 + 192 channels).
DEFAULT_DIMENSIONS = 496


def bench_search(report: Report, dim: int = DEFAULT_DIMENSIONS) -> None:
    rng = np.random.default_rng(0)
    report.print(f"\n**find-similar latency ({dim}-D random vectors, cosine, k=10, median of 200 queries)**\n")
    report.print("| vectors | index | build s | query ms | recall@10 |\n|---|---|---|---|---|")
    for n in (10_000, 100_000):
        data = rng.normal(size=(n, dim)).astype(np.float32)
        queries = data[rng.choice(n, 200, replace=False)] + 0.1 * rng.normal(size=(200, dim)).astype(np.float32)
        truth = None
        for name, index in (("exact", ExactIndex()), ("hnsw", HnswIndex())):
            started = time.perf_counter()
            index.fit(data)
            build = time.perf_counter() - started
            times, found = [], []
            for q in queries:
                started = time.perf_counter()
                found.append(index.query(q, 10).indices)
                times.append(time.perf_counter() - started)
            if truth is None:
                truth = found
            recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)])
            report.print(f"| {n:,} | {name} | {build:.2f} | {1e3 * np.median(times):.2f} | {recall:.3f} |")
    bench_neighbourhood_search(report, dim)


def bench_neighbourhood_search(report: Report, dim: int) -> None:
    """The neighbourhood re-ranking's cost in the app: its first query smooths the whole folder, the
    later ones reuse that (``similarity.smoothed_index``)."""
    rng = np.random.default_rng(1)
    report.print("\n**find-similar with the neighbourhood re-ranking (DBA + αQE), k=10: the first query, "
                 "then the median of 20 later ones**\n")
    report.print("| vectors | first query s | later queries ms |\n|---|---|---|")
    for n in (10_000, 100_000):
        data = rng.normal(size=(n, dim)).astype(np.float32)
        paths = [Path(f"{i}.png") for i in range(n)]
        started = time.perf_counter()
        find_similar(paths, data, data[0], 10, exclude=paths[0], rerank=True)
        first = time.perf_counter() - started
        times = []
        for q in rng.choice(n, 20, replace=False):
            started = time.perf_counter()
            find_similar(paths, data, data[q], 10, exclude=paths[q], rerank=True)
            times.append(time.perf_counter() - started)
        report.print(f"| {n:,} | {first:.1f} | {1e3 * np.median(times):.0f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dtd", type=Path, default=HERE.parent.parent / "shared" / "data" / "dtd10")
    parser.add_argument("--skip-sklearn", action="store_true")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs of each map, run r with seed r")
    parser.add_argument("--perplexities", type=float, nargs="*", default=(),
                        help="also time our map at these perplexities (the default is 30)")
    parser.add_argument("--parts", nargs="*", default=["search", "clustering", "map"],
                        choices=["search", "clustering", "map"])
    add_arguments(parser)
    args = parser.parse_args()
    # One block per part, each beside its own section of the doc.
    if "search" in args.parts:
        report = Report("analysis-search", "find-similar latency (`bench/analysis.py --parts search`)", args)
        bench_search(report)
        report.write()
    if "clustering" in args.parts and args.dtd.is_dir():
        report = Report("analysis-clustering", "Clustering dtd10 (`bench/analysis.py --parts clustering`)", args)
        bench_clustering(args.dtd, report)
        report.write()
    if "map" in args.parts:
        report = Report("analysis-map", "The map: t-SNE of 10,000 vectors (`bench/analysis.py --parts map`)", args)
        folder = render_folder(10_000, size=80)
        paths, vectors, _ = cached_vectors(folder, make_spec())
        labels = np.array([path.name.split("__")[0] for path in paths])
        bench_map(vectors, labels, not args.skip_sklearn, args.repeats, report, tuple(args.perplexities))
        bench_start(vectors, cached_vectors(folder, replace(make_spec(), adapted=False))[1], labels, args.repeats,
                    report)
        report.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
