"""The cache and the embedding pipeline: resume, rescan without decoding, recovery."""

from __future__ import annotations

import gc
import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from organizer.embedding import make_spec
from organizer.embedding.colour import ColourEmbedder
from organizer.embedding.embed import embed_folder
from organizer.io import images, preprocess
from organizer.jobs.tasks import Cancelled
from organizer.storage import cache as cache_module
from organizer.storage.cache import Cache

SPEC = make_spec(mode="colour")


class CountingEmbedder(ColourEmbedder):
    """The real colour embedder, counting the images it is asked to embed."""

    def __init__(self):
        super().__init__("colour")
        self.images = 0

    def embed(self, views, owners, n_images):
        self.images += n_images
        return super().embed(views, owners, n_images)


def _library(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        pixels = rng.integers(0, 255, (40 + i % 7, 48, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"img_{i:03d}.png")
    return folder


def _run(folder, cache, embedder=None, **kwargs):
    embedder = embedder or CountingEmbedder()
    report = embed_folder(folder, SPEC, cache, make_embedder=lambda: embedder, workers=2, **kwargs)
    return report, embedder


def test_first_scan_embeds_everything_and_vectors_round_trip(tmp_path):
    folder = _library(tmp_path / "lib", 12)
    with Cache(tmp_path / "c.sqlite") as cache:
        report, embedder = _run(folder, cache, batch_size=5)
        assert embedder.images == 12
        assert [p.name for p in report.paths] == sorted(f"img_{i:03d}.png" for i in range(12))
        vectors = cache.vectors(SPEC.id, report.hashes)
        expected = ColourEmbedder("colour")

        first = preprocess.make_views(images.load(report.paths[0], SPEC.size), SPEC.size, SPEC.policy)
        direct = expected.embed(first, np.zeros(len(first), dtype=np.int64), 1)[0]
        assert np.allclose(vectors[0], direct, atol=2e-3)  # float16 storage


def test_rescan_of_unchanged_folder_reads_and_decodes_nothing(tmp_path, monkeypatch):
    folder = _library(tmp_path / "lib", 10)
    with Cache(tmp_path / "c.sqlite") as cache:
        _run(folder, cache)

        def forbidden(*_args, **_kwargs):
            raise AssertionError("an unchanged file was read again")

        monkeypatch.setattr(images, "read_bytes", forbidden)
        monkeypatch.setattr(images, "decode", forbidden)
        report, embedder = _run(folder, cache)
    assert embedder.images == 0
    assert report.reused == 10 and len(report.paths) == 10 and not report.failures


def test_cancel_keeps_finished_batches_and_resume_embeds_only_the_rest(tmp_path):
    folder = _library(tmp_path / "lib", 20)
    first = CountingEmbedder()

    def stop_once_embedding_started():
        return first.images > 0

    with Cache(tmp_path / "c.sqlite") as cache:
        with pytest.raises(Cancelled):
            _run(folder, cache, first, batch_size=4, should_stop=stop_once_embedding_started)
        saved = cache.count_embeddings(SPEC.id)
        assert 0 < saved < 20
        assert saved == first.images
        report, second = _run(folder, cache, batch_size=4)
        assert second.images == 20 - saved
        assert cache.count_embeddings(SPEC.id) == 20
        assert len(report.paths) == 20 and len(set(report.hashes)) == 20


def test_changed_deleted_and_copied_files(tmp_path):
    folder = _library(tmp_path / "lib", 6)
    with Cache(tmp_path / "c.sqlite") as cache:
        _run(folder, cache)
        (folder / "img_000.png").unlink()
        Image.new("RGB", (30, 30), (10, 200, 30)).save(folder / "img_001.png")
        os.utime(folder / "img_001.png", ns=(1, 1))  # a changed mtime, as an editor would leave
        shutil.copy(folder / "img_002.png", folder / "copy_of_2.png")
        report, embedder = _run(folder, cache)
        names = [p.name for p in report.paths]
        assert "img_000.png" not in names and "copy_of_2.png" in names
        # Only the changed file needs a new vector; the copy shares its original's.
        assert embedder.images == 1
        assert report.hashes[names.index("copy_of_2.png")] == report.hashes[names.index("img_002.png")]
        assert str(folder / "img_000.png") not in cache.known_files()


def test_identical_new_files_are_embedded_once(tmp_path):
    folder = tmp_path / "lib"
    folder.mkdir()
    Image.new("RGB", (50, 50), (200, 10, 10)).save(folder / "a.png")
    shutil.copy(folder / "a.png", folder / "b.png")
    with Cache(tmp_path / "c.sqlite") as cache:
        report, embedder = _run(folder, cache)
    assert embedder.images == 1 and len(report.paths) == 2


def test_bad_files_are_listed_not_fatal_and_not_decoded_again(tmp_path, monkeypatch):
    folder = _library(tmp_path / "lib", 3)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    (folder / "empty.png").write_bytes(b"")
    with Cache(tmp_path / "c.sqlite") as cache:
        report, _ = _run(folder, cache)
        reasons = dict((p.name, r) for p, r in report.failures)
        assert set(reasons) == {"broken.jpg", "empty.png"}
        assert "empty" in reasons["empty.png"]
        assert len(report.paths) == 3
        assert {Path(f.path).name for f in cache.failures()} == {"broken.jpg", "empty.png"}

        decoded = []
        real_decode = images.decode
        monkeypatch.setattr(images, "decode", lambda data, min_side=0: decoded.append(1) or real_decode(data, min_side))
        again, _ = _run(folder, cache)
        assert not decoded and len(again.failures) == 2

        Image.new("RGB", (20, 20), (0, 0, 255)).save(folder / "empty.png")
        fixed, _ = _run(folder, cache)
        assert [p.name for p, _ in fixed.failures] == ["broken.jpg"]
        assert "empty.png" in [p.name for p in fixed.paths]


def test_one_unexpected_exception_becomes_a_failure_record(tmp_path, monkeypatch):
    folder = _library(tmp_path / "lib", 3)
    real_make_views = preprocess.make_views

    def explode_on_second(image, size, *args, **kwargs):
        if image.size[1] == 41:  # img_001 is the one image 41 px tall
            raise ZeroDivisionError("boom")
        return real_make_views(image, size, *args, **kwargs)

    monkeypatch.setattr(preprocess, "make_views", explode_on_second)
    with Cache(tmp_path / "c.sqlite") as cache:
        report, _ = _run(folder, cache)
    assert [p.name for p, _ in report.failures] == ["img_001.png"]
    assert "ZeroDivisionError" in report.failures[0][1]
    assert len(report.paths) == 2


def test_corrupt_database_is_moved_aside_and_rebuilt(tmp_path, caplog):
    db = tmp_path / "c.sqlite"
    db.write_bytes(b"this is not a database at all" * 100)
    with Cache(db) as cache:
        assert cache.recovered_from is not None and cache.recovered_from.exists()
        assert cache.known_files() == {}
    assert "moved it to" in caplog.text
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_damaged_pages_inside_a_database_are_detected(tmp_path):
    folder = _library(tmp_path / "lib", 30)
    db = tmp_path / "c.sqlite"
    with Cache(db) as cache:
        _run(folder, cache)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(db.read_bytes())
    page = 4096
    data[2 * page : 2 * page + 600] = os.urandom(600)  # clobber a b-tree page, keep the header
    db.write_bytes(bytes(data))
    with Cache(db) as cache:
        assert cache.recovered_from is not None
        report, embedder = _run(folder, cache)
    assert embedder.images == 30 and len(report.paths) == 30


def test_an_unopenable_database_is_an_error_not_a_rebuild(tmp_path):
    from organizer.storage.cache import CacheError

    blocked = tmp_path / "c.sqlite"
    blocked.mkdir()  # a folder where the database file should be: SQLite cannot open it
    with pytest.raises(CacheError, match="cannot be used"):
        Cache(blocked)
    assert blocked.is_dir() and not list(tmp_path.glob("*.corrupt-*"))


def test_access_errors_are_retried_on_the_next_scan(tmp_path, monkeypatch):
    folder = _library(tmp_path / "lib", 3)
    real_read = images.read_bytes

    def locked(path, *limit):
        if path.name == "img_001.png":
            raise images.ImageError("permission denied: the file is not readable", transient=True)
        return real_read(path, *limit)

    with Cache(tmp_path / "c.sqlite") as cache:
        monkeypatch.setattr(images, "read_bytes", locked)
        first, _ = _run(folder, cache)
        assert [p.name for p, _ in first.failures] == ["img_001.png"]
        monkeypatch.setattr(images, "read_bytes", real_read)  # the user fixed the permissions
        second, embedder = _run(folder, cache)
        assert not second.failures and embedder.images == 1 and len(second.paths) == 3
        assert cache.failures() == []


def test_a_folder_reached_through_a_symlink_shares_the_cache_rows(tmp_path, monkeypatch):
    folder = _library(tmp_path / "lib", 4)
    alias = tmp_path / "alias"
    alias.symlink_to(folder)
    with Cache(tmp_path / "c.sqlite") as cache:
        first, _ = _run(folder, cache)
        monkeypatch.setattr(images, "read_bytes", lambda *_: (_ for _ in ()).throw(AssertionError("re-read")))
        second, embedder = _run(alias, cache)
    assert embedder.images == 0 and second.paths == first.paths


def test_cluster_edits_are_kept_per_key_and_survive_reopening(tmp_path):
    from organizer.storage.cache import Cache

    with Cache(tmp_path / "c.sqlite") as cache:
        assert cache.get_edits("a") is None
        cache.put_edits("a", '{"x": 1}')
        cache.put_edits("a", '{"x": 2}')
        cache.put_edits("b", "{}")
    with Cache(tmp_path / "c.sqlite") as cache:
        assert cache.get_edits("a") == '{"x": 2}' and cache.get_edits("b") == "{}"


@pytest.mark.parametrize("read_all_from", [1, 10**9], ids=["whole-table", "one-by-one"])
def test_vectors_come_back_in_the_order_asked_whichever_way_they_are_read(tmp_path, monkeypatch, read_all_from):
    monkeypatch.setattr(cache_module, "_READ_ALL_FROM", read_all_from)
    rng = np.random.default_rng(0)
    stored = {f"h{i}": rng.normal(size=6).astype(np.float32) for i in range(12)}
    # Written in both storage types, beside another extractor's rows and hashes never asked for.
    with Cache(tmp_path / "c.sqlite", vector_dtype="float32") as cache:
        cache.put_embeddings(SPEC.id, ["h0", "h1", "h2"], np.stack([stored[h] for h in ("h0", "h1", "h2")]))
    with Cache(tmp_path / "c.sqlite") as cache:
        rest = [f"h{i}" for i in range(3, 12)]
        cache.put_embeddings(SPEC.id, rest, np.stack([stored[h] for h in rest]))
        cache.put_embeddings("other", ["h0"], np.zeros((1, 6)))
        asked = ["h7", "h0", "h3", "h7", "h11", "h2"]
        vectors = cache.vectors(SPEC.id, asked)
        assert vectors.dtype == np.float32 and vectors.shape == (6, 6)
        assert np.array_equal(vectors[1], stored["h0"]) and np.array_equal(vectors[5], stored["h2"])
        assert np.allclose(vectors, np.stack([stored[h] for h in asked]), atol=2e-3)  # float16 storage
        with pytest.raises(KeyError, match="1 vectors missing"):
            cache.vectors(SPEC.id, ["h1", "absent"])
        assert cache.vectors(SPEC.id, []).shape == (0, 0)


def test_a_rescan_of_an_unchanged_folder_does_not_wait_for_another_writer(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "BUSY_TIMEOUT_S", 0.2)
    folder = _library(tmp_path / "lib", 4)
    with Cache(tmp_path / "c.sqlite") as cache:
        first, _ = _run(folder, cache)
        writer = sqlite3.connect(tmp_path / "c.sqlite", isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")  # another process in the middle of writing a batch
        try:
            again, embedder = _run(folder, cache)
        finally:
            writer.execute("ROLLBACK")
            writer.close()
    assert embedder.images == 0 and again.paths == first.paths and again.hashes == first.hashes


def test_a_rescan_sets_off_no_garbage_collections_and_leaves_the_collector_on(tmp_path):
    folder = tmp_path / "lib"
    folder.mkdir()
    rows = []
    for i in range(3000):
        path = folder / f"{i:05d}.png"
        path.write_bytes(b"%05d" % i)
        info = path.stat()
        rows.append((str(path), info.st_size, info.st_mtime_ns, f"hash{i}"))
    collections = []

    def count(phase, info):
        if phase == "start":
            collections.append(info["generation"])

    with Cache(tmp_path / "c.sqlite") as cache:
        # The rows an earlier scan of these files left, so this one is an unchanged rescan.
        cache.put_files(rows)
        cache.put_embeddings(SPEC.id, [row[3] for row in rows], np.ones((len(rows), 4)))
        gc.callbacks.append(count)
        try:
            report = embed_folder(folder, SPEC, cache, make_embedder=CountingEmbedder)
        finally:
            gc.callbacks.remove(count)
    assert report.reused == 3000 and report.hashes == [row[3] for row in rows]
    # Only the one young-generation pass that the paused collector owes once it is back on.
    assert len(collections) <= 1 and gc.isenabled()
