"""Scale: a 100,000-image folder through scan, embed, rescan, map and cluster, with peak memory.

    .venv/bin/python bench/scale.py [--count 100000] [--size 96]
    .venv/bin/python bench/scale.py --rescan-only [--against ../base/src]

The folder is rendered once into bench/out (small JPEGs: the network input is 224 px
whatever the file size, so this times the engine, not the disk). Each stage reports its
time and the process's peak resident memory so far (issue 19's goals: the whole run in
<= 1,200 s and <= 2 GB, an unchanged rescan in <= 2 s). The scan's rate is also given as a share of
the network's alone on 512 of the folder's images, timed before the scan and after it (issue 19: at
least 0.9). The rescan is the median of ``--rescans`` in a row.

``--rescan-only`` keeps the folder and the cache of an earlier run and times only the
unchanged rescan (``embed_folder``) and the vectors' load that opening the folder adds
(``Cache.vectors``, then the projection learned on the folder from its cached changed views), each round in a new process, as the CLI and a newly started app meet
them. ``--against SRC`` times the engine in SRC too (the ``src`` folder of a worktree at an
older commit), alternating with this one round by round, so the ratio holds on a shared
machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import OUT
from embed import default_network, inference_only
from report import Report, add_arguments

from organizer.analysis.cluster import ClusterSpec, cluster
from organizer.analysis.reduce import MapSpec, compute_map
from organizer.embedding import make_spec
from organizer.embedding.embed import EmbedReport, embed_folder
from organizer.embedding.library import Library
from organizer.samples import write_sample_folder
from organizer.storage.cache import Cache

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
#: Images of the folder the network alone embeds, before the scan and after it (the ceiling, as bench/embed.py).
INFERENCE_SAMPLE = 512


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024  # KiB on Linux


def opened_vectors(report: EmbedReport, spec, cache: Cache) -> Library:
    """What opening the folder makes of the network's vectors: loaded, then adapted to the folder (embedding
    the changed views only the first time). An engine from before the adaptation (``--against`` an older
    tree) only loads them."""
    try:
        from organizer.folder.adaptation import adapt_library
    except ImportError:
        return Library(report.folder, spec, report.paths, report.hashes, cache.vectors(spec.id, report.hashes))
    network = Library(report.folder, spec.unadapted, report.paths, report.hashes,
                      cache.vectors(spec.unadapted.id, report.hashes))
    return adapt_library(network, spec, cache)


def rescans(folder: Path, database: Path, count: int) -> list[tuple[float, float]]:
    """Seconds and CPU seconds of ``count`` unchanged rescans in a row, then of loading the vectors they
    found (the last pair). The CPU time of this one-thread work is what other processes on the machine
    inflate least."""
    spec = make_spec()
    times: list[tuple[float, float]] = []

    def timed(work):
        started, cpu = time.perf_counter(), time.process_time()
        result = work()
        times.append((time.perf_counter() - started, time.process_time() - cpu))
        return result

    with Cache(database) as cache:
        for _ in range(count):
            again = timed(lambda: embed_folder(folder, spec, cache))
            if again.embedded or again.reused != len(again.paths):
                raise SystemExit(f"not an unchanged rescan: {again.embedded} images embedded")
        timed(lambda: opened_vectors(again, spec, cache))
    return times


def seconds(times: list[tuple[float, float]]) -> str:
    """The median wall and CPU seconds of ``times``, as a table cell."""
    if not times:
        return "–"
    return f"{statistics.median(t[0] for t in times):.2f} ({statistics.median(t[1] for t in times):.2f})"


def child_rescans(src: Path, folder: Path, database: Path, count: int) -> list[list[float]]:
    """:func:`rescans` in a new process running the engine in ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run([sys.executable, __file__, "--child", "--folder", str(folder), "--cache", str(database),
                          "--rescans", str(count)], env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1])


def ceiling(folder: Path) -> float:
    """Images a second the default extractor's network alone embeds, on :data:`INFERENCE_SAMPLE` of ``folder``'s."""
    spec, _runtime, embedder, batch = default_network()
    return inference_only(embedder, spec, folder, INFERENCE_SAMPLE, batch)


def child_ceiling(folder: Path) -> float:
    """:func:`ceiling` in a new process."""
    out = subprocess.run([sys.executable, __file__, "--ceiling", "--folder", str(folder)], check=True,
                         capture_output=True, text=True).stdout
    return float(out.splitlines()[-1])


