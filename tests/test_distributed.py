"""`organizer embed --engine dask` on a real two-process cluster: the local path's vectors, in the same cache."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import numpy as np
import pytest

from organizer.cli import main
from organizer.embedding import make_spec
from organizer.folder.distributed import DaskEngine
from organizer.folder.loading import open_library
from organizer.jobs.tasks import Cancelled, StopFlag
from organizer.samples import write_sample_folder
from organizer.storage.cache import Cache
from organizer.storage.paths import cache_db_path

IMAGES = 12


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Two worker processes of one thread each, as `--workers 2` starts them; the models they load
    stay for the module's tests."""
    from distributed import LocalCluster  # the distributed extra is part of the dev install

    # Started before the per-test fixture points the user folders elsewhere and picks the suite's
    # runtime (torch), so told here: the workers must run what the local path they are compared with runs.
    user = tmp_path_factory.mktemp("worker-user-dirs")
    env = {"ORGANIZER_CACHE_DIR": str(user / "cache"), "ORGANIZER_DATA_DIR": str(user / "data"),
           "ORGANIZER_RUNTIME": "torch"}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, env=env) as made:
        yield made


@pytest.fixture
def folder(tmp_path) -> Path:
    """Twelve rendered JPEGs and one file that only looks like one."""
    made = tmp_path / "patterns"
    paths = write_sample_folder(made, per_family=1, colourways=2, size=(96, 96), fmt="jpg")
    for extra in paths[IMAGES:]:
        extra.unlink()
    (made / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    return made


def refuse(spec):
    raise AssertionError(f"re-embedding {spec.id}")


def test_the_cluster_writes_the_local_paths_vectors_to_the_cache_the_app_opens(cluster, folder, tmp_path, capsys):
    out = tmp_path / "v.npz"
    argv = ["embed", str(folder), "--engine", "dask", "--scheduler", cluster.scheduler_address, "--cache-beside",
            "--out", str(out)]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "skipped: " in err and "broken.jpg" in err

    spec = make_spec()
    with Cache(tmp_path / "local.sqlite") as cache:
        local = open_library(folder, spec, cache)
    with Cache(cache_db_path(folder, beside=True)) as cache:
        opened = open_library(folder, spec, cache, make_engine=refuse)
    assert len(local) == IMAGES and opened.report.embedded == 0 and opened.report.reused == IMAGES
    assert opened.paths == local.paths and opened.hashes == local.hashes
    assert np.allclose(opened.vectors, local.vectors, atol=2e-3)
    assert opened.failures == local.failures and opened.failures[0][0].name == "broken.jpg"
    written = np.load(out)
    # The id names the vectors written: twelve images are too few to adapt to, so the network's own.
    assert str(written["extractor"]) == local.spec.id and not local.spec.adapted
    assert [Path(p) for p in written["paths"]] == local.paths
    assert np.allclose(written["vectors"], local.vectors, atol=2e-3)


def models_on_workers(cluster) -> dict[str, list[int]]:
    """Each worker's embedders, by identity."""
    from distributed import Client

    def held() -> list[int]:
        from organizer.embedding import library

        return [id(embedder) for embedder in library._embedders.values()]

    with Client(cluster) as client:
        return client.run(held)


def test_a_stop_keeps_the_finished_batches_and_each_worker_its_one_model(cluster, folder, tmp_path):
    spec = make_spec(melt_knots=False)  # these renders would be melted: not what this test is about
    engine = functools.partial(DaskEngine, scheduler=cluster.scheduler_address)
    stop = StopFlag()

    def stop_after_the_first_batch(done: int, total: int, note: str = "") -> None:
        if done:
            stop.set()

    with Cache(tmp_path / "stopped.sqlite") as cache:
        with pytest.raises(Cancelled):
            open_library(folder, spec, cache, make_engine=engine, progress=stop_after_the_first_batch,
                         should_stop=stop)
        kept = len(cache.embedded_hashes(spec.unadapted.id))  # the network's vectors, which the cluster writes
        assert 0 < kept < IMAGES
        before = models_on_workers(cluster)
        resumed = open_library(folder, spec, cache, make_engine=engine)
    assert resumed.report.reused == kept and resumed.report.embedded == IMAGES - kept
    after = models_on_workers(cluster)
    # Loaded once per worker process, not per batch or per job.
    assert len(after) == 2 and all(len(models) == 1 for models in after.values())
    assert all(after[worker] == models for worker, models in before.items() if models)


def test_without_dask_the_command_says_what_to_install(folder, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if the extra were not installed
    assert main(["embed", str(folder), "--engine", "dask", "--workers", "2", "--cache-beside"]) == 2
    assert "install pattern-organizer[distributed]" in capsys.readouterr().err
    assert not cache_db_path(folder, beside=True).exists()  # said before any work
