"""Exact top-10 search: today's numpy matrix product against faiss and scikit-learn.

    .venv/bin/python bench/search.py            # 1,000 queries over 100,000 vectors (about a minute)
    .venv/bin/python bench/search.py --rows 50000

Random unit vectors of the default extractor's width (1280), float32. Each library answers
the same queries; the table gives the time for the batch, the time for one query (a
find-similar) and how many of the top-10 lists agree with numpy's (ties aside, all should).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from organizer.search.index import ExactIndex, unit_rows

Search = Callable[[np.ndarray], np.ndarray]


def _numpy(vectors: np.ndarray) -> Search:
    """The app's ExactIndex: a numpy product in blocks of queries."""
    index = ExactIndex("cosine").fit(vectors)
    return lambda queries: index.knn(queries, 10)[0]


def _faiss(vectors: np.ndarray) -> Search:
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(unit_rows(vectors))
    return lambda queries: index.search(unit_rows(queries), 10)[1]


def _sklearn(vectors: np.ndarray) -> Search:
    from sklearn.neighbors import NearestNeighbors

    index = NearestNeighbors(n_neighbors=10, algorithm="brute", metric="cosine").fit(vectors)
    return lambda queries: index.kneighbors(queries, return_distance=False)


def _timed(search: Search, queries: np.ndarray) -> tuple[float, np.ndarray]:
    started = time.perf_counter()
    found = search(queries)
    return time.perf_counter() - started, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--dim", type=int, default=1280)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    vectors = unit_rows(rng.standard_normal((args.rows, args.dim), dtype=np.float32))
    queries = unit_rows(rng.standard_normal((args.queries, args.dim), dtype=np.float32))
    print(f"\n## Exact top-10, {args.queries} queries over {args.rows} × {args.dim} float32\n")
    print("| library | build s | batch s | one query ms | lists equal to numpy |")
    print("|---|---|---|---|---|")
    reference = None
    for name, build in (("numpy matmul (ExactIndex)", _numpy), ("faiss IndexFlatIP", _faiss),
                        ("sklearn brute cosine", _sklearn)):
        build_s, search = _timed(lambda _: build(vectors), vectors)
        batch_s, found = _timed(search, queries)
        single = min(_timed(search, queries[i : i + 1])[0] for i in range(5))
        reference = found if reference is None else reference
        same = np.mean([set(a) == set(b) for a, b in zip(found, reference)])
        print(f"| {name} | {build_s:.2f} | {batch_s:.2f} | {single * 1000:.1f} | {same:.3f} |")


if __name__ == "__main__":
    main()
