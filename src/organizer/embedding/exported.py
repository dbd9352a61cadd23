"""The CNN up to its taps as an ONNX file, run by ONNX Runtime or OpenVINO on the CPU.

Measured side by side with torch in ``bench/runtimes.py`` (docs/benchmarks.md, "Inference
runtimes"): on the CPU, OpenVINO runs the same taps 1.6-5.3x as fast as torch in bf16 with the
same P@10, and 2.2-5.4x in fp32 with the same vectors. The network is exported once per model, weights and taps, into the user
cache's ``models`` folder, and read from there afterwards; the app may ship the default model's exports
(:func:`bundled`), which are read first. Only the export needs torch: finding and running a file does not,
and :mod:`.torchless` pools the tapped maps in numpy. Anything that goes wrong here is an
:class:`ExportUnavailable`, on which the caller runs torch instead where it can.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import logging
import os
import queue
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

from ..io.transfer import replace_atomically
from ..resources import MODELS_FOLDER, resource_path, shipped_weights_digest
from ..storage.paths import models_dir
from . import backbones
from .cnn import NetworkSpec, build_tapnet
from .runtime import BACKEND_PACKAGES, require_torch
from .weights import MissingWeightsFile, cached_file

log = logging.getLogger(__name__)

#: Bumped whenever the exported graph changes for the same model, weights and taps (the
#: wrapper, the opset, the dynamic axes), so a file from older code is never read. 2: the name hashes
#: the weights file rather than the loaded tensors, so version 1's files are never found again.
EXPORT_VERSION = 2
OPSET = 17
INPUT = "pixels"

#: Normalised pixels (N×3×H×W float32) → one feature map (N×C×h×w float32) per tap.
TapRunner = Callable[[np.ndarray], list[np.ndarray]]


class ExportUnavailable(RuntimeError):
    """The backend's package is missing, or the network would not export or load."""


def weights_digest(path: Path) -> str:
    """The hash of a weights file's bytes: what names its export, read without torch.

    Remembered per file identity, size and change time, since every embedder built asks for it
    and reading 18 MB again took about 30 ms. The change time (ctime), unlike the modification
    time, no copying tool can set back, so a file rewritten in place is hashed afresh.
    """
    status = os.stat(path)
    return _file_digest(os.fspath(path), status.st_dev, status.st_ino, status.st_size, status.st_ctime_ns)


@functools.lru_cache(maxsize=32)
def _file_digest(path: str, *_identity: int) -> str:
    digest = hashlib.blake2b(digest_size=10)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def state_digest(model) -> str:
    """The hash of a built network's weights, for random ones (tests), which have no file."""
    digest = hashlib.blake2b(digest_size=10)
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy())  # its buffer, read without a copy
    return digest.hexdigest()


def export_name(model_name: str, weights: str, taps: tuple[str, ...]) -> str:
    """The file name of the export of ``model_name`` with the weights hashed as ``weights``, up to ``taps``.

    It changes with the weights, the taps and :data:`EXPORT_VERSION`; torch's version is left out, so a
    torch-less install finds the file a build with torch wrote (the bundle's own, see :func:`bundled`).
    """
    key = hashlib.blake2b(repr((weights, taps, EXPORT_VERSION, OPSET)).encode(), digest_size=10)
    return f"{model_name}-{key.hexdigest()}.onnx"


def bundled(name: str) -> Path | None:
    """The export ``name`` as shipped with the app (``make package`` writes the default model's), or None.

    Read-only: a damaged one is passed over for the user's cache, never written again.
    """
    try:
        return resource_path(f"{MODELS_FOLDER}/{name}")
    except FileNotFoundError:
        return None


