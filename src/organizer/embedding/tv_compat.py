"""Import torchvision even when its compiled extension does not match torch.

The torchvision wheel on PyPI is a CUDA build. Next to a CPU-only torch (or any torch it
was not built against) its ``_C`` extension fails to load, and ``import torchvision`` then
dies with ``RuntimeError: operator torchvision::nms does not exist``, because the module
registers fake kernels for ``nms``/``qnms`` whose schemas only the extension defines.

We only use torchvision's model definitions, which are plain Python. So when that exact
failure happens we define the two missing schemas ourselves (without kernels: calling
``torchvision.ops.nms`` would still raise), log a warning and import again. This module is
the one place that knows about the mismatch.
"""

from __future__ import annotations

import importlib
import logging
import sys
from types import ModuleType

log = logging.getLogger(__name__)

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
