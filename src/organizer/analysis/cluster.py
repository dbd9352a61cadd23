"""Clustering in the descriptor space, with k, eps and the method chosen for the user.

Vectors are compared by cosine, so they are L2-normalised and reduced by PCA first: on
unit vectors euclidean distance is a monotone function of cosine, and every method can
then use its usual euclidean form. The methods are in :mod:`.clusterers`, one module each.
Those whose cost grows with N² (agglomerative, spectral, affinity propagation) fit on a
sample of at most ``clusterers.base.SAMPLE_LIMIT`` images (2,000 for affinity propagation)
and assign the rest to the nearest cluster centre, so no N×N matrix is built for large folders.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zipfile

import numpy as np

from .. import __version__
from ..jobs.subprocess_step import run_step
from ..jobs.tasks import ProgressFn, StopFn, never_stop, no_progress
from ..search.index import unit_rows
from ..storage.cache import Cache
from .clusterers import CLUSTERERS
from .clusterers.base import Clustering, ClusterSpec, Followers
from .identity import by_size

log = logging.getLogger(__name__)

# The spec and the result live with the methods (clusterers.base), so the methods need not
# import this module, which runs them; they are re-exported because cluster() takes and returns them.
__all__ = ["ClusterSpec", "Clustering", "cached_cluster", "cluster", "clustering_space", "medoid", "medoids"]


def clustering_space(vectors: np.ndarray, dims: int = 50, seed: int = 0) -> np.ndarray:
    """Unit vectors reduced by PCA: the space every method clusters in."""
    from sklearn.decomposition import PCA

    unit = unit_rows(vectors)
    dims = min(dims, unit.shape[1], len(unit))
    return PCA(dims, random_state=seed).fit_transform(unit).astype(np.float32)


def cluster(vectors: np.ndarray, spec: ClusterSpec = ClusterSpec(), *, progress: ProgressFn = no_progress,
            should_stop: StopFn = never_stop) -> Clustering:
    """Cluster ``vectors`` as ``spec`` says; see :class:`ClusterSpec`. Labels run from 0, the largest cluster.

    Steps that cannot check ``should_stop`` run in a child process on large inputs, where a
    stop ends them (see :func:`.subprocess_step.run_step`).

    Raises
    ------
    Cancelled
        When ``should_stop()`` turns true.
    """
    spec.validate(len(vectors))
    space = run_step(clustering_space, vectors, spec.space_dims, spec.seed, rows=len(vectors),
                     should_stop=should_stop)
    result = CLUSTERERS[spec.method].run(space, spec, progress, should_stop)
    # Every view numbers a cluster by its label: Cluster 1 is then the largest, whatever the method.
    result.labels = by_size(result.labels)
    # Medoids in the descriptor space, not the reduced one, so they match the app's after an edit.
    result.medoids = medoids(result.labels, vectors)
    result.sizes = {label: int(np.count_nonzero(result.labels == label)) for label in result.medoids}
    return result


def medoid(vectors: np.ndarray, members: np.ndarray) -> int:
    """The cluster's most typical image: the member whose unit vector lies nearest the members' mean direction.

    Parameters
    ----------
    vectors
        Descriptors of every image, one row each.
    members
        Row indices of the cluster's members.

    Returns
    -------
    int
        The medoid's row index in ``vectors``.
    """
    members = np.asarray(members, dtype=np.int64)
    if not len(members):
        raise ValueError("an empty cluster has no medoid")
    unit = unit_rows(vectors[members])
    return int(members[np.argmax(unit @ unit.mean(axis=0))])


def medoids(labels: np.ndarray, vectors: np.ndarray) -> dict[int, int]:
    """Every cluster's :func:`medoid` by label; noise (-1) has none."""
    labels = np.asarray(labels)
    return {label: medoid(vectors, np.flatnonzero(labels == label)) for label in sorted(set(labels.tolist()) - {-1})}


def cached_cluster(cache: Cache, extractor: str, hashes: list[str], vectors: np.ndarray,
                   spec: ClusterSpec = ClusterSpec(), *, progress: ProgressFn = no_progress,
                   should_stop: StopFn = never_stop) -> Clustering:
    """:func:`cluster`, from the folder's cache when it holds a clustering by ``spec`` of the same images.

    The default method takes seconds on a few thousand images (five Louvain runs), while the
    map and the vectors of a reopened folder come from the cache in well under one. An entry
    counts for this extractor, every option of ``spec``, this version of the app and exactly
    these images in this order (a row's label is its image's); anything else, or an entry
    that cannot be read, is computed afresh and replaces it.
    """
    images = hashlib.sha256("\n".join([__version__, *hashes]).encode()).hexdigest()
    stored = cache.get_clustering(extractor, spec.key)
    if stored is not None and stored[0] == images:
        try:
            return clustering_from_bytes(stored[1], len(hashes))
        except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as exc:
            log.warning("the cached clustering of %s could not be read (%s); computing it again", extractor, exc)
    result = cluster(vectors, spec, progress=progress, should_stop=should_stop)
    cache.put_clustering(extractor, spec.key, images, clustering_to_bytes(result))
    return result


def clustering_to_bytes(clustering: Clustering) -> bytes:
    """Everything a cut of the clustering needs (labels, tree, followers), its medoids and summaries, as npz."""
    arrays = {"labels": clustering.labels,
              "medoids": np.array(sorted(clustering.medoids.items()), dtype=np.int64).reshape(-1, 2),
              "sizes": np.array(sorted(clustering.sizes.items()), dtype=np.int64).reshape(-1, 2),
              "header": np.array(json.dumps({"method": clustering.method, "params": clustering.params,
                                             "scores": clustering.scores}, default=_plain))}
    if clustering.linkage is not None:
        arrays["linkage"] = clustering.linkage
    followers = clustering.followers
    if followers is not None:
        arrays.update(fitted=followers.fitted, rest=followers.rest)
        arrays.update({name: value for name, value in (("neighbours", followers.neighbours),
                                                         ("space", followers.space)) if value is not None})
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def clustering_from_bytes(data: bytes, rows: int) -> Clustering:
    """The clustering :func:`clustering_to_bytes` wrote, of ``rows`` images; ValueError when it is not one."""
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        stored = {name: arrays[name] for name in arrays.files}
    header = json.loads(str(stored["header"]))
    labels = stored["labels"].astype(np.int64)
    followers = None
    if "fitted" in stored:
        followers = Followers(stored["fitted"], stored["rest"], stored.get("neighbours"), stored.get("space"))
        if len(followers.fitted) + len(followers.rest) != rows:
            raise ValueError("its tree's followers cover other images")
    if labels.shape != (rows,):
        raise ValueError(f"{labels.shape} labels for {rows} images")
    return Clustering(labels, header["method"], header["params"], header["scores"], stored.get("linkage"),
                      followers, {int(k): int(v) for k, v in stored["medoids"]},
                      {int(k): int(v) for k, v in stored["sizes"]})


def _plain(value):
    """A numpy number or array in a clustering's summaries, as JSON holds it."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON")
