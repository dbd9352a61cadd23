"""A folder's current state in one call, for the CLI: its library, clusters and the app's edits."""

from __future__ import annotations

from pathlib import Path

from ..core.cluster import ClusterSpec
from ..core.library import Library
from ..core.tasks import ProgressFn, StopFn, never_stop, no_progress
from .clustering import ClusterResult, cluster_library
from .model import FolderModel


def load_folder_state(library: Library, spec: ClusterSpec, cache_path: Path, *,
                      progress: ProgressFn = no_progress,
                      should_stop: StopFn = never_stop) -> tuple[FolderModel, ClusterResult]:
    """The model of ``library``'s folder, clustered by ``spec`` with the edits saved in the app.

    The clusters are those the app shows for the same extractor and clustering settings
    (the same :func:`~organizer.core.edits.edits_key`): the saved edits when there are
    any, the computed clustering otherwise. Edits made through the returned model are
    saved to ``cache_path`` at once.

    Returns
    -------
    The model, and the clustering result it holds (with the computed clustering's
    method, parameters and scores).
    """
    model = FolderModel()
    model.open(library.folder, cache_path)
    model.set_library(library)
    result = cluster_library(library, spec, model.cache_path, progress=progress, should_stop=should_stop)
    model.set_clusters(result)
    return model, result
