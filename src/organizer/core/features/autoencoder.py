"""A small convolutional autoencoder trained on the user's own folder, used as an extractor.

Pretrained backbones know photographs; a folder of bracelet or textile patterns may hold
distinctions they were never taught. An autoencoder needs no labels: it learns to squeeze
the folder's own images through a narrow bottleneck and rebuild them, so the bottleneck
keeps what varies most inside this folder. Its codes are pooled into descriptors and
compared by cosine like any other extractor's.

The module works on arrays and paths only; the caller decides which images train a model,
where it is stored and when it is stale (see :func:`training_hash`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import numpy as np

from ..apply import replace_atomically
from ..tasks import Cancelled, ProgressFn, StopFn, never_stop, no_progress
from .cnn import image_descriptors, uint8_tensor
from .runtime import Runtime, choose

if TYPE_CHECKING:
    import torch

#: Bumped whenever the architecture or the stored layout changes, so old files are refused.
FORMAT = 1
#: The encoder halves the side this many times, so the input side must divide by 2**DEPTH.
DEPTH = 4


@dataclass(frozen=True)
class TrainConfig:
    """Everything that shapes a trained model: on one machine, equal configs and images train equal models."""

    size: int = 64
    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 2e-3
    code_channels: int = 32
    seed: int = 0

    def __post_init__(self) -> None:
        if self.size < 2**DEPTH or self.size % 2**DEPTH:
            raise ValueError(f"size must be a positive multiple of {2**DEPTH}, got {self.size}")
        if min(self.epochs, self.batch_size, self.code_channels) < 1:
            raise ValueError("epochs, batch_size and code_channels must be at least 1")

    def as_dict(self) -> dict:
        return asdict(self)


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


@functools.cache
def _autoencoder_class():
    import torch
    from torch import nn

    def norm_act(channels: int) -> list:
        # GroupNorm, not BatchNorm: codes must not depend on batch make-up or running
        # statistics, and folders may be too small for stable batch statistics.
        return [nn.GroupNorm(math.gcd(8, channels), channels), nn.SiLU()]

    class ConvAutoencoder(nn.Module):
        """Four stride-2 conv blocks down to a ``size/16`` code map, and their mirror back up."""

        def __init__(self, config: TrainConfig):
            super().__init__()
            widths = (3, 32, 64, 128)
            down = [layer for cin, cout in zip(widths, widths[1:])
                    for layer in (nn.Conv2d(cin, cout, 3, 2, 1), *norm_act(cout))]
            # A linear last layer leaves the code free to take any sign and scale.
            self.encoder = nn.Sequential(*down, nn.Conv2d(widths[-1], config.code_channels, 3, 2, 1))
            # Nearest upsampling then a 3×3 conv, not ConvTranspose2d: on rendered samples
            # its codes found the same family far more often (P@1 0.56 against 0.32) and on
            # DTD textures as often, for nearly twice the transposed decoder's training time.
            up = [layer for cin, cout in zip((config.code_channels, 128, 64), (128, 64, 32))
                  for layer in (nn.Upsample(scale_factor=2), nn.Conv2d(cin, cout, 3, 1, 1), *norm_act(cout))]
            self.decoder = nn.Sequential(*up, nn.Upsample(scale_factor=2), nn.Conv2d(32, 3, 3, 1, 1), nn.Sigmoid())

        def forward(self, x):
            return self.decoder(self.encoder(x))

        def encode(self, x):
            """(N, 3, S, S) in [0, 1] to (N, 2·code_channels): each code channel's mean and std.

            Pooling forgets where things sit, which pattern similarity should: the pooled
            codes found the same class more often than the flattened code map on both
            rendered samples (P@1 0.56 against 0.44) and DTD textures (0.28 against 0.25).
            """
            codes = self.encoder(x).flatten(2)
            return torch.cat([codes.mean(2), codes.std(2, unbiased=False)], dim=1)

    return ConvAutoencoder


def make_autoencoder(config: TrainConfig) -> torch.nn.Module:
    """A freshly initialised :class:`ConvAutoencoder` (a ``torch.nn.Module``) for ``config``."""
    return _autoencoder_class()(config)


def _to_unit(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 (N, H, W, 3) to float (N, 3, H, W) in [0, 1]."""
    return pixels.permute(0, 3, 1, 2).float().div_(255.0)


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
            batch = _to_unit(data[batch_index.to(device)])
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


def load_autoencoder(path: Path, device: str = "cpu") -> tuple[torch.nn.Module, dict]:
    """Read a model written by :func:`save_autoencoder`.

    Returns
    -------
    tuple
        The module, in eval mode on ``device``, and its metadata: ``config`` (a
        :class:`TrainConfig`), ``training_hash``, ``epochs_run``, ``losses``, ``seconds``
        and ``format``.

    Raises
    ------
    ValueError
        If the file is missing, unreadable, or from another format or architecture.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no autoencoder model at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch.load fails with many types on a damaged file
        raise ValueError(f"{path} is not a readable autoencoder model ({exc.__class__.__name__}: {exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not an autoencoder model of format {FORMAT}; retrain it")
    try:
        config = TrainConfig(**payload["config"])
        model = make_autoencoder(config)
        model.load_state_dict(payload["state_dict"])
        meta = {key: payload[key] for key in ("training_hash", "epochs_run", "losses", "seconds", "format")}
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"{path} does not hold a compatible autoencoder model ({exc})") from exc
    return model.to(device).eval(), {**meta, "config": config}


class AutoencoderEmbedder:
    """Turn batches of uint8 views into one descriptor per image with a trained autoencoder."""

    def __init__(self, model_path: Path, runtime: Runtime | None = None):
        self.runtime = runtime or choose()
        self.model, self.meta = load_autoencoder(model_path, self.runtime.device)
        self.config: TrainConfig = self.meta["config"]

    def embed(self, views: np.ndarray, owners: np.ndarray, n_images: int) -> np.ndarray:
        """Embed ``views`` (uint8, N×S×S×3, any S); ``owners[i]`` is the image view i belongs to.

        Returns an (n_images, D) float32 array of unit vectors; an image with several
        views gets the normalised mean of their descriptors. The model runs in fp32
        whatever the runtime's precision: it is small enough that less would save little.
        """
        import torch
        from torch.nn.functional import interpolate, normalize

        with torch.inference_mode():
            batch = _to_unit(uint8_tensor(views, self.runtime.device))
            side = self.config.size
            if batch.shape[-2:] != (side, side):
                batch = interpolate(batch, (side, side), mode="bilinear", antialias=True).clamp_(0, 1)
            # Each view counts once in its image's mean, whatever the size of its code.
            codes = normalize(self.model.encode(batch), dim=1, eps=1e-12)
            return image_descriptors(codes, owners, n_images)
