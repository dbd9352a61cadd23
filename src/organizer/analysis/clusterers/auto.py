"""The default method: communities of the nearest-neighbour graph, with a tree over them.

Images are linked to their nearest neighbours by cosine similarity, and the graph is cut
where its links are sparse (Louvain modularity): the number of clusters follows from the
folder's own structure, with no range of k to search. Silhouette over Ward cuts, the
method before, split dtd10 into 14 clusters for its 10 classes and the generated garment
photos into 24 for 10, while one real collection of garment photos got 5 clusters for 11,
one of them half the folder; see docs/benchmarks.md for the figures of both.
"""

from __future__ import annotations

import numpy as np

from ...jobs.subprocess_step import run_step
from ...jobs.tasks import Cancelled
from ...search.index import unit_rows
from .base import (SAMPLE_LIMIT, Clusterer, Clustering, ClusterSpec, Followers, register, sample_rows,
                   similarity_graph, tree_groups)

#: Each image's links: 10, 15 and 20 scored alike on the labelled sets; 15 is scanpy's default.
NEIGHBOURS = 15
#: Above 1, modularity favours smaller communities: 1.0 merged the garment photos' classes
#: into 9 clusters (NMI 0.22), 1.5 gave 15 (0.28) for the same dtd10 figure.
RESOLUTION = 1.5
#: Louvain visits nodes in a seeded order; the partition of highest modularity over these
#: seeds is kept, which steadies the result (garments NMI 0.24-0.28 over single seeds).
SEEDS = 5
#: A cluster this many times the median size is a catch-all unless its own graph says it is one group.
CATCH_ALL = 3.0


def run(space, spec: ClusterSpec, progress, should_stop) -> Clustering:
    """Graph communities, oversized ones split, the count kept within ``spec``'s k range
    (or cut to ``spec.k``) along a Ward tree that has each community as one branch."""
    unit = unit_rows(space)
    fitted = sample_rows(unit, SAMPLE_LIMIT, spec.seed)
    graph = similarity_graph(unit[fitted], NEIGHBOURS)
    graph.setdiag(0)
    graph.eliminate_zeros()
    if should_stop():
        raise Cancelled()
    progress(0, 2, "communities")
    communities, modularity = run_step(graph_communities, graph, spec.seed, rows=len(fitted), should_stop=should_stop)
    found = len(set(communities.tolist()))
    if should_stop():
        raise Cancelled()
    progress(1, 2, "tree")
    tree = run_step(community_tree, unit[fitted], communities, rows=len(fitted), should_stop=should_stop)
    k = spec.k if spec.k is not None else int(np.clip(found, spec.k_min, min(spec.k_max, len(fitted))))
    fitted_labels = communities if k == found else tree_groups(tree, k)
    # The images outside the sample take their nearest sampled images' majority, in this cut and any later one.
    followers = Followers.by_neighbours(unit, fitted, should_stop)
    labels = followers.labels(fitted_labels)
    progress(2, 2, "")
    params = {"k": int(len(set(fitted_labels.tolist()))), "communities": found, "neighbours": NEIGHBOURS,
              "resolution": RESOLUTION, "fitted": len(fitted)}
    return Clustering(labels, "auto", params, {"modularity": modularity}, linkage=tree, followers=followers)


def graph_communities(graph, seed: int) -> tuple[np.ndarray, float]:
    """A label per node: Louvain communities of ``graph``, the best of :data:`SEEDS` runs,
    with catch-alls split; and the partition's modularity."""
    import networkx as nx

    network = nx.from_scipy_sparse_array(graph)
    runs = [_labels(nx.community.louvain_communities(network, resolution=RESOLUTION, seed=seed + i), len(network))
            for i in range(SEEDS)]
    best = max(runs, key=lambda labels: modularity(graph, labels))
    labels = split_catch_alls(graph, best, seed)
    return labels, modularity(graph, labels)


