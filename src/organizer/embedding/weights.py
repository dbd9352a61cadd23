"""Find pretrained weights for torchvision backbones without ever hanging, and load them.

Order: a file the user names, then torch's checkpoint cache (where torchvision itself
would have put a download), then a download with a timeout and progress reports. Offline,
the last step fails within seconds with a message that says how to supply the file.
:func:`load_into` turns every way a file can be wrong into one line that says which.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import re
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
from pathlib import Path
from typing import Any, Callable, Mapping

log = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT_S = 15.0
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{8,})\.")


class WeightsUnavailable(RuntimeError):
    """Pretrained weights are neither on disk nor downloadable."""


class MissingWeightsFile(WeightsUnavailable):
    """The weights file the user named is not there (any more)."""

    def __init__(self, path: Path):
        super().__init__(f"weights file not found: {path}")
        self.path = Path(path)


class BadWeights(WeightsUnavailable):
    """A weights file that is not a state_dict for the network it should load into.

    ``user_file`` tells the user's own file (``--weights``) from a packaged or downloaded one.
    """

    def __init__(self, path: Path, reason: str, user_file: bool):
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.user_file = user_file


def checkpoint_dir() -> Path:
    """torch's checkpoint cache, where torchvision downloads weights to.

    Found by torch's own rule ($TORCH_HOME, else $XDG_CACHE_HOME/torch, else ~/.cache/torch)
    while torch is not loaded, so the settings dialog can say which models are here without
    the seconds torch takes to import.
    """
    hub = sys.modules.get("torch.hub")
    if hub is not None:  # loaded: it knows a folder set with torch.hub.set_dir too
        return Path(hub.get_dir()) / "checkpoints"
    home = os.environ.get("TORCH_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "torch")
    return Path(os.path.expanduser(home)) / "hub" / "checkpoints"


def cached_file(url: str) -> Path:
    """Where torch's cache keeps the weights behind ``url`` (there or not)."""
    return checkpoint_dir() / Path(urllib.parse.urlparse(url).path).name


def resolve(url: str, user_file: Path | None = None,
            progress: Callable[[int, int], None] | None = None) -> Path:
    """Return a local file holding the weights behind ``url``.

    Raises
    ------
    WeightsUnavailable
        When the user's file is missing, or the cache is empty and the download fails.
    """
    if user_file is not None:
        user_file = Path(user_file)
        if not user_file.is_file():
            raise MissingWeightsFile(user_file)
        return user_file
    cached = cached_file(url)
    if cached.is_file():
        return cached
    hint = (f"Download {url} on a connected machine and either put it in {cached.parent} "
            f"or pass it with --weights FILE.")
    log.warning("Downloading pretrained weights from %s to %s", url, cached)
    try:
        _download(url, cached, progress)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise WeightsUnavailable(f"could not download pretrained weights ({exc}). {hint}") from None
    return cached


def _download(url: str, target: Path, progress: Callable[[int, int], None] | None) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
        total = int(response.headers.get("Content-Length") or 0)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".part")
        try:
            done = 0
            with os.fdopen(fd, "wb") as out:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
            expected = _HASH_IN_NAME.search(target.name)
            if expected and not digest.hexdigest().startswith(expected.group(1)):
                raise OSError("downloaded file is corrupt (checksum mismatch)")
            os.replace(tmp_name, target)
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)


#: What ``torch.save`` writes: a zip archive since PyTorch 1.6, a bare pickle before.
_ZIP, _PICKLE = b"PK\x03\x04", b"\x80"


def load_into(model, path: Path, network: str, *, user_file: bool,
              adapt: Callable[[dict], dict] | None = None) -> None:
    """Load the state_dict saved in ``path`` into ``model`` (the ``network`` backbone).

    ``adapt`` rewrites the loaded keys first (old checkpoints' names, for example).

    Raises
    ------
    BadWeights
        The file is not a PyTorch state_dict (text, empty, truncated, some other pickled
        object), or is one for another network (missing or unexpected keys, other shapes).
    """
    import torch

    with open(path, "rb") as handle:
        head = handle.read(len(_ZIP))
    if not head.startswith((_ZIP, _PICKLE)):
        what = "the file is empty" if not head else "neither a zip archive nor a pickle, as torch.save writes"
        raise BadWeights(path, f"not a PyTorch state_dict ({what})", user_file)
    # torch warns of any pickle protocol above 2 before it reads a single tensor: noise on top
    # of the one line below. A filter, not catch_warnings, which is not thread-safe.
    warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises a different type for each way a file is damaged
        raise BadWeights(path, f"not a PyTorch state_dict ({_load_failure(exc)})", user_file) from None
    problem = _not_named_tensors(state, torch.Tensor)
    if problem:
        raise BadWeights(path, f"not a PyTorch state_dict ({problem})", user_file)
    state = adapt(dict(state)) if adapt else dict(state)
    mismatch = _mismatch(model.state_dict(), state)
    if mismatch:
        raise BadWeights(path, f"not a state_dict for {network} ({mismatch})", user_file)
    model.load_state_dict(state)


def _load_failure(exc: Exception) -> str:
    if isinstance(exc, pickle.UnpicklingError) and "weights only" in str(exc).lower():
        return "it holds Python objects besides tensors, such as a whole pickled model"
    if isinstance(exc, EOFError):
        return "the file is cut short"
    # torch's messages run to paragraphs of advice; their first sentence names the fault.
    first = str(exc).strip().split("\n")[0].split(". ")[0]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _not_named_tensors(state: Any, tensor: type) -> str:
    if not isinstance(state, Mapping):
        return f"it holds an object of type {type(state).__name__}, not named tensors"
    for key, value in state.items():
        if not isinstance(value, tensor):
            return (f"{key!r} holds an object of type {type(value).__name__}, not a tensor: a training checkpoint? "
                    f"Save model.state_dict() itself")
    return ""


def _mismatch(expected: Mapping, state: Mapping) -> str:
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    reshaped = [key for key in expected if key in state and tuple(state[key].shape) != tuple(expected[key].shape)]
    parts = [f"{len(keys)} {what}, first {keys[0]}" for keys, what in
             ((missing, "keys missing"), (unexpected, "unexpected keys"), (reshaped, "tensors of another shape"))
             if keys]
    return "; ".join(parts)
