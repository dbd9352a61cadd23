"""The Dask engine (`organizer embed --engine dask`) against the local path, on one folder, in one run.

Each round times, on a fresh cache each and in turn, so the ratios hold on a shared machine:
  local      open_library in this process, its model already loaded: what `organizer embed` does;
  dask warm  the same through DaskEngine on a running cluster whose workers hold their model:
             the throughput a long job settles at;
  dask cold  DaskEngine starting its own cluster (`--workers N`): cluster start, a model load
             per worker, the job and the cluster's stop, all that a user waits for.
Then the driver's share of a cluster job: how fast it writes finished batches (CacheSink.commit
of 256 vectors each), which caps how many workers one driver can keep up with.

    .venv/bin/python bench/engine.py                        # 300 dtd10 photos, 2 workers x 1 thread
    .venv/bin/python bench/engine.py --per-class 10 --workers 2 --rounds 1
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import OUT
from report import Report, add_arguments

from organizer.embedding import make_spec
from organizer.embedding.embed import CacheSink, EmbedReport, Prepared, nothing_ready
from organizer.folder.distributed import DaskEngine
from organizer.folder.loading import open_library
from organizer.io.scan import FileEntry
from organizer.jobs.tasks import never_stop, no_progress
from organizer.storage.cache import Cache

HERE = Path(__file__).resolve().parent


def photo_folder(dtd: Path, per_class: int) -> Path:
    """The first ``per_class`` photos of every dtd10 class, copied once into bench/out."""
    folder = OUT / f"dtd{per_class}each"
    if not folder.is_dir():
        folder.mkdir(parents=True)
        for klass in sorted(p for p in dtd.iterdir() if p.is_dir()):
            for photo in sorted(klass.iterdir())[:per_class]:
                shutil.copy2(photo, folder / photo.name)
    return folder


def timed(folder: Path, spec, make_engine=None) -> tuple[float, int]:
    """Seconds to open ``folder`` on a fresh cache, and the images embedded."""
    with tempfile.TemporaryDirectory() as tmp, Cache(Path(tmp) / "bench.sqlite") as cache:
        started = time.perf_counter()
        library = open_library(folder, spec, cache, make_engine=make_engine)
        return time.perf_counter() - started, library.report.embedded


def driver_write_rate(dimension: int, batches: int = 40, batch: int = 256) -> float:
    """Vectors per second that the driver commits, as CacheSink.commit writes a worker's batch."""
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp, Cache(Path(tmp) / "bench.sqlite") as cache:
        sink = CacheSink("bench", cache, frozenset(), {}, EmbedReport(Path(tmp), "bench"), no_progress, never_stop,
                         nothing_ready, batches * batch, 0)
        work = []
        for b in range(batches):
            digests = [f"{b:04d}{i:060d}" for i in range(batch)]
            files = [Prepared(FileEntry(Path(tmp) / f"{d}.jpg", 1000, 1), d) for d in digests]
            work.append((files, digests, rng.standard_normal((batch, dimension)).astype(np.float32)))
        started = time.perf_counter()
        for files, digests, vectors in work:
            sink.commit(files, digests, vectors)
        return batches * batch / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dtd", type=Path, default=HERE.parent.parent / "shared" / "data" / "dtd10")
    parser.add_argument("--per-class", type=int, default=30, help="photos per dtd10 class (10 classes)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of one thread each")
    parser.add_argument("--rounds", type=int, default=2)
    add_arguments(parser)
    args = parser.parse_args()
    report = Report("engine", "The Dask engine (`bench/engine.py`)", args)
    from distributed import LocalCluster

    logging.getLogger("distributed").setLevel(logging.WARNING)
    import torch

    folder = photo_folder(args.dtd, args.per_class)
    warm_up = photo_folder(args.dtd, 1)
    spec = make_spec()
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"python {platform.python_version()}; {folder.name}: {len(list(folder.iterdir()))} photos; "
          f"load {os.getloadavg()[0]:.1f}")
    rows: dict[str, list[float]] = {"local": [], "dask warm": [], "dask cold": []}
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster:
        running = functools.partial(DaskEngine, scheduler=cluster.scheduler_address)
        own = functools.partial(DaskEngine, workers=args.workers)
        timed(warm_up, spec)  # this process's model, loaded once
        timed(warm_up, spec, running)  # one task per worker, so each loads its model
        timed(warm_up, spec, running)
        for round_ in range(args.rounds):
            for name, engine in (("local", None), ("dask warm", running), ("dask cold", own)):
                seconds, embedded = timed(folder, spec, engine)
                rows[name].append(embedded / seconds)
                print(f"# round {round_ + 1}: {name}: {embedded} images in {seconds:.1f} s, "
                      f"load {os.getloadavg()[0]:.1f}", flush=True)
    local = np.mean(rows["local"])
    report.print(f"{folder.name}: {len(list(folder.iterdir()))} photos, {args.workers} workers of one thread, "
                 f"{args.rounds} rounds\n")
    report.print("| path | img/s (rounds) | mean img/s | ratio to local |")
    report.print("|---|---|---|---|")
    for name, rates in rows.items():
        mean = np.mean(rates)
        report.print(f"| {name} | {', '.join(f'{r:.1f}' for r in rates)} | {mean:.1f} | {mean / local:.2f} |")
    with tempfile.TemporaryDirectory() as tmp, Cache(Path(tmp) / "bench.sqlite") as cache:
        dimension = open_library(warm_up, spec, cache).vectors.shape[1]
    report.print(f"\ndriver writes {driver_write_rate(dimension):,.0f} vectors/s of dimension {dimension} "
                 f"(CacheSink.commit, batches of 256)")
    report.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
