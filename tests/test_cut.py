"""Cutting a clustering's tree into k groups at once: exactly k, sampled folders followed, identities kept."""

from __future__ import annotations

import numpy as np
import pytest
from opened import direction_blobs
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.metrics import adjusted_rand_score

from organizer.analysis.cluster import ClusterSpec, cluster
from organizer.analysis.clusterers import agglomerative, auto
from organizer.analysis.cut import MAX_GROUPS, carried_labels, cut_book, cut_labels, group_range, tree_groups
from organizer.analysis.edits import ClusterBook


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    return adjusted_rand_score(a, b) == pytest.approx(1.0)


def test_a_tree_cuts_into_exactly_k_groups_even_where_merges_tie():
    # Eight points on a line one apart: every single-linkage merge has height 1, so fcluster
    # cannot tell the merges apart and gives one group for every k.
    tree = linkage(np.arange(8, dtype=float)[:, None], "single")
    assert len(set(fcluster(tree, 4, criterion="maxclust"))) == 1
    for k in range(1, 9):
        groups = tree_groups(tree, k)
        assert sorted(set(groups.tolist())) == list(range(k))
    with pytest.raises(ValueError):
        tree_groups(tree, 9)


def test_a_cut_makes_the_first_merges_and_no_other():
    points, _ = direction_blobs(k=4, per=10)
    tree = linkage(points.astype(np.float64), "ward")
    for k in (2, 4, 7, 40):
        assert _same_partition(tree_groups(tree, k), fcluster(tree, k, criterion="maxclust"))


@pytest.mark.parametrize("method", ["auto", "agglomerative"])
def test_the_clustering_cuts_into_every_k_it_offers(method):
    points, truth = direction_blobs(k=5)
    result = cluster(points, ClusterSpec(method))
    assert group_range(result) == (1, len(points) if len(points) < MAX_GROUPS else MAX_GROUPS)
    for k in (1, 2, 5, 9, 30):
        assert len(set(cut_labels(result, k).tolist())) == k
    assert _same_partition(cut_labels(result, 5), truth)


@pytest.mark.parametrize("method", ["agglomerative", "auto"])
def test_a_clustering_asked_for_k_groups_gives_k_where_its_merges_tie(method):
    # Twelve images and a copy of each: the copies' merges tie at height 0, where fcluster's
    # "maxclust" stops at twelve groups for any k above that.
    points, _ = direction_blobs(k=3, per=4)
    copies = np.concatenate([points, points])
    for k in (16, 20):
        result = cluster(copies, ClusterSpec(method, k=k))
        assert len(set(result.labels.tolist())) == k
        assert _same_partition(result.labels, cut_labels(result, k))


def test_methods_without_a_tree_offer_no_cut():
    points, _ = direction_blobs(k=5)
    result = cluster(points, ClusterSpec("kmeans", k=5))
    assert group_range(result) is None and group_range(None) is None
    with pytest.raises(ValueError, match="no tree"):
        cut_labels(result, 3)


def test_a_sampled_agglomerative_tree_cuts_as_the_method_assigned(monkeypatch):
    monkeypatch.setattr(agglomerative, "SAMPLE_LIMIT", 60)
    points, truth = direction_blobs(k=5, per=40)
    for k in (3, 5, 8):
        result = cluster(points, ClusterSpec("agglomerative", k=k))
        assert result.params["fitted"] == 60 and group_range(result) == (1, 60)
        # The method's own labels are the cut at its k: the images outside the sample joined the nearest centre.
        assert _same_partition(cut_labels(result, k), result.labels)
    assert _same_partition(cut_labels(result, 5), truth)


def test_a_sampled_automatic_tree_cuts_as_the_method_assigned(monkeypatch):
    monkeypatch.setattr(auto, "SAMPLE_LIMIT", 70)
    points, truth = direction_blobs(k=5, per=40)
    result = cluster(points, ClusterSpec(k=3))
    assert result.params["fitted"] == 70 and result.params["communities"] != 3
    # The images outside the sample took their nearest sampled images' majority, at the method's k and at any cut.
    assert _same_partition(cut_labels(result, 3), result.labels)
    for k in (2, 5, 12):
        assert len(set(cut_labels(result, k).tolist())) == k
    assert _same_partition(cut_labels(result, 5), truth)


def test_a_sampled_tree_draws_coloured_by_its_sampled_images(monkeypatch):
    from organizer.folder.clustering import book_dendrogram

    monkeypatch.setattr(agglomerative, "SAMPLE_LIMIT", 60)
    points, _ = direction_blobs(k=5, per=40)
    result = cluster(points, ClusterSpec("agglomerative", k=5))
    drawn = book_dendrogram(result, ClusterBook(result.labels), points)
    assert drawn is not None and sorted(set(drawn.leaf_colours.tolist()) - {-1}) == list(range(5))
    fitted = result.followers.fitted
    # Each leaf's image is one of its own members, from the sample.
    for members, image in zip(drawn.leaf_members, drawn.leaf_images):
        assert image in fitted[members]


def test_unchanged_groups_keep_their_labels_and_new_ones_take_the_free_numbers():
    old = np.array([0] * 6 + [1] * 4 + [2] * 5 + [3] * 3)
    # Cluster 0 splits 4 + 2, 1 and 2 stay whole but renumbered by the cut, 3 stays.
    groups = np.array([4] * 4 + [2] * 2 + [0] * 4 + [3] * 5 + [1] * 3)
    labels, carried = carried_labels(old, groups)
    assert carried == {0, 1, 2, 3}
    np.testing.assert_array_equal(labels, [0] * 4 + [4] * 2 + [1] * 4 + [2] * 5 + [3] * 3)
    # Merging 1 and 2 back: the group that holds most of 2 and is mostly 2 is 2; 1 is gone, and its number is free.
    merged, carried = carried_labels(labels, np.array([0] * 6 + [1] * 9 + [2] * 3))
    assert carried == {0, 2, 3}
    np.testing.assert_array_equal(merged, [0] * 6 + [2] * 9 + [3] * 3)


def test_a_group_that_is_no_old_cluster_carries_none_on():
    old = np.array([0] * 4 + [1] * 4 + [2] * 4)
    # One group of all twelve holds each old cluster whole but is mostly none of them.
    labels, carried = carried_labels(old, np.zeros(12, dtype=np.int64))
    assert carried == set() and set(labels.tolist()) == {0}
    # The unclustered images are no cluster to carry on.
    labels, carried = carried_labels(np.array([-1] * 5 + [3] * 2), np.array([0] * 5 + [1] * 2))
    assert carried == {3} and labels.tolist() == [0] * 5 + [3] * 2


def test_a_cut_keeps_the_names_of_the_clusters_that_survive_it():
    points, _ = direction_blobs(k=4, per=20)
    result = cluster(points, ClusterSpec("agglomerative", k=4))
    book = ClusterBook(result.labels, {0: "Stripes", 1: "Dots", 2: "Checks"})
    finer = cut_book(book, result, 5)
    assert len(finer.clusters()) == 5
    # Four clusters of 20 cut into five: three stay whole, one splits and its larger part keeps its number.
    whole = [label for label in range(4) if np.array_equal(finer.members(label), book.members(label))]
    assert len(whole) == 3
    assert {label: finer.names[label] for label in whole if label in finer.names} == \
        {label: book.names[label] for label in whole if label in book.names}
    back = cut_book(finer, result, 4)
    np.testing.assert_array_equal(back.labels, book.labels)
    assert back.names == book.names
