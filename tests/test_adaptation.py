"""Adapting the vectors to the folder (folder.adaptation): what the projection weighs down, where the
vectors are stored, that a query from outside lands in the same space, and that the answer is the
same for the same folder, from any thread."""

from __future__ import annotations

import shutil
import threading
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
    """54 rendered samples (9 families, 2 variants, 3 colourways): more than MIN_PAIRS distinct images."""
    root = tmp_path_factory.mktemp("adapted")
    write_sample_folder(root, per_family=2, colourways=3, size=(128, 128))
    assert len(list(root.iterdir())) > MIN_PAIRS
    return root


def test_a_folder_is_adapted_and_its_network_vectors_stay_under_their_own_id(folder, tmp_path):
    # Melting stays off in these tests: the folder would choose it for these renders (folder.extractor),
    # and whether it did is not what they are about.
    spec = make_spec(weights=None, melt_knots=False)
    assert spec.adapted and spec.id.endswith("+cv2+lw1/240/auto+st1")
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
    spec = make_spec(weights=None, melt_knots=False)
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
    spec = make_spec(weights=None, melt_knots=False)
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
    spec = make_spec(weights=None, melt_knots=False)
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
    spec = make_spec(weights=None, melt_knots=False)
    with Cache(tmp_path / "cache.sqlite") as cache:
        library = open_library(small, spec, cache)
        raw = cache.vectors(spec.unadapted.id, library.hashes)
        assert library.projection is None and library.spec.id == spec.unadapted.id
        assert np.array_equal(library.vectors, raw)
        assert not cache.embedded_hashes(changes_id(library))


def test_cancelling_keeps_the_changed_views_embedded_so_far(folder, tmp_path):
    spec = make_spec(weights=None, melt_knots=False)
    with Cache(tmp_path / "cache.sqlite") as cache:
        library = open_library(folder, spec.unadapted, cache)
        asked = iter(range(100))
        with pytest.raises(Cancelled):
            adapt_library(library, spec, cache, should_stop=lambda: next(asked) >= 1)
        assert len(cache.embedded_hashes(changes_id(library))) == adaptation.BATCH


def test_turning_it_off_and_earlier_defaults():
    spec = make_spec(weights=None, melt_knots=False)
    off = make_spec(weights=None, adapt=False, melt_knots=False)
    assert off == spec.unadapted and "+lw" not in off.id
    # Strips were cut out of their photos after Lite1 took Lite0's place, adapted or not; adapting came in with
    # the first centre view: the default before it had that view and no adaptation.
    uncut, lite0 = earlier_defaults(spec.id)[:2]
    assert uncut == spec.id.removesuffix("+st1")
    assert lite0 == "v3/lite0@random/_blocks.10+_blocks.11+_blocks.14/content-object+cv2+lw1/224/auto"
    first_centre_view = lite0.replace("+cv2+", "+cv+")
    assert earlier_defaults(spec.id)[2:4] == [first_centre_view, first_centre_view.replace("+lw1/", "/")]
    assert earlier_defaults(off.id)[1:3] == [lite0.replace("+lw1/", "/"), first_centre_view.replace("+lw1/", "/")]
    assert not make_spec(mode="mean-colour").adapted
    # A later recipe reads the names and moves saved under the earlier ones, then under the earlier defaults.
    later = spec.id.replace("+lw1/", "+lw3/")
    assert earlier_defaults(later)[:5] == [spec.id.replace("+lw1/", "+lw2/"), spec.id, uncut, lite0, first_centre_view]


def test_the_low_rank_fit_equals_the_whitening_written_out():
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((300, 40))
    originals = vectors[:30]
    changed = originals + rng.standard_normal((30, 40)) * np.linspace(0.1, 2.0, 40)
    within = (originals - changed).T @ (originals - changed) / 30
    within += 0.2 * np.trace(within) / 40 * np.eye(40)
    values, axes = np.linalg.eigh(within)
    dense = (vectors - vectors.mean(axis=0)) @ ((axes * values ** -0.25) @ axes.T)
    dense /= np.linalg.norm(dense, axis=1, keepdims=True)
    assert np.allclose(fit_projection(vectors, originals, changed).apply(vectors), dense, atol=1e-5)


def test_a_broken_vector_does_not_spoil_the_others():
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((100, 16))
    broken = vectors.copy()
    broken[7] = np.nan
    clean = fit_projection(np.delete(vectors, 7, axis=0), vectors[:40], vectors[:40] + 0.1)
    fitted = fit_projection(broken, broken[:40], broken[:40] + 0.1)
    kept = np.delete(np.arange(100), 7)
    assert np.allclose(fitted.apply(broken[kept]), clean.apply(vectors[kept]), atol=1e-5)


@pytest.mark.parametrize("size", [(1600, 400), (400, 1600), (3000, 300)])
def test_changed_copies_of_long_images_have_no_empty_corners(size):
    white = Image.new("RGB", size, (255, 255, 255))
    darkest = min(int(np.asarray(changed_view(white, seed).convert("L")).min()) for seed in range(40))
    assert darkest > 100  # the turn's empty corners would be black


def test_a_file_changed_since_the_scan_is_left_out_of_the_pairs(folder, tmp_path):
    spec = make_spec(weights=None, melt_knots=False)
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    with Cache(tmp_path / "cache.sqlite") as cache:
        network = open_library(copy, spec.unadapted, cache)
        sampled = adaptation.sample_hashes(network.hashes)
        changed = [p for p, h in zip(network.paths, network.hashes) if h in set(sampled[:3])]
        for path in changed:  # rewritten after the scan: no longer the image the scan hashed
            Image.new("RGB", (64, 64), (200, 10, 10)).save(path)
        adapted = adapt_library(network, spec, cache)
        paired = cache.embedded_hashes(changes_id(network))
    assert adapted.projection is not None
    assert paired == set(sampled) - set(sampled[:3])
