"""The extractor as one folder needs it: whether its knot grids are melted, with its equalization reference,
or its own autoencoder.

All depend on the folder's images, so a spec made from the user's choices alone is
completed here, with the cache at hand. The autoencoder is trained once per folder and
kept beside the folder's cache (``<cache>.autoencoder-<training hash>.pt``); later scans,
and images added since, use the newest model, until the user retrains.

Melting a knot grid (io.knots) before its views are cut lifts a library of bracelet charts, of bracelet
swatches and of photos of them a long way, and costs other libraries: photos of fabric prints, and some of
checks and crosshatching, pass the gate too, and blurred at their own period they lose the pattern itself
(docs/benchmarks.md, "Melting the knots"). So by default (``ExtractorSpec.melt_knots`` None) a folder is
melted when at least :data:`LEAST_SHARE` of a sample of its images are knot grids: measured, 4 % of dtd10,
2 % of the garment photos, 21 % of the fabric prints, 77 % of the chart set and 99 % of the rendered
swatches and photos.

The choice is stored in the folder's cache under the gate's version and kept, so images added later never
flip it and re-embed the folder. One made in a folder of fewer files than :data:`SAMPLE` is made again once the
folder holds more, so a folder that starts with a handful of images is judged on what it becomes.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..embedding import ExtractorSpec
from ..embedding.autoencoder import TrainConfig
from ..embedding.registry import AUTOENCODER, KNOTS_VERSION, STRIP_VERSION, autoencoder_spec
from ..embedding.runtime import choose, require_torch
from ..io import images, knots, preprocess
from ..io.folder_pass import compute_per_image
from ..io.images import MAX_FILE_BYTES
from ..io.scan import scan_folder
from ..jobs.tasks import Cancelled, ProgressFn, StopFn, never_stop, no_progress
from ..storage.cache import Cache
from ..tools.autoencoder_training import save_autoencoder, train_autoencoder, training_hash
from ..tools.levels import MEASURING_NOTE, folder_spec

_MARK = ".autoencoder-"
#: How the progress notes of the steps before a scan begin, so a progress display can tell them apart.
READING_NOTE = "reading the training images"
TRAINING_NOTE = "training the autoencoder"
JUDGING_NOTE = "looking for bracelet charts"
PREPARING_NOTES = (MEASURING_NOTE, READING_NOTE, TRAINING_NOTE, JUDGING_NOTE)


def model_path(cache_path: Path, digest: str) -> Path:
    return cache_path.with_name(f"{cache_path.stem}{_MARK}{digest}.pt")


def _digest_of(path: Path) -> str:
    """The training hash in a name made by :func:`model_path`."""
    return path.stem.rsplit(_MARK, 1)[-1]


def trained_models(cache_path: Path) -> list[Path]:
    """The autoencoders trained for this cache's folder, newest first."""
    found = cache_path.parent.glob(f"{cache_path.stem}{_MARK}*.pt")
    return sorted(found, key=lambda path: path.stat().st_mtime_ns, reverse=True)


def train_for_folder(folder: Path, cache: Cache, config: TrainConfig = TrainConfig(), device: str = "auto",
                     progress: ProgressFn = no_progress, should_stop: StopFn = never_stop,
                     max_file_bytes: int = MAX_FILE_BYTES) -> Path:
    """Train an autoencoder on ``folder``'s images (unless this exact run is stored) and return its file.

    Raises
    ------
    ValueError
        If the folder has fewer than two usable images.
    Cancelled
        When ``should_stop()`` turns true; nothing is saved.
    TorchMissing
        Where torch is not installed: said before the images are read.
    """
    require_torch("training the autoencoder")

    def square(image):
        return preprocess.make_views(image, config.size, "crop")[0]

    read = compute_per_image(folder, cache, square, config.size, progress=progress, should_stop=should_stop,
                             note=READING_NOTE, max_file_bytes=max_file_bytes)
    if len(read.paths) < 2:
        raise ValueError(f"an autoencoder needs at least two usable images in {folder}")
    digest = training_hash(read.hashes, config)
    path = model_path(cache.path, digest)
    if path.is_file():
        return path

    def training_progress(epoch: int, epochs: int, note: str = "") -> None:
        progress(epoch, epochs, f"{TRAINING_NOTE}: {note}")

    module, report = train_autoencoder(np.stack(read.values), config, training_progress, should_stop,
                                       choose(device).device)
    save_autoencoder(module, path, config, digest, report)
    return path


