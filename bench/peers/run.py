"""Our engine against the tools users would otherwise pick, on the same folders, in one run.

    bench/peers/setup.sh bench/out/peers && .venv/bin/python bench/peers/run.py   # or: make bench-peers

Every tool runs in its own fresh process (its own venv for the peers), one after another,
so times and peak RSS are comparable within this run; the table reports ratios ours/peer
because absolute times on these machines are noisy. Quality is measured here, the same
way for every tool, on ../shared/data/dtd10: P@10 with the tool's own metric, and NMI/ARI
of its clustering against the class folders. The table replaces the section between the
markers in docs/benchmarks.md (bench/report.py; --doc, --no-doc).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))
from common import OUT, render_folder  # noqa: E402
from report import Report, add_arguments  # noqa: E402

from organizer.analysis.evaluate import clustering_metrics, folder_labels, retrieval_metrics  # noqa: E402

PEERS = OUT / "peers"
DTD = ROOT.parent / "shared" / "data" / "dtd10"
#: A peer that takes longer than this on a folder is reported as not finishing; ours takes about
#: two minutes on the 10,000-image folder, and the whole run must stay under 30 minutes.
TIMEOUT_S = 300

# (name, venv, script, extra arguments)
TOOLS = [
    ("ours", None, "run_ours.py", []),
    ("clustimage pca", "clustimage", "run_clustimage.py", ["pca"]),
    ("clustimage hog", "clustimage", "run_clustimage.py", ["hog"]),
    ("imagededup cnn", "imagededup", "run_imagededup.py", ["cnn"]),
    ("imagededup phash", "imagededup", "run_imagededup.py", ["phash"]),
    ("imagehash whash", "imagehash", "run_imagehash.py", []),
]


def run_tool(name: str, venv: str | None, script: str, extra: list[str], folder: Path, out: Path) -> dict:
    python = sys.executable if venv is None else str(PEERS / f"venv-{venv}" / "bin" / "python")
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(os.cpu_count()))}
    started = time.perf_counter()
    try:
        done = subprocess.run([python, str(HERE / script), str(folder), str(out), *extra], capture_output=True,
                              text=True, timeout=TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish in {TIMEOUT_S} s"}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1][:160]}
    result = json.loads((out / "result.json").read_text())
    result["wall_s"] = time.perf_counter() - started
    return result


def precision_at_10(features: np.ndarray, labels: np.ndarray, metric: str) -> float:
    if metric == "cosine":
        return retrieval_metrics(features, labels)["p_at_k"]
    x = features.astype(np.float32)
    if metric == "hamming":
        distance = (x[:, None, :] != x[None, :, :]).sum(axis=2).astype(np.float32)
    else:
        squared = (x * x).sum(axis=1)
        distance = squared[:, None] + squared[None, :] - 2 * x @ x.T
    np.fill_diagonal(distance, np.inf)
    rng = np.random.default_rng(0)  # hash distances tie often: break ties at random, not by file order
    order = np.lexsort((rng.random(distance.shape), distance), axis=1)[:, :10]
    return float((labels[order] == labels[:, None]).mean())


def quality(folder: Path, out: Path, result: dict) -> dict:
    paths = [Path(p) for p in result["paths"]]
    labels = np.asarray(folder_labels(folder, paths))
    scores = {}
    if result.get("quality_valid", True):
        scores["p_at_10"] = precision_at_10(np.load(out / "features.npy"), labels, result["metric"])
        if (out / "clusters.npy").exists():
            scores.update(clustering_metrics(labels, np.load(out / "clusters.npy")))
    return scores


def table(rows: list[dict]) -> str:
    ours = {(r["dataset"]): r for r in rows if r["tool"] == "ours" and "error" not in r}
    lines = ["| data | tool | time (s) | ours / peer time | peak RSS (MB) | P@10 | NMI | ARI | notes |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        base = ours.get(r["dataset"])
        if "error" in r:
            # A peer that ran out of time took longer than the limit: the ratio is at most this.
            timed_out = base is not None and "finish" in r["error"]
            time_cell, ratio_cell = ((f"> {TIMEOUT_S}", f"< {base['total_s'] / TIMEOUT_S:.2f}") if timed_out
                                     else ("–", "–"))
            lines.append(f"| {r['dataset']} | {r['tool']} | {time_cell} | {ratio_cell} | – | – | – | – | "
                         f"{r['error']} |")
            continue
        ratio = "1" if r["tool"] == "ours" else (f"{base['total_s'] / r['total_s']:.2f}" if base else "–")
        q = r.get("quality", {})
        cell = (lambda key: f"{q[key]:.3f}" if key in q else "–")
        lines.append(f"| {r['dataset']} | {r['tool']} | {r['total_s']:.1f} | {ratio} | {r['peak_rss_mb']:.0f} | "
                     f"{cell('p_at_10')} | {cell('nmi')} | {cell('ari')} | {r['notes']} |")
    return "\n".join(lines)


def encoding_ratio(rows: list[dict]) -> list[str]:
    """The target: our feature extraction against imagededup's CNN encoding, same images."""
    notes = []
    for dataset in sorted({r["dataset"] for r in rows}):
        ours = next((r for r in rows if r["dataset"] == dataset and r["tool"] == "ours" and "error" not in r), None)
        cnn = next((r for r in rows if r["dataset"] == dataset and r["tool"] == "imagededup cnn"
                    and "error" not in r), None)
        if ours and cnn:
            notes.append(f"- {dataset}: our scan + embedding {ours['features_s']:.1f} s, imagededup's CNN encoding "
                         f"{cnn['features_s']:.1f} s: ours is **{cnn['features_s'] / ours['features_s']:.2f}×** "
                         f"as fast (target 4×).")
    return notes


