"""Clustering in the descriptor space, with k, eps and the method chosen for the user.

Vectors are compared by cosine, so they are L2-normalised and reduced by PCA first: on
unit vectors euclidean distance is a monotone function of cosine, and every method can
then use its usual euclidean form. The methods are in :mod:`.clusterers`, one module each.
Those whose cost grows with N² (agglomerative, spectral, affinity propagation) fit on a
sample of at most ``clusterers.base.SAMPLE_LIMIT`` images (2,000 for affinity propagation)
and assign the rest to the nearest cluster centre, so no N×N matrix is built for large folders.
"""

from __future__ import annotations

import numpy as np

from ..jobs.subprocess_step import run_step
from ..jobs.tasks import ProgressFn, StopFn, never_stop, no_progress
from ..search.index import unit_rows
from .clusterers import CLUSTERERS
from .clusterers.base import Clustering, ClusterSpec
from .identity import by_size

# The spec and the result live with the methods (clusterers.base), so the methods need not
# import this module, which runs them; they are re-exported because cluster() takes and returns them.
__all__ = ["ClusterSpec", "Clustering", "cluster", "clustering_space", "medoid", "medoids"]


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
