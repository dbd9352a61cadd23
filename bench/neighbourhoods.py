"""Re-ranking find-similar by the folder's neighbourhoods, and clustering after it (issue 17 item 2).

Find-similar's neighbourhood re-ranking (``organizer similar --rerank``; Settings ▸ "Re-rank matches by" ▸
"Folder neighbourhoods") smooths each vector with its nearest neighbours' (DBA) and expands the query with
its best matches (αQE). It stays a choice, not the default, because it loses the charts. This script scores
it and the variants tried to keep its gains without that loss, on the default's vectors of every labelled
set (adapted, as the CLI and the app open each folder; cached in bench/out/cache):

- find-similar P@10 of each re-ranking, with the paired change against plain cosine and its standard error
  over the queries;
- the product's clusters (``cluster()``, its defaults) on the plain and on the smoothed vectors, and at
  other resolutions of the default method's Louvain step (``clusterers.auto.RESOLUTION``, varied here only).

    .venv/bin/python bench/neighbourhoods.py      # about 25 s with the vectors cached
"""

from __future__ import annotations

import argparse
from typing import Callable

import numpy as np
from common import cached_library
from quality import labelled_sets, objects_queries
from report import Report, add_arguments
from seriation import labels_of
from sklearn.metrics import normalized_mutual_info_score

from organizer.analysis.cluster import cluster
from organizer.analysis.evaluate import ranking_scores
from organizer.analysis.clusterers import auto
from organizer.embedding import make_spec
from organizer.search.index import unit_rows
from organizer.search.similarity import ALPHA, DBA_NEIGHBOURS, QE_NEIGHBOURS, smooth_neighbourhoods

RESOLUTIONS = (1.0, 1.25, 1.5, 1.75, 2.0)


def _nearest(similarity: np.ndarray, k: int) -> np.ndarray:
    """Each row's k nearest other rows, best first."""
    similarity = similarity.copy()
    np.fill_diagonal(similarity, -np.inf)
    return np.argsort(-similarity, axis=1, kind="stable")[:, :k]


def expanded(unit: np.ndarray) -> np.ndarray:
    """Similarities after αQE, each image's query expanded with its own best matches (as ``expand_query``)."""
    similarity = unit @ unit.T
    top = _nearest(similarity, QE_NEIGHBOURS)
    weights = np.take_along_axis(similarity, top, axis=1).clip(min=0) ** ALPHA
    return unit_rows(unit + np.einsum("nk,nkd->nd", weights, unit[top])) @ unit.T


def mutual_smoothing(unit: np.ndarray, k: int) -> np.ndarray:
    """DBA over mutual neighbours only: j is folded into i where each is among the other's k nearest."""
    similarity = unit @ unit.T
    top = _nearest(similarity, k)
    member = np.zeros(similarity.shape, dtype=bool)
    np.put_along_axis(member, top, True, axis=1)
    mutual = member[top, np.arange(len(unit))[:, None]]
    weights = np.take_along_axis(similarity, top, axis=1).clip(min=0) ** ALPHA * mutual
    return unit_rows(unit + np.einsum("nk,nkd->nd", weights, unit[top]))


def k_reciprocal(unit: np.ndarray, k1: int, k2: int, weight: float = 0.3) -> np.ndarray:
    """Zhong et al. (CVPR 2017): the Jaccard distance of k-reciprocal neighbour sets, mixed with the
    original distance; returned negated, as a similarity. As in the paper's code, the squared distance is
    scaled by each column's largest before the Gaussian weights and the mix."""
    distance = 2 - 2 * unit @ unit.T
    distance = (distance / distance.max(axis=0)).T
    rank = np.argsort(distance, axis=1, kind="stable")

    def reciprocal(i: int, k: int) -> np.ndarray:
        forward = rank[i, :k + 1]
        return forward[np.any(rank[forward, :k + 1] == i, axis=1)]

    n = len(unit)
    encoding = np.zeros((n, n))
    for i in range(n):
        found = reciprocal(i, k1)
        grown = found
        for candidate in found:
            near = reciprocal(candidate, round(k1 / 2))
            if len(np.intersect1d(near, found)) > 2 / 3 * len(near):
                grown = np.union1d(grown, near)
        weights = np.exp(-distance[i, grown])
        encoding[i, grown] = weights / weights.sum()
    encoding = encoding[rank[:, :k2]].mean(axis=1)
    # The overlap of two encodings summed over the images both hold, through an inverted list: sparse rows.
    holders = [np.flatnonzero(encoding[:, j]) for j in range(n)]
    overlap = np.zeros((n, n))
    for i in range(n):
        for j in np.flatnonzero(encoding[i]):
            overlap[i, holders[j]] += np.minimum(encoding[i, j], encoding[holders[j], j])
    jaccard = 1 - overlap / (2 - overlap)
    return -(jaccard * (1 - weight) + distance * weight)


