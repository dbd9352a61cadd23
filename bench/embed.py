"""Embedding throughput: inference alone against the whole scan, in one run.

For each folder it measures, with the default extractor:
  inference   img/s of the model alone on views decoded beforehand (the ceiling);
  end-to-end  img/s of embed_folder on a fresh cache: scan, read, hash, decode, resize,
              infer, write to SQLite, with decoding overlapped with inference;
  rescan      seconds for embed_folder on the unchanged folder (stat only).
Timing both in the same process keeps their ratio meaningful on a noisy machine. With several
--decoding pools (or --rounds above 1), each round times inference, then each pool end to end
(every other round in reverse order), and each ratio is taken within its round: the table gives
the median and the range.

    .venv/bin/python bench/embed.py                      # dtd10 and 10,000 rendered JPEGs
    .venv/bin/python bench/embed.py --precision fp32     # the same without bf16 autocast
    .venv/bin/python bench/embed.py --count 0 --photos 10000 --decoding threads:4 processes:1 --rounds 2
    .venv/bin/python bench/embed.py --count 0 --batches 8 16 32 64   # inference alone per batch size
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import photo_folder, render_folder
from report import Report, add_arguments

from organizer.embedding import create_embedder, embed_inputs, make_spec
from organizer.embedding.embed import auto_batch_size, embed_folder, view_plan
from organizer.embedding.runtime import choose
from organizer.folder.extractor import with_knot_choice
from organizer.io.decoding import DecodePool
from organizer.io import images, preprocess
from organizer.io.scan import hash_bytes, scan_folder
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


def stage_times(embedder, spec, folder: Path, sample: int, batch: int) -> dict[str, float]:
    """Milliseconds per image of each step on one thread, over ``sample`` files spread over the folder."""
    files = scan_folder(folder).files
    files = files[:: max(1, len(files) // sample)][:sample]
    plan, spent, inputs = view_plan(spec), dict.fromkeys(("read", "hash", "decode", "views", "inference"), 0.0), []
    for entry in files:
        started = time.perf_counter()
        data = images.read_bytes(entry.path)
        read = time.perf_counter()
        hash_bytes(data)
        hashed = time.perf_counter()
        image = images.decode(data, plan.min_side)
        decoded = time.perf_counter()
        inputs.append(plan.views(image))
        for step, (begin, end) in zip(spent, ((started, read), (read, hashed), (hashed, decoded),
                                              (decoded, time.perf_counter()))):
            spent[step] += end - begin
    embed_inputs(embedder, inputs[:batch])  # warm-up
    started = time.perf_counter()
    for i in range(0, len(inputs), batch):
        embed_inputs(embedder, inputs[i : i + batch])
    spent["inference"] = time.perf_counter() - started
    return {step: 1000 * seconds / len(files) for step, seconds in spent.items()}


def end_to_end(folder: Path, spec, embedder, decoding: str) -> tuple[int, float, float]:
    """Images, img/s and the unchanged rescan's seconds of embed_folder on a fresh cache with ``decoding``."""
    kind, _, workers = decoding.partition(":")
    pool = {} if kind == "auto" else {"decoding": DecodePool(kind, int(workers))}
    with tempfile.TemporaryDirectory() as tmp, Cache(Path(tmp) / "bench.sqlite") as cache:
        report = embed_folder(folder, spec, cache, make_embedder=lambda: embedder, **pool)
        started = time.perf_counter()
        rescan = embed_folder(folder, spec, cache, make_embedder=lambda: embedder)
        rescan_s = time.perf_counter() - started
        assert rescan.embedded == 0
    return len(report.paths), report.embedded / report.seconds, rescan_s


def default_network(precision: str = "auto", folder: Path | None = None):
    """The default extractor's spec (completed for ``folder`` as the app completes it: its knot grids melted where
    most of its images are knot grids), the runtime chosen for it, its embedder and the batch size a scan gives it."""
    spec = make_spec()
    if folder is not None:
        with tempfile.TemporaryDirectory() as tmp, Cache(Path(tmp) / "choice.sqlite") as cache:
            spec = with_knot_choice(spec, folder, cache)
    runtime = choose("auto", precision)
    return spec, runtime, create_embedder(spec, runtime), auto_batch_size(runtime.device, spec.size)


