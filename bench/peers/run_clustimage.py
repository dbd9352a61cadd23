"""clustimage (erdogant) on one folder, with its defaults: features, then clustering.

Runs in clustimage's own venv (bench/peers/setup.sh), in a fresh process. clustimage
has no pretrained CNN; its feature methods are PCA of the pixels (its default) and HOG.

    python bench/peers/run_clustimage.py FOLDER OUT_DIR METHOD
"""

import json
import resource
import sys
import time
from pathlib import Path

import numpy as np


def main() -> None:
    folder, out, method = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    started = time.perf_counter()
    from clustimage import Clustimage

    model = Clustimage(method=method, verbose="error")
    results = model.fit_transform(str(folder))  # its defaults: agglomerative, silhouette, 3..25 clusters
    finished = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "features.npy", np.asarray(results["feat"], dtype=np.float32))
    np.save(out / "clusters.npy", np.asarray(results["labels"]))
    (out / "result.json").write_text(json.dumps({
        "paths": [str(p) for p in results["pathnames"]], "total_s": finished - started,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "metric": "euclidean",
        "notes": f"method={method}, then its default clustering (agglomerative/ward, silhouette) and t-SNE"}))


if __name__ == "__main__":
    main()
