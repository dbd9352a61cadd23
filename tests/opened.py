"""What tests share to build clustering input: vectors in well-separated directions, and a
folder opened and clustered as the app opens it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from organizer.embedding.library import load_library
from organizer.folder import cluster_library, cluster_spec
from organizer.folder.invalidation import extractor_spec
from organizer.folder.model import FolderModel
from organizer.storage.cache import Cache
from organizer.storage.paths import cache_db_path
from organizer.storage.settings import Settings


def direction_blobs(k: int = 4, per: int = 30, dim: int = 24, spread: float = 0.15,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """k well-separated directions (the app clusters by cosine), each with a noisy cloud; the vectors and labels."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    points = np.repeat(centres, per, axis=0) + spread * rng.normal(size=(k * per, dim)) / np.sqrt(dim)
    return points.astype(np.float32), np.repeat(np.arange(k), per)


def opened_model(folder: Path, settings: Settings) -> FolderModel:
    """``folder`` opened as the app opens it, clustered as ``settings`` say."""
    with Cache(cache_db_path(folder)) as cache:
        library = load_library(folder, extractor_spec(settings), cache)
    model = FolderModel()
    model.open(folder)
    model.set_library(library)
    model.set_clusters(cluster_library(library, cluster_spec(settings), model.cache_path))
    return model
