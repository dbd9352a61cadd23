"""Embedding throughput: inference alone against the whole scan, in one run.

For each folder it measures, with the default extractor:
  inference   img/s of the model alone on views decoded beforehand (the ceiling);
  end-to-end  img/s of embed_folder on a fresh cache: scan, read, hash, decode, resize,
              infer, write to SQLite, with decoding overlapped with inference;
  rescan      seconds for embed_folder on the unchanged folder (stat only).
Timing both in the same process keeps their ratio meaningful on a noisy machine.

    .venv/bin/python bench/embed.py                      # dtd10 and 10,000 rendered JPEGs
    .venv/bin/python bench/embed.py --precision fp32     # the same without bf16 autocast
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

from common import render_folder
from report import Report, add_arguments

from organizer.embedding import create_embedder, embed_inputs, make_spec
from organizer.embedding.embed import auto_batch_size, embed_folder
from organizer.embedding.runtime import choose
from organizer.io import images, preprocess
from organizer.io.scan import scan_folder
from organizer.storage.cache import Cache

HERE = Path(__file__).resolve().parent


def inference_only(embedder, spec, folder: Path, sample: int, batch: int) -> float:
    files = scan_folder(folder).files
    files = files[:: max(1, len(files) // sample)][:sample]  # spread over the folder, like the scan
    inputs = [preprocess.network_inputs(images.load(f.path, spec.largest_input), spec.size, spec.policy,
                                        spec.multiscale, spec.centre_view) for f in files]
    embed_inputs(embedder, inputs[:batch])  # warm-up: first-call allocations and kernel choice
    started = time.perf_counter()
    for i in range(0, len(inputs), batch):
        embed_inputs(embedder, inputs[i : i + batch])
    return len(inputs) / (time.perf_counter() - started)


def measure(folder: Path, precision: str, sample: int) -> dict:
    spec = make_spec()
    runtime = choose("auto", precision)
    embedder = create_embedder(spec, runtime)
    batch = auto_batch_size(runtime.device, spec.size)
    infer = inference_only(embedder, spec, folder, sample, batch)
    with tempfile.TemporaryDirectory() as tmp, Cache(Path(tmp) / "bench.sqlite") as cache:
        report = embed_folder(folder, spec, cache, make_embedder=lambda: embedder)
        end_to_end = report.embedded / report.seconds
        started = time.perf_counter()
        rescan = embed_folder(folder, spec, cache, make_embedder=lambda: embedder)
        rescan_s = time.perf_counter() - started
        assert rescan.embedded == 0
    return {"folder": folder.name, "images": len(report.paths), "runtime": runtime.describe(),
            "inference": infer, "end_to_end": end_to_end, "ratio": end_to_end / infer, "rescan_s": rescan_s}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dtd", type=Path, default=HERE.parent.parent / "shared" / "data" / "dtd10")
    parser.add_argument("--count", type=int, default=10_000, help="size of the rendered sample folder (0: skip)")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"))
    parser.add_argument("--sample", type=int, default=512, help="images for the inference-only timing")
    add_arguments(parser)
    args = parser.parse_args()
    report = Report("embed", "Embedding throughput (`bench/embed.py`)", args)
    import torch

    print(f"# {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}, python {platform.python_version()}")
    folders = [args.dtd] if args.dtd.is_dir() else []
    if args.count:
        folders.append(render_folder(args.count))
    report.print("| folder | images | runtime | inference img/s | end-to-end img/s | end-to-end / inference | "
                 "unchanged rescan s |")
    report.print("|---|---|---|---|---|---|---|")
    for folder in folders:
        r = measure(folder, args.precision, args.sample)
        report.print(f"| {r['folder']} | {r['images']} | {r['runtime']} | {r['inference']:.1f} | "
                     f"{r['end_to_end']:.1f} | {r['ratio']:.2f} | {r['rescan_s']:.2f} |")
    report.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
