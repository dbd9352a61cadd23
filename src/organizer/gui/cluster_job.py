"""The session's clustering job: the library's clusters, or the user's saved edits of them.

The job returns the edits key it read with the book, and the session saves later edits of
that book under that key, not under the settings of the moment: a recluster for other
settings may be pending, and its book is not the one being edited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..core.cluster import ClusterSpec, cluster
from ..core.dendrogram import dendrogram_segments
from ..core.edits import ClusterBook, edits_key, image_keys, load_saved_edits
from ..core.library import Library, load_analysis_libraries
from ..storage.cache import Cache
from ..storage.paths import cache_db_path
from .workers import TaskContext


@dataclass
class ClusterResult:
    """A book, its medoids and dendrogram, whether it holds restored edits, and its edits key."""

    book: ClusterBook
    medoids: dict[int, int]
    dendrogram: object
    restored: bool
    key: str


def medoids(book: ClusterBook, vectors: np.ndarray) -> dict[int, int]:
    return {label: book.medoid(label, vectors) for label in book.clusters() if label >= 0}


def updated_medoids(book: ClusterBook, vectors: np.ndarray, old: dict[int, int],
                    old_labels: np.ndarray) -> dict[int, int]:
    """``old`` medoids after ``book`` changed from ``old_labels``: only clusters that gained or lost members are
    recomputed, since an edit runs on the GUI thread and usually touches one or two of many clusters."""
    moved = book.labels != old_labels
    changed = set(book.labels[moved].tolist()) | set(old_labels[moved].tolist())
    return {label: old[label] if label in old and label not in changed else book.medoid(label, vectors)
            for label in book.clusters() if label >= 0}


def cluster_job(library: Library, spec: ClusterSpec,
                flush: Callable[[], object]) -> Callable[[TaskContext], ClusterResult]:
    """A job that clusters ``library`` by ``spec``, or restores the edits saved for them.

    ``flush`` waits for the edits still being written, so the ones saved last are read back.
    """
    key = edits_key(library.spec.id, spec)

    def job(ctx: TaskContext) -> ClusterResult:
        load_analysis_libraries()
        flush()
        with Cache(cache_db_path(library.folder)) as cache:
            saved = load_saved_edits(cache, library.spec.id, spec)
        if len(library) < 3:
            return ClusterResult(ClusterBook(np.zeros(len(library), dtype=np.int64)), {}, None, False, key)
        clustering = cluster(library.vectors, spec, progress=ctx.progress, should_stop=ctx.should_stop)
        keys = image_keys(library.folder, library.paths)
        restored = ClusterBook.from_json(saved, keys, library.hashes) if saved else None
        book = restored or ClusterBook(clustering.labels)
        dendrogram = None
        if clustering.linkage is not None and len(clustering.linkage) + 1 == len(library):
            dendrogram = dendrogram_segments(clustering.linkage, clustering.labels)
        return ClusterResult(book, medoids(book, library.vectors), dendrogram, restored is not None, key)
    return job
