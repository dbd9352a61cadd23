"""Small folders get a real map (issue 18: 5, 12 or 20 images all sat on (0, 0)), and a
layout that shows nothing is neither cached nor read back from the cache."""

from __future__ import annotations

import numpy as np
import pytest

from organizer.analysis import reduce
from organizer.analysis.reduce import MapModel, MapSpec, cached_map, compute_map, degenerate
from organizer.storage.cache import Cache

FAST_MAP = MapSpec(early_iterations=50, iterations=100, snapshot_every=25)


def _unit_vectors(count: int, dim: int = 64, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(count, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def _pair_distances(layout: np.ndarray) -> np.ndarray:
    rows, cols = np.triu_indices(len(layout), 1)
    return np.linalg.norm(layout[rows] - layout[cols], axis=1)


def _assert_spread(layout: np.ndarray, count: int) -> None:
    assert layout.shape == (count, 2) and np.isfinite(layout).all()
    if count >= 2:
        extent = float(np.ptp(layout, axis=0).max())
        assert extent > 0.1
        # No two distinct images crammed together: each pair at least a quarter of the spacing
        # that ``count`` points spread evenly over the map would have.
        assert _pair_distances(layout).min() > extent / (4 * np.sqrt(count))
    if count >= 3:
        assert (np.ptp(layout, axis=0) > 0.1 * np.ptp(layout, axis=0).max()).all()  # a plane, not a line


@pytest.mark.parametrize("count", [1, 2, 3, 5, 12, 20])
@pytest.mark.parametrize("perplexity", [5.0, 30.0])
def test_a_small_folder_gets_finite_distinct_well_spread_points(count, perplexity):
    spec = MapSpec(perplexity=perplexity)
    _assert_spread(compute_map(_unit_vectors(count), spec).layout, count)


@pytest.mark.parametrize("count", [12, 20])
def test_a_small_folders_groups_stay_apart_on_its_map(count):
    rng = np.random.default_rng(1)
    labels = np.arange(count) % 3
    centres = rng.normal(size=(3, 32)) * 4
    vectors = (centres[labels] + rng.normal(size=(count, 32))).astype(np.float32)
    layout = compute_map(vectors).layout
    centroids = np.stack([layout[labels == c].mean(axis=0) for c in range(3)])
    nearest = np.argmin(((layout[:, None] - centroids[None]) ** 2).sum(axis=2), axis=1)
    assert (nearest == labels).all()


def test_images_with_one_and_the_same_vector_still_get_distinct_points():
    vectors = np.repeat(_unit_vectors(1), 5, axis=0)
    _assert_spread(compute_map(vectors).layout, 5)


def test_a_collapsed_t_sne_falls_back_to_a_distance_layout(monkeypatch):
    # openTSNE collapses 20 points onto (0, 0); let t-SNE run on them to see the fallback.
    monkeypatch.setattr(reduce, "SMALL_MAP", 2)
    _assert_spread(compute_map(_unit_vectors(20), FAST_MAP).layout, 20)


def test_a_small_folders_map_is_cached_and_read_back(tmp_path, monkeypatch):
    vectors = _unit_vectors(5)
    hashes = [f"h{i}" for i in range(5)]
    with Cache(tmp_path / "c.sqlite") as cache:
        layout, source = cached_map(cache, "x", hashes, vectors)
        assert source == "computed"
        _assert_spread(layout, 5)
        monkeypatch.setattr(reduce, "compute_map", lambda *a, **k: pytest.fail("the cached map was recomputed"))
        again, source = cached_map(cache, "x", hashes, vectors)
    assert source == "cached" and np.array_equal(again, layout)


def _collapsed(count: int, dim: int) -> MapModel:
    """A map as openTSNE left small folders: every point within 1e-40 of (0, 0)."""
    layout = np.random.default_rng(0).normal(size=(count, 2)).astype(np.float32) * np.float32(1e-41)
    return MapModel(layout, np.zeros(dim, np.float32), np.eye(2, dim, dtype=np.float32), 1.0)


def test_a_degenerate_layout_is_not_written_to_the_cache(tmp_path, monkeypatch):
    vectors = _unit_vectors(12)
    hashes = [f"h{i}" for i in range(12)]
    monkeypatch.setattr(reduce, "compute_map", lambda vectors, *a, **k: _collapsed(len(vectors), vectors.shape[1]))
    with Cache(tmp_path / "c.sqlite") as cache:
        cached_map(cache, "x", hashes, vectors)
        assert cache.get_layout("x", MapSpec().key) is None


@pytest.mark.parametrize("bad", ["collapsed", "nan"])
def test_a_degenerate_layout_in_the_cache_is_computed_again(tmp_path, bad):
    vectors = _unit_vectors(12)
    hashes = [f"h{i}" for i in range(12)]
    stale = _collapsed(12, vectors.shape[1])
    if bad == "nan":
        stale.layout[3] = np.nan
    assert degenerate(stale.layout)
    with Cache(tmp_path / "c.sqlite") as cache:
        cache.put_layout("x", MapSpec().key, hashes, stale.to_bytes())
        layout, source = cached_map(cache, "x", hashes, vectors)
        assert source == "computed"
        _assert_spread(layout, 12)
        _, blob = cache.get_layout("x", MapSpec().key)
    assert np.array_equal(MapModel.from_bytes(blob).layout, layout)  # the good map replaced the bad one


def test_new_images_are_not_placed_into_a_small_folders_map(tmp_path):
    vectors = _unit_vectors(45)
    hashes = [f"h{i:02d}" for i in range(45)]
    with Cache(tmp_path / "c.sqlite") as cache:
        cached_map(cache, "x", hashes[:42], vectors[:42], MapSpec(perplexity=5))
        layout, source = cached_map(cache, "x", hashes, vectors, MapSpec(perplexity=5))
    assert source == "computed"
    _assert_spread(layout, 45)
