"""What the CLI's commands share: progress on stderr, extractor options, the scan."""

from __future__ import annotations

import argparse
import functools
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path

from ..analysis.cluster import ClusterSpec
from ..analysis.clusterers import PARAMETERS, clusterers, users_of
from ..analysis.clusterers.base import LINKAGES
from ..embedding import make_spec
from ..embedding.backbones import BACKBONES, DEFAULT_MODEL
from ..embedding.embed import EngineFactory
from ..embedding.library import Library
from ..embedding.registry import AUTOENCODER, DEFAULT_MELT_KNOTS, DEFAULT_POOLING, MAX_INPUT, MIN_INPUT, MODES, POOLINGS
from ..embedding.runtime import BACKENDS, DEVICES, PRECISIONS, TORCH_HINT, torch_installed
from ..folder import ClusterResult, FolderModel, load_folder_state
from ..folder.distributed import ENGINES, DaskEngine, require_dask
from ..folder.loading import open_library
from ..io import images
from ..io.preprocess import POLICIES
from ..io.printable import printable
from ..storage.cache import Cache
from ..storage.paths import cache_db_path
from .args import bounded_float, bounded_int

MAX_CLUSTERS = int(PARAMETERS["k"].high)


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


def problem(path: Path | str, reason: str) -> str:
    """``path: reason`` as one line of output, whatever the name or the reason hold."""
    return f"{printable(path)}: {printable(reason)}"


