"""A folder's clustering is computed once: reopened, the same images by the same spec come from the cache.

The default method took 10 s on 2,000 images while the map and the vectors came from the cache in under
one. The cache holds everything a cut needs (labels, tree, followers), so Groups and the dendrogram work
on a reopened folder as on the first open; the user's saved edits still come first.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

from organizer.analysis.clusterers import CLUSTERERS
from organizer.cli import main
from organizer.embedding.library import load_library
from organizer.folder import cluster_library, cluster_spec, load_folder_state
from organizer.folder.invalidation import extractor_spec
from organizer.storage.cache import Cache
from organizer.storage.paths import cache_db_path
from organizer.storage.settings import Settings

FAST = Settings(feature_mode="colour")


@pytest.fixture
def folder(sample_folder, tmp_path):
    copy = tmp_path / "library"
    shutil.copytree(sample_folder, copy)
    return copy


@pytest.fixture
def library(folder):
    with Cache(cache_db_path(folder)) as cache:
        return load_library(folder, extractor_spec(FAST), cache)


@pytest.fixture
def computed(monkeypatch):
    """The specs the method (the default, auto) ran for; ``computed.refuse()`` makes any later run fail."""
    method = CLUSTERERS["auto"]
    calls: list = []

    def counting(space, spec, progress, should_stop):
        if calls and calls[0] == "refuse":
            raise AssertionError("computed again instead of reading the cache")
        calls.append(spec)
        return method.run(space, spec, progress, should_stop)
    monkeypatch.setitem(CLUSTERERS, "auto", replace(method, run=counting))
    counting.calls = calls
    counting.refuse = lambda: calls.insert(0, "refuse")
    return counting


def same_clustering(a, b) -> None:
    assert np.array_equal(a.labels, b.labels)
    assert np.array_equal(a.linkage, b.linkage)
    assert np.array_equal(a.followers.fitted, b.followers.fitted)
    assert np.array_equal(a.followers.rest, b.followers.rest)
    assert (a.method, a.params, a.medoids, a.sizes) == (b.method, b.params, b.medoids, b.sizes)


def test_a_second_cluster_library_reads_the_clustering_and_its_tree_from_the_cache(library, folder, computed):
    spec = cluster_spec(FAST)
    first = cluster_library(library, spec, cache_db_path(folder))
    assert computed.calls == [spec]
    computed.refuse()
    second = cluster_library(library, spec, cache_db_path(folder))
    same_clustering(first.clustering, second.clustering)
    assert np.array_equal(first.book.labels, second.book.labels) and first.medoids == second.medoids
    assert first.dendrogram.leaf_images == second.dendrogram.leaf_images
    assert all(map(np.array_equal, first.dendrogram.leaf_members, second.dendrogram.leaf_members))


def test_a_reopened_folder_cuts_its_cached_tree_as_the_first_open_did(library, folder, computed):
    spec = cluster_spec(FAST)
    first, _ = load_folder_state(library, spec, cache_db_path(folder))
    first.cut_into(4)
    expected = first.book.labels.copy()
    first.undo()
    computed.refuse()
    reopened, _ = load_folder_state(library, spec, cache_db_path(folder))
    reopened.cut_into(4)
    assert np.array_equal(reopened.book.labels, expected)


def test_another_spec_or_another_set_of_images_is_clustered_afresh(library, folder, computed):
    cache_path = cache_db_path(folder)
    spec = cluster_spec(FAST)
    cluster_library(library, spec, cache_path)
    other = replace(spec, k=3)
    assert cluster_library(library, other, cache_path).clustering.params["k"] == 3
    fewer = replace(library, paths=library.paths[:-1], hashes=library.hashes[:-1], vectors=library.vectors[:-1])
    assert len(cluster_library(fewer, spec, cache_path).book.labels) == len(library) - 1
    reordered = replace(library, paths=library.paths[::-1], hashes=library.hashes[::-1],
                        vectors=library.vectors[::-1])
    cluster_library(reordered, spec, cache_path)
    assert computed.calls == [spec, other, spec, spec]


def test_a_corrupt_entry_is_computed_again_and_replaced(library, folder, computed):
    cache_path = cache_db_path(folder)
    spec = cluster_spec(FAST)
    first = cluster_library(library, spec, cache_path).clustering
    with Cache(cache_path) as cache:
        images, _ = cache.get_clustering(library.spec.id, spec.key)
        cache.put_clustering(library.spec.id, spec.key, images, b"not a clustering")
    same_clustering(cluster_library(library, spec, cache_path).clustering, first)
    assert len(computed.calls) == 2
    computed.refuse()
    same_clustering(cluster_library(library, spec, cache_path).clustering, first)


def test_saved_edits_still_come_before_the_cached_clustering(library, folder, computed):
    cache_path = cache_db_path(folder)
    spec = cluster_spec(FAST)
    model, _ = load_folder_state(library, spec, cache_path)
    other = next(int(label) for label in model.book.labels if label != model.book.labels[0])
    model.move_to_cluster([0, 1], other)
    edited = model.book.labels.copy()
    computed.refuse()
    result = cluster_library(library, spec, cache_path)
    assert result.restored and np.array_equal(result.book.labels, edited)
    assert not np.array_equal(result.clustering.labels, edited)


def test_the_clis_cluster_reads_the_clustering_the_app_cached(library, folder, computed, capsys):
    cluster_library(library, cluster_spec(FAST), cache_db_path(folder))
    computed.refuse()
    assert main(["cluster", str(folder), "--json", "--mode", "colour"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["method"] == "auto" and len(printed["labels"]) == len(library)
