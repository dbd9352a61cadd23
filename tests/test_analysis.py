"""The map (progressive t-SNE, layout cache, placing new images), duplicates and the HNSW index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from organizer.analysis.dedup import find_duplicates
from organizer.analysis.map_start import starting_layout
from organizer.analysis.reduce import (SETTLED, MapModel, MapSpec, Settling, cached_map, compute_map,
                                      gradient_method)
from organizer.jobs.tasks import Cancelled
from organizer.search.index import ExactIndex, HnswIndex, build_index
from organizer.storage.cache import Cache

FAST_MAP = MapSpec(early_iterations=50, iterations=100, snapshot_every=25, settle=False)


def _blobs(k=3, per=40, dim=32, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim)) * 4
    points = np.repeat(centres, per, axis=0) + rng.normal(size=(k * per, dim))
    return points.astype(np.float32), np.repeat(np.arange(k), per)


def _separated(layout, labels) -> bool:
    """Every point is nearer its own cluster's centre than any other's."""
    centres = np.stack([layout[labels == c].mean(axis=0) for c in np.unique(labels)])
    nearest = np.argmin(((layout[:, None] - centres[None]) ** 2).sum(axis=2), axis=1)
    return bool(np.all(nearest == labels))


def test_map_is_progressive_and_separates_clusters():
    points, labels = _blobs()
    partials = []
    model = compute_map(points, FAST_MAP, on_partial=partials.append)
    assert model.layout.shape == (len(points), 2) and model.layout.dtype == np.float32
    # the PCA start first, then one snapshot per 25 iterations of both phases
    assert len(partials) == 1 + (50 + 100) // 25
    assert all(p.shape == (len(points), 2) for p in partials)
    assert not np.allclose(partials[0], partials[-1])
    assert _separated(model.layout, labels)


def test_map_is_deterministic_for_a_seed():
    points, _ = _blobs()
    assert np.allclose(compute_map(points, FAST_MAP).layout, compute_map(points, FAST_MAP).layout)


def test_cancelling_the_map():
    points, _ = _blobs()
    seen = []

    def stop():
        return len(seen) >= 2

    with pytest.raises(Cancelled):
        compute_map(points, FAST_MAP, on_partial=seen.append, should_stop=stop)
    assert len(seen) == 2


def test_map_model_round_trips_through_bytes():
    points, _ = _blobs()
    model = compute_map(points, FAST_MAP)
    again = MapModel.from_bytes(model.to_bytes())
    assert np.array_equal(again.layout, model.layout) and again.perplexity == model.perplexity


def test_layout_is_cached_and_new_images_are_placed_not_recomputed(tmp_path, monkeypatch):
    from organizer.analysis import reduce

    points, labels = _blobs(per=40)
    hashes = [f"h{i:03d}" for i in range(len(points))]
    newcomers = [0, 45, 90]  # one from each cluster, held back from the first map
    first = [i for i in range(len(points)) if i not in newcomers]
    with Cache(tmp_path / "c.sqlite") as cache:
        layout, source = cached_map(cache, "x", [hashes[i] for i in first], points[first], FAST_MAP)
        assert source == "computed"

        def no_recompute(*_args, **_kwargs):
            raise AssertionError("the cached map was recomputed")

        monkeypatch.setattr(reduce, "compute_map", no_recompute)
        again, source = cached_map(cache, "x", [hashes[i] for i in first], points[first], FAST_MAP)
        assert source == "cached" and np.array_equal(again, layout)

        grown, source = cached_map(cache, "x", hashes, points, FAST_MAP)
        assert source == "placed"
        kept_rows = [hashes.index(hashes[i]) for i in first]
        assert np.allclose(grown[kept_rows], layout)
        assert _separated(grown, labels)

        shrunk, source = cached_map(cache, "x", hashes[3:], points[3:], FAST_MAP)
        assert source == "cached" and np.allclose(shrunk, grown[3:])


def test_a_different_map_spec_is_a_different_cache_entry(tmp_path):
    points, _ = _blobs()
    hashes = [str(i) for i in range(len(points))]
    with Cache(tmp_path / "c.sqlite") as cache:
        cached_map(cache, "x", hashes, points, FAST_MAP)
        _, source = cached_map(cache, "x", hashes, points, MapSpec(perplexity=10, early_iterations=50,
                                                                     iterations=100))
    assert source == "computed"


def test_exact_and_near_duplicates_are_grouped():
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(8, 16)).astype(np.float32)
    vectors[5] = vectors[4] + 0.001  # a near copy
    vectors[6] = vectors[4] + 0.002  # and another: one group of three
    paths = [Path(f"/lib/{i}.png") for i in range(8)]
    hashes = ["a", "b", "c", "a", "d", "e", "f", "g"]  # 0 and 3 are byte-identical
    groups = find_duplicates(paths, hashes, vectors, threshold=0.99)
    kinds = {g.kind: g for g in groups}
    assert set(kinds) == {"exact", "near"}
    assert kinds["exact"].paths == (paths[0], paths[3]) and kinds["exact"].similarity == 1.0
    assert kinds["near"].paths == (paths[4], paths[5], paths[6]) and kinds["near"].similarity >= 0.99
    assert groups[0].kind == "near"  # the larger group first


def test_no_duplicates_in_distinct_images():
    vectors = np.eye(5, dtype=np.float32)
    paths = [Path(f"/{i}") for i in range(5)]
    assert find_duplicates(paths, list("abcde"), vectors) == []
    with pytest.raises(ValueError):
        find_duplicates(paths, list("abcde"), vectors, threshold=0)


@pytest.mark.parametrize("metric", ["cosine", "euclidean", "manhattan"])
def test_hnsw_agrees_with_exact_search(metric):
    rng = np.random.default_rng(0)
    data = rng.normal(size=(3000, 24)).astype(np.float32)
    queries = rng.normal(size=(50, 24)).astype(np.float32)
    exact_idx, exact_scores = ExactIndex(metric).fit(data).knn(queries, 10)
    approx_idx, approx_scores = HnswIndex(metric).fit(data).knn(queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact_idx, approx_idx)])
    assert recall > 0.95
    assert np.allclose(exact_scores[:, 0], approx_scores[:, 0], rtol=1e-3, atol=1e-3)


def test_build_index_switches_to_hnsw_for_large_collections(monkeypatch):
    from organizer.search import index

    monkeypatch.setattr(index, "APPROXIMATE_FROM", 100)
    small = build_index(np.eye(10, dtype=np.float32))
    large = build_index(np.random.default_rng(0).normal(size=(200, 8)).astype(np.float32))
    assert isinstance(small, ExactIndex) and isinstance(large, HnswIndex)
    found = large.query(np.ones(8, dtype=np.float32), k=5, exclude={0})
    assert len(found.indices) == 5 and 0 not in found.indices


def test_too_many_new_images_for_the_cached_map_mean_a_new_map(tmp_path):
    points, _ = _blobs(per=10)
    hashes = [str(i) for i in range(len(points))]
    with Cache(tmp_path / "c.sqlite") as cache:
        cached_map(cache, "x", hashes[:-5], points[:-5], FAST_MAP)
        _, source = cached_map(cache, "x", hashes, points, FAST_MAP)  # 5 new onto 25: over a tenth
    assert source == "computed"


def test_a_layout_that_only_grows_has_settled_and_one_that_moves_has_not():
    rng = np.random.default_rng(1)
    layout = rng.normal(size=(200, 2))
    growing = Settling(SETTLED, 0)
    assert not growing.settled(25, layout)  # nothing to compare with yet
    assert growing.settled(50, layout * 1.3 + 5.0)  # t-SNE layouts keep expanding: that is not moving
    moving = Settling(SETTLED, 0)
    moving.settled(25, layout)
    assert not moving.settled(50, layout + rng.normal(scale=0.1, size=layout.shape))


def test_no_phase_ends_before_its_least_iterations():
    layout = np.random.default_rng(2).normal(size=(100, 2))
    settling = Settling(SETTLED, 100)
    settling.settled(50, layout)
    assert not settling.settled(75, layout)
    assert settling.settled(100, layout)


def test_the_map_stops_once_the_layout_settles_and_still_separates_clusters():
    points, labels = _blobs(k=3, per=60)
    snapshots = {True: [], False: []}
    layouts = {settle: compute_map(points, MapSpec(perplexity=20, settle=settle), on_partial=snapshots[settle].append)
               .layout for settle in (True, False)}
    assert len(snapshots[True]) < len(snapshots[False]) == 1 + (250 + 500) // 25
    assert _separated(layouts[True], labels)


def test_settling_is_part_of_the_layout_cache_key():
    assert MapSpec(settle=True).key != MapSpec(settle=False).key


def test_the_exaggerated_phase_takes_the_fft_from_fewer_points():
    from organizer.analysis.reduce import EARLY_FFT_FROM, FFT_FROM

    assert EARLY_FFT_FROM < FFT_FROM
    assert gradient_method(EARLY_FFT_FROM, exaggerated=True) == "fft"
    assert gradient_method(EARLY_FFT_FROM) == "bh"
    assert gradient_method(EARLY_FFT_FROM - 1, exaggerated=True) == "bh"
    assert gradient_method(FFT_FROM) == "fft"


def test_the_map_attracts_each_image_to_its_exact_nearest_below_the_tree_search(monkeypatch):
    import openTSNE
    from sklearn.neighbors import NearestNeighbors

    from organizer.analysis import reduce

    points = np.random.default_rng(3).normal(size=(1200, 20)).astype(np.float32)  # openTSNE takes Annoy from 1,000
    spec = MapSpec(early_iterations=5, iterations=5, settle=False)
    model = compute_map(points, spec)
    neighbours = 3 * int(spec.perplexity)
    reduced = model.project(points)
    expected = NearestNeighbors(n_neighbors=neighbours + 1).fit(reduced).kneighbors(reduced)[1][:, 1:]
    joint = model._embedding.affinities.P.tocsr()
    for row, nearest in enumerate(expected):
        assert set(nearest) <= set(joint[row].indices)
    monkeypatch.setattr(reduce, "EXACT_NEIGHBOURS_BELOW", len(points))
    affinities = compute_map(points, spec)._embedding.affinities
    assert isinstance(affinities.knn_index, openTSNE.nearest_neighbors.Annoy)


def test_a_large_map_attracts_each_image_to_fewer_neighbours(monkeypatch):
    from organizer.analysis import reduce

    points = np.random.default_rng(4).normal(size=(200, 10)).astype(np.float32)
    spec = MapSpec(early_iterations=5, iterations=5, settle=False)

    def neighbours() -> int:
        return compute_map(points, spec)._embedding.affinities.knn_index.k

    assert neighbours() == 3 * spec.perplexity
    monkeypatch.setattr(reduce, "FEWER_NEIGHBOURS_FROM", len(points))
    assert neighbours() == 2 * spec.perplexity


@pytest.fixture
def phases(monkeypatch) -> list[tuple]:
    """Each phase of the layouts computed while it lives: its exaggeration, gradient method and least FFT grid."""
    import openTSNE

    methods = []
    optimize = openTSNE.TSNEEmbedding.optimize

    def recording(self, n_iter, *args, **kwargs):
        options = {**self.gradient_descent_params, **kwargs}
        methods.append((kwargs.get("exaggeration"), options["negative_gradient_method"], options["min_num_intervals"]))
        return optimize(self, n_iter, *args, **kwargs)

    monkeypatch.setattr(openTSNE.TSNEEmbedding, "optimize", recording)
    return methods


def test_the_layout_takes_the_fft_in_its_exaggerated_phase_only_on_a_coarser_grid(monkeypatch, phases):
    from organizer.analysis import reduce

    methods = phases
    monkeypatch.setattr(reduce, "EARLY_FFT_FROM", 60)  # the rule, at a size a test can afford
    points = np.random.default_rng(0).normal(size=(80, 8)).astype(np.float32)
    compute_map(points, MapSpec(early_iterations=5, iterations=5, settle=False))
    assert methods == [(12, "fft", reduce.EARLY_FFT_INTERVALS), (None, "bh", 50)]
    assert reduce.EARLY_FFT_INTERVALS < 50, "openTSNE's own least grid, three times finer than the phase needs"
    methods.clear()
    compute_map(points[:59], MapSpec(early_iterations=5, iterations=5, settle=False))
    assert [method for _, method, _ in methods] == ["bh", "bh"]


def _centres(layout, labels) -> np.ndarray:
    return np.stack([layout[labels == c].mean(axis=0) for c in np.unique(labels)])


def test_a_map_goes_on_from_the_start_it_is_given():
    points, labels = _blobs()
    corners = np.array([[-10.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    # Both mirror images of one arrangement are kept, so a start ignored for the PCA's fails one of them.
    for sign in (1, -1):
        start = sign * corners[labels] + np.random.default_rng(1).normal(size=(len(points), 2))
        partials = []
        model = compute_map(points, FAST_MAP, start=start, on_partial=partials.append)
        for layout in (partials[0], model.layout):
            centres = _centres(layout, labels)
            assert np.sign(centres[1, 0] - centres[0, 0]) == sign and np.sign(centres[2, 1] - centres[0, 1]) == sign
        assert _separated(model.layout, labels)


def test_images_the_start_lacks_go_beside_their_like_and_apart_from_the_unlike():
    points, labels = _blobs(k=4, per=30, seed=2)
    start = np.array([[-10.0, 0.0], [10.0, 0.0], [0.0, 10.0], [np.nan, np.nan]])[labels]
    start += np.random.default_rng(1).normal(size=start.shape)
    unseen = labels == 3
    # Half of the first group is missing too: like the half placed, it goes beside it.
    lacking = (labels == 0) & (np.arange(len(points)) % 2 == 0)
    start[lacking] = np.nan
    layout, unlike = starting_layout(points, start, seed=0)
    assert np.isfinite(layout).all() and layout.std() < 1e-3  # openTSNE's scale for a start
    assert unlike == pytest.approx(unseen.mean(), abs=0.05)
    centres = _centres(layout[~(lacking | unseen)], labels[~(lacking | unseen)])
    nearest = np.argmin(((layout[lacking, None] - centres[None]) ** 2).sum(axis=2), axis=1)
    assert (nearest == 0).all()
    # A group no partial map held is not squeezed onto the places of the groups it did.
    spread = np.linalg.norm(layout[~(lacking | unseen)] - centres[labels[~(lacking | unseen)]], axis=1).mean()
    gaps = np.linalg.norm(layout[unseen, None] - centres[None], axis=2).min(axis=1)
    assert np.median(gaps) > 2 * spread


def test_a_start_placing_too_few_images_or_flat_along_an_axis_is_not_taken():
    points, _ = _blobs()
    start = np.full((len(points), 2), np.nan)
    start[:5] = np.random.default_rng(0).normal(size=(5, 2))
    assert starting_layout(points, start, seed=0) is None
    flat = np.c_[np.zeros(len(points)), np.arange(len(points), dtype=float)]
    assert starting_layout(points, flat, seed=0) is None
    assert np.allclose(compute_map(points, FAST_MAP, start=start).layout, compute_map(points, FAST_MAP).layout)


def test_a_start_that_gathered_the_clusters_already_skips_the_exaggerated_phase(phases):
    points, labels = _blobs(k=4, per=30, seed=2)
    corners = np.array([[-10.0, 0.0], [10.0, 0.0], [0.0, 10.0], [0.0, -10.0]])
    start = corners[labels] + np.random.default_rng(1).normal(size=(len(points), 2))
    spec = MapSpec(early_iterations=5, iterations=5, settle=False)
    compute_map(points, spec, start=start)
    assert [exaggeration for exaggeration, _, _ in phases] == [None]
    # Half the folder unlike anything the partial map held: it is untangled first, as from the PCA.
    phases.clear()
    start[labels >= 2] = np.nan
    compute_map(points, spec, start=start)
    assert [exaggeration for exaggeration, _, _ in phases] == [12, None]


def test_a_cached_map_starts_each_image_where_the_start_has_it_copies_alike(tmp_path):
    points, labels = _blobs()
    # Ten images are copies of others: one hash, one place, whichever row of the start is read.
    hashes = [f"h{i}" for i in range(len(points))]
    for copy, original in zip(range(len(points) - 10, len(points)), range(10)):
        hashes[copy], points[copy], labels[copy] = hashes[original], points[original], labels[original]
    corners = np.array([[-10.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    for sign in (1, -1):
        with Cache(tmp_path / f"cache{sign}.sqlite") as cache:
            layout, source = cached_map(cache, "x", hashes, points, FAST_MAP, start=sign * corners[labels])
        assert source == "computed"
        centres = _centres(layout, labels)
        assert np.sign(centres[1, 0] - centres[0, 0]) == sign and np.sign(centres[2, 1] - centres[0, 1]) == sign
        assert np.allclose(layout[len(points) - 10:], layout[:10])
