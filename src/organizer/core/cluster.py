"""Clustering in the descriptor space, with k, eps and the method chosen for the user.

Vectors are compared by cosine, so they are L2-normalised and reduced by PCA first: on
unit vectors euclidean distance is a monotone function of cosine, and every method here
can then use its usual euclidean form. Methods whose cost grows with N² (agglomerative,
spectral, affinity propagation) fit on a sample of at most ``SAMPLE_LIMIT`` images (2,000
for affinity propagation) and assign the rest to the nearest cluster centre, so no N×N
matrix is built for large folders.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .index import build_index, unit_rows
from .subprocess_step import run_step
from .tasks import Cancelled, ProgressFn, StopFn, never_stop, no_progress

METHODS = ("auto", "kmeans", "dbscan", "hdbscan", "agglomerative", "spectral", "affinity")
LINKAGES = ("ward", "single", "complete", "average", "weighted", "centroid", "median")
SAMPLE_LIMIT = 4000
SILHOUETTE_SAMPLE = 3000


@dataclass(frozen=True)
class ClusterSpec:
    """What to cluster with. ``k=None`` means choose k automatically, where the method needs one."""

    method: str = "auto"
    k: int | None = None
    linkage: str = "ward"
    eps: float | None = None
    min_cluster_size: int | None = None
    k_min: int = 2
    k_max: int = 30
    space_dims: int = 50
    #: HDBSCAN and DBSCAN: give noise points the label of their nearest clustered neighbours.
    reassign_noise: bool = False
    seed: int = 0

    def validate(self, n_points: int) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose one of {', '.join(METHODS)}")
        if self.linkage not in LINKAGES:
            raise ValueError(f"unknown linkage {self.linkage!r}; choose one of {', '.join(LINKAGES)}")
        if n_points < 3:
            raise ValueError("clustering needs at least three images")
        if self.k is not None and not 1 <= self.k <= n_points:
            raise ValueError(f"k={self.k} must lie between 1 and the number of images ({n_points})")
        if not 2 <= self.k_min <= self.k_max:
            raise ValueError("need 2 <= k_min <= k_max")
        if self.eps is not None and self.eps <= 0:
            raise ValueError("eps must be positive")


@dataclass
class Clustering:
    """A label per image (-1 for noise, only where the method reports it), with summaries."""

    labels: np.ndarray
    method: str
    params: dict = field(default_factory=dict)
    #: For an automatic k: the scores per candidate k, and which k each criterion prefers.
    scores: dict = field(default_factory=dict)
    #: scipy linkage matrix over the fitted images (agglomerative only), for the dendrogram.
    linkage: np.ndarray | None = None
    medoids: dict[int, int] = field(default_factory=dict)
    sizes: dict[int, int] = field(default_factory=dict)

    @property
    def noise_fraction(self) -> float:
        return float(np.mean(self.labels < 0)) if len(self.labels) else 0.0


def clustering_space(vectors: np.ndarray, dims: int = 50, seed: int = 0) -> np.ndarray:
    """Unit vectors reduced by PCA: the space every method clusters in."""
    from sklearn.decomposition import PCA

    unit = unit_rows(vectors)
    dims = min(dims, unit.shape[1], len(unit))
    return PCA(dims, random_state=seed).fit_transform(unit).astype(np.float32)


def cluster(vectors: np.ndarray, spec: ClusterSpec = ClusterSpec(), *, progress: ProgressFn = no_progress,
            should_stop: StopFn = never_stop) -> Clustering:
    """Cluster ``vectors`` as ``spec`` says; see :class:`ClusterSpec`.

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
    from . import cluster_methods

    result = cluster_methods.run(spec.method, space, spec, progress, should_stop)
    _summarise(result, space)
    return result


def choose_k(space: np.ndarray, fit, spec: ClusterSpec, progress: ProgressFn, should_stop: StopFn,
             criterion=None) -> tuple[int, dict]:
    """Try every k in range; pick the best silhouette and report all three criteria.

    ``fit(k)`` returns labels; ``criterion(k, labels)`` the method's own objective (lower
    is better, e.g. KMeans inertia) for the elbow.
    """
    from sklearn.metrics import davies_bouldin_score, silhouette_score

    k_max = min(spec.k_max, len(space) - 1)
    candidates = list(range(spec.k_min, max(spec.k_min, k_max) + 1))
    rng = np.random.default_rng(spec.seed)
    sample = rng.choice(len(space), min(len(space), SILHOUETTE_SAMPLE), replace=False)
    table = {"k": [], "silhouette": [], "davies_bouldin": [], "criterion": []}
    for i, k in enumerate(candidates):
        if should_stop():
            raise Cancelled()
        labels = fit(k)
        distinct = len(set(labels[sample]))
        table["k"].append(k)
        table["silhouette"].append(float(silhouette_score(space[sample], labels[sample])) if 1 < distinct < len(sample) else -1.0)
        table["davies_bouldin"].append(float(davies_bouldin_score(space, labels)) if len(set(labels)) > 1 else float("inf"))
        table["criterion"].append(float(criterion(k, labels)) if criterion else within_cluster_sum(space, labels))
        progress(i + 1, len(candidates), f"k={k}")
    best = {
        "silhouette": table["k"][int(np.argmax(table["silhouette"]))],
        "davies_bouldin": table["k"][int(np.argmin(table["davies_bouldin"]))],
        "elbow": elbow(table["k"], table["criterion"]),
    }
    return best["silhouette"], {**table, "best_k": best}


def within_cluster_sum(space: np.ndarray, labels: np.ndarray) -> float:
    total = 0.0
    for label in set(labels.tolist()) - {-1}:
        members = space[labels == label]
        total += float(((members - members.mean(axis=0)) ** 2).sum())
    return total


def elbow(xs: list[float], ys: list[float]) -> float:
    """The x where the curve bends most: the point farthest from the chord (Kneedle)."""
    if len(xs) < 3:
        return xs[0]
    x = np.asarray(xs, dtype=float)
    y = np.asarray(ys, dtype=float)
    x_n = (x - x[0]) / (x[-1] - x[0] or 1.0)
    y_n = (y - y.min()) / (np.ptp(y) or 1.0)
    chord = y_n[0] + (y_n[-1] - y_n[0]) * x_n
    return xs[int(np.argmax(np.abs(y_n - chord)))]


def reassign_noise(space: np.ndarray, labels: np.ndarray, k: int = 10) -> np.ndarray:
    """Give each noise point the majority label among its k nearest clustered neighbours."""
    labels = labels.copy()
    noise = np.flatnonzero(labels < 0)
    clustered = np.flatnonzero(labels >= 0)
    if len(noise) == 0 or len(clustered) == 0:
        return labels
    index = build_index(space[clustered], "euclidean")
    nearest, _ = index.knn(space[noise], min(k, len(clustered)))
    clustered_labels = labels[clustered]
    # An approximate index pads missing neighbours with -1; those must not vote.
    labels[noise] = [np.bincount(clustered_labels[row[row >= 0]]).argmax() for row in nearest]
    return labels


def _summarise(result: Clustering, space: np.ndarray) -> None:
    """Sizes and medoids: per cluster, the member nearest the cluster's mean."""
    for label in sorted(set(result.labels.tolist()) - {-1}):
        members = np.flatnonzero(result.labels == label)
        centre = space[members].mean(axis=0)
        result.sizes[label] = len(members)
        result.medoids[label] = int(members[np.argmin(((space[members] - centre) ** 2).sum(axis=1))])
