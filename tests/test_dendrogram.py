"""The dendrogram layout: scipy's tree, cut to a readable size and coloured by cluster."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, linkage

from organizer.analysis.dendrogram import MIXED, dendrogram_segments


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    centres = [(0, 0), (8, 8), (0, 8)]
    points = np.concatenate([rng.normal(c, 0.4, (30, 2)) for c in centres])
    tree = linkage(points, method="ward")
    return tree, fcluster(tree, 3, criterion="maxclust") - 1


def test_untruncated_tree_has_one_link_per_merge(blobs):
    tree, labels = blobs
    d = dendrogram_segments(tree, labels, max_leaves=500)
    assert d.segment_count == len(tree) == 89
    assert len(d.leaf_text) == len(d.leaf_positions) == 90
    assert d.icoord.shape == d.dcoord.shape == (89, 4)
    assert set(d.leaf_text) == {"(1)"}
    np.testing.assert_allclose(d.leaf_positions, 5 + 10 * np.arange(90))


def test_truncation_keeps_max_leaves_and_counts_every_image(blobs):
    tree, labels = blobs
    d = dendrogram_segments(tree, labels, max_leaves=12)
    assert len(d.leaf_text) == 12
    assert d.segment_count == 11
    assert sum(int(t.strip("()")) for t in d.leaf_text) == 90
    assert any(int(t.strip("()")) > 1 for t in d.leaf_text)


def test_heights_rise_towards_the_root(blobs):
    tree, labels = blobs
    d = dendrogram_segments(tree, labels, max_leaves=20)
    # Each link's crossbar sits at or above both of its legs' feet.
    assert np.all(d.dcoord[:, 1] >= d.dcoord[:, 0])
    assert np.all(d.dcoord[:, 2] >= d.dcoord[:, 3])
    assert d.dcoord[:, 1].max() == pytest.approx(tree[-1, 2])
    assert d.height == pytest.approx(tree[-1, 2])
    np.testing.assert_array_equal(d.dcoord[:, 1], d.dcoord[:, 2])


def test_links_are_coloured_by_the_cluster_below_them(blobs):
    tree, labels = blobs
    d = dendrogram_segments(tree, labels, max_leaves=12)
    # The two top merges join different clusters; everything below them is pure.
    assert np.count_nonzero(d.colours == MIXED) == 2
    assert set(d.colours[d.colours != MIXED].tolist()) == {0, 1, 2}
    assert set(d.leaf_colours.tolist()) == {0, 1, 2}
    root = np.argmax(d.dcoord[:, 1])
    assert d.colours[root] == MIXED


def test_without_labels_or_with_mismatched_labels_the_tree_is_uncoloured(blobs):
    tree, labels = blobs
    for given in (None, labels[:10]):
        d = dendrogram_segments(tree, given, max_leaves=12)
        assert np.all(d.colours == MIXED) and np.all(d.leaf_colours == MIXED)
        assert d.segment_count == 11


def test_rejects_what_is_not_a_linkage():
    with pytest.raises(ValueError):
        dendrogram_segments(np.zeros((0, 4)))
    with pytest.raises(ValueError):
        dendrogram_segments(np.zeros((3, 3)))


def test_each_stem_is_coloured_by_the_child_it_rises_from(blobs):
    tree, labels = blobs
    d = dendrogram_segments(tree, labels, max_leaves=12)
    assert d.stem_colours.shape == (d.segment_count, 2)
    # Where a stem rises from a leaf, it is that leaf's colour.
    leaf_at = {round(float(x), 6): i for i, x in enumerate(d.leaf_positions)}
    for link in range(d.segment_count):
        for side, point in ((0, 0), (1, 3)):
            if d.dcoord[link, point] == 0:
                assert d.stem_colours[link, side] == d.leaf_colours[leaf_at[round(float(d.icoord[link, point]), 6)]]
    # The stems of the two mixed links up from the three clusters carry the clusters' colours.
    assert set(d.stem_colours[d.colours == MIXED].ravel().tolist()) == {0, 1, 2, MIXED}
    assert np.all(d.stem_colours[d.colours != MIXED] == d.colours[d.colours != MIXED, None])
