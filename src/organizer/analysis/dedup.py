"""Exact and near duplicates, grouped.

Exact duplicates share a content hash. Near duplicates are pairs whose cosine similarity is
at least the threshold, found through the kNN index (never an N×N matrix) and joined into
groups transitively, so three re-saved copies of one pattern form one group.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..search.index import build_index

DEFAULT_THRESHOLD = 0.97
NEIGHBOURS = 10


@dataclass(frozen=True)
class DuplicateGroup:
    kind: str  # "exact" or "near"
    paths: tuple[Path, ...]
    #: The lowest similarity inside the group's links (1.0 for exact copies).
    similarity: float


def find_duplicates(paths: list[Path], hashes: list[str], vectors: np.ndarray,
                    threshold: float = DEFAULT_THRESHOLD) -> list[DuplicateGroup]:
    """Groups of exact copies, then groups of near copies among the remaining images.

    Each exact group counts as one image for the near search (its first path stands for it),
    so a copy never shows up twice. Groups are sorted by size, largest first.
    """
    if not 0 < threshold <= 1:
        raise ValueError("threshold must be in (0, 1]")
    by_hash: dict[str, list[int]] = {}
    for i, digest in enumerate(hashes):
        by_hash.setdefault(digest, []).append(i)
    groups = [DuplicateGroup("exact", tuple(paths[i] for i in members), 1.0)
              for members in by_hash.values() if len(members) > 1]
    representatives = [members[0] for members in by_hash.values()]
    if len(representatives) > 1:
        groups += _near_groups([paths[i] for i in representatives], vectors[representatives], threshold)
    return sorted(groups, key=lambda g: (-len(g.paths), g.kind, str(g.paths[0])))


def _near_groups(paths: list[Path], vectors: np.ndarray, threshold: float) -> list[DuplicateGroup]:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    nearest, similarity = build_index(vectors, "cosine").knn(vectors, min(NEIGHBOURS + 1, len(vectors)))
    rows = np.repeat(np.arange(len(paths)), nearest.shape[1])
    cols, scores = nearest.ravel(), similarity.ravel()
    linked = (cols >= 0) & (cols != rows) & (scores >= threshold)
    rows, cols, scores = rows[linked], cols[linked], scores[linked]
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(paths), len(paths)))
    # A link found from either side joins the two images, as a union-find would.
    _, labels = connected_components(graph, directed=False)
    weakest = np.ones(labels.max() + 1)
    np.minimum.at(weakest, labels[rows], scores)
    members: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        members.setdefault(int(label), []).append(i)
    return [DuplicateGroup("near", tuple(paths[i] for i in group), float(weakest[label]))
            for label, group in members.items() if len(group) > 1]
