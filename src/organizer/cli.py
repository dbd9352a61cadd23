"""The command-line face of the engine: progress on stderr, results on stdout."""

from __future__ import annotations

import argparse
import functools
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from . import __version__
from .core import images
from .core.embed import EmbedReport, embed_file, embed_folder
from .core.features import create_embedder, make_spec
from .core.features.backbones import BACKBONES, DEFAULT_MODEL
from .core.features.registry import MODES
from .core.features.runtime import DEVICES, PRECISIONS, choose
from .core.features.weights import WeightsUnavailable
from .core.index import METRICS
from .core.preprocess import POLICIES
from .core.similarity import find_similar
from .core.tasks import Cancelled
from .storage.cache import Cache, CacheError
from .storage.paths import cache_db_path, user_data_dir


class StderrProgress:
    """One self-updating line on a terminal, a line every few seconds in a log."""

    def __init__(self, label: str):
        self.label = label
        self.tty = sys.stderr.isatty()
        self._last = 0.0

    def __call__(self, done: int, total: int, note: str = "") -> None:
        now = time.monotonic()
        final = done >= total
        if not final and now - self._last < (0.2 if self.tty else 5.0):
            return
        self._last = now
        line = f"{self.label}: {done}/{total} {note}".rstrip()
        if self.tty:
            sys.stderr.write("\r" + line + ("\n" if final else ""))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()


def _add_extractor_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("extractor")
    group.add_argument("--model", default=DEFAULT_MODEL, choices=sorted(BACKBONES))
    group.add_argument("--layers", help="early, mid, late, or module names, comma-separated (default: measured per model)")
    group.add_argument("--mode", default="content", choices=MODES)
    group.add_argument("--size", type=int, help="network input size in pixels (default: the model's)")
    group.add_argument("--policy", default="auto", choices=POLICIES, help="how images are fitted to the input square")
    group.add_argument("--pooling", default="centre", choices=("avg", "centre"),
                       help="centre (default) weights the middle of each view more, for photos of objects; avg weighs all equally")
    group.add_argument("--flip", action="store_true", help="average with the mirrored image")
    group.add_argument("--gram", action="store_true", help="texture mode: add Gram matrices")
    group.add_argument("--multiscale", action="store_true",
                       help="also look at a 2x detail view (better for photos of objects, 5x slower)")
    group.add_argument("--weights", help="a state_dict file instead of the pretrained weights")
    group.add_argument("--device", default="auto", choices=DEVICES)
    group.add_argument("--precision", default="auto", choices=PRECISIONS)
    group.add_argument("--batch-size", type=int)
    parser.add_argument("--cache-beside", action="store_true",
                        help="keep the cache in FOLDER/.pattern-organizer instead of the user cache dir")


def _spec(args):
    return make_spec(args.model, args.layers, args.mode, args.size, args.policy, args.pooling, args.flip,
                     args.gram, args.multiscale, args.weights or "pretrained")


def _run_scan(args):
    """Scan and embed the folder; return the report, its vectors, the spec and the embedder factory."""
    spec = _spec(args)
    folder = Path(args.folder)

    @functools.cache
    def embedder():
        return create_embedder(spec, choose(args.device, args.precision))

    cache = Cache(cache_db_path(folder, args.cache_beside))
    if cache.recovered_from:
        print(f"warning: the cache was damaged; moved aside to {cache.recovered_from}", file=sys.stderr)
    with cache:
        report = embed_folder(folder, spec, cache, make_embedder=embedder, batch_size=args.batch_size,
                              progress=StderrProgress("embedding"))
        vectors = cache.vectors(spec.id, report.hashes)
    return report, vectors, spec, embedder


def _summary(report: EmbedReport) -> dict:
    return {
        "folder": str(report.folder),
        "extractor": report.extractor,
        "images": len(report.paths),
        "embedded": report.embedded,
        "from_cache": report.reused,
        "failed": len(report.failures),
        "seconds": round(report.seconds, 3),
        "images_per_second": round(report.images_per_second, 2),
        "failures": [{"path": str(p), "reason": r} for p, r in report.failures],
    }


def cmd_scan(args) -> int:
    report, *_ = _run_scan(args)
    summary = _summary(report)
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
        return 0
    print(f"{summary['images']} images ready ({summary['embedded']} embedded now, "
          f"{summary['from_cache']} from the cache), {summary['failed']} failed, "
          f"{summary['seconds']:.2f} s, {summary['images_per_second']:.1f} img/s")
    print(f"extractor: {report.extractor}")
    for path, reason in report.failures:
        print(f"  failed: {path}: {reason}")
    return 0


