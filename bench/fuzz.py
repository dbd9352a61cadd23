"""Decoder fuzzing for a long run: the harness of tests/robustness/test_fuzz.py (same seeds,
mutations and contract), driven by a plain random generator for a fixed time.

The contract for every mutated file: ``images.decode`` gives an RGB image whose
``preprocess.make_views`` have the right shape, or raises ``ImageError`` with a readable
reason. Anything else is a failure: it is counted, its first input is saved under
bench/out/fuzz/, and the run ends with exit status 1.

    .venv/bin/python bench/fuzz.py                      # 600 s
    .venv/bin/python bench/fuzz.py --seconds 120 --seed 3
    .venv/bin/python bench/fuzz.py --replay 3:41235     # one example again, with its traceback

Example ``i`` of seed ``s`` is generated from the string "s:i" alone, so every example can be
replayed. libtiff's warnings on stderr are silenced during the run. Single process: the
figure is examples per second on one core.
"""

from __future__ import annotations

import argparse
import collections
import faulthandler
import os
import platform
import random
import sys
import threading
import time
import traceback
from pathlib import Path

import PIL

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from robustness.test_fuzz import FUZZ_MAX_PIXELS, HEADER_SPAN, INTERESTING, VIEW_SIZE, check_decode, mutate, seeds  # noqa: E402

from organizer.io import images, preprocess  # noqa: E402
from organizer.io.images import ImageError  # noqa: E402

OPERATIONS = ("flip", "truncate", "insert", "delete", "field", "copy")


def example(seed: int, index: int) -> tuple[str, list, bool, int, str]:
    """The seed file, mutations, CRC repair, min_side and policy of one example."""
    rng = random.Random(f"{seed}:{index}")
    name = rng.choice(sorted(seeds()))
    ops = []
    for _ in range(rng.randint(1, 4)):
        kind, pos = rng.choice(OPERATIONS), rng.randrange(1 << 16)
        if kind == "flip":
            ops.append((kind, pos, rng.randrange(8)))
        elif kind == "truncate":
            ops.append((kind, pos))
        elif kind == "insert":
            ops.append((kind, pos, rng.randbytes(rng.randint(1, 16))))
        elif kind == "delete":
            ops.append((kind, pos, rng.randint(1, 64)))
        elif kind == "field":
            value = rng.choice(INTERESTING) if rng.random() < 0.5 else rng.randrange(1 << 32)
            ops.append((kind, rng.randrange(HEADER_SPAN + 1), rng.choice((1, 2, 4)), value, rng.random() < 0.5))
        else:
            ops.append((kind, pos, rng.randrange(1 << 16), rng.randint(1, 64)))
    return name, ops, rng.random() < 0.5, rng.choice((0, VIEW_SIZE)), rng.choice(preprocess.POLICIES)


def run_one(seed: int, index: int) -> tuple[str, str]:
    name, ops, fix_crc, min_side, policy = example(seed, index)
    return name, check_decode(mutate(seeds()[name], ops, fix_crc), min_side, policy)


def replay(spec: str) -> int:
    seed, index = (int(part) for part in spec.split(":"))
    name, ops, fix_crc, min_side, policy = example(seed, index)
    print(f"seed file {name}, ops {ops}, fix_png_crc={fix_crc}, min_side={min_side}, policy={policy}")
    data = mutate(seeds()[name], ops, fix_crc)
    try:
        print(f"decoded: {images.decode(data, min_side).size}")
    except ImageError as exc:
        print(f"refused: {exc.reason}")
    print("contract kept:", check_decode(data, min_side, policy))  # raises, with its traceback, if not
    return 0


def _silence_native_stderr():
    """Send fd 2 (libtiff, libjpeg) to /dev/null; return a stream on the real stderr."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    return os.fdopen(saved, "w", buffering=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-megapixels", type=float, default=FUZZ_MAX_PIXELS / 1e6,
                        help="the decoder's pixel limit during the run (the test's; 0: the app's own)")
    parser.add_argument("--hang", type=float, default=30.0, help="seconds one example may take before the run stops")
    parser.add_argument("--out", type=Path, default=HERE / "out" / "fuzz")
    parser.add_argument("--replay", metavar="SEED:INDEX", help="run one example and show its traceback")
    args = parser.parse_args()
    if args.max_megapixels > 0:
        images.MAX_PIXELS = int(args.max_megapixels * 1e6)
    if args.replay:
        return replay(args.replay)

    err = _silence_native_stderr()
    faulthandler.enable(file=err)
    current = [0, time.perf_counter()]  # index, start of the example in flight

    def watchdog():
        while True:
            time.sleep(1.0)
            index, started = current
            if time.perf_counter() - started > args.hang:
                err.write(f"HANG: example {args.seed}:{index} has run {args.hang:.0f} s; "
                          f"replay with --replay {args.seed}:{index}\n")
                faulthandler.dump_traceback(file=err)
                os._exit(2)

    threading.Thread(target=watchdog, daemon=True).start()
    outcomes: collections.Counter[str] = collections.Counter()
    per_seed: collections.Counter[str] = collections.Counter()
    failures: dict[str, tuple[str, int]] = {}
    failure_count = 0
    slowest: list[tuple[float, int, str]] = []
    started = last_report = time.perf_counter()
    index = 0
    while (now := time.perf_counter()) - started < args.seconds:
        current[:] = [index, now]
        try:
            name, outcome = run_one(args.seed, index)
        except Exception as exc:  # noqa: BLE001 - every escape is a finding
            name = example(args.seed, index)[0]
            outcome = "failed"
            failure_count += 1
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            first_line = (str(exc).splitlines() or [""])[0]
            key = f"{type(exc).__name__}: {first_line[:100]} at {Path(frame.filename).name}:{frame.lineno}"
            if key not in failures:
                failures[key] = (name, index)
                args.out.mkdir(parents=True, exist_ok=True)
                _, ops, fix_crc, _, _ = example(args.seed, index)
                (args.out / f"failure-{args.seed}-{index}-{name}.bin").write_bytes(
                    mutate(seeds()[name], ops, fix_crc))
                err.write(f"FAILURE {key} (seed file {name}; --replay {args.seed}:{index})\n")
        elapsed = time.perf_counter() - now
        outcomes[outcome] += 1
        per_seed[name] += 1
        if len(slowest) < 5 or elapsed > slowest[0][0]:
            slowest = sorted(slowest + [(elapsed, index, name)])[-5:]
        index += 1
        if now - last_report >= 30:
            last_report = now
            err.write(f"# {now - started:5.0f} s  {index} examples  {index / (now - started):.0f}/s  "
                      f"{failure_count} failures\n")

    seconds = time.perf_counter() - started
    total = sum(outcomes.values())
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"Pillow {PIL.__version__}, pixel limit {images.MAX_PIXELS / 1e6:g} MP, seed {args.seed}")
    print(f"examples: {total} in {seconds:.1f} s = {total / seconds:.0f} examples/s")
    for outcome in ("decoded", "refused", "failed"):
        print(f"  {outcome:8s} {outcomes[outcome]:9d}  {100 * outcomes[outcome] / max(total, 1):5.1f} %")
    print(f"seed files: {len(per_seed)} ({', '.join(sorted(per_seed))})")
    print("slowest examples: " + ", ".join(f"{name} {t * 1000:.0f} ms (--replay {args.seed}:{i})"
                                           for t, i, name in reversed(slowest)))
    print(f"failures: {failure_count} ({len(failures)} distinct)")
    for key, (name, where) in failures.items():
        print(f"  {key}  [seed file {name}; --replay {args.seed}:{where}]")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
