"""Cutting a clustering's tree into any number of groups at once: no re-embedding, no re-clustering.

The automatic and the agglomerative methods return a tree (a scipy linkage) with their
labels. Cutting it into k groups undoes its last k - 1 merges: linear in the images, so the
app can re-cut as the user turns a control. Where the tree was fitted on a sample of a large
folder, the other images follow their nearest fitted images (or centres) as the method placed
them when it ran (:class:`~.clusterers.base.Followers`).

A cut keeps what people know of the clusters before it: a group that shares more than half of
itself and more than half of an old cluster with that cluster is that cluster, changed a little,
and keeps its number, name and colour (an unchanged group always does). The other groups take
the lowest numbers free, the largest group first, so numbers stay few however often the tree
is re-cut, and cutting back to an earlier k gives the earlier numbers back.
"""

from __future__ import annotations

import numpy as np

from .clusterers.base import Clustering, tree_groups
from .edits import ClusterBook
from .identity import NOISE

#: The most groups a cut offers: more is no grouping a person reads, and each group is a header in the grid.
MAX_GROUPS = 100


def can_cut(clustering: Clustering | None) -> bool:
    """Whether ``clustering`` has a tree to cut (HDBSCAN, DBSCAN, k-means and the others have none)."""
    return clustering is not None and clustering.linkage is not None and clustering.followers is not None \
        and len(clustering.linkage) > 0


def group_range(clustering: Clustering | None) -> tuple[int, int] | None:
    """The fewest and most groups ``clustering``'s tree can be cut into; None without a tree."""
    if not can_cut(clustering):
        return None
    return 1, min(len(clustering.linkage) + 1, MAX_GROUPS)


def cut_labels(clustering: Clustering, k: int) -> np.ndarray:
    """A group 0..k-1 per image: ``clustering``'s tree cut into ``k`` groups, the images
    outside its sample following as the method placed them."""
    if not can_cut(clustering):
        raise ValueError(f"a {clustering.method} clustering has no tree to cut" if clustering else "no clustering")
    return clustering.followers.labels(tree_groups(clustering.linkage, k))


def carried_labels(old: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, set[int]]:
    """``groups`` relabelled as the module docstring says, and the old labels that carried on.

    Parameters
    ----------
    old : np.ndarray
        The label of each image now (-1 for the unclustered, which no group carries on).
    groups : np.ndarray
        The new group of each image, 0 and up.
    """
    old, groups = np.asarray(old, dtype=np.int64), np.asarray(groups, dtype=np.int64)
    clustered = old != NOISE
    pairs, shared = np.unique(np.stack([groups[clustered], old[clustered]]), axis=1, return_counts=True)
    group_size, old_size = np.bincount(groups), np.bincount(old[clustered])
    # More than half of each both ways: a group carries at most one label, a label goes to at most one group.
    same = (2 * shared > group_size[pairs[0]]) & (2 * shared > old_size[pairs[1]])
    label_of = dict(zip(pairs[0][same].tolist(), pairs[1][same].tolist()))
    carried = set(label_of.values())
    first = np.unique(groups, return_index=True)[1]
    fresh = sorted(set(range(len(group_size))) - set(label_of), key=lambda g: (-group_size[g], first[g]))
    free = (label for label in range(len(group_size) + len(carried)) if label not in carried)
    label_of.update({group: next(free) for group in fresh})
    table = np.array([label_of[g] for g in range(len(group_size))], dtype=np.int64)
    return table[groups], carried


def cut_book(book: ClusterBook, clustering: Clustering, k: int) -> ClusterBook:
    """A new book: ``clustering``'s tree cut into ``k`` groups, each group that is an old cluster of
    ``book`` (changed a little) keeping its label and the name the user gave it."""
    labels, carried = carried_labels(book.labels, cut_labels(clustering, k))
    return ClusterBook(labels, {label: name for label, name in book.names.items() if label in carried})