def export_taps(tapnet, size: int, target: Path) -> None:
    """Write the network of ``tapnet`` (a :class:`~.cnn.TapNet`) up to its deepest tap to ``target``.

    The batch and the two sides are dynamic (multiscale views are twice the base side). The
    file is written under a temporary name and renamed, so a reader never sees half of it.
    """
    import torch

    class Taps(torch.nn.Module):
        def __init__(self):
            super().__init__()
            # Registered as a child so its weights become the graph's initialisers.
            self.model = tapnet.model

        def forward(self, pixels):
            return tuple(tapnet(pixels))

    # The exporter's advice on its own internals, once per op: noise for the user. Filters, not
    # catch_warnings, which is not thread-safe.
    warnings.filterwarnings("ignore", message="You are using the legacy TorchScript-based ONNX export")
    warnings.filterwarnings("ignore", message="Constant folding - Only steps=1", category=UserWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx")
    axes = {name: {0: "batch", 2: "height", 3: "width"} for name in (INPUT, *tapnet.taps)}

    def write(partial: Path) -> None:
        # The TorchScript exporter (dynamo=False): it traces through the TapNet's hooks, which stop
        # the forward pass at the deepest tap, and needs onnx alone, where torch.export's needs
        # onnxscript too.
        with torch.no_grad():
            torch.onnx.export(Taps().eval(), (torch.zeros(1, 3, size, size),), str(partial), dynamo=False,
                              input_names=[INPUT], output_names=list(tapnet.taps), dynamic_axes=axes,
                              opset_version=OPSET)

    target.parent.mkdir(parents=True, exist_ok=True)
    replace_atomically(target, write)


def taps_runner(spec: NetworkSpec, backend: str, precision: str) -> TapRunner:
    """A runner for ``spec``'s taps on ``backend`` ("onnx" or "openvino"): from the export shipped with the
    app, else the user cache's, else one exported there now (which alone needs torch), and again if the
    cached file is there but cannot be read.

    Raises
    ------
    ExportUnavailable
        The backend's package is missing, or the network would not export, or its export would not load.
    TorchMissing
        No export is found, and torch, which would make one, is not installed.
    WeightsUnavailable
        The weights are missing or not the network's, as on torch.
    """
    load = {"onnx": _onnx_runner, "openvino": _openvino_runner}[backend]
    try:
        importlib.import_module(BACKEND_PACKAGES[backend])  # first: without it, an export is seconds lost
        shipped = _shipped_digest(spec)
        # Random weights (tests) have no file, and a download has none until the network is built.
        tapnet = build_tapnet(spec) if shipped is None and _weights_file(spec) is None else None
        name = export_name(spec.model, shipped or _weights_key(spec, tapnet), spec.taps)
        cached = models_dir() / name
        for path in (bundled(name), cached):
            if path is not None and path.is_file():
                try:
                    return load(path, spec.taps, precision)
                except Exception as exc:  # noqa: BLE001 - each runtime has its own errors for a damaged file
                    log.warning("the export %s would not load (%s); trying the next", path, _first_line(exc))
        label = backbones.get(spec.model).label or spec.model
        require_torch(f"exporting {label} at the layers {', '.join(spec.taps)}")
        _export(tapnet or build_tapnet(spec), spec.size, cached)
        try:
            return load(cached, spec.taps, precision)
        except Exception as exc:  # noqa: BLE001
            raise ExportUnavailable(f"the exported network would not load ({_first_line(exc)})") from None
    except ImportError as exc:
        raise ExportUnavailable(f"a package is missing ({exc.name or exc})") from None


def export_into(spec: NetworkSpec, folder: Path) -> Path:
    """Export ``spec``'s taps into ``folder`` under the name :func:`taps_runner` looks for, and return the file:
    ``make package`` ships the default model's (packaging/export_models.py)."""
    tapnet = build_tapnet(spec)
    path = folder / export_name(spec.model, _weights_key(spec, tapnet), spec.taps)
    _export(tapnet, spec.size, path)
    return path


def _weights_key(spec: NetworkSpec, tapnet) -> str:
    """What names the weights in an export's name: the file's hash, or the built network's for random weights."""
    return state_digest(tapnet.model) if spec.weights == "random" else weights_digest(_weights_file(spec))


def _shipped_digest(spec: NetworkSpec) -> str | None:
    """The digest the bundle ships in place of ``spec``'s ImageNet weights, or None: elsewhere, or other weights."""
    if spec.weights != "pretrained" or spec.weights_file:
        return None
    return shipped_weights_digest(spec.model)


def _weights_file(spec: NetworkSpec) -> Path | None:
    """The file ``spec``'s weights load from, or None: random, or a download not made yet."""
    if spec.weights == "random":
        return None
    if spec.weights_file:
        if not Path(spec.weights_file).is_file():
            raise MissingWeightsFile(Path(spec.weights_file))
        return Path(spec.weights_file)
    url = backbones.get(spec.model).weights_url
    if not url:
        return backbones.lite_weights_path(spec.model)
    cached = cached_file(url)
    return cached if cached.is_file() else None


def _export(tapnet, size: int, path: Path) -> None:
    try:
        export_taps(tapnet, size, path)
    except ImportError:
        raise
    except Exception as exc:  # noqa: BLE001 - the exporter fails in many ways on an unusual network
        raise ExportUnavailable(f"the network would not export to ONNX ({_first_line(exc)})") from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().split("\n")[0]
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _check_outputs(names: list[str], taps: tuple[str, ...], path: Path) -> None:
    if names != list(taps):
        raise ValueError(f"{path.name} gives {names}, not the taps {list(taps)}")


def _onnx_runner(path: Path, taps: tuple[str, ...], _precision: str) -> TapRunner:
    """ONNX Runtime's session: its ``run`` may be called from several threads at once."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # its warnings about unused initialisers are noise here
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    _check_outputs([o.name for o in session.get_outputs()], taps, path)
    return lambda pixels: session.run(None, {INPUT: pixels})


def _openvino_runner(path: Path, taps: tuple[str, ...], precision: str) -> TapRunner:
    """OpenVINO's compiled model, with an infer request for each call running at the same time.

    A compiled model may serve several requests at once, but one request must not be used by
    two threads: the scan and a query from the app may run the same embedder together. Idle
    requests wait in a queue the runner owns, not in thread-locals: Qt's pooled threads drop
    their Python thread state after every job, and a request freed with it crashed the app.
    """
    import openvino

    core = openvino.Core()
    model = core.read_model(str(path))
    _check_outputs([output.get_any_name() for output in model.outputs], taps, path)
    compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32",
                                                 "PERFORMANCE_HINT": "LATENCY"})
    idle: queue.SimpleQueue = queue.SimpleQueue()

    def run(pixels: np.ndarray) -> list[np.ndarray]:
        try:
            request = idle.get_nowait()
        except queue.Empty:
            request = compiled.create_infer_request()
        try:
            # share_outputs=False: the arrays are copies, not the request's buffers the next call overwrites.
            results = request.infer({0: pixels}, share_outputs=False)
            return [results[output] for output in compiled.outputs]
        finally:
            idle.put(request)

    return run
