"""The default clustering: graph communities, the catch-all guard and the tree over the clusters."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, is_monotonic, is_valid_linkage
from sklearn.metrics import adjusted_rand_score

from organizer.analysis.cluster import ClusterSpec, cluster, clustering_space
from organizer.analysis.clusterers import auto
from organizer.analysis.clusterers.base import similarity_graph
from organizer.analysis.dendrogram import MIXED, dendrogram_segments


def _groups(centres: np.ndarray, sizes, spread: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A noisy cloud of ``sizes[i]`` points around each of ``centres``."""
    rng = np.random.default_rng(seed)
    dim = centres.shape[1]
    points = np.concatenate([centre + spread * rng.normal(size=(size, dim)) / np.sqrt(dim)
                             for centre, size in zip(centres, sizes)])
    return points.astype(np.float32), np.repeat(np.arange(len(sizes)), sizes)


def _directions(count: int, dim: int = 24, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(count, dim))
    return centres / np.linalg.norm(centres, axis=1, keepdims=True)


def _family_and_strangers(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Six groups close to one another (one family of patterns) and four far from them all,
    60 images each: a real folder of garment photos looked like this to the old default,
    which gave the family one catch-all cluster."""
    far = _directions(5, seed=seed)
    family = far[0] + 0.2 * np.random.default_rng(seed + 1).normal(size=(6, far.shape[1])) / np.sqrt(far.shape[1])
    return _groups(np.vstack([family, far[1:]]), [60] * 10, spread=0.1, seed=seed)


def _is_exact(truth: np.ndarray, labels: np.ndarray) -> bool:
    """Every cluster is one group and every group one cluster."""
    return adjusted_rand_score(truth, labels) == pytest.approx(1.0)


def test_a_family_of_close_groups_is_not_one_catch_all():
    points, truth = _family_and_strangers()
    old = cluster(points, ClusterSpec("agglomerative"))  # the default before: Ward, k by silhouette
    sizes = np.bincount(old.labels)
    assert sizes.max() > 3 * np.median(sizes)
    result = cluster(points, ClusterSpec())
    assert _is_exact(truth, result.labels) and result.params["k"] == 10


@pytest.mark.parametrize("sizes", [[120] + [40] * 9, [80, 80, 40, 40, 20, 20, 20, 20], [200] + [40] * 8])
def test_separate_groups_of_unequal_sizes_are_found_whole(sizes):
    points, truth = _groups(_directions(len(sizes)), sizes, spread=0.3)
    assert _is_exact(truth, cluster(points, ClusterSpec()).labels)


def _graph(points: np.ndarray):
    graph = similarity_graph(auto.unit_rows(clustering_space(points)), auto.NEIGHBOURS)
    graph.setdiag(0)
    graph.eliminate_zeros()
    return graph


def test_the_catch_all_guard_splits_an_oversized_cluster_of_separate_groups():
    points, truth = _groups(_directions(10), [40] * 10, spread=0.1)
    swallowed = np.where(truth < 4, 0, truth - 3)  # four groups in one cluster, 4x the median size
    split = auto.split_catch_alls(_graph(points), swallowed)
    assert _is_exact(truth, split)


def test_the_catch_all_guard_keeps_an_oversized_group_whole():
    points, truth = _groups(_directions(9), [200] + [40] * 8, spread=0.3)
    assert _is_exact(truth, auto.split_catch_alls(_graph(points), truth))


def test_the_tree_has_every_cluster_as_one_branch():
    points, truth = _family_and_strangers()
    result = cluster(points, ClusterSpec())
    tree = result.linkage
    assert tree.shape == (len(points) - 1, 4) and is_valid_linkage(tree) and is_monotonic(tree)
    assert _is_exact(result.labels, fcluster(tree, result.params["k"], criterion="maxclust"))
    drawn = dendrogram_segments(tree, result.labels, max_leaves=result.params["k"])
    assert MIXED not in drawn.leaf_colours and sorted(drawn.leaf_colours) == list(range(10))


def test_a_given_k_and_the_range_of_k_cut_the_tree():
    points, _ = _family_and_strangers()
    assert len(set(cluster(points, ClusterSpec(k=4)).labels)) == 4
    capped = cluster(points, ClusterSpec(k_max=6))
    assert capped.params["communities"] == 10 and len(set(capped.labels)) == capped.params["k"] == 6


def test_a_large_folder_fits_a_sample_and_assigns_the_rest(monkeypatch):
    monkeypatch.setattr(auto, "SAMPLE_LIMIT", 200)
    points, truth = _family_and_strangers()
    result = cluster(points, ClusterSpec())
    assert result.params["fitted"] == 200 and result.linkage.shape == (199, 4)
    assert adjusted_rand_score(truth, result.labels) > 0.95



def test_the_tree_cut_at_the_cluster_count_gives_the_clusters_even_beside_a_wide_one():
    # A wide cluster whose own merges run high, and two tight clusters close to each other: joined
    # at their Ward distance alone, the two tight ones met below the wide one's inner merges, so
    # the cut into three groups split the wide cluster and merged the tight pair.
    from organizer.analysis.clusterers.base import tree_groups

    rng = np.random.default_rng(0)
    wide = rng.normal([0.0, 0.0], 3.0, (30, 2))
    tight_a = rng.normal([20.0, 0.0], 0.1, (15, 2))
    tight_b = rng.normal([21.0, 0.0], 0.1, (15, 2))
    space = np.concatenate([wide, tight_a, tight_b])
    labels = np.repeat([0, 1, 2], [30, 15, 15])
    tree = auto.community_tree(space, labels)
    assert is_valid_linkage(tree) and is_monotonic(tree)
    assert adjusted_rand_score(tree_groups(tree, 3), labels) == pytest.approx(1.0)
    for k in (4, 6):  # more groups split clusters and never join two
        groups = tree_groups(tree, k)
        assert all(len(set(labels[groups == g].tolist())) == 1 for g in set(groups.tolist()))
    # The dendrogram's cut line for three groups lies between every inner merge and every join.
    drawn = dendrogram_segments(tree, labels)
    line = drawn.cut_height(3)
    assert drawn.groups_at(line) == 3 and np.sum(tree[:, 2] > line) == 2
