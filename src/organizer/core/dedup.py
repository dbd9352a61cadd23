"""Exact and near duplicates, grouped.

Exact duplicates share a content hash. Near duplicates are pairs whose cosine similarity is
at least the threshold, found through the kNN index (never an N×N matrix) and joined into
groups transitively, so three re-saved copies of one pattern form one group.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .index import build_index

DEFAULT_THRESHOLD = 0.97
NEIGHBOURS = 10


@dataclass(frozen=True)
class DuplicateGroup:
    kind: str  # "exact" or "near"
    paths: tuple[Path, ...]
    #: The lowest similarity inside the group's links (1.0 for exact copies).
    similarity: float


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


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
    nearest, similarity = build_index(vectors, "cosine").knn(vectors, min(NEIGHBOURS + 1, len(vectors)))
    links = _UnionFind(len(paths))
    pairs = []
    for i, (row, sims) in enumerate(zip(nearest, similarity)):
        for j, score in zip(row, sims):
            if j >= 0 and j != i and score >= threshold:
                links.union(i, int(j))
                pairs.append((i, float(score)))
    weakest: dict[int, float] = {}
    for i, score in pairs:
        root = links.find(i)
        weakest[root] = min(weakest.get(root, 1.0), score)
    members: dict[int, list[int]] = {}
    for i in range(len(paths)):
        members.setdefault(links.find(i), []).append(i)
    return [DuplicateGroup("near", tuple(paths[i] for i in group), weakest[root])
            for root, group in members.items() if len(group) > 1]