def add_extractor_options(parser: argparse.ArgumentParser, mode_flag: str = "--mode") -> None:
    """The extractor choices; ``mode_flag`` renames ``--mode`` where a command has its own."""
    group = parser.add_argument_group("extractor")
    # The bundle leaves torch out: said here rather than dropped from the choices, so a choice that needs it
    # still answers with how to get it.
    without_torch = "" if torch_installed() else (
        f"; without torch, as here, only {DEFAULT_MODEL} at its default layers runs, on the CPU; the rest needs "
        f"torch: {TORCH_HINT}")
    group.add_argument("--model", default=DEFAULT_MODEL, choices=[*sorted(BACKBONES), AUTOENCODER],
                       help="a pretrained backbone, or autoencoder: a small network trained on this folder "
                            "(trained on first use; `organizer train-autoencoder` retrains)" + without_torch)
    group.add_argument("--layers", help="early, mid, late, or module names, comma-separated (default: measured per model)")
    group.add_argument(mode_flag, dest="feature_mode", default="content", choices=MODES,
                       help="what to compare: content, texture (style statistics), structure (the motif in any colours), "
                            "colour, mean-colour or palette (dominant colours, any motif)")
    group.add_argument("--size", type=bounded_int(MIN_INPUT, MAX_INPUT),
                       help="network input size in pixels (default: the model's)")
    group.add_argument("--policy", default="auto", choices=POLICIES, help="how images are fitted to the input square")
    group.add_argument("--pooling", default=DEFAULT_POOLING, choices=POOLINGS,
                       help="object (default) weighs what stands out from the frame's border and the middle more, "
                            "for photos of patterned things; centre weighs only the middle more; avg weighs all equally")
    group.add_argument("--flip", action="store_true", help="average with the mirrored image")
    group.add_argument("--no-centre-view", dest="centre_view", action="store_false",
                       help="see each image whole only, not also closer: inside the object a photo shows, or "
                            "through a flat pattern's centre region (the default, which finds a photographed "
                            "object's pattern; tiled strips never get it)")
    group.add_argument("--no-adapt", dest="adapt", action="store_false",
                       help="keep the network's vectors as they are, not projected with what the folder's own images "
                            "teach (the default, which embeds up to 256 of them once more, changed a little)")
    group.add_argument("--melt-knots", action=argparse.BooleanOptionalAction, default=DEFAULT_MELT_KNOTS,
                       help="blur bracelet charts' knots away before comparing, so a motif counts (a heart finds "
                            "hearts in other colours and knot styles); some photos of prints, checks and "
                            "crosshatching are blurred too. "
                            "Default: in a folder most of whose images are knot grids")
    group.add_argument("--invariant", action="store_true",
                       help="match rotated and mirrored copies: average over all 8 flips and quarter turns (8x slower)")
    group.add_argument("--equalize", action="store_true",
                       help="bring every image to the folder's median brightness, contrast and sharpness first "
                            "(`organizer equalize FOLDER` reports what that changes per image)")
    group.add_argument("--gram", action="store_true", help="texture mode: add Gram matrices")
    group.add_argument("--multiscale", action="store_true",
                       help="also look at a 2x detail view (better for photos of objects, 5x slower)")
    group.add_argument("--weights", help="a state_dict file instead of the pretrained weights")
    group.add_argument("--device", default="auto", choices=DEVICES)
    group.add_argument("--precision", default="auto", choices=PRECISIONS)
    group.add_argument("--runtime", default="auto", choices=BACKENDS,
                       help="what runs the network on the CPU: auto (OpenVINO where installed, else torch), torch, "
                            "onnx (ONNX Runtime) or openvino; the GPU always runs torch" + without_torch)
    group.add_argument("--batch-size", type=bounded_int(1, 4096),
                       help="views per inference batch (default: from the device)")
    parser.add_argument("--cache-beside", action="store_true",
                        help="keep the cache in FOLDER/.pattern-organizer instead of the user cache dir")
    add_max_file_option(parser)


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """``--engine`` and its cluster: where the new images are embedded."""
    group = parser.add_argument_group("engine")
    group.add_argument("--engine", default="local", choices=ENGINES,
                       help="local: this process; dask: a Dask cluster, whose workers must see FOLDER at the same "
                            "path (needs pattern-organizer[distributed]); the cache written is the same")
    where = group.add_mutually_exclusive_group()
    where.add_argument("--workers", type=bounded_int(1, 1024), metavar="N",
                       help="dask: start a cluster of N worker processes on this computer (default: one per core)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="dask: use the running cluster whose scheduler is at ADDRESS (tcp://host:8786)")


def add_max_file_option(parser: argparse.ArgumentParser) -> None:
    """``--max-file-mb``, for every command that reads image files."""
    parser.add_argument("--max-file-mb", type=bounded_int(1, 1_000_000), default=images.MAX_FILE_MB, metavar="MB",
                        help="leave larger files out as failures without reading them (default: %(default)s)")


def max_file_bytes(args) -> int:
    """The ``--max-file-mb`` limit in bytes."""
    return args.max_file_mb * images.MB


def spec_from_args(args):
    return make_spec(args.model, args.layers, args.feature_mode, args.size, args.policy, args.pooling, args.flip,
                     args.gram, args.multiscale, args.weights or "pretrained", invariant=args.invariant,
                     centre_view=args.centre_view, adapt=args.adapt, melt_knots=args.melt_knots)


def open_cache(folder: Path, beside: bool) -> Cache:
    """The folder's cache, once the folder is known to exist (opening creates the file)."""
    if not Path(folder).is_dir():
        raise NotADirectoryError(f"not a folder: {folder}")
    cache = Cache(cache_db_path(folder, beside))
    if cache.recovered_from:
        print(f"warning: the cache was damaged; moved aside to {cache.recovered_from}", file=sys.stderr)
    return cache


def engine_from_args(args) -> EngineFactory | None:
    """What ``--engine`` embeds with: None for this process, else the cluster's engine factory.

    Raises
    ------
    ValueError
        For ``--workers`` or ``--scheduler`` without ``--engine dask``.
    EngineUnavailable
        When Dask is not installed, before any work starts.
    """
    engine = getattr(args, "engine", "local")
    if engine == "local":
        if getattr(args, "workers", None) or getattr(args, "scheduler", None):
            raise ValueError("--workers and --scheduler need --engine dask")
        return None
    require_dask()
    # Dask logs every worker's start and stop at INFO on its own handler; that is -v's business.
    logging.getLogger("distributed").setLevel(logging.INFO if getattr(args, "verbose", False) else logging.WARNING)
    return functools.partial(DaskEngine, scheduler=args.scheduler, workers=args.workers, device=args.device,
                             precision=args.precision, backend=args.runtime, batch_size=args.batch_size,
                             max_file_bytes=max_file_bytes(args))


def scan_library(args, near_duplicates: bool = False) -> Library:
    """Scan and embed the folder as the app does (:func:`~organizer.folder.loading.open_library`), with the
    command's extractor, device, batch size, engine, cache and size limit, and its progress on stderr.

    ``near_duplicates=True`` gives the vectors near-duplicates are judged on, whatever the options say: the
    network's own, of each image seen whole. Adapting to the folder moves them, and a closer view inside an
    object moves with where the object is found: of 400 garment photos, 5 copies saved again as JPEG and 3
    scaled to 80 % fell under the 0.97 threshold with it (down to 0.85), none without it (docs/benchmarks.md,
    "The centre view inside the object")."""
    folder = Path(args.folder)
    make_engine = engine_from_args(args)
    spec = spec_from_args(args)
    if near_duplicates:
        spec = replace(spec.unadapted, centre_view=False)
    with open_cache(folder, args.cache_beside) as cache:
        return open_library(folder, spec, cache, equalize=args.equalize, device=args.device,
                            precision=args.precision, backend=args.runtime, batch_size=args.batch_size,
                            preparing=StderrProgress("preparing"), progress=StderrProgress("embedding"),
                            max_file_bytes=max_file_bytes(args), make_engine=make_engine)


def scan_summary(library: Library) -> dict:
    """What ``organizer scan`` reports; the extractor names the library's vectors, adapted to the folder or not."""
    report = library.report
    return {
        "folder": str(report.folder),
        "extractor": library.spec.id,
        "images": len(report.paths),
        "embedded": report.embedded,
        "from_cache": report.reused,
        "failed": len(report.failures),
        "seconds": round(report.seconds, 3),
        "images_per_second": round(report.images_per_second, 2),
        "failures": [{"path": str(p), "reason": r} for p, r in report.failures],
    }


def _option_help(parameter: str) -> str:
    """The option's help, naming the methods that read it, from the clusterer registry."""
    return f"{', '.join(users_of(parameter))}: {PARAMETERS[parameter].help}"


def add_cluster_options(parser: argparse.ArgumentParser) -> None:
    """The clustering choices, from the clusterer registry; the same choices as in the app find the edits made there."""
    group = parser.add_argument_group("clustering")
    group.add_argument("--method", default="auto", choices=[c.name for c in clusterers()],
                       help=" ".join(f"{c.name}: {c.description}" for c in clusterers()))
    chosen = group.add_mutually_exclusive_group()
    chosen.add_argument("--k", type=bounded_int(1, MAX_CLUSTERS), help=_option_help("k"))
    chosen.add_argument("--auto", action="store_true", help="choose k automatically (the default)")
    group.add_argument("--linkage", default="ward", choices=LINKAGES, help=_option_help("linkage"))
    eps, min_size = PARAMETERS["eps"], PARAMETERS["min_cluster_size"]
    group.add_argument("--eps", type=bounded_float(eps.low, eps.high, above=True), help=_option_help("eps"))
    group.add_argument("--min-cluster-size", type=bounded_int(int(min_size.low), int(min_size.high)),
                       help=_option_help("min_cluster_size"))
    group.add_argument("--k-max", type=bounded_int(2, MAX_CLUSTERS), default=ClusterSpec.k_max)
    group.add_argument("--reassign-noise", action="store_true", help=_option_help("reassign_noise"))


def cluster_spec_from_args(args) -> ClusterSpec:
    return ClusterSpec(method=args.method, k=args.k, linkage=args.linkage, eps=args.eps,
                       min_cluster_size=args.min_cluster_size, k_max=args.k_max, reassign_noise=args.reassign_noise)


def folder_state(args, library: Library) -> tuple[FolderModel, ClusterResult]:
    """The folder's clusters as the app shows them: the edits saved there for this extractor and
    clustering, or the computed clustering when there are none."""
    spec = cluster_spec_from_args(args)
    spec.validate(len(library))  # the model would give under three images one cluster; the CLI says why not
    return load_folder_state(library, spec, cache_db_path(Path(args.folder), args.cache_beside),
                             progress=StderrProgress("clustering"))