def similarity_of(vectors: np.ndarray) -> np.ndarray:
    return vectors @ vectors.T


RERANKINGS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "plain cosine (the default)": similarity_of,
    f"DBA k = {DBA_NEIGHBOURS} + αQE (`--rerank`)": lambda u: expanded(smooth_neighbourhoods(u)),
    f"DBA k = {DBA_NEIGHBOURS} alone": lambda u: similarity_of(smooth_neighbourhoods(u)),
    "αQE alone": expanded,
    "DBA over mutual neighbours, k = 8, + αQE": lambda u: expanded(mutual_smoothing(u, 8)),
    "DBA over mutual neighbours, k = 5": lambda u: similarity_of(mutual_smoothing(u, 5)),
    "DBA over mutual neighbours, k = 15": lambda u: similarity_of(mutual_smoothing(u, 15)),
    "k-reciprocal, k1 = 20, k2 = 6, λ = 0.3": lambda u: k_reciprocal(u, 20, 6),
    "k-reciprocal, k1 = 10, k2 = 4, λ = 0.3": lambda u: k_reciprocal(u, 10, 4),
}


def precisions(similarity: np.ndarray, labels: np.ndarray, queries: np.ndarray, k: int = 10) -> np.ndarray:
    """Each query's share of its k best-scored other images that carry its label."""
    rows = similarity[queries].copy()
    rows[np.arange(len(queries)), queries] = -np.inf
    hits = labels[np.argsort(-rows, axis=1, kind="stable")] == labels[queries, None]
    others = (labels[:, None] == labels[None, :]).sum(axis=1)[queries] - 1
    return np.asarray(ranking_scores(hits, others, k)[0])


def query_sets(name: str, paths: list) -> dict[str, np.ndarray]:
    """The queries of each scored set: the objects folder holds two, its swatches and its photos."""
    return {name: np.arange(len(paths))} if name != "objects" else objects_queries(paths)


def nmi_cell(labels: np.ndarray, vectors: np.ndarray) -> str:
    found = cluster(vectors).labels
    return f"{normalized_mutual_info_score(labels, found):.3f} ({len(set(found.tolist()))})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args()
    report = Report("neighbourhoods", "Re-ranking by the neighbourhoods (`bench/neighbourhoods.py`)", args)
    folders = labelled_sets()
    opened = {name: cached_library(folder.resolve(), make_spec())[0] for name, folder in folders.items()}
    units = {name: unit_rows(library.vectors) for name, library in opened.items()}
    labels = {name: labels_of(library.folder, library.paths) for name, library in opened.items()}
    queries = {name: query_sets(name, library.paths) for name, library in opened.items()}
    columns = [column for sets in queries.values() for column in sets]
    report.print("Find-similar P@10, then the change against plain cosine ± its standard error over the queries.\n")
    report.print(f"| re-ranking | {' | '.join(columns)} |\n|---|{'---|' * len(columns)}")
    plain = {}
    for reranking, scored in RERANKINGS.items():
        cells = []
        for name, unit in units.items():
            similarity = scored(unit)
            for column, rows in queries[name].items():
                hits = precisions(similarity, labels[name], rows)
                plain.setdefault(column, hits)
                change = hits - plain[column]
                cells.append(f"{hits.mean():.3f}" if hits is plain[column] else
                             f"{hits.mean():.3f}<br>{change.mean():+.3f} ± {change.std() / len(change) ** 0.5:.3f}")
        report.print(f"| {reranking} | {' | '.join(cells)} |")
    report.print("\nThe product's clusters (`cluster()`, its defaults): NMI (clusters found), on the plain and on "
                 f"the DBA-smoothed vectors, then at other Louvain resolutions (the default is {auto.RESOLUTION}).\n")
    report.print(f"| vectors | {' | '.join(opened)} |\n|---|{'---|' * len(opened)}")

    def row(title: str, smooth: Callable[[np.ndarray], np.ndarray] = lambda unit: unit) -> None:
        report.print(f"| {title} | {' | '.join(nmi_cell(labels[n], smooth(units[n])) for n in opened)} |")

    row("plain")
    row("DBA-smoothed", smooth_neighbourhoods)
    default_resolution = auto.RESOLUTION
    try:
        for resolution in RESOLUTIONS:
            auto.RESOLUTION = resolution
            row(f"plain, resolution {resolution}")
    finally:
        auto.RESOLUTION = default_resolution
    report.write()


if __name__ == "__main__":
    main()