def median_run(runs: list[dict]) -> dict:
    """The run of median total time among a tool's ``runs``, or the first failure."""
    failed = [run for run in runs if "error" in run]
    if failed:
        return failed[0]
    return sorted(runs, key=lambda run: run["total_s"])[len(runs) // 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tools", nargs="*", default=[name for name, *_ in TOOLS],
                        choices=[name for name, *_ in TOOLS], help="ours always runs")
    parser.add_argument("--rounds", type=int, default=1,
                        help="runs of each tool, interleaved, the median kept: on a busy machine the load then "
                             "slows every tool alike")
    add_arguments(parser)
    args = parser.parse_args()
    report = Report("peers", "Against other tools (`make bench-peers`)", args)
    if not DTD.is_dir():
        print(f"the evaluation data is not at {DTD}", file=sys.stderr)
        return 2
    tools = [tool for tool in TOOLS if tool[0] == "ours" or tool[0] in args.tools]
    datasets = [("dtd10", DTD), ("samples 10k", render_folder(10_000))]
    rows = []
    for dataset, folder in datasets:
        runs: dict[str, list[dict]] = {name: [] for name, *_ in tools}
        for _ in range(args.rounds):
            for name, venv, script, extra in tools:
                out = PEERS / "runs" / dataset.replace(" ", "_") / name.replace(" ", "_")
                result = run_tool(name, venv, script, extra, folder, out)
                if "error" not in result and dataset == "dtd10":
                    result["quality"] = quality(folder, out, result)
                runs[name].append(result)
                summary = result.get("error") or f"{result['total_s']:.1f} s, {result['peak_rss_mb']:.0f} MB"
                print(f"{dataset:12} {name:18} {summary} {result.get('quality', '')}", flush=True)
        rows += [{"dataset": dataset, "tool": name, **median_run(results)} for name, results in runs.items()]
    report.print(f"Every tool in a fresh process, one at a time, {args.rounds} interleaved round"
                 f"{'s' * (args.rounds != 1)} (the median run of each). The ratio is our time over the peer's: "
                 "below 1, ours is faster.")
    report.print()
    report.print(table(rows))
    report.print()
    report.print("Our feature extraction against imagededup's CNN encoding:")
    report.print()
    report.print("\n".join(encoding_ratio(rows)))
    report.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
