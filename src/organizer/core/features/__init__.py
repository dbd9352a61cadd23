"""Feature extractors. :func:`create_embedder` is the one way to get one."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from .registry import ExtractorSpec, make_spec
from .runtime import Runtime

__all__ = ["Embedder", "ExtractorSpec", "create_embedder", "make_spec"]


class Embedder(Protocol):
    def embed(self, views: np.ndarray, owners: np.ndarray, n_images: int) -> np.ndarray: ...


def create_embedder(spec: ExtractorSpec, runtime: Runtime | None = None) -> Embedder:
    """Build the embedder for ``spec``; CNN weights load here, so call it off the GUI thread."""
    if not spec.uses_cnn:
        from .colour import ColourEmbedder

        return ColourEmbedder(spec.mode)
    from . import runtime as runtime_mod
    from .cnn import CnnEmbedder

    return CnnEmbedder(spec, runtime or runtime_mod.choose())
