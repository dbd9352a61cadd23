"""The ordering and export commands: order, grid, export, undo."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ..analysis.identity import cluster_number
from ..arrange import grid as grid_mod
from ..arrange import order as order_mod
from ..arrange.sheet import check_sheet, render_sheet
from ..embedding import make_spec
from ..embedding.embed import embed_folder
from ..embedding.library import Library
from ..export.apply import resume, undo
from ..export.flow import apply_summary, pending_journal, run_export, undo_summary
from ..export.plan import MODE_KINDS, MODES, PLAN_KINDS, PLANS, check_folders
from ..folder import LibraryFilter, annotated_model, filter_indices
from ..io.printable import printable
from ..io.transfer import replace_atomically
from ..storage.annotations import LABELS, MAX_RATING
from ..storage.paths import cache_db_path
from .args import add_folder, bounded_int
from .common import (StderrProgress, add_cluster_options, add_extractor_options, folder_state, max_file_bytes,
                     open_cache, scan_library)

MAX_COLUMNS = 1000


def _mean_colours(args, hashes: list[str]) -> np.ndarray:
    """Average colours in 0..1, from the cache's mean-colour vectors (computed once)."""
    spec = make_spec(mode="mean-colour")
    with open_cache(Path(args.folder), args.cache_beside) as cache:
        embed_folder(Path(args.folder), spec, cache, progress=StderrProgress("colours"),
                     max_file_bytes=max_file_bytes(args))
        return cache.vectors(spec.id, hashes)


def compute_order(args, library: Library, labels: np.ndarray | None = None) -> list[int]:
    """The order asked for by ``--by``; by cluster, the clusters ``labels`` gives."""
    by, vectors = args.by, library.vectors
    if by == "similarity":
        return list(order_mod.similarity_order(vectors, progress=StderrProgress("ordering")))
    if by == "cluster":
        return list(order_mod.cluster_order(vectors, labels))
    if by == "pca":
        return list(order_mod.axis_order(order_mod.pca_key(vectors)))
    colours = _mean_colours(args, library.hashes)
    key = order_mod.hue_key(colours) if by == "hue" else order_mod.brightness_key(colours)
    return list(order_mod.axis_order(key))


def cmd_order(args) -> int:
    library = scan_library(args)
    # By cluster: the clusters the app shows, with the edits made there.
    labels = folder_state(args, library)[0].book.labels if args.by == "cluster" else None
    order = compute_order(args, library, labels)
    if args.json:
        print(json.dumps([{"rank": rank, "path": str(library.paths[i]),
                           "cluster": None if labels is None else cluster_number(labels[i])}
                          for rank, i in enumerate(order, start=1)], indent=2, ensure_ascii=False))
    else:
        for i in order:
            print(printable(library.paths[i]))
    return 0


def _grid(args, vectors) -> tuple[np.ndarray, int]:
    rows, cols = grid_mod.grid_shape(len(vectors), args.cols)
    return grid_mod.grid_sort(vectors, rows, cols, progress=StderrProgress("grid")), cols


def cmd_grid(args) -> int:
    library = scan_library(args)
    report, vectors = library.report, library.vectors
    # Before the grid sort, which takes a while for thousands of images.
    check_sheet(len(vectors), grid_mod.grid_shape(len(vectors), args.cols)[1], args.cell, names=args.names)
    grid, cols = _grid(args, vectors)
    sheet = render_sheet(report.paths, list(grid), cols, cell=args.cell, names=args.names,
                         progress=StderrProgress("sheet"), max_file_bytes=max_file_bytes(args))
    # The file the user named: replacing it is what they asked for.
    replace_atomically(Path(args.out), lambda partial: partial.write_bytes(sheet))
    print(f"contact sheet of {len(report.paths)} images written to {args.out}", file=sys.stderr)
    return 0


