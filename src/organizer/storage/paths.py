"""Where the app keeps its files, through platformdirs so every OS gets its usual place."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import platformdirs

APP_NAME = "pattern-organizer"
BESIDE_DIR_NAME = ".pattern-organizer"


def _override(var: str) -> Path | None:
    value = os.environ.get(var)
    return Path(value) if value else None


def user_cache_dir() -> Path:
    """The per-user cache folder; ``ORGANIZER_CACHE_DIR`` overrides it (tests, portable installs)."""
    return _override("ORGANIZER_CACHE_DIR") or Path(platformdirs.user_cache_dir(APP_NAME))


def user_data_dir() -> Path:
    """The per-user data folder (the sample folder lives here); ``ORGANIZER_DATA_DIR`` overrides it."""
    return _override("ORGANIZER_DATA_DIR") or Path(platformdirs.user_data_dir(APP_NAME))


def models_dir() -> Path:
    """Where networks exported for a faster runtime are kept (``embedding.exported``), one file per
    model, weights and taps; deleting it costs only the seconds of exporting again."""
    return user_cache_dir() / "models"


def samples_dir() -> Path:
    """Where the built-in sample patterns are rendered (``organizer samples``, the app's demo)."""
    return user_data_dir() / "samples"


def cache_db_path(folder: Path, beside: bool = False) -> Path:
    """The cache database for one image folder.

    In the user cache dir by default, named by a hash of the folder's absolute path, so the
    user's folder is never written to; ``beside=True`` keeps it in a hidden folder inside the
    image folder instead, for users who want it kept with their files (the scan skips
    hidden folders). Rows hold absolute paths, so a moved folder is hashed again, though
    its vectors are reused by content hash.
    """
    folder = Path(folder).resolve()
    if beside:
        return folder / BESIDE_DIR_NAME / "cache.sqlite"
    digest = hashlib.blake2b(str(folder).encode("utf-8"), digest_size=10).hexdigest()
    return user_cache_dir() / "folders" / f"{folder.name[:40]}-{digest}.sqlite"
