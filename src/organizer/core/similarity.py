"""Find-similar over a folder's vectors, for a query from inside or outside the folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .index import ExactIndex


@dataclass(frozen=True)
class Match:
    path: Path
    #: Cosine similarity, or a distance for euclidean and manhattan (see ExactIndex).
    score: float


def find_similar(paths: list[Path], vectors: np.ndarray, query: np.ndarray, k: int = 10,
                 metric: str = "cosine", exclude: Path | None = None) -> list[Match]:
    """The ``k`` images most like ``query``, best first, never listing ``exclude`` itself."""
    skip = {i for i, p in enumerate(paths) if exclude is not None and p == exclude}
    found = ExactIndex(metric).fit(vectors).query(query, k, exclude=skip)
    return [Match(paths[i], float(s)) for i, s in zip(found.indices, found.scores)]
