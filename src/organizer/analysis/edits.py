"""The user's clusters: the computed labels, then moved, merged, split and renamed by hand.

A :class:`ClusterBook` is plain data with small, total operations, so the GUI can wrap
each one in an undo command (a snapshot before and after) and the cache can keep the
result as JSON. Images are matched by their path in the folder on reload, and a path no
longer there by its content hash, so identical copies keep their own clusters, a renamed
file keeps its cluster, and a rescan that adds or removes files keeps every edit that
still applies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from ..embedding.registry import VERSION, earlier_defaults, unversioned
from ..jobs.tasks import StopFn, never_stop
from ..storage.cache import Cache
from .cluster import ClusterSpec, cluster, medoid
from .identity import NOISE, ClusterIdentity, identify

#: 2: labels by path in the folder, each with its content hash; 1 (still read): by hash alone,
#: which gave every identical copy one label.
FORMAT = 2
Saved = TypeVar("Saved")


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
        return self.identity(label).name

    def identity(self, label: int) -> ClusterIdentity:
        """``label``'s number, name and colour, as every view and the CLI show them."""
        return identify(label, self.names)

    def identities(self) -> dict[int, ClusterIdentity]:
        """Every cluster's identity by label, in :meth:`clusters`' order: by number, unclustered last."""
        return {label: identify(label, self.names) for label in self.clusters()}

    def medoid(self, label: int, vectors: np.ndarray) -> int:
        """``label``'s :func:`~.cluster.medoid`."""
        members = self.members(label)
        if not len(members):
            raise ValueError(f"cluster {label} is empty")
        return medoid(vectors, members)

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

    def split(self, label: int, vectors: np.ndarray, seed: int = 0, should_stop: StopFn = never_stop) -> list[int]:
        """Re-cluster ``label``'s members on their own; return the labels of the parts.

        The largest part keeps the label (and its name); the others get new labels.
        """
        members = self.members(label)
        if len(members) < 4:
            raise ValueError("a cluster needs at least four images to split")
        parts = cluster(vectors[members], ClusterSpec(method="auto", k_max=min(10, len(members) - 1), seed=seed),
                        should_stop=should_stop).labels
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
    def to_json(self, keys: list[str], hashes: list[str]) -> str:
        """The book as JSON; ``keys`` are the images' :func:`image_keys`, ``hashes`` their content hashes."""
        labels = {key: [digest, int(label)] for key, digest, label in zip(keys, hashes, self.labels)}
        return json.dumps({"format": FORMAT, "labels": labels, "names": {str(k): v for k, v in self.names.items()}})

    @classmethod
    def from_json(cls, text: str, keys: list[str], hashes: list[str]) -> "ClusterBook | None":
        """The saved book for these images, or None when it no longer describes them.

        An image takes the label saved for its path; one whose path is not saved takes an
        unused saved entry with its hash (a renamed or moved file). Images the saved book does
        not know are left unclustered, for the user to place; a book that knows fewer than
        half of the images is stale and dropped.
        """
        try:
            data = json.loads(text)
            names = {int(k): str(v) for k, v in data.get("names", {}).items()}
            if data.get("format") == FORMAT:
                found = by_path_then_hash({str(k): (str(h), int(v)) for k, (h, v) in data["labels"].items()},
                                          keys, hashes)
            elif data.get("format") == 1:
                by_hash = {str(h): int(v) for h, v in data["labels"].items()}
                found = [by_hash.get(h) for h in hashes]
            else:
                return None
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        known = sum(label is not None for label in found)
        if not hashes or known * 2 < len(hashes):
            return None
        labels = np.array([NOISE if label is None else label for label in found], dtype=np.int64)
        present = set(labels.tolist())
        return cls(labels, {k: v for k, v in names.items() if k in present})


def by_path_then_hash(saved: dict[str, tuple[str, Saved]], keys: list[str], hashes: list[str]
                      ) -> list[Saved | None]:
    """Each image's saved value (a cluster label, an annotation): by its path, else by an unused
    saved entry of the same hash (a renamed or moved file); None when neither is saved."""
    present = set(keys)
    spare: dict[str, list[Saved]] = {}
    for key, (digest, label) in saved.items():
        if key not in present:
            spare.setdefault(digest, []).append(label)
    found: list[Saved | None] = []
    for key, digest in zip(keys, hashes):
        if key in saved:
            found.append(saved[key][1])
        else:
            # Each saved entry is used once, so two renamed copies keep their own labels.
            found.append(spare[digest].pop(0) if spare.get(digest) else None)
    return found


def image_keys(folder: Path, paths: list[Path]) -> list[str]:
    """The images' paths relative to ``folder``, as saved edits name them: the same on every OS."""
    root = Path(folder)
    return [path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix() for path in paths]


def edits_key(extractor: str, spec: ClusterSpec) -> str:
    """The cache key of the edits of one clustering of one embedding: a new method starts afresh.

    The extractor's version is left out: edits follow files by path and hash, which a new
    descriptor version does not change, so they survive one.
    """
    return _key(unversioned(extractor), spec)


def load_saved_edits(cache: Cache, extractor: str, spec: ClusterSpec) -> str | None:
    """The edits saved for this clustering of this embedding, as JSON, or None.

    Parameters
    ----------
    cache
        The folder's open cache.
    extractor
        The library's :attr:`~organizer.embedding.ExtractorSpec.id`.
    spec
        The clustering the edits were made on.

    Notes
    -----
    Edits saved before the key left the version out are under the id with its
    ``v{n}/`` prefix; without edits under :func:`edits_key`, the newest of those is read.
    Then those saved under the ids this one had before a change of the default descriptor
    (:func:`~organizer.embedding.registry.earlier_defaults`): the user chose nothing new, and
    edits follow files by path and hash, so they apply to the new vectors' clusters too.
    """
    stable = unversioned(extractor)
    keys = [key for name in [stable, *earlier_defaults(stable)]
            for key in [_key(name, spec)] + [_key(f"v{n}/{name}", spec) for n in range(VERSION, 0, -1)]]
    return next((saved for saved in map(cache.get_edits, keys) if saved is not None), None)


def _key(extractor: str, spec: ClusterSpec) -> str:
    return f"{extractor}|{spec.method}|k={spec.k}|{spec.linkage}|eps={spec.eps}|mcs={spec.min_cluster_size}"
