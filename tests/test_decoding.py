"""Decoding ahead of inference in a pool of processes (io/decoding.py): the same vectors as
decoding one file at a time, bad files reported, a stop that leaves no process behind, and
threads where processes cannot start."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from organizer.embedding import make_spec
from organizer.embedding.colour import ColourEmbedder
from organizer.embedding.embed import embed_file, embed_folder, view_plan
from organizer.io import decoding
from organizer.io.decoding import DecodePool, Decoder
from organizer.io.scan import scan_folder
from organizer.jobs.tasks import Cancelled
from organizer.storage.cache import Cache

SPEC = make_spec(mode="colour")


def _photos(folder: Path, count: int) -> Path:
    """JPEGs big enough to be draft-decoded, each of its own colours and size."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    for i in range(count):
        height, width = 300 + 37 * (i % 5), 500 + 53 * (i % 3)
        base = rng.integers(0, 255, 3)
        ramp = np.linspace(0, 120, width)[None, :, None]
        noise = rng.integers(0, 60, (height, width, 3))
        pixels = np.clip(base + ramp + noise, 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"photo_{i:03d}.jpg", quality=90)
    return folder


def _embed(folder: Path, cache: Cache, kind: str, **kwargs):
    embedder = ColourEmbedder("colour")
    return embed_folder(folder, SPEC, cache, make_embedder=lambda: embedder, decoding=DecodePool(kind, 2),
                        batch_size=4, **kwargs)


def test_processes_give_the_vectors_of_threads_and_of_one_file_at_a_time(tmp_path):
    folder = _photos(tmp_path / "lib", 12)
    with Cache(tmp_path / "p.sqlite") as in_processes, Cache(tmp_path / "t.sqlite") as in_threads:
        pooled = _embed(folder, in_processes, "processes")
        threaded = _embed(folder, in_threads, "threads")
        assert pooled.embedded == threaded.embedded == 12 and not pooled.failures
        assert pooled.paths == threaded.paths and pooled.hashes == threaded.hashes
        vectors = in_processes.vectors(SPEC.id, pooled.hashes)
        np.testing.assert_array_equal(vectors, in_threads.vectors(SPEC.id, threaded.hashes))
    embedder = ColourEmbedder("colour")
    serial = np.stack([embed_file(path, SPEC, embedder) for path in pooled.paths])
    np.testing.assert_allclose(vectors, serial, atol=2e-3)  # the cache keeps float16
    assert not multiprocessing.active_children()


def test_a_corrupt_file_in_the_middle_is_reported_and_the_rest_embedded(tmp_path):
    folder = _photos(tmp_path / "lib", 8)
    whole = (folder / "photo_004.jpg").read_bytes()
    (folder / "photo_004.jpg").write_bytes(whole[: len(whole) // 3])  # cut short
    (folder / "photo_005.jpg").write_bytes(b"not an image at all")
    with Cache(tmp_path / "c.sqlite") as cache:
        report = _embed(folder, cache, "processes")
        reasons = {path.name: reason for path, reason in report.failures}
        assert set(reasons) == {"photo_004.jpg", "photo_005.jpg"}
        assert "cut short" in reasons["photo_004.jpg"] and "not an image" in reasons["photo_005.jpg"]
        assert report.embedded == 6 and len(report.paths) == 6
        assert {Path(f.path).name for f in cache.failures()} == set(reasons)


def test_a_stop_mid_run_ends_every_decoding_process(tmp_path):
    folder = _photos(tmp_path / "lib", 40)
    committed = []
    seen_children = []

    def stop_after_two_batches():
        seen_children.append(len(multiprocessing.active_children()))
        committed.append(1)
        return len(committed) >= 2

    with Cache(tmp_path / "c.sqlite") as cache:
        with pytest.raises(Cancelled):
            _embed(folder, cache, "processes", should_stop=stop_after_two_batches)
        assert 0 < cache.count_embeddings(SPEC.id) < 40
    assert max(seen_children) == 2  # the pool ran in processes
    assert not multiprocessing.active_children()


def test_where_processes_cannot_start_the_files_are_decoded_in_threads(tmp_path, monkeypatch):
    folder = _photos(tmp_path / "lib", 6)
    # As in a Dask worker: a daemonic process may not start children.
    monkeypatch.setitem(multiprocessing.current_process()._config, "daemon", True)
    plan, files = view_plan(SPEC), scan_folder(folder).files
    with Decoder(plan, DecodePool("processes", 2)) as decoder:
        prepared = list(decoder.prepared(files, frozenset, ahead=4))
        assert decoder.pool.kind == "threads"
    assert [p.entry for p in prepared] == files and not any(p.error for p in prepared)
    with Decoder(plan, DecodePool("threads", 1)) as decoder:
        alone = list(decoder.prepared(files, frozenset, ahead=1))
    for pooled, single in zip(prepared, alone):
        assert pooled.digest == single.digest
        np.testing.assert_array_equal(pooled.inputs[SPEC.size], single.inputs[SPEC.size])


def test_two_scans_decoding_in_processes_at_once_each_get_their_own_vectors(tmp_path):
    folders = [_photos(tmp_path / "a", 10), _photos(tmp_path / "b", 7)]
    (folders[1] / "photo_000.jpg").unlink()
    results: dict[int, tuple] = {}

    def scan(i: int) -> None:
        with Cache(tmp_path / f"{i}.sqlite") as cache:
            report = _embed(folders[i], cache, "processes")
            results[i] = (report, cache.vectors(SPEC.id, report.hashes))

    threads = [threading.Thread(target=scan, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [len(results[i][0].paths) for i in range(2)] == [10, 6]
    # The second folder holds the first's files 1-6 (same seed): the same content, the same vectors.
    assert results[1][0].hashes == results[0][0].hashes[1:7]
    np.testing.assert_array_equal(results[1][1], results[0][1][1:7])
    assert not multiprocessing.active_children()


def test_a_large_scan_decodes_in_a_process_a_core_and_a_small_one_in_threads():
    assert decoding.pool_for(10_000, 2) == DecodePool("processes", 2)
    assert decoding.pool_for(10_000, 64) == DecodePool("processes", 8)
    assert decoding.pool_for(decoding.PROCESS_FROM_FILES - 1, 16).kind == "threads"