def measure(folder: Path, precision: str, sample: int, decodings: list[str], rounds: int,
            unmelted: bool = False) -> list[dict]:
    """One row per decoding pool: medians and ranges over ``rounds`` of inference, then each pool; with
    ``unmelted``, the folder's knot grids are left as they are whatever it would choose."""
    spec, runtime, embedder, batch = default_network(precision, None if unmelted else folder)
    runs: dict[str, list[tuple[float, float, float]]] = {d: [] for d in decodings}
    images_seen = 0
    for round_ in range(rounds):
        infer = inference_only(embedder, spec, folder, sample, batch)
        # Every other round in reverse (A B C, C B A): a load that rises or falls through a run
        # then weighs on every pool alike.
        for decoding in decodings if round_ % 2 == 0 else decodings[::-1]:
            images_seen, rate, rescan_s = end_to_end(folder, spec, embedder, decoding)
            runs[decoding].append((infer, rate, rescan_s))
            print(f"# {folder.name} {decoding}: {rate:.1f} img/s, inference {infer:.1f}", flush=True)
    rows = []
    for decoding, measured in runs.items():
        ratios = [rate / infer for infer, rate, _ in measured]
        rows.append({"folder": folder.name, "images": images_seen, "runtime": runtime.describe(),
                     "decoding": decoding, "inference": statistics.median(m[0] for m in measured),
                     "end_to_end": statistics.median(m[1] for m in measured), "ratio": statistics.median(ratios),
                     "ratios": (min(ratios), max(ratios)), "rescan_s": statistics.median(m[2] for m in measured)})
    return rows


def batch_sweep(folder: Path, precision: str, sample: int, batches: list[int], rounds: int) -> dict[int, float]:
    """Inference img/s per batch size (median of ``rounds``, the sizes interleaved within each)."""
    spec = make_spec()
    embedder = create_embedder(spec, choose("auto", precision))
    rates: dict[int, list[float]] = {b: [] for b in batches}
    for _ in range(rounds):
        for size in batches:
            rates[size].append(inference_only(embedder, spec, folder, sample, size))
    return {size: statistics.median(values) for size, values in rates.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dtd", type=Path, default=HERE.parent.parent / "shared" / "data" / "dtd10")
    parser.add_argument("--count", type=int, default=10_000, help="size of the rendered sample folder (0: skip)")
    parser.add_argument("--size", type=int, default=512, help="side of the rendered samples, px")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"))
    parser.add_argument("--sample", type=int, default=512, help="images for the inference-only timing")
    parser.add_argument("--photos", type=int, default=0,
                        help="also a folder of this many 1-3 MP JPEGs made from the dtd10 photos (0: none)")
    parser.add_argument("--decoding", nargs="+", default=["auto"],
                        help="decoding pools to compare, as KIND:N (threads:4, processes:2), or auto (the default's choice)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of inference and every pool, interleaved")
    parser.add_argument("--unmelted", action="store_true",
                        help="leave knot grids unmelted, as the default did before a folder could choose to melt them")
    parser.add_argument("--stages", action="store_true",
                        help="instead: milliseconds per image of each step, one thread, on --sample files per folder")
    parser.add_argument("--batches", type=int, nargs="*", default=[],
                        help="instead: inference img/s on dtd10 at each of these batch sizes, interleaved")
    add_arguments(parser)
    args = parser.parse_args()
    # A comparison of pools or of batch sizes goes into a block of its own, not the default run's.
    name = ("embed-batches" if args.batches else "embed-stages" if args.stages
            else "embed" if args.decoding == ["auto"] else "embed-decoding")
    report = Report(name, "Embedding throughput (`bench/embed.py`)", args)
    import torch

    print(f"# {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}, python {platform.python_version()}")
    if args.batches:
        report.print(f"Inference alone on {args.sample} dtd10 photos, median of {args.rounds} rounds:\n")
        report.print("| batch (views) | inference img/s |")
        report.print("|---|---|")
        for size, rate in batch_sweep(args.dtd, args.precision, args.sample, args.batches, args.rounds).items():
            report.print(f"| {size} | {rate:.1f} |")
        report.write()
        return 0
    folders = [args.dtd] if args.dtd.is_dir() else []
    if args.count:
        folders.append(render_folder(args.count, args.size))
    if args.photos:
        folders.append(photo_folder(args.dtd, args.photos))
    if args.stages:
        _, runtime, embedder, batch = default_network(args.precision)
        report.print(f"Milliseconds per image, one thread, {args.sample} files per folder ({runtime.describe()}):\n")
        report.print("| folder | read | hash | decode | views | inference (all cores) |")
        report.print("|---|---|---|---|---|---|")
        for folder in folders:
            spec = default_network(args.precision, None if args.unmelted else folder)[0]
            ms = stage_times(embedder, spec, folder, args.sample, batch)
            report.print(f"| {folder.name} | " + " | ".join(f"{value:.2f}" for value in ms.values()) + " |")
        report.write()
        return 0
    report.print("| folder | images | runtime | decoding | inference img/s | end-to-end img/s | "
                 "end-to-end / inference | unchanged rescan s |")
    report.print("|---|---|---|---|---|---|---|---|")
    for folder in folders:
        for r in measure(folder, args.precision, args.sample, args.decoding, args.rounds, args.unmelted):
            spread = f" ({r['ratios'][0]:.2f}–{r['ratios'][1]:.2f})" if args.rounds > 1 else ""
            report.print(f"| {r['folder']} | {r['images']} | {r['runtime']} | {r['decoding']} | {r['inference']:.1f} | "
                         f"{r['end_to_end']:.1f} | {r['ratio']:.2f}{spread} | {r['rescan_s']:.2f} |")
    report.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