def cmd_embed(args) -> int:
    report, vectors, *_ = _run_scan(args)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part.npz")
    np.savez(tmp, paths=np.array([str(p) for p in report.paths], dtype=str), vectors=vectors.astype(np.float32),
             extractor=np.array(report.extractor))
    tmp.replace(out)
    print(f"wrote {len(report.paths)} vectors of dimension {vectors.shape[1] if len(vectors) else 0} to {out}",
          file=sys.stderr)
    return 0


def cmd_similar(args) -> int:
    report, vectors, spec, embedder = _run_scan(args)
    if not report.paths:
        raise ValueError(f"no usable images in {report.folder}")
    query_path = Path(args.image).absolute()
    if query_path in report.paths:
        query = vectors[report.paths.index(query_path)]
    else:
        query = embed_file(query_path, spec, embedder())
    matches = find_similar(report.paths, vectors, query, args.k, args.metric, exclude=query_path,
                           rerank=args.rerank)
    if args.json:
        print(json.dumps([{"path": str(m.path), "score": round(m.score, 6)} for m in matches], indent=2,
                         ensure_ascii=False))
    else:
        for match in matches:
            print(f"{match.score:9.4f}  {match.path}")
    return 0


def cmd_failures(args) -> int:
    with Cache(cache_db_path(Path(args.folder), args.cache_beside)) as cache:
        failures = cache.failures()
    if args.json:
        print(json.dumps([{"path": f.path, "reason": f.reason} for f in failures], indent=2, ensure_ascii=False))
    else:
        for failure in failures:
            print(f"{failure.path}: {failure.reason}")
        if not failures:
            print("no failures recorded (run `organizer scan FOLDER` first)", file=sys.stderr)
    return 0


def cmd_samples(args) -> int:
    from .samples import write_sample_folder

    folder = Path(args.folder) if args.folder else user_data_dir() / "samples"
    paths = write_sample_folder(folder, per_family=args.per_family, colourways=args.colourways, fmt=args.format)
    print(folder)
    print(f"wrote {len(paths)} sample images", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="organizer", description="Sort pattern images by visual similarity.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    scan = sub.add_parser("scan", help="scan and embed a folder, then print a summary")
    scan.add_argument("folder")
    scan.add_argument("--json", action="store_true")
    _add_extractor_options(scan)
    scan.set_defaults(func=cmd_scan)

    embed = sub.add_parser("embed", help="scan a folder and write its vectors to an .npz file")
    embed.add_argument("folder")
    embed.add_argument("--out", required=True, help="the .npz file (arrays: paths, vectors)")
    _add_extractor_options(embed)
    embed.set_defaults(func=cmd_embed)

    similar = sub.add_parser("similar", help="list the images most like IMAGE (which may lie outside FOLDER)")
    similar.add_argument("folder")
    similar.add_argument("image")
    similar.add_argument("-k", type=int, default=10)
    similar.add_argument("--metric", default="cosine", choices=METRICS,
                         help="cosine scores are similarities; euclidean and manhattan scores are distances")
    similar.add_argument("--json", action="store_true")
    similar.add_argument("--rerank", action="store_true",
                         help="re-rank with the folder's neighbourhoods (DBA + query expansion): better on large "
                              "libraries with many images per kind of pattern, worse on small ones")
    _add_extractor_options(similar)
    similar.set_defaults(func=cmd_similar)

    failures = sub.add_parser("failures", help="list the files the last scan could not use, with reasons")
    failures.add_argument("folder")
    failures.add_argument("--json", action="store_true")
    failures.add_argument("--cache-beside", action="store_true")
    failures.set_defaults(func=cmd_failures)

    samples = sub.add_parser("samples", help="render the bracelet-pattern sample folder")
    samples.add_argument("folder", nargs="?", help="where to write (default: the user data dir)")
    samples.add_argument("--per-family", type=int, default=6)
    samples.add_argument("--colourways", type=int, default=3)
    samples.add_argument("--format", default="png", choices=("png", "jpg"))
    samples.set_defaults(func=cmd_samples)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except Cancelled:
        print("cancelled; finished work is saved in the cache", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted; finished work is saved in the cache", file=sys.stderr)
        return 130
    except (WeightsUnavailable, CacheError, NotADirectoryError, ValueError, images.ImageError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
