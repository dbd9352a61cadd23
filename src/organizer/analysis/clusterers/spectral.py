"""Spectral clustering on a sparse nearest-neighbour graph, fitted on a sample of a large folder."""

from __future__ import annotations

import numpy as np

from ...jobs.subprocess_step import run_step
from ...search.index import build_index, unit_rows
from .base import SAMPLE_LIMIT, Clusterer, Clustering, ClusterSpec, assign_to_centres, choose_k, register, sample_rows

SPECTRAL_NEIGHBOURS = 15


def _similarity_graph(space: np.ndarray):
    """A sparse, symmetric cosine-similarity graph over each point's nearest neighbours."""
    from scipy.sparse import csr_matrix

    unit = unit_rows(space)
    k = min(SPECTRAL_NEIGHBOURS + 1, len(unit))
    nearest, similarity = build_index(unit, "cosine").knn(unit, k)
    rows = np.repeat(np.arange(len(unit)), k)
    graph = csr_matrix((similarity.clip(min=1e-6).ravel(), (rows, nearest.ravel())), shape=(len(unit),) * 2)
    return graph.maximum(graph.T)


def _spectral_fit(graph, k: int, seed: int) -> np.ndarray:
    from sklearn.cluster import SpectralClustering

    model = SpectralClustering(k, affinity="precomputed", random_state=seed, assign_labels="cluster_qr")
    return model.fit_predict(graph)


def run(space, spec: ClusterSpec, progress, should_stop) -> Clustering:
    fitted = sample_rows(space, SAMPLE_LIMIT, spec.seed)
    graph = _similarity_graph(space[fitted])

    def fit(k):
        return run_step(_spectral_fit, graph, k, spec.seed, rows=len(fitted), should_stop=should_stop)

    if spec.k is not None:
        k, scores = spec.k, {}
    else:
        k, scores = choose_k(space[fitted], fit, spec, progress, should_stop)
    labels = assign_to_centres(space, fitted, fit(k))
    return Clustering(labels, "spectral", {"k": k, "fitted": len(fitted)}, scores)


register(Clusterer("spectral", "Spectral", "Groups linked by chains of similar images, even of odd shapes.",
                   ("k",), run, rank=50))