def split_catch_alls(graph, labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """``labels`` with each cluster over :data:`CATCH_ALL` times the median size replaced by
    the communities of its own subgraph, where that split raises the whole graph's modularity.

    Louvain merges greedily, level by level, and can leave a large community that holds
    groups it would score better apart (Traag et al., 2019); re-clustering the community
    alone finds them. A large group that is one group stays whole: its parts would lower
    the modularity.
    """
    import networkx as nx

    sizes = np.bincount(labels)
    limit = CATCH_ALL * np.median(sizes[sizes > 0])
    score = modularity(graph, labels)
    for label in np.flatnonzero(sizes > limit):
        members = np.flatnonzero(labels == label)
        sub = nx.from_scipy_sparse_array(graph[members][:, members])
        parts = _labels(nx.community.louvain_communities(sub, resolution=RESOLUTION, seed=seed), len(members))
        split = labels.copy()
        split[members] = np.where(parts == 0, label, parts + labels.max())
        split_score = modularity(graph, split)
        if split_score > score:
            labels, score = split, split_score
    return np.unique(labels, return_inverse=True)[1]


def modularity(graph, labels: np.ndarray) -> float:
    """Newman's modularity of ``labels`` on the weighted, symmetric ``graph``, at :data:`RESOLUTION`."""
    from scipy.sparse import csr_matrix

    members = csr_matrix((np.ones(len(labels)), (np.arange(len(labels)), labels)))
    inside = (members.T @ graph @ members).diagonal()
    degrees = members.T @ np.asarray(graph.sum(axis=1)).ravel()
    total = graph.sum()
    return float((inside / total - RESOLUTION * (degrees / total) ** 2).sum())


def _labels(parts, n: int) -> np.ndarray:
    """A label per node from a list of node sets: the largest set first, then by first node."""
    ranked = sorted((sorted(part) for part in parts), key=lambda part: (-len(part), part[0]))
    labels = np.empty(n, dtype=np.int64)
    for label, part in enumerate(ranked):
        labels[part] = label
    return labels


def community_tree(space: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """A scipy linkage matrix in which every cluster of ``labels`` is one branch: each
    cluster's own Ward tree, then the clusters joined by Ward on their centres and sizes.

    The joins stand above the highest of the clusters' own merges (that height plus their
    Ward distance), so cutting the tree into as many groups as ``labels`` has gives exactly
    its clusters, and the dendrogram's cut line at that count runs between the clusters'
    insides and their joins. Fewer groups then join whole clusters, more split the widest
    cluster first. Joined at their Ward distance alone, two close clusters could join below
    another cluster's own merges: the line drawn for the clusters shown cut a different
    partition, and asking for one group more merged two clusters while it split others.
    """
    from scipy.cluster.hierarchy import linkage

    space = np.asarray(space, dtype=np.float64)
    n = len(space)
    rows: list[tuple[int, int, float, int]] = []
    roots, centres, sizes, heights = [], [], [], []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        root, height = int(members[0]), 0.0
        if len(members) > 1:
            own = linkage(space[members], "ward")
            ids = np.concatenate([members, n + len(rows) + np.arange(len(own))])
            rows.extend((int(ids[int(a)]), int(ids[int(b)]), float(h), int(c)) for a, b, h, c in own)
            root, height = n + len(rows) - 1, float(own[-1, 2])
        roots.append(root)
        centres.append(space[members].mean(axis=0))
        sizes.append(float(len(members)))
        heights.append(height)
    centres, sizes = np.array(centres), np.array(sizes)
    inside = max(heights)
    active = list(range(len(roots)))
    while len(active) > 1:
        c, s = centres[active], sizes[active]
        # Ward's distance between two groups, as scipy measures it: sqrt(2 na nb / (na + nb)) |ca - cb|.
        cost = ((c[:, None] - c[None]) ** 2).sum(axis=-1) * 2 * s[:, None] * s[None] / (s[:, None] + s[None])
        np.fill_diagonal(cost, np.inf)
        i, j = np.unravel_index(int(np.argmin(cost)), cost.shape)
        a, b = active[i], active[j]
        height = max(inside + float(np.sqrt(cost[i, j])), heights[a], heights[b])
        rows.append((roots[a], roots[b], height, int(sizes[a] + sizes[b])))
        centres[a] = (centres[a] * sizes[a] + centres[b] * sizes[b]) / (sizes[a] + sizes[b])
        sizes[a] += sizes[b]
        roots[a], heights[a] = n + len(rows) - 1, height
        active.remove(b)
    return _sorted_by_height(np.array(rows, dtype=np.float64).reshape(-1, 4), n)


def _sorted_by_height(tree: np.ndarray, n: int) -> np.ndarray:
    """``tree``'s merges lowest first, as scipy lists them; a child never sorts after its parent,
    which is at least as high and came later."""
    order = np.argsort(tree[:, 2], kind="stable")
    new_id = np.arange(n + len(tree))
    new_id[n + order] = n + np.arange(len(tree))
    result = tree[order].copy()
    result[:, :2] = new_id[result[:, :2].astype(np.int64)]
    return result


register(Clusterer("auto", "Automatic",
                   "Links each image to its nearest neighbours and cuts where the links thin out, "
                   "so the folder decides how many clusters.",
                   ("k",), run, rank=0))
