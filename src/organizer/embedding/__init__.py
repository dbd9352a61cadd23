"""Feature extractors (CNN taps, colour, palette, autoencoder), their runtimes, and embedding a folder.

:func:`create_embedder` is the one way to get an extractor.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from .registry import AUTOENCODER, ExtractorSpec, make_spec
from .runtime import Runtime

__all__ = ["Embedder", "ExtractorSpec", "create_embedder", "embed_inputs", "make_spec"]


class Embedder(Protocol):
    def embed(self, views: np.ndarray, owners: np.ndarray, n_images: int) -> np.ndarray: ...


def create_embedder(spec: ExtractorSpec, runtime: Runtime | None = None) -> Embedder:
    """Build the embedder for ``spec``; CNN weights load here, so call it off the GUI thread."""
    if spec.model == AUTOENCODER and spec.uses_cnn:
        if not spec.weights_file:
            raise ValueError("the autoencoder is not trained yet: scan the folder with it, or run "
                             "`organizer train-autoencoder FOLDER`")
        from . import runtime as runtime_mod
        from .autoencoder import AutoencoderEmbedder

        return AutoencoderEmbedder(spec.weights_file, runtime or runtime_mod.choose())
    if spec.mode == "palette":
        from .palette import PaletteEmbedder

        return PaletteEmbedder()
    if not spec.uses_cnn:
        from .colour import ColourEmbedder

        return ColourEmbedder(spec.mode)
    from . import runtime as runtime_mod
    from .cnn import CnnEmbedder

    runtime = runtime or runtime_mod.choose()
    if runtime.backend != "torch":
        from .torchless import exported_embedder

        embedder = exported_embedder(spec, runtime)
        if embedder is not None:
            return embedder
        runtime = runtime_mod.on_torch(runtime)
    return CnnEmbedder(spec, runtime)


def embed_inputs(embedder: Embedder, inputs: list[dict[int, np.ndarray]]) -> np.ndarray:
    """Embed several images, each given as views keyed by input size.

    Views of one size are batched together; an image seen at several sizes gets the
    normalised sum of its per-size descriptors.
    """
    total = None
    sizes = sorted({size for views in inputs for size in views})
    for size in sizes:
        views = [image_views[size] for image_views in inputs]
        owners = np.repeat(np.arange(len(views)), [len(v) for v in views])
        vectors = embedder.embed(np.concatenate(views), owners, len(views))
        total = vectors if total is None else total + vectors
    if len(sizes) > 1:
        total = total / np.maximum(np.linalg.norm(total, axis=1, keepdims=True), 1e-12)
    return total.astype(np.float32)
