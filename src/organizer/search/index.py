"""Nearest-neighbour search over a folder's vectors.

Exact search is a blocked matrix product: one query over 100,000 vectors takes about 6 ms
here (bench/analysis.py), so single queries (find-similar) are always exact. A kNN graph
(duplicates, DBSCAN's eps, DBA, noise reassignment) asks N queries, which grows as N²; from
``APPROXIMATE_FROM`` vectors on, :func:`build_index` answers those through a faiss HNSW
graph, whose build plus N queries then costs less than the exact N² products.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METRICS = ("cosine", "euclidean", "manhattan")
APPROXIMATE_FROM = 50_000
HNSW_NEIGHBOURS = 32
_ROWS = 1024  # query rows per block: memory stays at ROWS × N scores


@dataclass(frozen=True)
class Neighbours:
    """Row indices into the indexed vectors and their scores, best first.

    For cosine the score is the similarity (higher is closer); for euclidean and
    manhattan it is the distance (lower is closer).
    """

    indices: np.ndarray
    scores: np.ndarray


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32: cosine becomes a dot product."""
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


class _Index:
    metric: str

    def query(self, vector: np.ndarray, k: int = 10, exclude: set[int] | None = None) -> Neighbours:
        """The ``k`` nearest rows to one query vector, skipping the rows in ``exclude``."""
        exclude = exclude or set()
        indices, scores = self.knn(np.asarray(vector, dtype=np.float32).reshape(1, -1), k + len(exclude))
        keep = [j for j, i in enumerate(indices[0]) if i >= 0 and i not in exclude][:k]
        return Neighbours(indices[0][keep], scores[0][keep])

    def knn(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


class ExactIndex(_Index):
    """Brute-force kNN, fit on an (N, D) float32 matrix."""

    def __init__(self, metric: str = "cosine"):
        _check_metric(metric)
        self.metric = metric

    def fit(self, vectors: np.ndarray) -> "ExactIndex":
        vectors = np.asarray(vectors, dtype=np.float32)
        self.vectors_ = unit_rows(vectors) if self.metric == "cosine" else vectors
        self.squared_norms_ = (self.vectors_**2).sum(axis=1)
        return self

    def _distances(self, queries: np.ndarray) -> np.ndarray:
        """Block scores where lower is closer (negated similarity for cosine)."""
        if self.metric == "cosine":
            return -(unit_rows(queries) @ self.vectors_.T)
        if self.metric == "euclidean":
            squared = (queries**2).sum(axis=1)[:, None] - 2 * queries @ self.vectors_.T + self.squared_norms_
            return np.sqrt(np.maximum(squared, 0.0))
        return np.stack([np.abs(self.vectors_ - q).sum(axis=1) for q in queries])

    def knn(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest rows for each query row: (indices, scores), each (Q, k)."""
        queries = np.asarray(queries, dtype=np.float32)
        k = min(k, len(self.vectors_))
        all_indices, all_scores = [], []
        for start in range(0, len(queries), _ROWS):
            distances = self._distances(queries[start : start + _ROWS])
            top = np.argpartition(distances, k - 1, axis=1)[:, :k] if k < distances.shape[1] else \
                np.tile(np.arange(distances.shape[1]), (len(distances), 1))
            order = np.argsort(np.take_along_axis(distances, top, axis=1), axis=1, kind="stable")
            top = np.take_along_axis(top, order, axis=1)
            chosen = np.take_along_axis(distances, top, axis=1)
            all_indices.append(top)
            all_scores.append(-chosen if self.metric == "cosine" else chosen)
        return np.concatenate(all_indices), np.concatenate(all_scores).astype(np.float32)


class HnswIndex(_Index):
    """Approximate kNN through a faiss HNSW graph (Malkov & Yashunin)."""

    def __init__(self, metric: str = "cosine", ef_search: int = 128):
        _check_metric(metric)
        self.metric = metric
        self.ef_search = ef_search

    def fit(self, vectors: np.ndarray) -> "HnswIndex":
        import faiss

        vectors = np.asarray(vectors, dtype=np.float32)
        if self.metric == "cosine":
            vectors = unit_rows(vectors)
        faiss_metric = {"cosine": faiss.METRIC_INNER_PRODUCT, "euclidean": faiss.METRIC_L2,
                        "manhattan": faiss.METRIC_L1}[self.metric]
        self.index_ = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_NEIGHBOURS, faiss_metric)
        self.index_.hnsw.efConstruction = 80
        self.index_.add(np.ascontiguousarray(vectors))
        return self

    def knn(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.asarray(queries, dtype=np.float32)
        if self.metric == "cosine":
            queries = unit_rows(queries)
        self.index_.hnsw.efSearch = max(self.ef_search, k)
        scores, indices = self.index_.search(np.ascontiguousarray(queries), k)
        if self.metric == "euclidean":  # faiss reports squared L2
            scores = np.sqrt(np.maximum(scores, 0.0))
        return indices.astype(np.int64), scores.astype(np.float32)


def build_index(vectors: np.ndarray, metric: str = "cosine", approximate: bool | None = None) -> _Index:
    """An index over ``vectors``: exact below ``APPROXIMATE_FROM`` rows, HNSW above (or as asked)."""
    if approximate is None:
        approximate = len(vectors) >= APPROXIMATE_FROM
    return (HnswIndex(metric) if approximate else ExactIndex(metric)).fit(vectors)
