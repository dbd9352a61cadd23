"""Affinity propagation, which picks its own number of clusters, fitted on a sample of a large folder."""

from __future__ import annotations

import numpy as np

from ...jobs.subprocess_step import run_step
from ...search.index import unit_rows
from .base import Clusterer, Clustering, ClusterSpec, assign_to_centres, register, sample_rows

#: Affinity propagation keeps an N×N similarity matrix, so it fits on fewer images than the others.
AFFINITY_SAMPLE_LIMIT = 2000
MAX_ITERATIONS = 400


def _affinity_fit(points: np.ndarray, seed: int) -> tuple[np.ndarray, int]:
    """Affinity propagation's labels and iteration count on the cosine similarities of ``points``."""
    from sklearn.cluster import AffinityPropagation

    unit = unit_rows(points)
    similarity = unit @ unit.T
    # The lowest similarity as every point's preference asks for few exemplars; the median
    # (sklearn's default) splits a folder into dozens of tiny clusters. Heavy damping
    # keeps the messages from oscillating on near-identical patterns.
    model = AffinityPropagation(affinity="precomputed", preference=float(similarity.min()), damping=0.9,
                                random_state=seed, max_iter=MAX_ITERATIONS)
    return model.fit_predict(similarity), model.n_iter_


def run(space, spec: ClusterSpec, progress, should_stop) -> Clustering:
    fitted = sample_rows(space, AFFINITY_SAMPLE_LIMIT, spec.seed)
    fitted_labels, iterations = run_step(_affinity_fit, space[fitted], spec.seed, rows=len(fitted),
                                         should_stop=should_stop)
    progress(1, 1, "affinity propagation")
    labels = assign_to_centres(space, fitted, fitted_labels)
    params = {"k": int(len(set(fitted_labels.tolist()) - {-1})), "fitted": len(fitted),
              "converged": bool(iterations < MAX_ITERATIONS)}
    return Clustering(labels, "affinity", params)


register(Clusterer("affinity", "Affinity propagation", "Picks exemplar images, and the number of groups, by itself.",
                   (), run, rank=60))
