"""Orders (seriation, clusters, colour keys) and grid layouts, with their quality measures."""

from __future__ import annotations

import numpy as np
import pytest

from organizer.arrange import grid, order
from organizer.arrange.grid import dpq, grid_shape, grid_sort
from organizer.arrange.order import (axis_order, brightness_key, cluster_order, greedy_chain, hue_key,
                                     mean_adjacent_distance, neighbour_agreement, pca_key, similarity_order)
from organizer.jobs.tasks import Cancelled


def _blobs(k=6, per=30, dim=24, spread=1.0, seed=0):
    """k labelled Gaussian blobs, shuffled so that index order says nothing."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim)) * 4
    labels = np.repeat(np.arange(k), per)
    points = centres[labels] + spread * rng.normal(size=(k * per, dim))
    shuffle = rng.permutation(len(labels))
    return points[shuffle].astype(np.float32), labels[shuffle]


def _is_permutation(o, n) -> bool:
    return o.dtype == np.int64 and np.array_equal(np.sort(o), np.arange(n))


def _random_grid(n, rows, cols, seed=0):
    grid = np.full(rows * cols, -1, dtype=np.int64)
    grid[:n] = np.random.default_rng(seed).permutation(n)
    return grid


RGB = np.array([[0.9, 0.1, 0.1], [0.9, 0.9, 0.1], [0.1, 0.8, 0.2], [0.1, 0.2, 0.9],  # red yellow green blue
                [0.0, 0.0, 0.0], [0.5, 0.5, 0.5], [1.0, 1.0, 1.0]])  # black grey white


def test_every_order_is_a_deterministic_permutation():
    points, labels = _blobs(per=20)
    mean_rgb = np.random.default_rng(1).random((len(points), 3))
    orders = {
        "similarity": lambda s: similarity_order(points, seed=s),
        "greedy": lambda s: greedy_chain(points, seed=s),
        "cluster": lambda s: cluster_order(points, labels, seed=s),
        "pca": lambda s: axis_order(pca_key(points)),
        "hue": lambda s: axis_order(hue_key(mean_rgb)),
        "brightness": lambda s: axis_order(brightness_key(mean_rgb)),
    }
    assert set(order.ORDERS) <= set(orders)
    for name, make in orders.items():
        first = make(3)
        assert _is_permutation(first, len(points)), name
        assert np.array_equal(first, make(3)), name


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5])
def test_tiny_inputs(n):
    points = np.random.default_rng(0).normal(size=(n, 8)).astype(np.float32)
    assert _is_permutation(similarity_order(points), n)
    assert _is_permutation(greedy_chain(points), n)
    assert _is_permutation(cluster_order(points, np.zeros(n, dtype=int)), n)


def test_duplicates_do_not_trip_the_search():
    points, _ = _blobs(k=3, per=10)
    points = np.concatenate([points, points, points[:5]])  # every vector at least twice
    assert _is_permutation(similarity_order(points), len(points))


def test_seriation_keeps_blobs_together():
    points, labels = _blobs()
    greedy, improved = greedy_chain(points), similarity_order(points)
    random = np.random.default_rng(0).permutation(len(points))
    best = 1 - (6 - 1) / (len(points) - 1)  # one change of label between blobs
    assert neighbour_agreement(greedy, labels) > 0.9
    assert neighbour_agreement(improved, labels) >= max(neighbour_agreement(greedy, labels), best - 0.02)
    assert neighbour_agreement(random, labels) < 0.4
    assert mean_adjacent_distance(improved, points) < 0.5 * mean_adjacent_distance(random, points)


def test_local_search_shortens_the_greedy_chain():
    # overlapping blobs: the greedy chain strands images and has to jump back for them
    points, _ = _blobs(k=4, per=60, dim=12, spread=3.0, seed=1)
    greedy, improved = greedy_chain(points), similarity_order(points)
    assert mean_adjacent_distance(improved, points) < 0.97 * mean_adjacent_distance(greedy, points)


def test_cluster_order_keeps_clusters_contiguous_and_noise_last():
    points, labels = _blobs(k=5, per=15)
    labels = labels.copy()
    labels[::9] = -1
    result = labels[cluster_order(points, labels)]
    noise = np.flatnonzero(result == -1)
    assert np.array_equal(noise, np.arange(len(result) - len(noise), len(result)))
    clustered = result[result >= 0]
    changes = np.count_nonzero(clustered[1:] != clustered[:-1])
    assert changes == len(np.unique(clustered)) - 1  # each cluster is one run


def test_colour_keys():
    hue, bright = hue_key(RGB), brightness_key(RGB)
    assert np.all(np.diff(hue[:4]) > 0)  # red < yellow < green < blue
    assert np.all((hue[:4] >= 0) & (hue[:4] < 1))
    assert hue[4:].min() > hue[:4].max()  # greys after colours ...
    assert np.all(np.diff(hue[4:]) > 0)  # ... dark to light
    assert np.all(np.diff(bright[4:]) > 0)  # black < grey < white
    assert bright[4] == pytest.approx(0) and bright[6] == pytest.approx(1)
    assert bright[1] > bright[3]  # yellow looks lighter than blue
    assert np.array_equal(axis_order(np.array([2, 1, 2, 1])), [1, 3, 0, 2])  # stable


def test_pca_key_follows_the_main_axis_with_a_fixed_sign():
    t = np.linspace(-1, 1, 50)
    points = np.stack([np.ones_like(t), 3 * t, 0.1 * np.sin(7 * t)], axis=1)
    key = pca_key(points)
    assert np.all(np.diff(key) > 0) or np.all(np.diff(key) < 0)
    assert np.allclose(pca_key(points[::-1])[::-1], key, atol=1e-6)  # the sign does not flip


def test_measures():
    labels = np.array([0, 0, 1, 1])
    assert neighbour_agreement(np.arange(4), labels) == pytest.approx(2 / 3)
    assert neighbour_agreement(np.array([0, 2, 1, 3]), labels) == 0
    vectors = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32)
    assert mean_adjacent_distance(np.array([0, 2, 1]), vectors) == pytest.approx(1 - np.sqrt(0.5))


def test_grid_shape():
    assert grid_shape(100) == (10, 10)
    assert grid_shape(101) == (10, 11)
    assert grid_shape(10, cols=4) == (3, 4)
    rows, cols = grid_shape(1000)
    assert rows * cols >= 1000 and abs(rows - cols) <= 1
    assert grid_shape(0) == (1, 1)


def test_dpq_scores_a_perfect_layout_high_and_a_random_one_near_zero():
    rows = cols = 16
    yx = np.stack(np.divmod(np.arange(rows * cols), cols), axis=1)
    points = np.concatenate([yx, np.full((len(yx), 1), 40)], axis=1).astype(np.float32)  # a smooth sheet
    identity = np.arange(rows * cols)
    assert dpq(identity, points, cols) > 0.9
    assert dpq(_random_grid(len(points), rows, cols), points, cols) < 0.05
    # the authors' tie-breaking credits a random layout with the best cell of each shell
    assert dpq(_random_grid(len(points), rows, cols), points, cols, ties="best") > 0.05


@pytest.mark.parametrize("las_limit", [grid.LAS_LIMIT, 0])  # one global assignment, and FLAS blocks
def test_grid_sort_places_every_image_once_and_beats_random(monkeypatch, las_limit):
    monkeypatch.setattr(grid, "LAS_LIMIT", las_limit)
    monkeypatch.setattr(grid, "BLOCK", 64)
    points, _ = _blobs(k=8, per=25, dim=16, spread=2.0)
    rows, cols = 15, 14  # 210 cells for 200 images
    layout = grid_sort(points, rows, cols, seed=0)
    assert layout.shape == (rows * cols,) and layout.dtype == np.int64
    assert np.array_equal(np.sort(layout[layout >= 0]), np.arange(len(points)))
    assert np.array_equal(np.flatnonzero(layout < 0), np.arange(200, 210))  # holes fill the last row's end
    assert np.array_equal(layout, grid_sort(points, rows, cols, seed=0))
    random = dpq(_random_grid(len(points), rows, cols), points, cols)
    assert abs(random) < 0.05
    assert dpq(layout, points, cols) > random + 0.4


def test_grid_sort_keeps_pinned_images():
    points, _ = _blobs(k=4, per=25, dim=16)
    pinned = {0: 0, 5: 57, 17: 99, 42: 104}
    grid = grid_sort(points, 10, 11, pinned=pinned)
    assert all(grid[cell] == image for image, cell in pinned.items())
    assert np.array_equal(np.sort(grid[grid >= 0]), np.arange(len(points)))
    assert np.count_nonzero(grid < 0) == 10
    with pytest.raises(ValueError):
        grid_sort(points, 10, 11, pinned={0: 3, 1: 3})
    with pytest.raises(ValueError):
        grid_sort(points, 9, 11)  # too small


def test_cancellation():
    points, _ = _blobs(per=100)
    calls = []

    def stop_soon() -> bool:
        calls.append(1)
        return len(calls) > 1

    with pytest.raises(Cancelled):
        similarity_order(points, should_stop=stop_soon)
    with pytest.raises(Cancelled):
        grid_sort(points[:100], 10, 10, should_stop=lambda: True)
