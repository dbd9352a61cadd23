"""K-means, with k chosen by silhouette when not given."""

from __future__ import annotations

import numpy as np

from ...jobs.subprocess_step import run_step
from .base import Clusterer, Clustering, ClusterSpec, choose_k, register


def _kmeans_fit(space: np.ndarray, k: int, seed: int):
    from sklearn.cluster import KMeans

    return KMeans(k, n_init=4, random_state=seed).fit(space)


def run(space, spec: ClusterSpec, progress, should_stop) -> Clustering:
    models = {}

    def fit(k):
        models[k] = run_step(_kmeans_fit, space, k, spec.seed, rows=len(space), should_stop=should_stop)
        return models[k].labels_

    if spec.k is not None:
        return Clustering(fit(spec.k), "kmeans", {"k": spec.k})
    k, scores = choose_k(space, fit, spec, progress, should_stop, criterion=lambda k, _: models[k].inertia_)
    return Clustering(models[k].labels_, "kmeans", {"k": k}, scores)


register(Clusterer("kmeans", "K-means", "Compact groups of similar size; every image joins one.",
                   ("k",), run, rank=10))
