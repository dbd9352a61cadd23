"""One function per clustering method, each returning a :class:`~.cluster.Clustering`.

They receive the reduced clustering space (see :func:`.cluster.clustering_space`). Each
fit that cannot check ``should_stop`` goes through :func:`.subprocess_step.run_step`, so a
stop ends it on large inputs; the module-level ``_..._fit`` functions are those steps.
"""

from __future__ import annotations

import numpy as np

from .cluster import (SAMPLE_LIMIT, ClusterSpec, Clustering, choose_k, elbow, reassign_noise)
from .index import build_index, unit_rows
from .subprocess_step import run_step
from .tasks import ProgressFn, StopFn

DBSCAN_MIN_SAMPLES = 5
SPECTRAL_NEIGHBOURS = 15
AFFINITY_SAMPLE_LIMIT = 2000


def run(method: str, space: np.ndarray, spec: ClusterSpec, progress: ProgressFn, should_stop: StopFn) -> Clustering:
    return _METHODS[method](space, spec, progress, should_stop)


def _sample(space: np.ndarray, limit: int, seed: int) -> np.ndarray:
    if len(space) <= limit:
        return np.arange(len(space))
    return np.sort(np.random.default_rng(seed).choice(len(space), limit, replace=False))


def _assign_to_centres(space: np.ndarray, fitted: np.ndarray, fitted_labels: np.ndarray) -> np.ndarray:
    """Labels for all of ``space``: fitted rows keep theirs, the rest join the nearest centre."""
    labels = np.full(len(space), -1, dtype=np.int64)
    labels[fitted] = fitted_labels
    rest = np.setdiff1d(np.arange(len(space)), fitted)
    names = np.array(sorted(set(fitted_labels.tolist()) - {-1}))
    if len(rest) and len(names):
        centres = np.stack([space[fitted][fitted_labels == n].mean(axis=0) for n in names])
        nearest, _ = build_index(centres, "euclidean").knn(space[rest], 1)
        labels[rest] = names[nearest[:, 0]]
    return labels


def _kmeans_fit(space: np.ndarray, k: int, seed: int):
    from sklearn.cluster import KMeans

    return KMeans(k, n_init=4, random_state=seed).fit(space)


def _kmeans(space, spec, progress, should_stop) -> Clustering:
    models = {}

    def fit(k):
        models[k] = run_step(_kmeans_fit, space, k, spec.seed, rows=len(space), should_stop=should_stop)
        return models[k].labels_

    if spec.k is not None:
        return Clustering(fit(spec.k), "kmeans", {"k": spec.k})
    k, scores = choose_k(space, fit, spec, progress, should_stop, criterion=lambda k, _: models[k].inertia_)
    return Clustering(models[k].labels_, "kmeans", {"k": k}, scores)


def _agglomerative(space, spec, progress, should_stop) -> Clustering:
    from scipy.cluster.hierarchy import fcluster, linkage

    fitted = _sample(space, SAMPLE_LIMIT, spec.seed)
    tree = run_step(linkage, space[fitted].astype(np.float64), spec.linkage, rows=len(fitted),
                    should_stop=should_stop)

    def fit(k):
        return fcluster(tree, k, criterion="maxclust") - 1

    def merge_height(k, _labels):
        # The height of the merge that would leave k - 1 clusters: where it drops, k is natural.
        return tree[-(k - 1), 2] if k > 1 else tree[-1, 2]

    params = {"linkage": spec.linkage, "fitted": len(fitted)}
    if spec.k is not None:
        k, scores = spec.k, {}
    else:
        k, scores = choose_k(space[fitted], fit, spec, progress, should_stop, criterion=merge_height)
    labels = _assign_to_centres(space, fitted, fit(k))
    return Clustering(labels, "agglomerative", {**params, "k": k}, scores, linkage=tree)


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


def _spectral(space, spec, progress, should_stop) -> Clustering:
    fitted = _sample(space, SAMPLE_LIMIT, spec.seed)
    graph = _similarity_graph(space[fitted])

    def fit(k):
        return run_step(_spectral_fit, graph, k, spec.seed, rows=len(fitted), should_stop=should_stop)

    if spec.k is not None:
        k, scores = spec.k, {}
    else:
        k, scores = choose_k(space[fitted], fit, spec, progress, should_stop)
    labels = _assign_to_centres(space, fitted, fit(k))
    return Clustering(labels, "spectral", {"k": k, "fitted": len(fitted)}, scores)


