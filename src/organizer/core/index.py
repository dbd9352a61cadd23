"""Nearest-neighbour search over a folder's vectors.

Exact search is a single matrix product (or a blocked distance computation), which for
the folder sizes of this app answers in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METRICS = ("cosine", "euclidean", "manhattan")
_BLOCK = 4096  # rows per block for manhattan, to bound the N×D×block temporary


@dataclass(frozen=True)
class Neighbours:
    """Row indices into the indexed vectors and their scores, best first.

    For cosine the score is the similarity (higher is closer); for euclidean and
    manhattan it is the distance (lower is closer).
    """

    indices: np.ndarray
    scores: np.ndarray


class ExactIndex:
    """Brute-force kNN, fit on an (N, D) float32 matrix."""

    def __init__(self, metric: str = "cosine"):
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
        self.metric = metric

    def fit(self, vectors: np.ndarray) -> "ExactIndex":
        vectors = np.asarray(vectors, dtype=np.float32)
        if self.metric == "cosine":
            vectors = _unit(vectors)
        self.vectors_ = vectors
        return self

    def query(self, vector: np.ndarray, k: int = 10, exclude: set[int] | None = None) -> Neighbours:
        """The ``k`` nearest rows to one query vector, skipping the rows in ``exclude``."""
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        if self.metric == "cosine":
            scores = self.vectors_ @ _unit(query[None])[0]
            order_key = -scores
        elif self.metric == "euclidean":
            scores = np.sqrt(np.maximum(((self.vectors_ - query) ** 2).sum(axis=1), 0.0))
            order_key = scores
        else:
            scores = np.concatenate([np.abs(self.vectors_[i : i + _BLOCK] - query).sum(axis=1)
                                     for i in range(0, len(self.vectors_), _BLOCK)]) if len(self.vectors_) else np.zeros(0)
            order_key = scores
        order_key = order_key.astype(np.float64)
        if exclude:
            order_key[list(exclude)] = np.inf
        k = min(k, len(order_key) - len(exclude or ()))
        if k <= 0:
            return Neighbours(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        top = np.argpartition(order_key, k - 1)[:k]
        top = top[np.argsort(order_key[top], kind="stable")]
        return Neighbours(top, scores[top].astype(np.float32))


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
