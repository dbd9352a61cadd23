"""Does re-ranking find-similar's best matches with a classic index help? P@10 on a labelled folder.

For each query (a fixed sample per class), the default extractor finds the best 3 × 10
matches, the index re-orders them, and P@10 counts the top ten that share the query's
label (its first-level subfolder). Run: .venv/bin/python bench/rerank.py [FOLDER] [QUERIES_PER_CLASS]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from common import cached_vectors

from organizer.analysis.evaluate import folder_labels
from organizer.embedding import make_spec
from organizer.search.compare import INDICES
from organizer.search.rerank import pool_size, rerank
from organizer.search.similarity import find_similar

K = 10
#: Every index re-ranks the same pool: the one find-similar fetches for any of them.
POOL = pool_size(K, INDICES[0])


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/dtd10").resolve()
    per_class = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    paths, vectors, _ = cached_vectors(folder, make_spec())
    labels = np.array(folder_labels(folder, paths))
    rng = np.random.default_rng(0)
    queries = [int(i) for label in sorted(set(labels)) for i in rng.choice(np.flatnonzero(labels == label), per_class,
                                                                             replace=False)]
    label_of = dict(zip(paths, labels))
    print(f"# {folder.name}: {len(paths)} images, {len(queries)} queries, P@{K} after re-ranking the best {POOL}")
    pools = {q: find_similar(paths, vectors, vectors[q], POOL, exclude=paths[q]) for q in queries}
    plain = np.mean([[label_of[m.path] == labels[q] for m in pools[q][:K]] for q in queries])
    print(f"{'none (embedding order)':24s} P@10 {plain:.3f}")
    for index in INDICES:
        started = time.perf_counter()
        hits = [[label_of[m.path] == labels[q] for m in rerank(paths[q], pools[q], index, K)[0]] for q in queries]
        seconds = (time.perf_counter() - started) / len(queries)
        print(f"{index:24s} P@10 {np.mean(hits):.3f}   {seconds:.2f} s per query")


if __name__ == "__main__":
    main()
