"""Folder-adaptive refinement of the vectors, against the vectors as they are (issue 17, item 2).

Each candidate is fitted in seconds on one folder's own vectors (the CLI's default
extractor, from the bench cache; nothing is embedded again) and its refined vectors are fed
to the product's clustering (`cluster` with `organizer cluster`'s defaults), its order
(`similarity_order`) and plain cosine find-similar. For each set (dtd10 and the development
sets, as bench/sorting.py finds them) and each of --reps repetitions the files are shuffled
and the candidate is fitted with the repetition's seed, so the spread covers the seed and the
file order alike. Printed per set: how strongly its vectors group with no labels (the
modularity of the default clusters, the share of each image's 10 nearest inside its own
cluster); then per candidate: P@10, mAP@R, NMI, AMI, the clusters found,
the largest cluster's share of the folder, the order's neighbour agreement, each as the mean
over the repetitions and the mean paired difference to the vectors as they are ± its
standard error; and the candidate's fitting time per image.

The candidates:

  dec          DEC (Xie et al. 2016): a linear head, started as the 64-D PCA, trained so
               its Student-t assignments to k-means centres (k = the product's cluster
               count) match their own sharpened targets; the head's output is the vector
  dec+x        DEC's output beside the unit vector, equal weight
  lda+x        LDA fitted on the product's own clusters as pseudo-labels (shrinkage),
               beside the unit vector
  spectral     the kNN graph's (15 neighbours, the clustering's graph) Laplacian
               eigenmap, 32-D, rows normalised (Ng, Jordan & Weiss)
  diffused     feature propagation over the same graph, personalised-PageRank style
               (APPNP, Klicpera et al. 2019): 10 steps, a restart weight of 0.5
  nce          a 1-hidden-layer head trained contrastively: an image and one of its 5
               nearest are a positive pair, input dropout the augmentation, InfoNCE
  nce+x        its output beside the unit vector
  diffused, mild   the same propagation, 3 steps, a restart weight of 0.8
  nce+x, mutual    nce+x with mutual neighbours only as positives (the nearest where none is)
  top N removed    the folder's mean and its N leading principal directions taken out
                   ("all but the top", Mu & Viswanath 2018): the rest keep their scale,
                   unlike whitening

    .venv/bin/python bench/refine.py [--sets NAME=PATH ...] [--reps 5] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Callable

import numpy as np
from common import cached_vectors
from sorting import default_sets, named_path

from organizer.analysis.cluster import ClusterSpec, cluster
from organizer.analysis.clusterers.base import similarity_graph
from organizer.analysis.evaluate import clustering_metrics, folder_labels, retrieval_metrics
from organizer.arrange.order import neighbour_agreement, similarity_order
from organizer.embedding import make_spec
from organizer.search.index import build_index, unit_rows

GRAPH_NEIGHBOURS = 15


def _torch(seed: int):
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    return torch


def dec(vectors: np.ndarray, seed: int, dims: int = 64, steps: int = 150, update: int = 10) -> np.ndarray:
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    torch = _torch(seed)
    unit = unit_rows(vectors).astype(np.float32)
    k = len(set(cluster(unit, ClusterSpec(seed=seed)).labels.tolist()))
    pca = PCA(min(dims, unit.shape[1], len(unit)), random_state=seed).fit(unit)
    z0 = pca.transform(unit)
    centres = KMeans(k, n_init=3, random_state=seed).fit(z0)
    # Student-t kernels on distances of order 1: in-cluster distances set the scale.
    scale = float(np.sqrt(centres.inertia_ / len(unit)))
    x = torch.from_numpy(unit - pca.mean_)
    weights = torch.nn.Parameter(torch.from_numpy(pca.components_.T.copy() / scale))
    mu = torch.nn.Parameter(torch.from_numpy(centres.cluster_centers_.astype(np.float32) / scale))
    optimiser = torch.optim.Adam([weights, mu], lr=1e-3)

    def soft(z):
        q = 1.0 / (1.0 + torch.cdist(z, mu) ** 2)
        return q / q.sum(dim=1, keepdim=True)

    for step in range(steps):
        if step % update == 0:
            with torch.no_grad():
                q = soft(x @ weights)
                target = q ** 2 / q.sum(dim=0)
                target = target / target.sum(dim=1, keepdim=True)
        loss = torch.nn.functional.kl_div(soft(x @ weights).log(), target, reduction="batchmean")
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        return unit_rows((x @ weights).numpy())


def beside(refine: Callable[[np.ndarray, int], np.ndarray]) -> Callable[[np.ndarray, int], np.ndarray]:
    """The refined vector beside the unit vector, each unit length: cosine is their mean."""
    return lambda vectors, seed: np.hstack([unit_rows(vectors), unit_rows(refine(vectors, seed))]) / np.sqrt(2)


def lda(vectors: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    unit = unit_rows(vectors)
    labels = cluster(unit, ClusterSpec(seed=seed)).labels
    model = LinearDiscriminantAnalysis(solver="eigen", shrinkage="auto").fit(unit, labels)
    return model.transform(unit)


def _normalised_graph(vectors: np.ndarray):
    from scipy.sparse import diags

    graph = similarity_graph(unit_rows(vectors), GRAPH_NEIGHBOURS)
    inverse_root = diags(1 / np.sqrt(np.asarray(graph.sum(axis=1)).ravel()))
    return inverse_root @ graph @ inverse_root


def spectral(vectors: np.ndarray, seed: int, dims: int = 32) -> np.ndarray:
    from sklearn.manifold import spectral_embedding

    graph = similarity_graph(unit_rows(vectors), GRAPH_NEIGHBOURS)
    return unit_rows(spectral_embedding(graph, n_components=dims, random_state=seed, drop_first=True))


def diffused(vectors: np.ndarray, seed: int, restart: float = 0.5, steps: int = 10) -> np.ndarray:
    unit = unit_rows(vectors)
    walk = _normalised_graph(unit)
    h = unit
    for _ in range(steps):
        h = restart * unit + (1 - restart) * (walk @ h)
    return unit_rows(h)


def all_but_the_top(vectors: np.ndarray, seed: int, dims: int = 3) -> np.ndarray:
    unit = unit_rows(vectors).astype(np.float64)
    centred = unit - unit.mean(axis=0)
    _, axes = np.linalg.eigh(centred.T @ centred)
    top = axes[:, -dims:]
    return unit_rows(centred - centred @ top @ top.T)


def nce(vectors: np.ndarray, seed: int, dims: int = 128, epochs: int = 30, batch: int = 256,
        positives: int = 5, temperature: float = 0.1, mutual: bool = False) -> np.ndarray:
    torch = _torch(seed)
    unit = unit_rows(vectors).astype(np.float32)
    nearest, _ = build_index(unit).knn(unit, positives + 1)
    if mutual:
        # Keep a neighbour only where the image is among its nearest too; the nearest stands in for none.
        listed = np.zeros((len(unit), len(unit)), dtype=bool)
        listed[np.repeat(np.arange(len(unit)), positives), nearest[:, 1:].ravel()] = True
        keep = listed[nearest[:, 1:], np.arange(len(unit))[:, None]]
        keep[~keep.any(axis=1), 0] = True
        nearest[:, 1:] = np.where(keep, nearest[:, 1:], nearest[:, 1:2])
    head = torch.nn.Sequential(torch.nn.Dropout(0.2), torch.nn.Linear(unit.shape[1], 256), torch.nn.ReLU(),
                               torch.nn.Linear(256, dims))
    optimiser = torch.optim.Adam(head.parameters(), lr=1e-3, weight_decay=1e-4)
    x = torch.from_numpy(unit)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        for rows in np.array_split(rng.permutation(len(unit)), max(1, len(unit) // batch)):
            partners = nearest[rows, rng.integers(1, positives + 1, len(rows))]
            a = torch.nn.functional.normalize(head(x[rows]), dim=1)
            b = torch.nn.functional.normalize(head(x[partners]), dim=1)
            logits = a @ b.T / temperature
            target = torch.arange(len(rows))
            loss = (torch.nn.functional.cross_entropy(logits, target)
                    + torch.nn.functional.cross_entropy(logits.T, target)) / 2
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    head.eval()
    with torch.no_grad():
        return unit_rows(head(x).numpy())


CANDIDATES: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "as they are": lambda vectors, seed: vectors,
    "dec": dec,
    "dec+x": beside(dec),
    "lda+x": beside(lda),
    "spectral": spectral,
    "diffused": diffused,
    "nce": nce,
    "nce+x": beside(nce),
    "diffused, mild": lambda vectors, seed: diffused(vectors, seed, restart=0.8, steps=3),
    "nce+x, mutual": beside(lambda vectors, seed: nce(vectors, seed, mutual=True)),
    "top 1 removed": lambda vectors, seed: all_but_the_top(vectors, seed, 1),
    "top 3 removed": all_but_the_top,
    "top 8 removed": lambda vectors, seed: all_but_the_top(vectors, seed, 8),
}
MEASURES = ("p10", "map", "nmi", "ami", "k", "largest", "order")


def scores(vectors: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import adjusted_mutual_info_score

    retrieval = retrieval_metrics(vectors, labels, 10)
    found = cluster(vectors, ClusterSpec()).labels
    sizes = np.bincount(found[found >= 0])
    order = similarity_order(vectors)
    return {"p10": retrieval["p_at_k"], "map": retrieval["map_at_r"], **clustering_metrics(labels, found),
            "ami": float(adjusted_mutual_info_score(labels, found)), "k": float(len(sizes[sizes > 0])),
            "largest": float(sizes.max() / len(found)), "order": neighbour_agreement(order, labels)}


def structure(vectors: np.ndarray) -> str:
    """How strongly the vectors group on their own, with no labels: what a refinement would sharpen."""
    unit = unit_rows(vectors)
    found = cluster(unit, ClusterSpec())
    nearest, similarity = build_index(unit).knn(unit, 11)
    inside = np.mean(found.labels[nearest[:, 1:]] == found.labels[:, None])
    return (f"modularity of the default clusters {found.scores['modularity']:.2f}, share of the 10 nearest in "
            f"the image's own cluster {inside:.2f}, mean cosine to the 1st / 10th nearest "
            f"{similarity[:, 1].mean():.2f} / {similarity[:, 10].mean():.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", type=named_path, metavar="NAME=PATH")
    parser.add_argument("--reps", type=int, default=5, help="shufflings of the files, each with its own seed")
    parser.add_argument("--only", nargs="+", choices=list(CANDIDATES), help="these candidates (and the baseline)")
    args = parser.parse_args()
    sets = dict(args.sets) if args.sets else default_sets()
    names = ["as they are"] + [n for n in CANDIDATES if n != "as they are" and (not args.only or n in args.only)]
    spec = make_spec()
    print(f"# {args.reps} repetitions; each cell: mean, then the paired difference to the vectors as they are "
          "± its standard error")
    for set_name, folder in sets.items():
        paths, vectors, _ = cached_vectors(folder.resolve(), spec)
        labels = np.asarray(folder_labels(folder.resolve(), paths))
        results = {name: [] for name in names}
        seconds = {name: 0.0 for name in names}
        for rep in range(args.reps):
            rows = np.random.default_rng(rep).permutation(len(labels))
            for name in names:  # interleaved, so the shared machine's load falls on all alike
                started = time.perf_counter()
                refined = CANDIDATES[name](vectors[rows], rep)
                seconds[name] += time.perf_counter() - started
                results[name].append(scores(refined, labels[rows]))
                print(f"# {set_name} rep {rep} {name}: {results[name][-1]}", file=sys.stderr, flush=True)
        print(f"\n{set_name} ({len(labels)} images, {len(set(labels))} classes); {structure(vectors)}\n")
        print(f"| candidate | {' | '.join(MEASURES)} | fit ms / image |")
        print("|---" * (len(MEASURES) + 2) + "|")
        base = {m: np.array([r[m] for r in results["as they are"]]) for m in MEASURES}
        for name in names:
            cells = []
            for m in MEASURES:
                values = np.array([r[m] for r in results[name]])
                cell = f"{values.mean():.3f}" if m != "k" else f"{values.mean():.1f}"
                if name != "as they are":
                    diff = values - base[m]
                    error = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else 0.0
                    cell += f"<br>{diff.mean():+.3f} ± {error:.3f}"
                cells.append(cell)
            print(f"| {name} | {' | '.join(cells)} | {1000 * seconds[name] / args.reps / len(labels):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
