"""Retrieval quality against known labels: how well does an extractor suit a library?"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..search.index import unit_rows
from ..search.similarity import expand_query, smooth_neighbourhoods

_ROWS = 1024  # queries per block, so memory stays at ROWS × N whatever the collection size


def retrieval_metrics(vectors: np.ndarray, labels: list[str] | np.ndarray, k: int = 10,
                      queries: np.ndarray | None = None, rerank: bool = False) -> dict[str, float]:
    """P@k and mAP@R with cosine similarity, each query against all other images.

    Parameters
    ----------
    queries
        Indices of the images to use as queries (default: all of them).
    rerank
        Rank as find-similar does with re-ranking on: smoothed vectors, expanded queries.

    Returns
    -------
    dict
        ``p_at_k``: the mean fraction of the k nearest that share the query's label.
        ``map_at_r``: mean average precision over the first R results, where R is the
        number of other images with the query's label (Musgrave et al., 2020).
    """
    unit = unit_rows(vectors)
    if rerank:
        unit = smooth_neighbourhoods(unit)
    codes = np.unique(np.asarray(labels), return_inverse=True)[1]
    relevant_counts = np.bincount(codes)[codes] - 1
    queries = np.arange(len(unit)) if queries is None else np.asarray(queries)
    precision, average_precision = [], []
    for start in range(0, len(queries), _ROWS):
        rows = queries[start : start + _ROWS]
        query_vectors = unit[rows]
        if rerank:
            query_vectors = np.stack([expand_query(unit[q], unit, exclude={int(q)}) for q in rows])
        similarity = query_vectors @ unit.T
        similarity[np.arange(len(rows)), rows] = -np.inf
        order = np.argsort(-similarity, axis=1, kind="stable")
        block_precision, block_ap = ranking_scores(codes[order] == codes[rows][:, None], relevant_counts[rows], k)
        precision.extend(block_precision)
        average_precision.extend(block_ap)
    return {"p_at_k": float(np.mean(precision)), "map_at_r": float(np.mean(average_precision))}


def ranking_scores(hits: np.ndarray, relevant_counts: np.ndarray, k: int) -> tuple[list[float], list[float]]:
    """Each query's precision at ``k`` and average precision at R from its ranked results.

    Parameters
    ----------
    hits
        One row per query: whether each result, best first, shares the query's label. A row
        holds at least ``k`` results and at least the query's R.
    relevant_counts
        R per query: how many other images share its label.

    Returns
    -------
    The precisions at ``k`` of every query, and the average precisions of those with R > 0.
    """
    hits = np.asarray(hits, dtype=bool)
    precision = hits[:, :k].mean(axis=1).tolist()
    average_precision = []
    for row, r in zip(hits, np.asarray(relevant_counts)):
        if r == 0:
            continue
        top = row[:r]
        average_precision.append(float((top * np.cumsum(top) / np.arange(1, r + 1)).sum() / r))
    return precision, average_precision


def clustering_metrics(labels_true, labels_pred) -> dict[str, float]:
    """NMI and ARI against known labels; noise (-1) counts as its own group."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    return {"nmi": float(normalized_mutual_info_score(labels_true, labels_pred)),
            "ari": float(adjusted_rand_score(labels_true, labels_pred))}


def folder_labels(folder: Path, paths: list[Path]) -> list[str]:
    """The first-level subfolder of each path: the label in ``organizer evaluate``."""
    root = Path(folder).absolute()
    return [p.relative_to(root).parts[0] if len(p.relative_to(root).parts) > 1 else "" for p in paths]
