"""The study tools beside the embedding: align, equalize (the per-image report) and train-autoencoder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..embedding.autoencoder import TrainConfig, load_autoencoder
from ..embedding.runtime import DEVICES
from ..folder.extractor import train_for_folder, trained_models
from ..io.printable import printable
from ..io.scan import scan_folder
from ..tools.align import (MAX_IMAGES, MAX_SIDE, MIN_SIDE, MODELS, REFERENCES, align_images, check_count, megabytes,
                           memory_estimate, save_mean_image, write_aligned)
from ..tools.levels import equalize_report, measure_folder, quantised, report_csv
from .args import add_folder, bounded_int
from .common import StderrProgress, add_max_file_option, max_file_bytes, open_cache, problem


def _image_paths(folder: Path) -> list[Path]:
    scanned = scan_folder(folder)
    for path, reason in scanned.problems:
        print(f"warning: skipped {problem(path, reason)}", file=sys.stderr)
    return [entry.path for entry in scanned.files]


def cmd_align(args) -> int:
    paths = _image_paths(Path(args.folder))
    check_count(len(paths), args.max_images, args.max_side)
    print(f"aligning {len(paths)} images: about {megabytes(memory_estimate(len(paths), args.max_side))} of memory",
          file=sys.stderr)
    result = align_images(paths, args.model, args.reference, args.max_side, progress=StderrProgress("aligning"),
                          max_images=args.max_images, max_file_bytes=max_file_bytes(args))
    for path, reason in result.failures:
        print(f"warning: left out {problem(path, reason)}", file=sys.stderr)
    out = save_mean_image(result, Path(args.out))
    if args.aligned_dir:
        written, failed = write_aligned(result, Path(args.aligned_dir), progress=StderrProgress("writing"),
                                        max_file_bytes=max_file_bytes(args))
        for path, reason in failed:
            print(f"warning: not written {problem(path, reason)}", file=sys.stderr)
        print(f"{len(written)} aligned copies in {args.aligned_dir}", file=sys.stderr)
    if args.json:
        print(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
        return 0
    print(f"aligned {len(result.paths)} images ({args.model}, reference {args.reference}); mean image: {out}")
    for path, motion in zip(result.paths, result.to_json()["motions"]):
        print(f"  {motion['tx']:8.2f} {motion['ty']:8.2f} px {motion['rotation']:7.2f}° ×{motion['scale']:.3f}  "
              f"{printable(path.name)}")
    return 0


def cmd_equalize(args) -> int:
    with open_cache(Path(args.folder), args.cache_beside) as cache:
        levels = measure_folder(Path(args.folder), cache, progress=StderrProgress("measuring"),
                                max_file_bytes=max_file_bytes(args))
    if not levels.paths:
        raise ValueError(f"no usable images in {args.folder}")
    reference = dict(zip(("brightness", "contrast", "sharpness"), quantised(levels.reference)))
    rows = equalize_report(levels, progress=StderrProgress("equalizing"), max_file_bytes=max_file_bytes(args))
    for path, reason in levels.failures:
        print(f"warning: left out {problem(path, reason)}", file=sys.stderr)
    if args.json:
        print(json.dumps({"reference": reference, "images": [{"path": str(path), **adjustment.as_dict()}
                                                             for path, adjustment in rows]}, indent=2, ensure_ascii=False))
        return 0
    if args.csv:
        sys.stdout.write(report_csv(rows))
        return 0
    print("reference (the folder's median): " + ", ".join(f"{k} {v:g}" for k, v in reference.items()))
    print(f"{'brightness':>17s} {'contrast':>15s} {'sharpness':>15s} {'gain':>5s} {'sharpen':>7s} {'blur':>5s}  image")
    for path, change in rows:
        before, after = change.before, change.after
        print(f"{before.brightness:7.1f} → {after.brightness:5.1f}   {before.contrast:5.1f} → {after.contrast:5.1f}   "
              f"{before.sharpness:5.1f} → {after.sharpness:5.1f} {change.gain:5.2f} {change.sharpen:7.2f} "
              f"{change.blur:5.2f}  {printable(path.name)}")
    return 0


def cmd_train_autoencoder(args) -> int:
    folder = Path(args.folder)
    with open_cache(folder, args.cache_beside) as cache:
        before = set(trained_models(cache.path))
        path = train_for_folder(folder, cache, TrainConfig(epochs=args.epochs), args.device,
                                progress=StderrProgress("autoencoder"))
    _, meta = load_autoencoder(path)
    state = "already trained on these images" if path in before else f"trained in {meta['seconds']:.1f} s"
    print(f"{path} ({state}; loss {meta['losses'][0]:.4f} → {meta['losses'][-1]:.4f} over {meta['epochs_run']} epochs)")
    print("use it with --model autoencoder", file=sys.stderr)
    return 0


def register(sub) -> None:
    train = sub.add_parser("train-autoencoder", help="train the folder's own autoencoder (the --model autoencoder "
                                                     "extractor) on its current images, unless that run is stored")
    add_folder(train)
    train.add_argument("--epochs", type=bounded_int(1, 1000), default=TrainConfig.epochs)
    train.add_argument("--device", default="auto", choices=DEVICES)
    train.add_argument("--cache-beside", action="store_true")
    train.set_defaults(func=cmd_train_autoencoder)

    equalize = sub.add_parser("equalize", help="report each image's brightness, contrast and sharpness, and what "
                                               "equalizing to the folder's median (scan --equalize) changes")
    add_folder(equalize)
    output = equalize.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true")
    output.add_argument("--csv", action="store_true", help="one row per image, for a spreadsheet")
    equalize.add_argument("--cache-beside", action="store_true")
    add_max_file_option(equalize)
    equalize.set_defaults(func=cmd_equalize)

    align = sub.add_parser("align", help="align near-identical images (scans of one pattern) to a reference "
                                         "and write their aligned mean image")
    add_folder(align)
    align.add_argument("--out", required=True, help="the aligned mean image (PNG)")
    align.add_argument("--model", default="rigid", choices=MODELS,
                       help="the motion allowed: translation, rigid (and rotation), scaled-rotation, affine, bilinear")
    align.add_argument("--reference", default="first", choices=REFERENCES,
                       help="align to the first image (in path order), to the mean image, or each to the one before")
    # Align holds every image at this size at once, so memory grows with its square.
    align.add_argument("--max-side", type=bounded_int(MIN_SIDE, 4 * MAX_SIDE), default=MAX_SIDE,
                       help="the working resolution's long side")
    align.add_argument("--max-images", type=bounded_int(1, 100_000), default=MAX_IMAGES,
                       help=f"refuse a folder of more images than this (default {MAX_IMAGES}): each holds about "
                            f"{megabytes(memory_estimate(1))} at the default working size")
    align.add_argument("--aligned-dir", help="also write aligned copies into this new folder (never over a file)")
    align.add_argument("--json", action="store_true", help="print the transforms and motions as JSON")
    add_max_file_option(align)
    align.set_defaults(func=cmd_align)
