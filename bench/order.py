"""Orders and grid layouts with the default extractor: how well neighbours agree, how long it takes.

  orders  on dtd10 (../shared/data/dtd10 by default, label = parent folder): the share of
          consecutive pairs with the same label and the mean cosine distance between them,
          for every order; then the greedy chain against similarity_order on the 10,000
          rendered samples (label = pattern family).
  grids   DPQ_16 (arrange.grid.dpq) of grid_sort against a random grid and against the
          similarity order laid out row by row, on 1,000 dtd10 images (a fixed random
          subset) and on the 10,000 rendered samples.

Vectors come through the real pipeline and its cache in bench/out/cache, as bench/quality.py.

    .venv/bin/python bench/order.py [--data DIR]      # about a minute once cached
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from common import OUT, cached_vectors, render_folder

from organizer.analysis.cluster import cluster
from organizer.arrange.grid import dpq, grid_shape, grid_sort
from organizer.arrange.order import (axis_order, brightness_key, cluster_order, greedy_chain, hue_key,
                                     mean_adjacent_distance, neighbour_agreement, pca_key, similarity_order)
from organizer.embedding import make_spec
from organizer.samples import family_of
from organizer.search.similarity import smooth_neighbourhoods

HERE = Path(__file__).resolve().parent


def timed(make):
    started = time.perf_counter()
    result = make()
    return result, time.perf_counter() - started


def order_row(name: str, make, vectors: np.ndarray, labels: list[str]) -> None:
    result, seconds = timed(make)
    print(f"| {name} | {neighbour_agreement(result, labels):.3f} | "
          f"{mean_adjacent_distance(result, vectors):.4f} | {seconds:.2f} |", flush=True)


def bench_orders(dtd: Path) -> np.ndarray:
    paths, vectors, _ = cached_vectors(dtd, make_spec())
    colour_paths, mean_rgb, _ = cached_vectors(dtd, make_spec(mode="mean-colour"))
    assert colour_paths == paths
    labels = [p.parent.name for p in paths]
    print(f"\n## Orders of dtd10 ({len(paths)} images, 10 classes, default extractor)\n")
    print("| order | neighbour agreement | mean adjacent cosine distance | seconds |\n|---|---|---|---|")
    orders = {
        "random": lambda: np.random.default_rng(0).permutation(len(vectors)),
        "average colour, first principal component": lambda: axis_order(pca_key(mean_rgb)),
        "greedy nearest-neighbour chain": lambda: greedy_chain(vectors),
        "similarity (chain + 2-opt + Or-opt)": lambda: similarity_order(vectors),
        "similarity on DBA-smoothed vectors (k=8, as --rerank)": lambda: similarity_order(
            smooth_neighbourhoods(vectors)),
        "cluster (automatic Ward clusters; time includes clustering)": lambda: cluster_order(
            vectors, cluster(vectors).labels),
        "pca (first principal component)": lambda: axis_order(pca_key(vectors)),
        "hue (average colour)": lambda: axis_order(hue_key(mean_rgb)),
        "brightness (average colour)": lambda: axis_order(brightness_key(mean_rgb)),
    }
    for name, make in orders.items():
        order_row(name, make, vectors, labels)
    return vectors


def bench_large_order(paths: list[Path], vectors: np.ndarray) -> None:
    families = [family_of(p) for p in paths]
    print(f"\n## Orders of {len(paths):,} rendered samples (label = one of 9 families)\n")
    print("| order | neighbour agreement | mean adjacent cosine distance | seconds |\n|---|---|---|---|")
    order_row("greedy nearest-neighbour chain", lambda: greedy_chain(vectors), vectors, families)
    order_row("similarity (chain + 2-opt + Or-opt)", lambda: similarity_order(vectors), vectors, families)


def bench_grid(name: str, vectors: np.ndarray) -> None:
    rows, cols = grid_shape(len(vectors))
    layouts = {"random": lambda: np.random.default_rng(0).permutation(rows * cols)}
    layouts["similarity order, row by row"] = lambda: similarity_order(vectors)
    layouts["grid_sort (PCA start, LAS/FLAS)"] = lambda: grid_sort(vectors, rows, cols)
    for layout, make in layouts.items():
        grid, seconds = timed(make)
        grid = np.where(grid < len(vectors), grid, -1)  # the random permutation runs over all cells
        grid = np.concatenate([grid, np.full(rows * cols - len(grid), -1)])
        print(f"| {name} | {len(vectors):,} in {rows} × {cols} | {layout} | {dpq(grid, vectors, cols):.3f} | "
              f"{dpq(grid, vectors, cols, ties='best'):.3f} | {seconds:.1f} |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "dtd10")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"no evaluation data at {args.data}", file=sys.stderr)
        return 2
    dtd_vectors = bench_orders(args.data)
    samples = OUT / "samples10000"
    sample_paths, sample_vectors, _ = cached_vectors(samples if samples.is_dir() else render_folder(10_000),
                                                     make_spec())
    bench_large_order(sample_paths, sample_vectors)
    print("\n## Grid layouts\n")
    print("DPQ_16 with equidistant cells ranked by their mean (our default) and by feature distance, "
          "best first (the authors' code).\n")
    print("| set | images | layout | DPQ_16 | DPQ_16, authors' ties | seconds |\n|---|---|---|---|---|---|")
    subset = np.sort(np.random.default_rng(0).choice(len(dtd_vectors), 1000, replace=False))
    bench_grid("dtd10 subset", dtd_vectors[subset])
    bench_grid("rendered samples", sample_vectors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
