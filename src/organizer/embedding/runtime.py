"""Where and how inference runs: the device, the precision, the memory layout and the backend."""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import platform
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
#: What runs the network: torch itself, or its taps exported to ONNX and run by ONNX Runtime or OpenVINO.
BACKENDS = ("auto", "torch", "onnx", "openvino")
#: The Python package each exported backend needs.
BACKEND_PACKAGES = {"onnx": "onnxruntime", "openvino": "openvino"}
#: The precisions each exported backend runs on the CPU: ONNX Runtime has no bf16 kernels there.
EXPORTED_PRECISIONS = {"onnx": ("fp32",), "openvino": ("fp32", "bf16")}
#: The CPU's backend when it is "auto", at torch's precision rule (bf16 where the CPU computes it
#: natively): measured side by side with torch in bench/runtimes.py (docs/benchmarks.md, "Inference
#: runtimes"), OpenVINO bf16 ran 1.6-5.3x as fast as torch bf16 with the same P@10, and fp32 2.2-5.4x
#: as fast as torch fp32 with the same vectors.
CPU_BACKEND = "openvino"
BACKEND_LABELS = {"torch": "PyTorch", "onnx": "ONNX Runtime", "openvino": "OpenVINO"}
#: How to get torch where it is left out: the bundle runs the shipped exports without it (README).
TORCH_INSTALL = "install Pattern Organizer with pip (pip install pattern-organizer)"
TORCH_HINT = f"{TORCH_INSTALL}, which brings torch"

log = logging.getLogger(__name__)


class TorchMissing(RuntimeError):
    """What was asked for needs torch, which this installation leaves out (the bundle does)."""


def torch_installed() -> bool:
    """Whether torch can be imported (found, not loaded)."""
    return importlib.util.find_spec("torch") is not None


def require_torch(what: str) -> None:
    """Raise :class:`TorchMissing`, naming ``what`` and how to get torch, unless torch is installed."""
    if not torch_installed():
        raise TorchMissing(f"{what} needs torch, which this installation leaves out: {TORCH_HINT}")


@dataclass(frozen=True)
class Runtime:
    device: str
    #: The autocast dtype name, or "fp32" for none.
    precision: str
    channels_last: bool
    backend: str = "torch"

    def describe(self) -> str:
        if self.backend != "torch":
            return f"{self.device}, {self.precision}, {BACKEND_LABELS[self.backend]}"
        return f"{self.device}, {self.precision}{', channels_last' if self.channels_last else ''}"


@functools.cache
def cpu_has_native_bf16() -> bool:
    """True when the CPU computes bf16 natively (AVX512_BF16 or AMX).

    Without these instructions bf16 autocast is emulated and slower than fp32, so it is
    only switched on where the hardware has them.
    """
    if platform.system() != "Linux":
        return False
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            return bool(flags & {"avx512_bf16", "amx_bf16"})
    return False


#: torch's big native libraries, in dependency order. Python holds the GIL while it
#: loads an extension module, and ctypes.CDLL holds it too; libtorch_cpu takes ~0.2 s to
#: load, which froze the GUI for that long when a worker imported torch.
_PRELOAD = ("libc10", "libtorch_cpu", "libtorch", "libtorch_python")


_preload_lock = threading.Lock()


@functools.cache
def _dlopen_without_gil():
    """libc's dlopen as a ctypes foreign function: ctypes releases the GIL around the call.

    Made once: ``CDLL(None)`` itself holds the GIL while it waits for the loader's lock,
    which another thread's dlopen of libtorch holds for a fifth of a second.
    """
    import ctypes

    libc = ctypes.CDLL(None)
    dlopen = libc.dlopen
    dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
    dlopen.restype = ctypes.c_void_p
    return lambda path: dlopen(os.fsencode(path), os.RTLD_NOW | os.RTLD_GLOBAL)


def preload_torch() -> None:
    """Import torch from a worker thread without stalling other threads (Linux and macOS).

    Loading the native libraries through libc's dlopen first leaves the import itself
    mostly Python work, which yields to other threads every few milliseconds. Best
    effort: anything unexpected falls back to a plain import.
    """
    if "torch" in sys.modules or platform.system() not in ("Linux", "Darwin"):
        return
    # A second caller waits here, on a lock that releases the GIL, not inside the loader.
    with _preload_lock:
        if "torch" not in sys.modules:
            _preload_and_import(importlib.util.find_spec("torch"))


def _preload_and_import(spec) -> None:
    import importlib

    if spec is None or not spec.submodule_search_locations:
        return
    lib = Path(list(spec.submodule_search_locations)[0]) / "lib"
    suffix = ".dylib" if platform.system() == "Darwin" else ".so"
    try:
        load = _dlopen_without_gil()
    except (OSError, AttributeError):
        return
    for name in _PRELOAD:
        path = lib / f"{name}{suffix}"
        if path.is_file() and not load(path):
            break  # dlopen failed: the import below loads them the usual way
    importlib.import_module("torch")


