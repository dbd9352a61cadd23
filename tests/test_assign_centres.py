"""Nearest-centre assignment: scikit-learn's NearestCentroid gives the labels the hand-made centres gave."""

from __future__ import annotations

import numpy as np
import pytest

from organizer.analysis.clusterers.base import assign_to_centres
from organizer.search.index import build_index


def _reference(space: np.ndarray, fitted: np.ndarray, fitted_labels: np.ndarray) -> np.ndarray:
    """The assignment as it was before NearestCentroid: centre means and a euclidean index."""
    labels = np.full(len(space), -1, dtype=np.int64)
    labels[fitted] = fitted_labels
    rest = np.setdiff1d(np.arange(len(space)), fitted)
    names = np.array(sorted(set(fitted_labels.tolist()) - {-1}))
    if len(rest) and len(names):
        centres = np.stack([space[fitted][fitted_labels == n].mean(axis=0) for n in names])
        nearest, _ = build_index(centres, "euclidean").knn(space[rest], 1)
        labels[rest] = names[nearest[:, 0]]
    return labels


def _trial(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A few hundred points, a random fitted sample, labels with gaps in their numbering and some noise."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(200, 500))
    dim = int(rng.integers(2, 40))
    space = rng.normal(size=(n, dim)).astype(np.float32)
    fitted = np.sort(rng.choice(n, int(rng.integers(20, n)), replace=False))
    k = int(rng.integers(1, 12))
    names = rng.choice(100, k, replace=False)
    fitted_labels = names[rng.integers(0, k, len(fitted))]
    fitted_labels[rng.random(len(fitted)) < 0.1] = -1
    return space, fitted, fitted_labels.astype(np.int64)


@pytest.mark.parametrize("seed", range(50))
def test_nearest_centroid_matches_the_hand_made_centres(seed):
    space, fitted, fitted_labels = _trial(seed)
    np.testing.assert_array_equal(assign_to_centres(space, fitted, fitted_labels),
                                  _reference(space, fitted, fitted_labels))


def test_one_cluster_takes_every_unfitted_point():
    space, fitted, _ = _trial(0)
    fitted_labels = np.where(np.arange(len(fitted)) % 5 == 0, -1, 7)
    labels = assign_to_centres(space, fitted, fitted_labels)
    rest = np.setdiff1d(np.arange(len(space)), fitted)
    assert (labels[rest] == 7).all()
    np.testing.assert_array_equal(labels[fitted], fitted_labels)


def test_nothing_to_assign_leaves_the_labels_alone():
    space, fitted, fitted_labels = _trial(1)
    everything = np.arange(len(space))
    all_labels = np.arange(len(space)) % 3
    np.testing.assert_array_equal(assign_to_centres(space, everything, all_labels), all_labels)
    noise_only = np.full(len(fitted), -1)
    assert (assign_to_centres(space, fitted, noise_only) == -1).all()
