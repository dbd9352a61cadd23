"""A folder's clusters: the library clustered, or the user's saved edits of that clustering.

One function for the app's cluster job and the CLI, so both see the same clusters. It
returns the edits key it read with the book, and later edits of that book are saved under
that key, not under the settings of the moment: a recluster for other settings may be
pending, and its book is not the one being edited.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..analysis.cluster import Clustering, ClusterSpec, cached_cluster, medoid, medoids
from ..analysis.cut import can_cut
from ..analysis.dendrogram import Dendrogram, dendrogram_segments
from ..analysis.edits import ClusterBook, edits_key, image_keys, load_saved_edits
from ..embedding.library import Library, load_analysis_libraries
from ..jobs.tasks import ProgressFn, StopFn, never_stop, no_progress
from ..storage.cache import Cache
from ..storage.settings import Settings


#: Leaves of the drawn tree: each shows a thumbnail, which needs room, and 24 leave about 30 pixels
#: each in an 800-pixel window; 60 left them 12, too few to tell a photo by.
DENDROGRAM_LEAVES = 24


@dataclass
class ClusterResult:
    """A book, its medoids and dendrogram, whether it holds restored edits, and its edits key."""

    book: ClusterBook
    medoids: dict[int, int]
    #: The clustering tree coloured by the book's clusters; None for a method without one.
    dendrogram: Dendrogram | None
    restored: bool
    key: str
    #: The computed clustering the book started from (method, parameters, scores); None under three images.
    clustering: Clustering | None = None


def cluster_spec(settings: Settings) -> ClusterSpec:
    """The clustering the app's settings describe (0 means automatic)."""
    return ClusterSpec(method=settings.cluster_method, k=settings.cluster_k or None, linkage=settings.linkage,
                       min_cluster_size=settings.min_cluster_size or None)


def book_dendrogram(clustering: Clustering | None, book: ClusterBook, vectors: np.ndarray,
                    leaf_images: list[int] | None = None) -> Dendrogram | None:
    """The clustering's tree coloured by ``book``'s clusters, edits included, so its colours are the grid's,
    each leaf with the image that stands for it (its members' medoid); None without a tree.

    A tree fitted on a sample of the images is coloured by the sampled images' clusters. The
    leaves depend on the tree alone, so an edit passes the ``leaf_images`` found before.
    """
    if not can_cut(clustering):
        return None
    fitted = clustering.followers.fitted
    if len(book.labels) != len(fitted) + len(clustering.followers.rest):
        return None
    tree = dendrogram_segments(clustering.linkage, book.labels[fitted], max_leaves=DENDROGRAM_LEAVES)
    tree.leaf_images = leaf_images or [medoid(vectors, fitted[members]) for members in tree.leaf_members]
    return tree


def updated_medoids(book: ClusterBook, vectors: np.ndarray, old: dict[int, int],
                    old_labels: np.ndarray) -> dict[int, int]:
    """``old`` medoids after ``book`` changed from ``old_labels``: only clusters that gained or lost members are
    recomputed, since an edit runs on the GUI thread and usually touches one or two of many clusters."""
    moved = book.labels != old_labels
    changed = set(book.labels[moved].tolist()) | set(old_labels[moved].tolist())
    return {label: old[label] if label in old and label not in changed else book.medoid(label, vectors)
            for label in book.clusters() if label >= 0}


def cluster_library(library: Library, spec: ClusterSpec, cache_path: Path, *, progress: ProgressFn = no_progress,
                    should_stop: StopFn = never_stop, flush: Callable[[], object] = lambda: None) -> ClusterResult:
    """Cluster ``library`` by ``spec``, or restore the edits saved for them in the cache at ``cache_path``.

    Parameters
    ----------
    flush
        Waits for the edits still being written, so the ones saved last are read back.

    Raises
    ------
    Cancelled
        When ``should_stop()`` turns true.
    """
    key = edits_key(library.spec.id, spec)
    load_analysis_libraries()
    flush()
    with Cache(cache_path) as cache:
        saved = load_saved_edits(cache, library.spec.id, spec)
        if len(library) < 3:
            return ClusterResult(ClusterBook(np.zeros(len(library), dtype=np.int64)), {}, None, False, key)
        # The clustering the edits started from: the same for the same images, so computed once.
        clustering = cached_cluster(cache, library.spec.id, library.hashes, library.vectors, spec,
                                    progress=progress, should_stop=should_stop)
    keys = image_keys(library.folder, library.paths)
    restored = ClusterBook.from_json(saved, keys, library.hashes) if saved else None
    book = restored or ClusterBook(clustering.labels)
    vectors = library.vectors
    return ClusterResult(book, medoids(book.labels, vectors), book_dendrogram(clustering, book, vectors),
                         restored is not None, key, clustering)
