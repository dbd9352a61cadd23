"""CNN descriptors: run a backbone up to its deepest tap and pool the tapped feature maps.

``content`` mode average-pools each tap, over the whole map (``avg``) or with a Gaussian
centre prior (``centre``, as in Babenko & Lempitsky's SPoC), which lets the middle of a
photo, where the patterned object usually is, outweigh the background around it; ``object``
(the default) also weighs each position by how unlike the frame's border it looks, so a
garment's print outweighs the room around it wherever it sits. ``texture`` mode keeps per-channel mean
and standard deviation (the style statistics of Huang & Belongie's AdaIN), and with
``gram`` also the Gram matrix (Gatys et al.), which ignore where things are and keep what
they look like. ``structure`` mode pools like ``content`` but shows the network only the
image's luminance, and sums the descriptors of the luminance and its negative: a motif
then matches itself in any colourway, even one that swaps a light ground for a dark one.
Each part is L2-normalised before the parts are joined, so every layer
weighs the same in a cosine similarity, whatever its channel count.
"""

from __future__ import annotations

import threading
from typing import Protocol

import numpy as np

from ..io.images import LUMA_WEIGHTS
from . import backbones
from .runtime import Runtime, autocast


class NetworkSpec(Protocol):
    """What an embedder reads of a spec; registry.ExtractorSpec has it.

    A protocol, not the registry's class: the registry imports the autoencoder, which
    imports this module, and a network needs only these fields.
    """

    @property
    def model(self) -> str: ...
    @property
    def taps(self) -> tuple[str, ...]: ...
    @property
    def mode(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def pooling(self) -> str: ...
    @property
    def flip(self) -> bool: ...
    @property
    def gram(self) -> bool: ...
    @property
    def invariant(self) -> bool: ...
    @property
    def weights(self) -> str: ...
    @property
    def weights_file(self) -> str: ...


class _ReachedLastTap(Exception):
    """Raised by the deepest tap's hook so layers past it are never computed."""


class TapNet:
    """Collect the outputs of named modules during one forward pass."""

    def __init__(self, model, taps: tuple[str, ...], input_size: int):
        import torch

        self.model = model
        self.taps = taps
        modules = dict(model.named_modules())
        unknown = [t for t in taps if t not in modules]
        if unknown:
            sample = ", ".join(n for n in list(modules)[1:12] if n)
            raise ValueError(f"no layer named {', '.join(unknown)} in this model (layers look like: {sample}, ...)")
        # The hooks are shared by every caller, so each thread collects its own call's
        # outputs: the library shares one embedder between a scan and outside queries.
        self._calls = threading.local()
        fired: list[str] = []
        probes = [modules[t].register_forward_hook(lambda *_, t=t: fired.append(t)) for t in taps]
        with torch.no_grad():
            model(torch.zeros(1, 3, input_size, input_size))
        for handle in probes:
            handle.remove()
        repeated = sorted({t for t in fired if fired.count(t) > 1})
        if repeated:
            raise ValueError(f"layer {', '.join(repeated)} runs several times per image; choose a block instead")
        self._last = fired[-1]
        for tap in taps:
            modules[tap].register_forward_hook(self._keeper(tap))

    def _keeper(self, tap: str):
        def hook(_module, _inputs, output):
            self._calls.outputs[tap] = output
            if tap == self._last:
                raise _ReachedLastTap

        return hook

    def __call__(self, batch) -> list:
        outputs: dict[str, object] = {}
        self._calls.outputs = outputs
        try:
            self.model(batch)
        except _ReachedLastTap:
            pass
        finally:
            # Dropped at once, so the thread holds no feature maps between calls.
            del self._calls.outputs
        return [outputs[t] for t in self.taps]


def _l2(x):
    import torch

    return torch.nn.functional.normalize(x, dim=1, eps=1e-12)


def uint8_tensor(views: np.ndarray, device: str):
    """``views`` (uint8, N×H×W×3) as a uint8 tensor on ``device``, still channels-last."""
    import torch

    # Views sliced from a decoded image are read-only; torch wants writable memory.
    return torch.from_numpy(np.require(views, dtype=np.uint8, requirements=["C", "W"])).to(device)


def image_descriptors(descriptors, owners: np.ndarray, n_images: int) -> np.ndarray:
    """The unit-length sum of each image's view descriptors, as (n_images, D) float32.

    ``descriptors`` is a (N, D) tensor, one row per view; ``owners[i]`` is the image view
    i belongs to.
    """
    import torch

    summed = torch.zeros(n_images, descriptors.shape[1], device=descriptors.device)
    summed.index_add_(0, torch.as_tensor(owners, dtype=torch.long, device=descriptors.device), descriptors)
    return _l2(summed).cpu().numpy().astype(np.float32)


#: The centre prior's standard deviation, as a fraction of the map's side. Measured on
#: dtd10 (flat textures) against composed object photos: 0.25 keeps the flat-texture score
#: within a point of plain averaging while finding patterns in photos far more often.
CENTRE_SIGMA = 0.25
#: ``object`` pooling: the weight of a position that looks like the frame's border, against
#: 1 for the most object-like one, and the power that sharpens the difference. Measured on
#: the garment development set (bench/devsets.py) against dtd10: power 2 with a floor of
#: 0.05 lifts garments P@10 from 0.262 to 0.345 and costs dtd10 0.002; power 3 gains
#: garments 0.02 more and costs dtd10 0.006.
OBJECT_FLOOR = 0.05
OBJECT_POWER = 2.0


def spatial_weights(height: int, width: int, pooling: str, device=None):
    """Pooling weights over an H×W map that sum to one (``avg`` or ``centre``)."""
    import torch

    if pooling == "avg":
        weights = torch.ones(height, width, device=device)
    else:
        y = (torch.arange(height, device=device) + 0.5) / height - 0.5
        x = (torch.arange(width, device=device) + 0.5) / width - 0.5
        weights = torch.exp(-(y[:, None] ** 2 + x[None, :] ** 2) / (2 * CENTRE_SIGMA**2))
    return (weights / weights.sum()).flatten()


def object_saliency(deepest):
    """Per position of an (N, C, H, W) map, in [0, 1]: how unlike the frame's border it looks.

    A photo's background is what touches the frame; a flat swatch is alike everywhere, so
    its saliency is small and even, and the pooling stays close to the centre prior.
    Cosine to the mean border feature of the deepest tap, which knows objects best.
    """
    import torch
    from torch.nn.functional import normalize

    unit = normalize(deepest.float(), dim=1)
    border = torch.ones(unit.shape[2:], dtype=torch.bool, device=unit.device)
    border[1:-1, 1:-1] = False
    background = normalize(unit[:, :, border].mean(2), dim=1)
    unlike = (1 - torch.einsum("nchw,nc->nhw", unit, background)).clamp_min(0)
    return unlike / unlike.amax(dim=(1, 2), keepdim=True).clamp_min(1e-6)


def _pooling_weights(fmap, pooling: str, saliency):
    """(N, H·W) weights that sum to one per image, for one tapped map."""
    import torch

    height, width = fmap.shape[2:]
    prior = spatial_weights(height, width, "centre" if pooling == "object" else pooling, fmap.device)
    if pooling != "object":
        return prior.expand(fmap.shape[0], -1)
    resized = torch.nn.functional.interpolate(saliency[:, None], (height, width), mode="bilinear")[:, 0]
    weights = (OBJECT_FLOOR + resized.flatten(1) ** OBJECT_POWER) * prior
    return weights / weights.sum(dim=1, keepdim=True)


def pool_maps(maps: list, mode: str, pooling: str = "avg", gram: bool = False):
    """Pool a list of (N, C, H, W) maps into one (N, D) float32 descriptor, unit-norm per part."""
    import torch

    parts = []
    for fmap in maps:
        if fmap.ndim != 4:
            raise ValueError(f"a tapped layer gives shape {tuple(fmap.shape)}, not a feature map; tap a convolutional block")
    # The coarsest map is the deepest tap; of two maps of one size (Lite0's blocks 11 and 14), the later
    # named, which is the deeper where taps are named in the network's order, as every default is.
    saliency = object_saliency(min(reversed(maps), key=lambda m: m.shape[2] * m.shape[3])) if pooling == "object" else None
    for fmap in maps:
        fmap = fmap.float()
        flat = fmap.flatten(2)
        weights = _pooling_weights(fmap, pooling, saliency)
        mean = torch.einsum("ncp,np->nc", flat, weights)
        parts.append(_l2(mean))
        if mode == "texture":
            variance = torch.einsum("ncp,np->nc", (flat - mean[..., None]) ** 2, weights)
            parts.append(_l2(variance.clamp_min(0).sqrt()))
            if gram:
                gram_matrix = torch.bmm(flat, flat.transpose(1, 2)) / flat.shape[2]
                upper = torch.triu_indices(flat.shape[1], flat.shape[1], device=flat.device)
                values = gram_matrix[:, upper[0], upper[1]]
                parts.append(_l2(values.sign() * values.abs().sqrt()))
    return torch.cat(parts, dim=1) / len(parts) ** 0.5


#: On a GPU each new batch shape costs a kernel choice: measured on an H200 (torch 2.11,
#: bf16), the first pass over dtd10's mixed one- and two-view images ran at 26 img/s and
#: the next at 4,000. A scan's batches vary in views (tiles of strips, the last batch), so
#: on a GPU they are padded to a multiple of this many views, which bounds the shapes.
GPU_SHAPE_STEP = 32


def padded_to_step(views: np.ndarray, owners: np.ndarray, n_images: int,
                   step: int) -> tuple[np.ndarray, np.ndarray]:
    """``views`` and ``owners`` padded with blank views to a multiple of ``step`` rows.

    The blank views belong to an extra image, index ``n_images``, which the caller drops.
    """
    missing = -len(views) % step if step else 0
    if not missing:
        return views, owners
    blanks = np.zeros((missing, *views.shape[1:]), dtype=views.dtype)
    return np.concatenate([views, blanks]), np.concatenate([owners, np.full(missing, n_images)])


def build_tapnet(spec: NetworkSpec) -> TapNet:
    """``spec``'s network with its weights, on the CPU, hooked at its taps (needs torch)."""
    return TapNet(backbones.build(backbones.get(spec.model), _weights_arg(spec)), spec.taps, spec.size)


class CnnEmbedder:
    """Turn batches of uint8 views into one descriptor per image, with torch
    (:class:`~.torchless.ExportedEmbedder` runs the exported backends)."""

    def __init__(self, spec: NetworkSpec, runtime: Runtime):
        import torch

        self.spec = spec
        self.backbone = backbones.get(spec.model)
        self.tapnet = build_tapnet(spec)
        model = self.tapnet.model
        self.runtime = runtime
        memory_format = torch.channels_last if runtime.channels_last else torch.contiguous_format
        model.to(device=runtime.device, memory_format=memory_format)
        self._memory_format = memory_format
        self._mean = torch.tensor(self.backbone.mean, device=runtime.device).view(1, 3, 1, 1)
        self._std = torch.tensor(self.backbone.std, device=runtime.device).view(1, 3, 1, 1)
        self._luma = torch.tensor(LUMA_WEIGHTS, device=runtime.device).view(1, 3, 1, 1)
        self.shape_step = 0 if runtime.device == "cpu" else GPU_SHAPE_STEP

    def embed(self, views: np.ndarray, owners: np.ndarray, n_images: int) -> np.ndarray:
        """Embed ``views`` (uint8, N×S×S×3); ``owners[i]`` is the image view i belongs to.

        Returns an (n_images, D) float32 array of unit vectors; an image with several views
        (tiles) gets the mean of their descriptors.
        """
        import torch

        views, owners = padded_to_step(views, owners, n_images, self.shape_step)
        with torch.inference_mode():
            batch = uint8_tensor(views, self.runtime.device).permute(0, 3, 1, 2).float()
            if self.spec.mode == "structure":
                luminance = (batch * self._luma).sum(dim=1, keepdim=True).expand(-1, 3, -1, -1)
                descriptors = self._symmetrised(luminance) + self._symmetrised(255.0 - luminance)
            else:
                descriptors = self._symmetrised(batch)
            return image_descriptors(descriptors, owners, n_images + 1)[:n_images]

    def _symmetrised(self, pixels):
        """The summed descriptors of ``pixels`` (N×3×S×S, 0..255) over the flips the spec asks for."""
        batch = ((pixels - self._mean) / self._std).contiguous(memory_format=self._memory_format)
        descriptors = self._describe(batch)
        if self.spec.invariant:
            return descriptors + self._dihedral_rest(batch)
        if self.spec.flip:
            return descriptors + self._describe(batch.flip(3))
        return descriptors

    def _dihedral_rest(self, batch):
        """The summed descriptors of the other 7 elements of D4: 3 turns, the mirror and its 3 turns."""
        import torch

        total = 0
        for mirrored in (False, True):
            source = batch.flip(3) if mirrored else batch
            for turns in range(0 if mirrored else 1, 4):
                view = torch.rot90(source, turns, (2, 3)).contiguous(memory_format=self._memory_format)
                total = total + self._describe(view)
        return total

    def _describe(self, batch):
        with autocast(self.runtime):
            maps = self.tapnet(batch)
        return pool_maps(maps, self.spec.mode, self.spec.pooling, self.spec.gram)


def _weights_arg(spec: NetworkSpec):
    if spec.weights == "random":
        return None
    if spec.weights == "pretrained":
        return "pretrained"
    return spec.weights_file
