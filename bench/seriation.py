"""Candidates for the default 1-D order, against it, on labelled folders (issue 17, item 4).

For each set (dtd10 and the development sets, as bench/sorting.py finds them, and
bench/quality.py's composed objects, swatches and photos of 9 rendered families, as a set no
candidate was chosen on; the vectors of the CLI's default extractor from the bench cache) it
prints:

  ceiling   P@1 and P@2 of plain cosine: how often an image's nearest (two nearest) images
            share its class. A path gives each image two neighbours, mostly among its
            nearest few, so its agreement stays near these unless the similarity improves.
  orders    the neighbour agreement of similarity_order fed with each candidate's vectors,
            as mean ± sd over --shuffles shufflings of the files (the order depends on the
            files' order), and the mean paired difference to the default with its standard
            error: a candidate wins on a set where the difference is above about 0.01 and
            several standard errors.

The first candidates change what the path measures, not the path search:

  centred         each vector less the folder's mean (cosine about the folder's mean)
  DBA k=3, 5, 8   each vector smoothed with its 3, 5 or 8 nearest (find-similar's DBA)
  whitened        PCA-whitened on the folder, 3 × the mean eigenvalue added to each

Then the other orders on the default vectors, which the default must beat:

  greedy chain    always step to the nearest image not yet placed (the order before issue 17)
  by cluster      the product's clusters one after another (`organizer order --by cluster`)

    .venv/bin/python bench/seriation.py [--sets NAME=PATH ...] [--shuffles 20]   # about 2 min
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

import numpy as np
from common import OUT, cached_vectors
from sorting import default_sets, named_path

from organizer.analysis.evaluate import folder_labels, retrieval_metrics
from organizer.analysis.cluster import cluster
from organizer.arrange.order import cluster_order, greedy_chain, neighbour_agreement, similarity_order
from organizer.embedding import make_spec
from organizer.samples import family_of
from organizer.search.index import unit_rows
from organizer.search.similarity import smooth_neighbourhoods

WHITEN_SHRINK = 3.0


def centred(vectors: np.ndarray) -> np.ndarray:
    unit = unit_rows(vectors)
    return unit - unit.mean(axis=0)


def whitened(vectors: np.ndarray) -> np.ndarray:
    rows = centred(vectors).astype(np.float64)
    values, axes = np.linalg.eigh(rows.T @ rows / len(rows))
    return rows @ axes / np.sqrt(values + WHITEN_SHRINK * values.mean())


TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "default": lambda vectors: vectors,
    "centred": centred,
    "DBA k=3": lambda vectors: smooth_neighbourhoods(vectors, 3),
    "DBA k=5": lambda vectors: smooth_neighbourhoods(vectors, 5),
    "DBA k=8": lambda vectors: smooth_neighbourhoods(vectors, 8),
    "whitened": whitened,
}


def seriated(transform: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray, int], np.ndarray]:
    return lambda vectors, seed: similarity_order(transform(vectors), seed=seed)


#: Each candidate orders a folder's vectors with a seed: the default order fed other vectors, then the
#: other orders on the same vectors (issue 17 asks for an order that beats the greedy chain).
CANDIDATES: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    **{name: seriated(transform) for name, transform in TRANSFORMS.items()},
    "greedy chain": lambda vectors, seed: greedy_chain(vectors, seed=seed),
    "by cluster": lambda vectors, seed: cluster_order(vectors, cluster(vectors).labels, seed=seed),
}


def labels_of(folder: Path, paths: list[Path]) -> np.ndarray:
    """The class sub-folder of each image, or its rendered family in a flat folder such as objects."""
    labels = folder_labels(folder, paths)
    return np.asarray([family_of(p) for p in paths] if "" in labels else labels)


def agreements(vectors: np.ndarray, labels: np.ndarray, shuffles: int) -> dict[str, np.ndarray]:
    """Each candidate's agreement over the same shufflings, one value per shuffling."""
    scores = {name: np.zeros(shuffles) for name in CANDIDATES}
    for seed in range(shuffles):
        rows = np.random.default_rng(seed).permutation(len(labels))
        for name, arrange in CANDIDATES.items():
            order = arrange(vectors[rows], seed)
            scores[name][seed] = neighbour_agreement(order, labels[rows])
    return scores


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", type=named_path, metavar="NAME=PATH",
                        help="labelled folders (default: dtd10, and bench/out/devsets/{garments,charts} "
                             "and bench/out/objects where written)")
    parser.add_argument("--shuffles", type=int, default=20, help="shufflings of the files per set (default 20)")
    args = parser.parse_args()
    sets = dict(args.sets) if args.sets else default_sets()
    if not args.sets and (OUT / "objects").is_dir():
        sets["objects"] = OUT / "objects"
    missing = [f"{name}={path}" for name, path in sets.items() if not Path(path).is_dir()]
    if missing:
        print(f"no such folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    others = [name for name in CANDIDATES if name != "default"]
    print(f"Neighbour agreement, mean ± sd over {args.shuffles} shufflings; below each candidate, its mean "
          "paired difference to the default (± standard error).\n")
    print(f"| set | images | P@1 / P@2 | default | {' | '.join(others)} |")
    print("|---" * (len(others) + 4) + "|")
    for name, folder in sets.items():
        folder = Path(folder).resolve()
        paths, vectors, _ = cached_vectors(folder, make_spec())
        labels = labels_of(folder, paths)
        ceiling = [retrieval_metrics(vectors, labels, k)["p_at_k"] for k in (1, 2)]
        scores = agreements(vectors, labels, args.shuffles)
        base = scores["default"]
        cells = []
        for other in others:
            gain = scores[other] - base
            cells.append(f"{scores[other].mean():.3f} ± {scores[other].std():.3f}<br>"
                         f"{gain.mean():+.3f} ± {gain.std() / np.sqrt(len(gain)):.3f}")
        print(f"| {name} | {len(labels):,} | {ceiling[0]:.3f} / {ceiling[1]:.3f} | "
              f"{base.mean():.3f} ± {base.std():.3f} | {' | '.join(cells)} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