#: The images judged, spread evenly over the folder in path order: enough that one odd image does not decide,
#: few enough to read in a second or two before the first scan.
SAMPLE = 48
#: The least share of the judged images that must be knot grids for the folder to be melted.
LEAST_SHARE = 0.5
#: The stored choice's key names the recipes that decide it: the gate's, and the strip's cut that comes first.
CHOICE_KEY = f"melt-knots-v{KNOTS_VERSION}-st{STRIP_VERSION}"


def sample_of(paths: list[Path], size: int) -> list[Path]:
    """At most ``size`` of ``paths``, spread evenly over them in order."""
    if len(paths) <= size:
        return list(paths)
    return [paths[i * len(paths) // size] for i in range(size)]


def _stored_choice(cache: Cache) -> dict | None:
    """The choice stored for the folder, or None where there is none or it cannot be read (then it is made
    again)."""
    try:
        stored = json.loads(cache.get_meta(CHOICE_KEY) or "null")
    except ValueError:
        return None
    readable = isinstance(stored, dict) and type(stored.get("melt")) is bool and type(stored.get("files")) is int
    return stored if readable else None


def with_knot_choice(spec: ExtractorSpec, folder: Path, cache: Cache, *, progress: ProgressFn = no_progress,
                     should_stop: StopFn = never_stop, max_file_bytes: int = MAX_FILE_BYTES) -> ExtractorSpec:
    """``spec`` with ``melt_knots`` decided for ``folder`` where it was left open (None), else ``spec`` itself;
    each image judged is reported through ``progress`` (a folder of huge images takes a while).

    Raises
    ------
    Cancelled
        When ``should_stop()`` turns true; nothing is stored.
    """
    if spec.melt_knots is not None:
        return spec
    stored = _stored_choice(cache)
    if stored and stored["files"] >= SAMPLE:
        return replace(spec, melt_knots=stored["melt"])
    paths = sorted(entry.path for entry in scan_folder(Path(folder), should_stop).files)
    if stored and stored["files"] >= len(paths):
        return replace(spec, melt_knots=stored["melt"])
    grids = judged = 0
    min_side = spec.largest_input  # decoded as the scan decodes it, so the gate sees what the views are cut from
    sample = sample_of(paths, SAMPLE)
    for done, path in enumerate(sample):
        if should_stop():
            raise Cancelled()
        progress(done, len(sample), JUDGING_NOTE)
        try:
            image = images.load(path, min_side, max_file_bytes)
        except images.ImageError:
            continue  # the scan lists it with its reason
        judged += 1
        if spec.cuts_strips:
            image = preprocess.strip_alone(image, spec.policy)
        grids += knots.knot_pitch(image) is not None
    progress(len(sample), len(sample), JUDGING_NOTE)
    melt = judged > 0 and grids >= LEAST_SHARE * judged
    if judged:
        cache.put_meta(CHOICE_KEY, json.dumps({"melt": melt, "files": len(paths), "judged": judged, "grids": grids}))
    return replace(spec, melt_knots=melt)


def for_folder(spec: ExtractorSpec, folder: Path, cache: Cache, *, equalize: bool = False, device: str = "auto",
               progress: ProgressFn = no_progress, should_stop: StopFn = never_stop,
               max_file_bytes: int = MAX_FILE_BYTES) -> ExtractorSpec:
    """``spec`` completed for ``folder``: whether its knot grids are melted, where ``spec`` leaves that to the
    folder (:func:`with_knot_choice`), its autoencoder (trained if it has none) and its reference level.

    Files over ``max_file_bytes`` are left out of all three, unread.
    """
    spec = with_knot_choice(spec, folder, cache, progress=progress, should_stop=should_stop,
                            max_file_bytes=max_file_bytes)
    if spec.model == AUTOENCODER and not spec.weights_file:
        models = trained_models(cache.path)
        path = models[0] if models else train_for_folder(folder, cache, device=device, progress=progress,
                                                          should_stop=should_stop, max_file_bytes=max_file_bytes)
        spec = replace(autoencoder_spec(spec.policy, _digest_of(path), str(path)), equalize=spec.equalize)
    if equalize:
        spec = folder_spec(spec, folder, cache, progress, should_stop, max_file_bytes)
    return spec