def cmd_export(args) -> int:
    out = Path(args.out)
    journal = pending_journal(out, Path(args.folder), args.plan, args.mode)
    if journal:
        if args.dry_run:
            print(f"would resume the interrupted export recorded in {journal}")
            return 0
        print(f"resuming the interrupted export recorded in {journal}", file=sys.stderr)
        return _print_apply(resume(journal, progress=StderrProgress("export")))
    check_folders(Path(args.folder), out)  # before the scan, which can take minutes
    library = scan_library(args)
    # The clusters the app shows, named as the user named them there (the same folders as its export), where
    # the export needs them; the ordering table carries each image's tags, rating and label, as the app's does.
    needs_clusters = args.plan == "clusters" or (args.plan != "grid" and args.by == "cluster")
    cache_path = cache_db_path(Path(args.folder), args.cache_beside)
    model = folder_state(args, library)[0] if needs_clusters else annotated_model(library, cache_path)
    source = model.export_source()
    spec = LibraryFilter(name=args.name or "", tags=tuple(args.tag or ()), min_rating=args.min_rating,
                         label=args.label or "")
    subset = filter_indices(spec, library.paths, model.annotations).tolist() if spec.active else None
    if args.plan == "grid":
        prepared = source.plan("grid", out, args.cols, subset=subset, progress=StderrProgress("grid"))
    else:
        order = None if args.by is None else compute_order(args, library, source.labels)
        prepared = source.plan(args.plan, out, order=order, subset=subset, progress=StderrProgress("ordering"))
    if args.dry_run:
        print(prepared.plan.describe())
        return 0
    return _print_apply(run_export(prepared, args.mode, progress=StderrProgress("export"),
                                   max_file_bytes=max_file_bytes(args)))


def _print_summary(headline: str, details: list[str]) -> None:
    print(headline)
    for line in details:
        print(f"  {line}")


def _print_apply(report) -> int:
    _print_summary(*apply_summary(report))
    return 1 if report.failed else 0


def cmd_undo(args) -> int:
    report = undo(Path(args.journal))
    _print_summary(*undo_summary(report))
    return 1 if report.problems else 0


def _order_options(parser: argparse.ArgumentParser, default: str | None = "similarity", help: str | None = None
                   ) -> None:
    parser.add_argument("--by", default=default, choices=order_mod.ORDERS, help=help)
    add_cluster_options(parser)


def register(sub) -> None:
    order = sub.add_parser("order", help="print the folder's images in a pleasing order")
    add_folder(order)
    _order_options(order)
    order.add_argument("--json", action="store_true")
    add_extractor_options(order)
    order.set_defaults(func=cmd_order)

    grid = sub.add_parser("grid", help="sort the images on a 2-D grid and draw it as a contact sheet")
    add_folder(grid)
    grid.add_argument("--out", required=True, help="the PNG to write")
    grid.add_argument("--cols", type=bounded_int(1, MAX_COLUMNS))
    grid.add_argument("--cell", type=bounded_int(16, 1024), default=128, help="thumbnail size in pixels")
    grid.add_argument("--names", action="store_true", help="write each file name under its thumbnail")
    add_extractor_options(grid)
    grid.set_defaults(func=cmd_grid)

    export = sub.add_parser("export", help="write a sorted copy of the folder (never touching the originals)")
    add_folder(export)
    export.add_argument("--out", required=True, help="the export folder (outside FOLDER)")
    export.add_argument("--plan", default="sorted", choices=PLANS,
                        help=" ".join(f"{kind.name}: {kind.description}" for kind in PLAN_KINDS.values()))
    export.add_argument("--mode", default="copy", choices=MODES,
                        help=" ".join(f"{kind.name}: {kind.description}" for kind in MODE_KINDS.values()))
    export.add_argument("--dry-run", action="store_true", help="print the plan and write nothing")
    export.add_argument("--cols", type=bounded_int(1, MAX_COLUMNS), help="grid plan: columns")
    chosen = export.add_argument_group("which images (all by default; the options combine)")
    chosen.add_argument("--name", metavar="TEXT", help="only images whose file name holds TEXT (any case)")
    chosen.add_argument("--tag", action="append", metavar="TAG", help="only images tagged TAG (repeat: all of them)")
    chosen.add_argument("--min-rating", type=bounded_int(0, MAX_RATING), default=0, metavar="N",
                        help="only images rated N stars or more")
    chosen.add_argument("--label", choices=LABELS[1:], help="only images with this colour label")
    _order_options(export, None, "the order of the files (default: the plan's own: by similarity for sorted, "
                                 "cluster by cluster for clusters, as the app exports)")
    add_extractor_options(export, mode_flag="--feature-mode")
    export.set_defaults(func=cmd_export)

    undo_parser = sub.add_parser("undo", help="reverse an export from its journal, checking every file by hash")
    undo_parser.add_argument("journal")
    undo_parser.set_defaults(func=cmd_undo)
