"""Analysis figures: the map against sklearn, clustering quality on dtd10, search latency.

    .venv/bin/python bench/analysis.py                 # everything (about 10 minutes)
    .venv/bin/python bench/analysis.py --skip-sklearn  # without the slow reference t-SNE

  map         openTSNE (ours: PCA 50, BH or FFT gradients by size, 250 + 500 iterations) against
              sklearn.manifold.TSNE (Barnes-Hut, same iteration counts) on the default
              extractor's vectors of 10,000 rendered samples; time to our first partial.
  clustering  NMI, ARI and noise on dtd10 with the default extractor, k given and automatic.
  search      find-similar latency at 10k and 100k random vectors, exact and HNSW, with
              HNSW's recall@10 against exact search.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from common import cached_vectors, render_folder

from organizer.analysis.cluster import ClusterSpec, cluster
from organizer.analysis.evaluate import clustering_metrics
from organizer.analysis.reduce import MapSpec, compute_map, gradient_method
from organizer.embedding import make_spec
from organizer.search.index import ExactIndex, HnswIndex

HERE = Path(__file__).resolve().parent


def bench_map(vectors: np.ndarray, with_sklearn: bool) -> None:
    spec = MapSpec()
    first = []
    started = time.perf_counter()
    compute_map(vectors, spec, on_partial=lambda _: first or first.append(time.perf_counter() - started))
    ours = time.perf_counter() - started
    print(f"\n## Map of {len(vectors)} vectors\n")
    print("| implementation | seconds | first partial layout s |\n|---|---|---|")
    print(f"| ours (openTSNE {gradient_method(len(vectors)).upper()}, PCA 50) | {ours:.1f} | {first[0]:.2f} |")
    if with_sklearn:
        from sklearn.decomposition import PCA
        from sklearn.manifold import TSNE

        started = time.perf_counter()
        reduced = PCA(50, random_state=0).fit_transform(vectors)
        TSNE(perplexity=spec.perplexity, max_iter=spec.early_iterations + spec.iterations, init="pca",
             random_state=0, n_jobs=-1).fit_transform(reduced)
        reference = time.perf_counter() - started
        print(f"| sklearn TSNE (Barnes-Hut, PCA 50) | {reference:.1f} | none |")
        print(f"\nours / sklearn = {ours / reference:.2f}")


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


def bench_clustering(dtd: Path) -> None:
    paths, vectors, _ = cached_vectors(dtd, make_spec())
    truth = [p.parent.name for p in paths]
    print(f"\n## Clustering dtd10 ({len(paths)} images, 10 classes, default extractor)\n")
    print("| method | k | NMI | ARI | noise | seconds |\n|---|---|---|---|---|---|")
    for name, spec in CLUSTER_RUNS.items():
        started = time.perf_counter()
        result = cluster(vectors, spec)
        seconds = time.perf_counter() - started
        scores = clustering_metrics(truth, result.labels)
        print(f"| {name} | {len(result.sizes)} | {scores['nmi']:.3f} | {scores['ari']:.3f} | "
              f"{result.noise_fraction:.0%} | {seconds:.1f} |", flush=True)


def bench_search(dim: int = 304) -> None:
    rng = np.random.default_rng(0)
    print(f"\n## find-similar latency ({dim}-D random vectors, cosine, k=10, median of 200 queries)\n")
    print("| vectors | index | build s | query ms | recall@10 |\n|---|---|---|---|---|")
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
            print(f"| {n:,} | {name} | {build:.2f} | {1e3 * np.median(times):.2f} | {recall:.3f} |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dtd", type=Path, default=HERE.parent.parent / "shared" / "data" / "dtd10")
    parser.add_argument("--skip-sklearn", action="store_true")
    parser.add_argument("--parts", nargs="*", default=["search", "clustering", "map"],
                        choices=["search", "clustering", "map"])
    args = parser.parse_args()
    if "search" in args.parts:
        bench_search()
    if "clustering" in args.parts and args.dtd.is_dir():
        bench_clustering(args.dtd)
    if "map" in args.parts:
        _, vectors, _ = cached_vectors(render_folder(10_000), make_spec())
        bench_map(vectors, not args.skip_sklearn)
    return 0


if __name__ == "__main__":
    sys.exit(main())
