"""Peak memory of one full-size decode at the pixel limit, per source format.

    .venv/bin/python bench/decode_memory.py [--side 14000]

Writes a side × side 16-bit greyscale, 16-bit RGB and 16-bit RGBA PNG, and an 8-bit RGB
PNG, into bench/out (once; big files take a while). Each is then read, and read and
decoded, in fresh processes under GNU time (``/usr/bin/time -v``); the difference of
their maximum resident sets is what the decode adds to the file's bytes, reported in GB
and in bytes per pixel.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
from common import OUT

READ = "import sys; from organizer.io import images; data = images.read_bytes(sys.argv[1])"
DECODE = READ + "; images.decode(data)"

#: name -> channels of a uint16 PNG (OpenCV writes 16-bit colour PNGs; PIL writes only grey).
KINDS = {"grey16": 1, "rgb16": 3, "rgba16": 4, "rgb8": 3}


def write(path: Path, side: int, channels: int, wide: bool) -> None:
    # Smooth ramps with a little texture: compresses well, so the file is quick to write and small.
    ramp = np.add.outer(np.arange(side, dtype=np.uint32) * 3, np.arange(side, dtype=np.uint32) * 5)
    top = 65535 if wide else 255
    planes = [((ramp * (7 + 2 * c)) % (top + 1)).astype(np.uint16 if wide else np.uint8) for c in range(channels)]
    del ramp
    pixels = planes[0] if channels == 1 else np.dstack(planes)
    del planes
    if not cv2.imwrite(str(path), pixels, [cv2.IMWRITE_PNG_COMPRESSION, 1]):
        raise SystemExit(f"could not write {path}")


def max_rss_kb(code: str, path: Path) -> int:
    result = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-c", code, str(path)],
                            capture_output=True, text=True, check=True)
    return int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=14000)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"{'source':8s} {'file MB':>8s} {'decode GB':>10s} {'B/px':>6s}")
    for name, channels in KINDS.items():
        path = OUT / f"decode_{name}_{args.side}.png"
        if not path.exists():
            write(path, args.side, channels, wide=name.endswith("16"))
        rise = (max_rss_kb(DECODE, path) - max_rss_kb(READ, path)) * 1024
        print(f"{name:8s} {path.stat().st_size / 1e6:8.0f} {rise / 1e9:10.2f} {rise / args.side ** 2:6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
