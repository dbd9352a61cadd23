"""A small convolutional autoencoder trained on the user's own folder, used as an extractor.

Pretrained backbones know photographs; a folder of bracelet or textile patterns may hold
distinctions they were never taught. An autoencoder needs no labels: it learns to squeeze
the folder's own images through a narrow bottleneck and rebuild them, so the bottleneck
keeps what varies most inside this folder. Its codes are pooled into descriptors and
compared by cosine like any other extractor's.

This module holds the network and reads a trained one; training it is
:mod:`organizer.tools.autoencoder_training`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .cnn import image_descriptors, uint8_tensor
from .runtime import Runtime, choose, require_torch

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


def to_unit(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 (N, H, W, 3) to float (N, 3, H, W) in [0, 1]."""
    return pixels.permute(0, 3, 1, 2).float().div_(255.0)


def load_autoencoder(path: Path, device: str = "cpu") -> tuple[torch.nn.Module, dict]:
    """Read a model written by :func:`~organizer.tools.autoencoder_training.save_autoencoder`.

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
    TorchMissing
        Where torch is not installed.
    """
    require_torch("the autoencoder")
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
            batch = to_unit(uint8_tensor(views, self.runtime.device))
            side = self.config.size
            if batch.shape[-2:] != (side, side):
                batch = interpolate(batch, (side, side), mode="bilinear", antialias=True).clamp_(0, 1)
            # Each view counts once in its image's mean, whatever the size of its code.
            codes = normalize(self.model.encode(batch), dim=1, eps=1e-12)
            return image_descriptors(codes, owners, n_images)
