"""Agglomerative clustering by any scipy linkage, fitted on a sample of a large folder."""

from __future__ import annotations

import numpy as np

from ...jobs.subprocess_step import run_step
from .base import SAMPLE_LIMIT, Clusterer, Clustering, ClusterSpec, Followers, choose_k, register, sample_rows, tree_groups


def run(space, spec: ClusterSpec, progress, should_stop) -> Clustering:
    from scipy.cluster.hierarchy import linkage

    fitted = sample_rows(space, SAMPLE_LIMIT, spec.seed)
    tree = run_step(linkage, space[fitted].astype(np.float64), spec.linkage, rows=len(fitted),
                    should_stop=should_stop)

    def fit(k):
        return tree_groups(tree, k)

    def merge_height(k, _labels):
        # The height of the merge that would leave k - 1 clusters: where it drops, k is natural.
        return tree[-(k - 1), 2] if k > 1 else tree[-1, 2]

    params = {"linkage": spec.linkage, "fitted": len(fitted)}
    if spec.k is not None:
        k, scores = spec.k, {}
    else:
        k, scores = choose_k(space[fitted], fit, spec, progress, should_stop, criterion=merge_height)
    followers = Followers.by_centres(space, fitted)
    return Clustering(followers.labels(fit(k)), "agglomerative", {**params, "k": k}, scores, linkage=tree,
                      followers=followers)


register(Clusterer("agglomerative", "Agglomerative",
                   "Merges the most similar groups step by step, as the dendrogram shows.",
                   ("k", "linkage"), run, rank=40))
