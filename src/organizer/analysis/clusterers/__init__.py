"""The clustering methods, one module each, found through the registry in :mod:`.base`.

Importing this package imports every module in it, and each module registers its method,
so a new method is one new module here and nothing else: the CLI's ``--method`` choices,
the settings dialog and the docs' table (``python -m organizer.analysis.clusterers --markdown``)
follow the registry.
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import CLUSTERERS, PARAMETERS, Clusterer, clusterers, method_names, register, users_of

__all__ = ["CLUSTERERS", "PARAMETERS", "Clusterer", "clusterers", "markdown_table", "method_names", "register",
           "users_of"]

# pkgutil also lists the modules of a frozen app (PyInstaller collects every organizer submodule).
for _module in pkgutil.iter_modules(__path__):
    if _module.name not in ("base", "__main__"):
        importlib.import_module(f"{__name__}.{_module.name}")


def markdown_table() -> str:
    """The registered methods as a Markdown table: name, what it does, the options it uses."""
    rows = ["| Method | Name in the app | What it does | Options |", "|---|---|---|---|"]
    for clusterer in clusterers():
        options = ", ".join(f"`--{name.replace('_', '-')}`" for name in clusterer.parameters) or "none"
        rows.append(f"| `{clusterer.name}` | {clusterer.label} | {clusterer.description} | {options} |")
    return "\n".join(rows) + "\n"