def choose(device: str = "auto", precision: str = "auto", backend: str = "auto") -> Runtime:
    """Pick CUDA, then MPS, then the CPU, the fastest safe precision for it, and the backend.

    The exported backends run on the CPU only; "auto" takes :data:`CPU_BACKEND` there when
    its package is installed, and torch otherwise. A backend asked for by name whose package
    is missing gives way to torch with a one-line warning. ``ORGANIZER_PRECISION`` and
    ``ORGANIZER_RUNTIME`` override ``"auto"`` (handy for benchmarks). Without torch, "auto" is the
    CPU and its exported backend, and a GPU or torch asked for by name raises :class:`TorchMissing`.
    """
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if backend == "auto":
        backend = os.environ.get("ORGANIZER_RUNTIME", "auto")
    if backend not in BACKENDS:
        raise ValueError(f"unknown runtime {backend!r}; choose one of {', '.join(BACKENDS)}")
    if precision == "auto":
        precision = os.environ.get("ORGANIZER_PRECISION", "auto")
    if not torch_installed():
        return _without_torch(device, precision, backend)
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            device = "cuda"
        elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            device = "mps"
        else:
            device = "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("CUDA was asked for, but torch sees no CUDA device")
    elif device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise RuntimeError("MPS was asked for, but this torch build or machine has none")
    backend, precision = _backend_for(device, precision, backend)
    if backend != "torch":
        return _exported(backend, precision)
    if precision == "auto":
        if device == "cuda":
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        elif device == "mps":
            precision = "fp16"
        else:
            precision = "bf16" if cpu_has_native_bf16() else "fp32"
    return Runtime(device, precision, channels_last=device in ("cpu", "cuda"))


def _without_torch(device: str, precision: str, backend: str) -> Runtime:
    """:func:`choose` where torch is not installed: the CPU's exported backend, or a one-line error."""
    if device not in ("auto", "cpu"):
        require_torch(f"the device {device}")
    if backend == "torch":
        require_torch("the torch runtime")
    if precision not in ("auto", *EXPORTED_PRECISIONS[CPU_BACKEND]):
        require_torch(f"{precision} on the CPU")
    if backend == "auto" or not backend_installed(backend):
        if backend != "auto":
            log.warning("the %s runtime needs the %s package, which is not installed; running %s instead",
                        backend, BACKEND_PACKAGES[backend], CPU_BACKEND)
        backend = CPU_BACKEND
    return _exported(backend, precision)


def _exported(backend: str, precision: str) -> Runtime:
    """The CPU's exported ``backend`` at ``precision`` where it runs it (see :func:`_supported_precision`), at
    its fastest where "auto"."""
    precision = _supported_precision(backend, precision)
    if precision == "auto":
        precision = "bf16" if "bf16" in EXPORTED_PRECISIONS[backend] and cpu_has_native_bf16() else "fp32"
    return Runtime("cpu", precision, channels_last=False, backend=backend)


def _supported_precision(backend: str, precision: str) -> str:
    """``precision``, or fp32 where the exported ``backend`` does not run it on the CPU (said: a setting must
    never stop a scan)."""
    if precision not in ("auto", *EXPORTED_PRECISIONS[backend]):
        log.warning("the %s runtime does not run %s on the CPU; running fp32", backend, precision)
        return "fp32"
    return precision


def _backend_for(device: str, precision: str, backend: str) -> tuple[str, str]:
    """The backend that will run and its precision: those asked for where they can be, else the nearest
    (saying why when they were named: a setting must never stop a scan)."""
    if backend == "auto":
        exported = (device == "cpu" and precision in ("auto", *EXPORTED_PRECISIONS[CPU_BACKEND])
                    and backend_installed(CPU_BACKEND))
        return (CPU_BACKEND if exported else "torch"), precision
    if backend == "torch":
        return backend, precision
    if device != "cpu":
        log.warning("the %s runtime runs on the CPU only; running on torch on %s", backend, device)
        return "torch", precision
    if not backend_installed(backend):
        log.warning("the %s runtime needs the %s package, which is not installed; running on torch instead",
                    backend, BACKEND_PACKAGES[backend])
        return "torch", precision
    return backend, _supported_precision(backend, precision)


def on_torch(runtime: Runtime) -> Runtime:
    """``runtime`` itself if torch runs it, else torch on the same device at torch's own best precision:
    what runs when an exported backend cannot."""
    return runtime if runtime.backend == "torch" else choose(runtime.device, "auto", "torch")


def backend_installed(backend: str) -> bool:
    """Whether the package an exported backend needs can be imported (found, not loaded)."""
    return importlib.util.find_spec(BACKEND_PACKAGES[backend]) is not None


def autocast(runtime: Runtime):
    """The autocast context for a runtime (a no-op context for fp32)."""
    import torch

    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(runtime.precision)
    return torch.autocast(runtime.device, dtype=dtype, enabled=dtype is not None)


def describe_runtime(device: str = "auto", precision: str = "auto", backend: str = "auto") -> str:
    """One line for people (the About box): the chosen device, its precision, the backend and torch's version
    (or that it runs without torch)."""
    preload_torch()
    runtime = choose(device, precision, backend)
    if sys.modules.get("torch") is None:  # not installed: choose imports it where it is
        return f"{runtime.describe()} ({platform.processor() or platform.machine()}) · without torch"
    import torch

    name = torch.cuda.get_device_name() if runtime.device == "cuda" else platform.processor() or platform.machine()
    return f"{runtime.describe()} ({name}) · torch {torch.__version__}"
