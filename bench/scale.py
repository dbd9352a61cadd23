"""Scale: a 100,000-image folder through scan, embed, rescan, map and cluster, with peak memory.

    .venv/bin/python bench/scale.py [--count 100000] [--size 96]

The folder is rendered once into bench/out (small JPEGs: the network input is 224 px
whatever the file size, so this times the engine, not the disk). Each stage reports its
time and the process's peak resident memory so far (targets: <= 4 GB peak, and a rescan
of the unchanged folder in <= 20 s).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

from common import OUT

from organizer.analysis.cluster import ClusterSpec, cluster
from organizer.analysis.reduce import MapSpec, compute_map
from organizer.embedding import make_spec
from organizer.embedding.embed import embed_folder
from organizer.samples import write_sample_folder
from organizer.storage.cache import Cache


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024  # KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--size", type=int, default=96)
    args = parser.parse_args()
    folder = OUT / f"scale{args.count}"
    started = time.perf_counter()
    paths = write_sample_folder(folder, per_family=-(-args.count // 90), colourways=10,
                                size=(args.size, args.size), fmt="jpg")
    for extra in paths[args.count:]:
        extra.unlink(missing_ok=True)
    print(f"# {args.count} images of {args.size} px in {folder} ({time.perf_counter() - started:.0f} s to render)")
    print("| stage | seconds | rate | peak RSS GB |\n|---|---|---|---|", flush=True)
    database = OUT / "cache" / f"scale{args.count}.sqlite"
    for stale in database.parent.glob(database.name + "*"):
        stale.unlink()
    spec = make_spec()
    with Cache(database) as cache:
        report = embed_folder(folder, spec, cache)
        print(f"| scan + embed | {report.seconds:.0f} | {report.images_per_second:.0f} img/s | {peak_gb():.2f} |", flush=True)
        again = embed_folder(folder, spec, cache)
        print(f"| unchanged rescan | {again.seconds:.1f} | {len(again.paths) / again.seconds:.0f} files/s | "
              f"{peak_gb():.2f} |", flush=True)
        vectors = cache.vectors(spec.id, again.hashes)
    started = time.perf_counter()
    compute_map(vectors, MapSpec())
    print(f"| map (PCA + t-SNE, FFT) | {time.perf_counter() - started:.0f} | | {peak_gb():.2f} |", flush=True)
    started = time.perf_counter()
    result = cluster(vectors, ClusterSpec())
    print(f"| cluster (auto: graph communities of a 4,000 sample, rest assigned) | {time.perf_counter() - started:.1f} | "
          f"{len(result.sizes)} clusters | {peak_gb():.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
