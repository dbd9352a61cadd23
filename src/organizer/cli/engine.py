"""The engine's commands: scan, embed, similar, compare, failures, samples."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from ..embedding.library import query_for
from ..io import images
from ..io.printable import printable
from ..io.transfer import replace_atomically
from ..samples import PALETTES, write_sample_folder
from ..search.compare import HIGHER_IS_BETTER, INDICES, compare
from ..search.compare_indices import INDEX_SPECS
from ..search.index import METRICS
from ..search.similar import NEIGHBOURHOOD, RERANKINGS, search_similar
from ..storage.paths import samples_dir
from .args import add_folder, bounded_int, output_folder, region
from .common import (add_engine_options, add_extractor_options, add_max_file_option, max_file_bytes, open_cache,
                     problem, scan_library, scan_summary)

MAX_RESULTS = 100_000


def cmd_scan(args) -> int:
    library = scan_library(args)
    report, summary = library.report, scan_summary(library)
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
        return 0
    print(f"{summary['images']} images ready ({summary['embedded']} embedded now, "
          f"{summary['from_cache']} from the cache), {summary['failed']} failed, "
          f"{summary['seconds']:.2f} s, {summary['images_per_second']:.1f} img/s")
    print(f"extractor: {summary['extractor']}")
    for path, reason in report.failures:
        print(f"  failed: {problem(path, reason)}")
    return 0


def cmd_embed(args) -> int:
    library = scan_library(args)
    report, vectors = library.report, library.vectors
    for path, reason in report.failures:
        print(f"skipped: {problem(path, reason)}", file=sys.stderr)
    print(f"{len(report.paths)} images in the cache ({report.embedded} embedded now, {report.reused} from the "
          f"cache), {len(report.failures)} skipped, {report.seconds:.2f} s", file=sys.stderr)
    if not args.out:
        return 0
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def write(partial: Path) -> None:
        # Through a handle: given a name, np.savez would append .npz to the partial's.
        with open(partial, "wb") as handle:
            np.savez(handle, paths=np.array([str(p) for p in report.paths], dtype=str),
                     vectors=vectors.astype(np.float32), extractor=np.array(library.spec.id))

    replace_atomically(out, write)
    print(f"wrote {len(report.paths)} vectors of dimension {vectors.shape[1] if len(vectors) else 0} to {out}",
          file=sys.stderr)
    return 0


def cmd_similar(args) -> int:
    library = scan_library(args)
    if not library.paths:
        raise ValueError(f"no usable images in {library.folder}")
    query_path = Path(args.image).resolve()  # the scan's paths are resolved too
    query = query_for(library, query_path, args.device, args.precision, max_file_bytes(args), args.region,
                      args.runtime)
    answer = search_similar(library.paths, library.vectors, query, args.k, query_path=query_path, metric=args.metric,
                            rerank_by=args.rerank or "", max_file_bytes=max_file_bytes(args), region=args.region)
    matches = answer.matches
    for path, reason in answer.skipped:
        print(f"warning: left out {problem(path, reason)}", file=sys.stderr)
    if args.json:
        print(json.dumps([{"path": str(m.path), "score": round(m.score, 6)} for m in matches], indent=2,
                         ensure_ascii=False))
    else:
        for match in matches:
            print(f"{match.score:9.4f}  {printable(match.path)}")
    return 0


def cmd_compare(args) -> int:
    limit = max_file_bytes(args)
    first, second = images.load(Path(args.image1), 0, limit), images.load(Path(args.image2), 0, limit)
    result = compare(first, second, args.index)
    if args.json:
        print(json.dumps({"index": result.index, "score": result.score, "higher_is_more_similar":
                          HIGHER_IS_BETTER[result.index], **result.details}, indent=2, ensure_ascii=False))
        return 0
    direction = "similarity, higher is closer" if HIGHER_IS_BETTER[result.index] else "distance, lower is closer"
    print(f"{result.index}: {result.score:.4f} ({direction})")
    for name, value in result.details.items():
        if isinstance(value, dict) and "hex" in value:
            value = " ".join(value["hex"])
        print(f"  {name}: {value}")
    return 0


def cmd_failures(args) -> int:
    with open_cache(Path(args.folder), args.cache_beside) as cache:
        failures = cache.failures()
    if args.json:
        print(json.dumps([{"path": f.path, "reason": f.reason} for f in failures], indent=2, ensure_ascii=False))
    else:
        for failure in failures:
            print(problem(failure.path, failure.reason))
        if not failures:
            print("no failures recorded (run `organizer scan FOLDER` first)", file=sys.stderr)
    return 0


def cmd_samples(args) -> int:
    folder = args.folder or samples_dir()
    paths = write_sample_folder(folder, per_family=args.per_family, colourways=args.colourways, fmt=args.format)
    print(folder)
    print(f"wrote {len(paths)} sample images", file=sys.stderr)
    return 0


def register(sub) -> None:
    scan = sub.add_parser("scan", help="scan and embed a folder, then print a summary")
    add_folder(scan)
    scan.add_argument("--json", action="store_true")
    add_extractor_options(scan)
    scan.set_defaults(func=cmd_scan)

    embed = sub.add_parser("embed", help="embed a folder into its cache, here or on a Dask cluster, and write "
                                         "its vectors to an .npz file")
    add_folder(embed)
    embed.add_argument("--out", help="the .npz file (arrays: paths, vectors); without it, only the cache is filled")
    add_extractor_options(embed)
    add_engine_options(embed)
    embed.set_defaults(func=cmd_embed)

    similar = sub.add_parser("similar", help="list the images most like IMAGE (which may lie outside FOLDER)")
    add_folder(similar)
    similar.add_argument("image")
    similar.add_argument("-k", type=bounded_int(1, MAX_RESULTS), default=10, help="how many matches to list")
    similar.add_argument("--metric", default="cosine", choices=METRICS,
                         help="cosine scores are similarities; euclidean and manhattan scores are distances")
    similar.add_argument("--json", action="store_true")
    similar.add_argument("--region", type=region, metavar="X,Y,W,H",
                         help="search with this part of IMAGE only (the print on a garment, say): its left and top "
                              "corner, width and height in the image's pixels")
    similar.add_argument("--rerank", nargs="?", const=NEIGHBOURHOOD, choices=RERANKINGS,
                         help="alone: re-rank with the folder's neighbourhoods (DBA + query expansion), better on "
                              "large libraries with many images per kind of pattern, worse on small ones; with an "
                              f"index ({', '.join(INDICES)}): re-order the best 3k matches by it")
    add_extractor_options(similar)
    similar.set_defaults(func=cmd_similar)

    pair = sub.add_parser("compare", help="score two images with a classic similarity index")
    pair.add_argument("image1")
    pair.add_argument("image2")
    pair.add_argument("--index", default="ssim", choices=INDICES, help=", ".join(
        f"{i.name} ({i.measures}{'' if i.higher_is_better else '; a distance'})" for i in INDEX_SPECS.values()))
    pair.add_argument("--json", action="store_true")
    add_max_file_option(pair)
    pair.set_defaults(func=cmd_compare)

    failures = sub.add_parser("failures", help="list the files the last scan could not use, with reasons")
    add_folder(failures)
    failures.add_argument("--json", action="store_true")
    failures.add_argument("--cache-beside", action="store_true")
    failures.set_defaults(func=cmd_failures)

    samples = sub.add_parser("samples", help="render the bracelet-pattern sample folder")
    samples.add_argument("folder", metavar="FOLDER", nargs="?", type=output_folder,
                         help="where to write (default: the user data dir)")
    samples.add_argument("--per-family", type=bounded_int(1, 1000), default=6, help="variants per family and colourway")
    samples.add_argument("--colourways", type=bounded_int(1, len(PALETTES)), default=3)
    samples.add_argument("--format", default="png", choices=("png", "jpg"))
    samples.set_defaults(func=cmd_samples)
