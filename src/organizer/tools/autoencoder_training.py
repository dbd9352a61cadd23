"""Training the folder's own autoencoder (the network is :mod:`organizer.embedding.autoencoder`).

The module works on arrays and paths only; the caller decides which images train a model,
where it is stored and when it is stale (see :func:`training_hash`).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import numpy as np

from ..embedding.autoencoder import FORMAT, TrainConfig, make_autoencoder, to_unit
from ..embedding.cnn import uint8_tensor
from ..io.transfer import replace_atomically
from ..jobs.tasks import Cancelled, ProgressFn, StopFn, never_stop, no_progress

if TYPE_CHECKING:
    import torch


@dataclass
class TrainingReport:
    """What a finished training run did, for the log and the saved model's metadata."""

    epochs_run: int
    #: The mean training loss of each epoch, first to last.
    losses: list[float]
    seconds: float


def training_hash(content_hashes: Iterable[str], config: TrainConfig) -> str:
    """12 hex digits naming a training run: the set of training images plus the config.

    The hashes are deduplicated and sorted, so the order a folder was scanned in does
    not matter.
    """
    key = {"format": FORMAT, "images": sorted(set(content_hashes)), "config": config.as_dict()}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]


def train_autoencoder(images: np.ndarray, config: TrainConfig = TrainConfig(), progress: ProgressFn = no_progress,
                      should_stop: StopFn = never_stop,
                      device: str = "cpu") -> tuple[torch.nn.Module, TrainingReport]:
    """Train an autoencoder on ``images`` (uint8, N×size×size×3) with Adam on pixel MSE.

    There is no augmentation: random flips changed retrieval by less than the spread
    between seeds, on 216 rendered samples and on 1200 DTD textures. Initialisation and
    shuffling come from ``config.seed`` alone, without touching torch's global random
    state, so the same inputs give the same model.

    Returns
    -------
    tuple
        The trained module, in eval mode, and a :class:`TrainingReport`.

    Raises
    ------
    Cancelled
        When ``should_stop()`` turns true; it is asked after every batch.
    """
    import torch

    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != (config.size, config.size, 3) or len(images) < 2:
        raise ValueError(f"expected at least 2 images of {config.size}×{config.size}×3, got shape {images.shape}")
    started = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = make_autoencoder(config)
    model.to(device).train()
    generator = torch.Generator().manual_seed(config.seed)
    # Kept as uint8 until batched: a quarter of the memory for a large folder.
    data = uint8_tensor(images, device)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    losses: list[float] = []
    for epoch in range(1, config.epochs + 1):
        total = 0.0
        for batch_index in torch.randperm(len(data), generator=generator).split(config.batch_size):
            batch = to_unit(data[batch_index.to(device)])
            loss = torch.nn.functional.mse_loss(model(batch), batch)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
            if should_stop():
                raise Cancelled("autoencoder training stopped")
        losses.append(total / len(data))
        progress(epoch, config.epochs, f"loss {losses[-1]:.4f}")
    model.eval()
    return model, TrainingReport(config.epochs, losses, time.perf_counter() - started)


def save_autoencoder(module: torch.nn.Module, path: Path, config: TrainConfig, training_hash: str,
                     report: TrainingReport) -> None:
    """Write the weights and what made them to ``path``, atomically (a crash leaves no half file)."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Plain types only, so torch.load(weights_only=True) can read it back.
    payload = {
        "format": FORMAT, "config": config.as_dict(), "training_hash": training_hash,
        "epochs_run": report.epochs_run, "losses": [float(x) for x in report.losses],
        "seconds": float(report.seconds),
        "state_dict": {k: v.detach().cpu() for k, v in module.state_dict().items()},
    }
    replace_atomically(path, lambda partial: torch.save(payload, partial))
