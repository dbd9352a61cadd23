"""Adapting the vectors to the folder (folder.adaptation): what the projection weighs down, where the
vectors are stored, that a query from outside lands in the same space, and that the answer is the
same for the same folder, from any thread."""

from __future__ import annotations

import shutil
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from organizer.embedding import make_spec
from organizer.embedding.library import query_for
from organizer.embedding.registry import earlier_defaults
from organizer.folder import adaptation
from organizer.folder.adaptation import MIN_PAIRS, adapt_library, changed_view, changes_id, fit_projection
from organizer.folder.loading import open_library
from organizer.jobs.tasks import Cancelled
from organizer.samples import write_sample_folder
from organizer.storage.cache import Cache


def test_the_projection_weighs_down_what_differs_between_an_image_and_its_changed_view():
    # Pattern a, and pattern b in two lights: the light moves a vector along its own axis. A photo of a
    # in that light is nearer b in the same light than a itself, until the light is weighed down.
    a, b, light = np.eye(3)
    photos = np.array([a, b, b + 3 * light])
    query = a + 3 * light
    originals = np.array([a, b, a + 0.5 * b, b + 0.5 * a])
    changed = originals + 3 * light  # each image, and its changed view in the other light

    def similarities(vectors: np.ndarray, q: np.ndarray) -> np.ndarray:
        return vectors @ q / np.linalg.norm(vectors, axis=1) / np.linalg.norm(q)

    raw = similarities(photos, query)
    assert np.argmax(raw) == 2
    whitened = fit_projection(photos, originals, changed, exponent=1.0, shrink=0.01)
    projected = whitened.apply(photos)
    assert np.allclose(np.linalg.norm(projected, axis=1), 1, atol=1e-5)
    assert np.argmax(projected @ whitened.apply(query)[0]) == 0
    # The default goes halfway: a gains on b in that light, by a wide margin.
    halfway = fit_projection(photos, originals, changed)
    adapted = halfway.apply(photos) @ halfway.apply(query)[0]
    assert adapted[0] - adapted[2] > raw[0] - raw[2] + 0.3


def test_changed_views_are_seeded_by_the_image_and_differ_from_it():
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8))
    first, again, other = changed_view(image, 7), changed_view(image, 7), changed_view(image, 8)
    assert np.array_equal(np.asarray(first), np.asarray(again))
    assert first.size != other.size or not np.array_equal(np.asarray(first), np.asarray(other))
    assert max(first.size) <= 512 and first.size != image.size


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """40 rendered samples: more than MIN_PAIRS distinct images."""
    root = tmp_path_factory.mktemp("adapted")
    write_sample_folder(root, per_family=2, colourways=3, size=(128, 128))
    assert len(list(root.iterdir())) > MIN_PAIRS
    return root


def test_a_folder_is_adapted_and_its_network_vectors_stay_under_their_own_id(folder, tmp_path):
    spec = make_spec(weights=None)
    assert spec.adapted and spec.id.endswith("+cv+lw1/224/auto")
    with Cache(tmp_path / "cache.sqlite") as cache:
        library = open_library(folder, spec, cache)
        assert library.spec == spec and library.projection is not None
        raw = cache.vectors(spec.unadapted.id, library.hashes)
        assert set(cache.embedded_hashes(spec.unadapted.id)) == set(library.hashes)
        assert not cache.embedded_hashes(spec.id)  # only the network's vectors are stored
        assert len(cache.embedded_hashes(changes_id(library))) == len(set(library.hashes))
        assert np.allclose(library.vectors, library.projection.apply(raw), atol=1e-6)
        assert np.allclose(np.linalg.norm(library.vectors, axis=1), 1, atol=1e-5)
        assert not np.allclose(library.vectors, raw / np.linalg.norm(raw, axis=1, keepdims=True), atol=1e-2)


def test_reopening_embeds_nothing_and_loads_no_model(folder, tmp_path, monkeypatch):
    spec = make_spec(weights=None)
    with Cache(tmp_path / "cache.sqlite") as cache:
        first = open_library(folder, spec, cache)

        def no_model(*args, **kwargs):
            raise AssertionError("a reopened folder loaded the network")
        monkeypatch.setattr(adaptation, "shared_embedder", no_model)
        monkeypatch.setattr("organizer.embedding.library.shared_embedder", no_model)
        again = open_library(folder, spec, cache)
    assert again.report.embedded == 0
    assert np.array_equal(again.vectors, first.vectors)


def test_the_same_folder_gets_the_same_projection_from_any_thread(folder, tmp_path):
    spec = make_spec(weights=None)
    with Cache(tmp_path / "serial.sqlite") as cache:
        serial = open_library(folder, spec, cache).vectors
    copies = [tmp_path / f"copy{i}.sqlite" for i in range(2)]
    results: dict[int, np.ndarray] = {}

    def open_in_thread(i: int) -> None:
        with Cache(copies[i]) as cache:
            results[i] = open_library(folder, spec, cache).vectors
    threads = [threading.Thread(target=open_in_thread, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i in range(2):
        assert np.allclose(results[i], serial, atol=1e-5)


def test_a_query_from_outside_lands_in_the_folders_space(folder, tmp_path):
    spec = make_spec(weights=None)
    outside = tmp_path / "outside"
    outside.mkdir()
    with Cache(tmp_path / "cache.sqlite") as cache:
        library = open_library(folder, spec, cache)
        raw = cache.vectors(spec.unadapted.id, library.hashes)
    row = 5
    copy = shutil.copy(library.paths[row], outside / "query.jpg" if library.paths[row].suffix == ".jpg"
                       else outside / f"query{library.paths[row].suffix}")
    vector = query_for(library, Path(copy))
    assert float(vector @ library.vectors[row]) > 0.999
    # Unprojected, the same image would sit elsewhere: the query must be projected to be found.
    unit_raw = raw[row] / np.linalg.norm(raw[row])
    assert float(unit_raw @ library.vectors[row]) < 0.99


def test_a_small_folder_keeps_its_vectors(tmp_path):
    small = tmp_path / "small"
    write_sample_folder(small, per_family=1, colourways=2, size=(96, 96))
    assert len(list(small.iterdir())) < MIN_PAIRS
    spec = make_spec(weights=None)
    with Cache(tmp_path / "cache.sqlite") as cache:
        library = open_library(small, spec, cache)
        raw = cache.vectors(spec.unadapted.id, library.hashes)
        assert library.projection is None and library.spec.id == spec.id
        assert np.array_equal(library.vectors, raw)
        assert not cache.embedded_hashes(changes_id(library))


def test_cancelling_keeps_the_changed_views_embedded_so_far(folder, tmp_path):
    spec = make_spec(weights=None)
    with Cache(tmp_path / "cache.sqlite") as cache:
        library = open_library(folder, spec.unadapted, cache)
        asked = iter(range(100))
        with pytest.raises(Cancelled):
            adapt_library(library, spec, cache, should_stop=lambda: next(asked) >= 1)
        assert len(cache.embedded_hashes(changes_id(library))) == adaptation.BATCH


def test_turning_it_off_and_earlier_defaults():
    spec = make_spec(weights=None)
    off = make_spec(weights=None, adapt=False)
    assert off == spec.unadapted and "+lw" not in off.id
    assert earlier_defaults(spec.id)[0] == off.id
    assert not make_spec(mode="mean-colour").adapted
    assert replace(spec, adapted=False) == off
