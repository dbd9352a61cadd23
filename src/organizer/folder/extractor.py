"""The extractor as one folder needs it: with its equalization reference, or its own autoencoder.

Both depend on the folder's images, so a spec made from the user's choices alone is
completed here, with the cache at hand. The autoencoder is trained once per folder and
kept beside the folder's cache (``<cache>.autoencoder-<training hash>.pt``); later scans,
and images added since, use the newest model, until the user retrains.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from ..embedding import ExtractorSpec
from ..embedding.autoencoder import TrainConfig
from ..embedding.registry import AUTOENCODER, autoencoder_spec
from ..embedding.runtime import choose, require_torch
from ..io.folder_pass import compute_per_image
from ..io.images import MAX_FILE_BYTES
from ..io.preprocess import make_views
from ..jobs.tasks import ProgressFn, StopFn, never_stop, no_progress
from ..storage.cache import Cache
from ..tools.autoencoder_training import save_autoencoder, train_autoencoder, training_hash
from ..tools.levels import MEASURING_NOTE, folder_spec

_MARK = ".autoencoder-"
#: How the progress notes of the steps before a scan begin, so a progress display can tell them apart.
READING_NOTE = "reading the training images"
TRAINING_NOTE = "training the autoencoder"
PREPARING_NOTES = (MEASURING_NOTE, READING_NOTE, TRAINING_NOTE)


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
        return make_views(image, config.size, "crop")[0]

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


def for_folder(spec: ExtractorSpec, folder: Path, cache: Cache, *, equalize: bool = False, device: str = "auto",
               progress: ProgressFn = no_progress, should_stop: StopFn = never_stop,
               max_file_bytes: int = MAX_FILE_BYTES) -> ExtractorSpec:
    """``spec`` completed for ``folder``: its autoencoder (trained if it has none) and its reference level.

    Files over ``max_file_bytes`` are left out of both, unread.
    """
    if spec.model == AUTOENCODER and not spec.weights_file:
        models = trained_models(cache.path)
        path = models[0] if models else train_for_folder(folder, cache, device=device, progress=progress,
                                                          should_stop=should_stop, max_file_bytes=max_file_bytes)
        spec = replace(autoencoder_spec(spec.policy, _digest_of(path), str(path)), equalize=spec.equalize)
    if equalize:
        spec = folder_spec(spec, folder, cache, progress, should_stop, max_file_bytes)
    return spec
