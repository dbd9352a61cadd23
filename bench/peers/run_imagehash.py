"""imagehash (JohannesBuchner) on one folder: a wavelet hash per image, the library a
script-writing user reaches for first. Runs in its own venv, in a fresh process.

    python bench/peers/run_imagehash.py FOLDER OUT_DIR
"""

import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


def main() -> None:
    folder, out = Path(sys.argv[1]), Path(sys.argv[2])
    started = time.perf_counter()
    import imagehash
    from PIL import Image

    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES)
    bits = []
    for path in paths:
        with Image.open(path) as image:
            bits.append(imagehash.whash(image).hash.flatten())
    finished = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "features.npy", np.array(bits, dtype=np.uint8))
    (out / "result.json").write_text(json.dumps({
        "paths": [str(p) for p in paths], "total_s": finished - started,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "metric": "hamming",
        "notes": "whash (Haar wavelet, 64 bits)"}))


if __name__ == "__main__":
    main()
