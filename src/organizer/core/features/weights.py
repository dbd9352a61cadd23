"""Find pretrained weights for torchvision backbones without ever hanging.

Order: a file the user names, then torch's checkpoint cache (where torchvision itself
would have put a download), then a download with a timeout and progress reports. Offline,
the last step fails within seconds with a message that says how to supply the file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT_S = 15.0
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{8,})\.")


class WeightsUnavailable(RuntimeError):
    """Pretrained weights are neither on disk nor downloadable."""


def checkpoint_dir() -> Path:
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


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
            raise WeightsUnavailable(f"weights file not found: {user_file}")
        return user_file
    cached = checkpoint_dir() / Path(urllib.parse.urlparse(url).path).name
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
