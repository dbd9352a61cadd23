"""The user's clusters: the computed labels, then moved, merged, split and renamed by hand.

A :class:`ClusterBook` is plain data with small, total operations, so the GUI can wrap
each one in an undo command (a snapshot before and after) and the cache can keep the
result as JSON. Images are matched by content hash on reload, so a rescan that adds or
removes files keeps every edit that still applies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from .cluster import ClusterSpec, cluster

NOISE = -1
FORMAT = 1


@dataclass
class ClusterBook:
    labels: np.ndarray
    names: dict[int, str] = field(default_factory=dict)

    def __post_init__(self):
        self.labels = np.asarray(self.labels, dtype=np.int64).copy()

    # reading ----------------------------------------------------------------------------
    def clusters(self) -> list[int]:
        """Cluster labels in ascending order, noise last when there is any."""
        present = sorted(set(self.labels.tolist()))
        return [c for c in present if c != NOISE] + ([NOISE] if NOISE in present else [])

    def members(self, label: int) -> np.ndarray:
        return np.flatnonzero(self.labels == label)

    def size(self, label: int) -> int:
        return int(np.count_nonzero(self.labels == label))

    def name(self, label: int) -> str:
        if label == NOISE:
            return self.names.get(NOISE, "Unclustered")
        return self.names.get(label, f"Cluster {label + 1}")

    def medoid(self, label: int, vectors: np.ndarray) -> int:
        """The member whose unit vector lies nearest the members' mean direction."""
        members = self.members(label)
        if not len(members):
            raise ValueError(f"cluster {label} is empty")
        unit = vectors[members] / np.maximum(np.linalg.norm(vectors[members], axis=1, keepdims=True), 1e-12)
        return int(members[np.argmax(unit @ unit.mean(axis=0))])

    # editing ----------------------------------------------------------------------------
    def new_label(self) -> int:
        return int(max(self.labels.max(initial=NOISE), max(self.names, default=NOISE))) + 1

    def move(self, indices, label: int) -> None:
        self.labels[np.asarray(list(indices), dtype=np.int64)] = label

    def merge(self, keep: int, absorbed: int) -> None:
        """``absorbed``'s members join ``keep``; ``keep`` keeps its name."""
        if keep == absorbed:
            raise ValueError("cannot merge a cluster with itself")
        self.labels[self.labels == absorbed] = keep
        self.names.pop(absorbed, None)

    def split(self, label: int, vectors: np.ndarray, seed: int = 0) -> list[int]:
        """Re-cluster ``label``'s members on their own; return the labels of the parts.

        The largest part keeps the label (and its name); the others get new labels.
        """
        members = self.members(label)
        if len(members) < 4:
            raise ValueError("a cluster needs at least four images to split")
        parts = cluster(vectors[members], ClusterSpec(method="auto", k_max=min(10, len(members) - 1), seed=seed)).labels
        parts[parts < 0] = parts.max(initial=0) + 1
        ranked = [int(p) for p, _ in sorted(zip(*np.unique(parts, return_counts=True)), key=lambda pc: -pc[1])]
        result = [label]
        for part in ranked[1:]:
            new = self.new_label()
            self.labels[members[parts == part]] = new
            result.append(new)
        return result

    def rename(self, label: int, name: str) -> None:
        name = name.strip()
        if name:
            self.names[label] = name
        else:
            self.names.pop(label, None)

    # undo support -----------------------------------------------------------------------
    def snapshot(self) -> tuple[np.ndarray, dict[int, str]]:
        return self.labels.copy(), dict(self.names)

    def restore(self, state: tuple[np.ndarray, dict[int, str]]) -> None:
        labels, names = state
        self.labels = labels.copy()
        self.names = dict(names)

    # persistence ------------------------------------------------------------------------
    def to_json(self, hashes: list[str]) -> str:
        return json.dumps({"format": FORMAT,
                           "labels": {h: int(label) for h, label in zip(hashes, self.labels)},
                           "names": {str(k): v for k, v in self.names.items()}})

    @classmethod
    def from_json(cls, text: str, hashes: list[str]) -> "ClusterBook | None":
        """The saved book for these images, or None when it no longer describes them.

        Images the saved book does not know are left unclustered, for the user to place;
        a book that knows fewer than half of the images is stale and dropped.
        """
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT:
                return None
            saved = {str(h): int(v) for h, v in data["labels"].items()}
            names = {int(k): str(v) for k, v in data.get("names", {}).items()}
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        known = sum(h in saved for h in hashes)
        if not hashes or known * 2 < len(hashes):
            return None
        labels = np.array([saved.get(h, NOISE) for h in hashes], dtype=np.int64)
        present = set(labels.tolist())
        return cls(labels, {k: v for k, v in names.items() if k in present})


def edits_key(extractor: str, spec: ClusterSpec) -> str:
    """Edits belong to one clustering of one embedding: a new method starts afresh."""
    return f"{extractor}|{spec.method}|k={spec.k}|{spec.linkage}|eps={spec.eps}|mcs={spec.min_cluster_size}"
