"""Our engine on one folder, as a user gets it: defaults, a fresh cache, scan + embed + cluster.

Run by bench/peers/run.py in a fresh process (so peak RSS is this run's); writes the
vectors, the cluster labels and the timings to OUT_DIR.

    python bench/peers/run_ours.py FOLDER OUT_DIR
"""

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    folder, out = Path(sys.argv[1]), Path(sys.argv[2])
    os.environ["ORGANIZER_CACHE_DIR"] = tempfile.mkdtemp(prefix="peers-ours-")
    started = time.perf_counter()
    from organizer.analysis.cluster import ClusterSpec, cluster
    from organizer.embedding import make_spec
    from organizer.folder.loading import open_library
    from organizer.storage.cache import Cache
    from organizer.storage.paths import cache_db_path

    spec = make_spec()
    with Cache(cache_db_path(folder)) as cache:
        library = open_library(folder, spec, cache)  # as the CLI and the app open it: adapted to the folder
        vectors = library.vectors
    embedded = time.perf_counter()
    labels = cluster(vectors, ClusterSpec()).labels
    finished = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "features.npy", vectors)
    np.save(out / "clusters.npy", np.asarray(labels))
    (out / "result.json").write_text(json.dumps({
        "paths": [str(p) for p in library.paths],
        "features_s": embedded - started, "cluster_s": finished - embedded, "total_s": finished - started,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "metric": "cosine", "notes": f"defaults: {spec.id}, clusters by {ClusterSpec().method}"}))


if __name__ == "__main__":
    main()
