"""Inference runtimes side by side: torch against the exported taps on ONNX Runtime and OpenVINO.

Every candidate embeds the same dtd10 photos, decoded once beforehand so that decoding is
out of it, with the default extractor (taps and pooling included), at each batch size
given, the table keeping the fastest. Timed passes are interleaved round by round, so a
busy neighbour on the shared machine slows every candidate alike. Each candidate's final
vectors are compared with torch fp32's by cosine; where the lowest falls under 0.999, P@10
on all of dtd10 says what that costs. One more candidate pools OpenVINO's maps with torch, as
the exported path did before its pooling moved to numpy (embedding/torchless.py).

    .venv/bin/python bench/runtimes.py                    # 300 photos, 5 rounds
    .venv/bin/python bench/runtimes.py --images 120 --rounds 1
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from report import Report, add_arguments

from organizer.analysis.evaluate import retrieval_metrics
from organizer.embedding import cnn, create_embedder, embed_inputs, make_spec
from organizer.embedding.runtime import choose
from organizer.embedding.torchless import ExportedEmbedder
from organizer.io import images, preprocess
from organizer.io.scan import scan_folder

HERE = Path(__file__).resolve().parent
#: (label, backend, precision). torch bf16 is today's CPU default on CPUs with native bf16.
CANDIDATES = (("torch fp32", "torch", "fp32"), ("torch bf16 channels_last", "torch", "bf16"),
              ("ONNX Runtime fp32", "onnx", "fp32"), ("OpenVINO fp32", "openvino", "fp32"),
              ("OpenVINO bf16", "openvino", "bf16"))
#: The agreement with torch fp32 under which a runtime's vectors count as different (issue 19).
SAME_VECTORS = 0.999
#: OpenVINO's maps pooled by torch, as before embedding/torchless.py pooled them in numpy: what the bundle
#: without torch would cost, if anything.
TORCH_POOLED = "OpenVINO fp32, torch pooling"


class TorchPooled(ExportedEmbedder):
    def _describe(self, batch: np.ndarray) -> np.ndarray:
        import torch

        maps = [torch.from_numpy(m) for m in self.taps(np.ascontiguousarray(batch, dtype=np.float32))]
        return cnn.pool_maps(maps, self.spec.mode, self.spec.pooling, self.spec.gram).numpy()


def decode(folder: Path, spec) -> tuple[list[dict[int, np.ndarray]], list[str]]:
    files = scan_folder(folder).files
    inputs = [preprocess.network_inputs(images.load(f.path, spec.largest_input), spec.size, spec.policy,
                                        spec.multiscale) for f in files]
    return inputs, [f.path.parent.name for f in files]


def embed_all(embedder, inputs: list, batch: int) -> tuple[np.ndarray, float]:
    started = time.perf_counter()
    vectors = np.concatenate([embed_inputs(embedder, inputs[i:i + batch]) for i in range(0, len(inputs), batch)])
    return vectors, time.perf_counter() - started


def _ratios(seconds: dict, candidate: tuple, base: tuple) -> str:
    """The candidate's speed over the base's, round by round (a busy neighbour slows both in one
    round): the median, and the range when there are several rounds."""
    ratios = np.asarray(seconds[base]) / np.asarray(seconds[candidate])
    spread = f" ({ratios.min():.2f}–{ratios.max():.2f})" if len(ratios) > 1 else ""
    return f"{np.median(ratios):.2f}{spread}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dtd", type=Path, default=HERE.parent.parent / "shared" / "data" / "dtd10")
    parser.add_argument("--images", type=int, default=300, help="photos in the timed passes, spread over dtd10")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timed passes per candidate")
    parser.add_argument("--batches", type=int, nargs="+", default=[8, 32], help="batch sizes (views) to try")
    add_arguments(parser)
    args = parser.parse_args()
    report = Report("runtimes", "Inference runtimes (`bench/runtimes.py`)", args)
    import torch

    # A fresh models folder: the first candidate of each backend pays the export, reported apart.
    os.environ["ORGANIZER_CACHE_DIR"] = tempfile.mkdtemp(prefix="runtimes-")
    spec = make_spec()
    all_inputs, labels = decode(args.dtd, spec)
    step = max(1, len(all_inputs) // args.images)
    timed = all_inputs[::step][:args.images]
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads), python {platform.python_version()}; {len(timed)} dtd10 photos, "
          f"{args.rounds} interleaved rounds")
    embedders, setup = {}, {}
    for label, backend, precision in CANDIDATES:
        started = time.perf_counter()
        embedders[label] = create_embedder(spec, choose("cpu", precision, backend))
        setup[label] = time.perf_counter() - started
        embed_all(embedders[label], timed[:8], 8)  # warm-up: first-call allocations, kernel choice
        print(f"# {label}: {embedders[label].runtime.describe()}, set-up {setup[label]:.1f} s")
    numpy_pooled = embedders["OpenVINO fp32"]
    embedders[TORCH_POOLED] = TorchPooled(spec, numpy_pooled.runtime, numpy_pooled.taps)
    setup[TORCH_POOLED] = 0.0
    # Every candidate at every batch size, interleaved: each round runs them all once in turn.
    seconds = {(label, batch): [] for label in embedders for batch in args.batches}
    vectors = {}
    for _ in range(args.rounds):
        for label, batch in seconds:
            # A pause first: the previous runtime's worker threads spin for a while after their
            # last task, and would slow this one.
            time.sleep(0.5)
            vectors[label], took = embed_all(embedders[label], timed, batch)
            seconds[label, batch].append(took)
    rates = {key: len(timed) / np.median(took) for key, took in seconds.items()}
    batches = {label: max(args.batches, key=lambda b, label=label: rates[label, b]) for label in embedders}
    report.print(f"{len(timed)} dtd10 photos, {args.rounds} interleaved rounds; img/s by batch size: " + "; ".join(
        f"{label} " + ", ".join(f"{b}: {rates[label, b]:.1f}" for b in args.batches) for label in embedders))
    reference = vectors["torch fp32"]
    report.print()
    report.print("| runtime | batch | img/s (median) | × torch bf16 | × torch fp32 | cosine to fp32 min | mean | "
                 "set-up s |")
    report.print("|---|---|---|---|---|---|---|---|")
    worse = []
    for label in embedders:
        cosine = (vectors[label] * reference).sum(axis=1)
        if cosine.min() < SAME_VECTORS:
            worse.append(label)
        ratios = [_ratios(seconds, (label, batches[label]), (base, batches[base]))
                  for base in ("torch bf16 channels_last", "torch fp32")]
        report.print(f"| {label} | {batches[label]} | {rates[label, batches[label]]:.1f} | {ratios[0]} | {ratios[1]} | "
                     f"{cosine.min():.5f} | {cosine.mean():.5f} | {setup[label]:.1f} |")
    if worse:
        report.print(f"\nP@10 on all of dtd10 ({len(all_inputs)} photos) where the cosine fell under {SAME_VECTORS}:\n")
        for label in ("torch fp32", *worse):
            scores = retrieval_metrics(embed_all(embedders[label], all_inputs, batches[label])[0], labels, k=10)
            report.print(f"- {label}: P@10 {scores['p_at_k']:.4f}, mAP@R {scores['map_at_r']:.4f}")
    report.write()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