def _affinity_fit(points: np.ndarray, seed: int) -> tuple[np.ndarray, int]:
    """Affinity propagation's labels and iteration count on the cosine similarities of ``points``."""
    from sklearn.cluster import AffinityPropagation

    unit = unit_rows(points)
    similarity = unit @ unit.T
    # The lowest similarity as every point's preference asks for few exemplars; the median
    # (sklearn's default) splits a folder into dozens of tiny clusters. Heavy damping
    # keeps the messages from oscillating on near-identical patterns.
    model = AffinityPropagation(affinity="precomputed", preference=float(similarity.min()), damping=0.9,
                                random_state=seed, max_iter=400)
    return model.fit_predict(similarity), model.n_iter_


def _affinity(space, spec, progress, should_stop) -> Clustering:
    fitted = _sample(space, AFFINITY_SAMPLE_LIMIT, spec.seed)
    fitted_labels, iterations = run_step(_affinity_fit, space[fitted], spec.seed, rows=len(fitted),
                                         should_stop=should_stop)
    progress(1, 1, "affinity propagation")
    labels = _assign_to_centres(space, fitted, fitted_labels)
    params = {"k": int(len(set(fitted_labels.tolist()) - {-1})), "fitted": len(fitted),
              "converged": bool(iterations < 400)}
    return Clustering(labels, "affinity", params)


def dbscan_eps(space: np.ndarray, min_samples: int = DBSCAN_MIN_SAMPLES) -> float:
    """eps at the elbow of the sorted k-nearest-neighbour distance curve (Ester et al.), in ``space``."""
    k = min(min_samples, len(space) - 1)
    _, distances = build_index(space, "euclidean").knn(space, k + 1)  # the first neighbour is the point
    curve = np.sort(distances[:, -1])
    # A folder of exact copies puts the knee at distance 0, which DBSCAN refuses.
    return max(float(curve[int(elbow(list(range(len(curve))), list(curve)))]), 1e-6)


def _with_noise_reassigned(space: np.ndarray, labels: np.ndarray, spec: ClusterSpec) -> tuple[np.ndarray, float]:
    """The labels, noise reassigned where ``spec`` asks, and the noise fraction before that."""
    noise = float(np.mean(labels < 0))
    if spec.reassign_noise and (labels >= 0).any():
        labels = reassign_noise(space, labels)
    return labels, noise


def _dbscan_fit(space: np.ndarray, spec: ClusterSpec) -> tuple[np.ndarray, float, float]:
    """DBSCAN's labels, the eps it used and the noise fraction before reassignment."""
    from sklearn.cluster import DBSCAN

    eps = spec.eps if spec.eps is not None else dbscan_eps(space)
    labels = DBSCAN(eps=eps, min_samples=DBSCAN_MIN_SAMPLES).fit_predict(space)
    labels, noise = _with_noise_reassigned(space, labels, spec)
    return labels, eps, noise


def _dbscan(space, spec, progress, should_stop) -> Clustering:
    labels, eps, noise = run_step(_dbscan_fit, space, spec, rows=len(space), should_stop=should_stop)
    params = {"eps": eps, "min_samples": DBSCAN_MIN_SAMPLES, "eps_auto": spec.eps is None,
              "noise_before_reassignment": noise}
    progress(1, 1, "dbscan")
    return Clustering(labels, "dbscan", params)


def _hdbscan_fit(space: np.ndarray, spec: ClusterSpec) -> tuple[np.ndarray, int, float]:
    """HDBSCAN's labels, the minimum cluster size it used and the noise fraction before reassignment."""
    import hdbscan

    size = spec.min_cluster_size or max(5, len(space) // 100)
    labels = hdbscan.HDBSCAN(min_cluster_size=size, core_dist_n_jobs=1).fit_predict(space)
    labels, noise = _with_noise_reassigned(space, labels, spec)
    return labels, size, noise


def _hdbscan(space, spec, progress, should_stop) -> Clustering:
    labels, size, noise = run_step(_hdbscan_fit, space, spec, rows=len(space), should_stop=should_stop)
    progress(1, 1, "hdbscan")
    return Clustering(labels, "hdbscan", {"min_cluster_size": size, "noise_before_reassignment": noise})


def _auto(space, spec, progress, should_stop) -> Clustering:
    """The default: Ward agglomerative clustering with k chosen by silhouette.

    On dtd10 it reached NMI 0.66 with no noise, where HDBSCAN left 67% of the images as
    noise (0.63 once noise was reassigned) and KMeans with automatic k 0.63; see
    docs/benchmarks.md. It also yields the tree for the dendrogram.
    """
    result = _agglomerative(space, ClusterSpec("agglomerative", k=spec.k, linkage="ward", k_min=spec.k_min,
                                               k_max=spec.k_max, seed=spec.seed), progress, should_stop)
    result.method = "auto"
    result.params["base"] = "agglomerative-ward"
    return result


_METHODS = {
    "kmeans": _kmeans, "agglomerative": _agglomerative, "spectral": _spectral, "affinity": _affinity,
    "dbscan": _dbscan, "hdbscan": _hdbscan, "auto": _auto,
}