def rescan_only(args: argparse.Namespace, folder: Path, database: Path) -> None:
    if not database.is_file():
        raise SystemExit(f"no cache at {database}: run bench/scale.py without --rescan-only first")
    engines = {"this tree": SRC, **({"against": args.against.resolve()} if args.against else {})}
    report = Report("scale-rescan", "Unchanged rescan of 100,000 images (`bench/scale.py --rescan-only`)", args)
    report.print(f"# {folder}: {args.rounds} rounds of a new process each, {args.rescans} rescans a round; "
                 f"engines: {', '.join(f'{name} {src}' for name, src in engines.items())}")
    found: dict[str, list[list[list[float]]]] = {name: [] for name in engines}
    for _ in range(args.rounds):
        for name, src in engines.items():
            found[name].append(child_rescans(src, folder, database, args.rescans))
    report.print("\n| engine | first rescan in the process s (CPU s) | later rescans s (CPU s) | vectors load s "
                 "(CPU s) | rescan + vectors s |\n|---|---|---|---|---|")
    medians = {}
    for name, rounds in found.items():
        first, later = [r[0] for r in rounds], [t for r in rounds for t in r[1:-1]]
        load = [r[-1] for r in rounds]
        medians[name] = [statistics.median(t[0] for t in part) for part in (first, load)]
        report.print(f"| {name} | {seconds(first)} | {seconds(later)} | {seconds(load)} | {sum(medians[name]):.2f} |")
    if args.against:
        (first, load), (old_first, old_load) = medians["this tree"], medians["against"]
        report.print(f"\nthis tree / against, medians: rescan {first / old_first:.2f}, rescan + vectors "
                     f"{(first + load) / (old_first + old_load):.2f}")
    report.write()


def full_run(args: argparse.Namespace, folder: Path, database: Path) -> None:
    report = Report("scale", "100,000 images (`bench/scale.py`)", args)
    started = time.perf_counter()
    paths = write_sample_folder(folder, per_family=-(-args.count // 90), colourways=10,
                                size=(args.size, args.size), fmt="jpg")
    for extra in paths[args.count:]:
        extra.unlink(missing_ok=True)
    report.print(f"# {args.count} images of {args.size} px in {folder} ({time.perf_counter() - started:.0f} s to "
                 f"render)")
    report.print("| stage | seconds | rate | peak RSS GB |\n|---|---|---|---|")
    for stale in database.parent.glob(database.name + "*"):
        stale.unlink()
    spec = make_spec()
    # The ceiling is timed on both sides of the long scan, so a machine that changes pace meanwhile shows as a
    # range, and in processes of its own, so its network and views never count in this one's peak memory.
    alone = [child_ceiling(folder)]
    with Cache(database) as cache:
        first = embed_folder(folder, spec, cache)
        alone.append(child_ceiling(folder))
        rate = first.images_per_second
        report.print(f"| scan + embed | {first.seconds:.0f} | {rate:.0f} img/s, {rate / statistics.mean(alone):.2f} of "
                     f"inference alone ({min(alone):.0f}–{max(alone):.0f} img/s, before and after) | "
                     f"{peak_gb():.2f} |")
        adapting = time.perf_counter()
        opened_vectors(first, spec, cache)
        report.print(f"| adapt to the folder (256 changed views, the projection) | "
                     f"{time.perf_counter() - adapting:.1f} | | {peak_gb():.2f} |")
    *times, load = rescans(folder, database, args.rescans)
    again = statistics.median(t[0] for t in times)
    report.print(f"| unchanged rescan (median of {len(times)}; CPU s) | {seconds(times)} | "
                 f"{args.count / again:.0f} files/s | {peak_gb():.2f} |")
    report.print(f"| vectors load and adaptation (CPU s) | {seconds([load])} | | {peak_gb():.2f} |")
    with Cache(database) as cache:
        vectors = opened_vectors(first, spec, cache).vectors
    started = time.perf_counter()
    compute_map(vectors, MapSpec())
    report.print(f"| map (PCA + t-SNE, FFT, stops once settled) | {time.perf_counter() - started:.0f} | | "
                 f"{peak_gb():.2f} |")
    started = time.perf_counter()
    result = cluster(vectors, ClusterSpec())
    report.print(f"| cluster (auto: graph communities of a 4,000 sample, rest assigned) | "
                 f"{time.perf_counter() - started:.1f} | {len(result.sizes)} clusters | {peak_gb():.2f} |")
    report.write()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--folder", type=Path, help="the image folder (default bench/out/scale<count>)")
    parser.add_argument("--cache", type=Path, help="its cache (default bench/out/cache/scale<count>.sqlite)")
    parser.add_argument("--rescans", type=int, default=3, help="unchanged rescans in a row (a round, with --rescan-only)")
    parser.add_argument("--rescan-only", action="store_true", help="time the rescan of an earlier run's folder only")
    parser.add_argument("--rounds", type=int, default=5, help="new processes per engine, with --rescan-only")
    parser.add_argument("--against", type=Path, help="with --rescan-only, also time the engine in this src folder")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ceiling", action="store_true", help=argparse.SUPPRESS)
    add_arguments(parser)
    args = parser.parse_args()
    folder = args.folder or OUT / f"scale{args.count}"
    database = args.cache or OUT / "cache" / f"scale{args.count}.sqlite"
    if args.child:
        print(json.dumps(rescans(folder, database, args.rescans)))
    elif args.ceiling:
        print(ceiling(folder))
    elif args.rescan_only:
        rescan_only(args, folder, database)
    else:
        full_run(args, folder, database)
    return 0


if __name__ == "__main__":
    sys.exit(main())
