"""A clustering tree as plain line segments, ready for any plotting layer.

scipy lays the tree out (``dendrogram(no_plot=True)``); this module only adds what a view
needs on top: which cluster each link belongs to, so the tree can be coloured like every
other view, and short leaf texts. Large trees are cut to their last ``max_leaves`` merges,
because a thousand-leaf dendrogram is an unreadable comb.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.cluster.hierarchy import dendrogram

#: Colour code of a link or leaf whose images span several clusters.
MIXED = -1
#: scipy places leaf i at x = 5 + 10 i.
LEAF_SPACING = 10.0


@dataclass
class Dendrogram:
    """Segments of a dendrogram in scipy's layout: x across the leaves, y the merge height.

    Row i of ``icoord``/``dcoord`` is one link, drawn as the polyline through its four
    points: up from the left child, across, down to the right child.
    """

    icoord: np.ndarray  # (M, 4) x of each link's four points
    dcoord: np.ndarray  # (M, 4) heights of the same points
    colours: np.ndarray  # (M,) the cluster label shared by every image below the link, or MIXED
    leaf_positions: np.ndarray  # (L,) x of each leaf, left to right
    leaf_text: list[str]  # "(n)": how many images each leaf holds
    leaf_colours: np.ndarray  # (L,) the leaf's cluster label, or MIXED
    #: (L,) the tree's observations under each leaf, as rows of the linked points.
    leaf_members: list[np.ndarray] = field(default_factory=list)
    #: Every merge's height, lowest first, shown or not: where a cut line crosses how many links.
    merge_heights: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: (L,) the image that stands for each leaf (its members' medoid), when the owner knows the images.
    leaf_images: list[int] = field(default_factory=list)
    #: (M, 2) the label of each link's left and right child, or MIXED: the colour of the stem up from it, so a
    #: cluster that is one leaf under a mixed link is drawn in its colour too.
    stem_colours: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))

    @property
    def segment_count(self) -> int:
        return len(self.icoord)

    @property
    def height(self) -> float:
        return float(self.dcoord.max(initial=0.0))

    def groups_at(self, height: float) -> int:
        """How many groups a cut at ``height`` leaves: one per leaf, less one per merge at or below it."""
        return len(self.merge_heights) + 1 - int(np.searchsorted(self.merge_heights, height, side="right"))

    def cut_height(self, groups: int) -> float:
        """Where a cut into ``groups`` groups lies: halfway between the highest merge it makes and the
        lowest it leaves; above the root for one group, below the first merge for every leaf alone."""
        heights = self.merge_heights
        made = len(heights) + 1 - int(np.clip(groups, 1, len(heights) + 1))
        if not len(heights):
            return 0.0
        if made == len(heights):
            return float(heights[-1]) * 1.02 or 1.0
        below = float(heights[made - 1]) if made else 0.0
        return (below + float(heights[made])) / 2


def dendrogram_segments(linkage: np.ndarray, leaf_labels: np.ndarray | None = None,
                        max_leaves: int = 60) -> Dendrogram:
    """Lay out ``linkage`` (a scipy linkage matrix), showing at most ``max_leaves`` leaves.

    ``leaf_labels`` gives the cluster label of each linked observation. Labels of another
    length than the tree's leaves (the linkage was fitted on a sample of the images) are
    ignored rather than guessed at, and the tree is drawn uncoloured.
    """
    linkage = np.asarray(linkage, dtype=np.float64)
    if linkage.ndim != 2 or linkage.shape[1] != 4 or not len(linkage):
        raise ValueError("expected a scipy linkage matrix with at least one merge")
    if max_leaves < 2:
        raise ValueError("a dendrogram needs at least two leaves")
    n = len(linkage) + 1
    node_labels = _node_labels(linkage, leaf_labels if leaf_labels is not None and len(leaf_labels) == n else None)
    counts = np.concatenate([np.ones(n, dtype=np.int64), linkage[:, 3].astype(np.int64)])

    # scipy calls link_color_func once per drawn link, in icoord order, with the link's node
    # id: the one way to learn which node each row is, and so its children (left, then right).
    drawn: list[int] = []

    def colour(node: int) -> str:
        drawn.append(node)
        return str(node_labels[node])
    tree = dendrogram(linkage, no_plot=True, truncate_mode="lastp", p=max_leaves, link_color_func=colour)
    leaves = np.asarray(tree["leaves"], dtype=np.int64)
    nodes = np.asarray(drawn, dtype=np.int64)
    return Dendrogram(
        icoord=np.asarray(tree["icoord"], dtype=np.float64).reshape(-1, 4),
        dcoord=np.asarray(tree["dcoord"], dtype=np.float64).reshape(-1, 4),
        colours=node_labels[nodes],
        stem_colours=node_labels[linkage[nodes - n, :2].astype(np.int64)].reshape(-1, 2),
        leaf_positions=LEAF_SPACING / 2 + LEAF_SPACING * np.arange(len(leaves)),
        leaf_text=[f"({counts[leaf]})" for leaf in leaves],
        leaf_colours=node_labels[leaves],
        leaf_members=[_members(linkage, int(leaf)) for leaf in leaves],
        merge_heights=np.sort(linkage[:, 2]),
    )


def _members(linkage: np.ndarray, node: int) -> np.ndarray:
    """The observations under ``node`` (a leaf's own row, or a merge's node id), ascending."""
    n, found, stack = len(linkage) + 1, [], [node]
    while stack:
        top = stack.pop()
        if top < n:
            found.append(top)
        else:
            stack.extend(int(child) for child in linkage[top - n, :2])
    return np.sort(np.array(found, dtype=np.int64))


def _node_labels(linkage: np.ndarray, leaf_labels: np.ndarray | None) -> np.ndarray:
    """The label of every node (leaves, then merges): shared by all images below, or MIXED."""
    n = len(linkage) + 1
    labels = np.full(2 * n - 1, MIXED, dtype=np.int64)
    if leaf_labels is None:
        return labels
    labels[:n] = np.asarray(leaf_labels, dtype=np.int64)
    # Merges are listed bottom-up, so both children are labelled before their parent.
    for row, (left, right) in enumerate(linkage[:, :2].astype(np.int64)):
        if labels[left] == labels[right]:
            labels[n + row] = labels[left]
    return labels
