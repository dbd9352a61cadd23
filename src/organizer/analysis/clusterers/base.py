"""What every clusterer shares: the spec it is given, the result it returns, the registry it joins.

A clusterer is a :class:`Clusterer` entry in :data:`CLUSTERERS`, registered by its own
module in this package with :func:`register`. The CLI's ``--method`` choices, the settings
dialog's method list and the docs' table are read from the registry, so a new method needs
nothing but its module. This module imports no method, so the methods can import it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from ...jobs.subprocess_step import run_step
from ...jobs.tasks import Cancelled, ProgressFn, StopFn
from ...search.index import build_index, unit_rows

LINKAGES = ("ward", "single", "complete", "average", "weighted", "centroid", "median")
#: Methods whose cost grows with N² fit on at most this many images and assign the rest.
SAMPLE_LIMIT = 4000
SILHOUETTE_SAMPLE = 3000


@dataclass(frozen=True)
class Parameter:
    """A clustering option a method may use, with the range the CLI and the settings dialog accept."""

    name: str
    #: What the option does, for the CLI's help and the settings dialog.
    help: str
    low: float | None = None
    high: float | None = None


#: Every option of :class:`ClusterSpec` a method can say it uses; the ranges live here only.
PARAMETERS = {parameter.name: parameter for parameter in (
    Parameter("k", "the number of clusters (default: chosen automatically)", 1, 1000),
    Parameter("linkage", "how the distance between two groups is measured"),
    # Unit vectors lie at most 2 apart, so a wider radius joins everything.
    Parameter("eps", "the neighbourhood radius (default: from the k-distance elbow)", 0, 2),
    Parameter("min_cluster_size", "the smallest group (default: a hundredth of the images, at least 5)", 2, 100_000),
    Parameter("reassign_noise", "images left unclustered join their nearest neighbours' cluster"),
)}


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

    @property
    def key(self) -> str:
        """Every option, for the clustering cache: a clustering computed for one spec never stands for another's."""
        return "|".join(f"{name}={value}" for name, value in asdict(self).items())

    def validate(self, n_points: int) -> None:
        if self.method not in CLUSTERERS:
            raise ValueError(f"unknown method {self.method!r}; choose one of {', '.join(method_names())}")
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
    #: scipy linkage matrix over the fitted images (auto and agglomerative), for the dendrogram and cuts.
    linkage: np.ndarray | None = None
    #: With a linkage: which rows it was fitted on, and how the others follow a cut of it.
    followers: "Followers | None" = None
    medoids: dict[int, int] = field(default_factory=dict)
    sizes: dict[int, int] = field(default_factory=dict)

    @property
    def noise_fraction(self) -> float:
        return float(np.mean(self.labels < 0)) if len(self.labels) else 0.0


#: ``run(space, spec, progress, should_stop)``: cluster the reduced, unit-normalised space.
RunFn = Callable[[np.ndarray, ClusterSpec, ProgressFn, StopFn], Clustering]


@dataclass(frozen=True)
class Clusterer:
    """One clustering method: its name, how people see it, the options it uses and how it runs."""

    name: str
    #: The name shown to people, in the settings dialog.
    label: str
    #: One line on what the method does, for the CLI's help, the settings dialog and the docs.
    description: str
    #: Names from :data:`PARAMETERS` that this method reads from its :class:`ClusterSpec`.
    parameters: tuple[str, ...]
    run: RunFn
    #: Where the method sits in lists; lower comes first.
    rank: int = 100

    def __post_init__(self) -> None:
        unknown = set(self.parameters) - set(PARAMETERS)
        if unknown:
            raise ValueError(f"{self.name}: unknown parameters {', '.join(sorted(unknown))}")


CLUSTERERS: dict[str, Clusterer] = {}


def register(clusterer: Clusterer) -> Clusterer:
    """Add ``clusterer`` to :data:`CLUSTERERS`; a second method of the same name is refused."""
    if clusterer.name in CLUSTERERS:
        raise ValueError(f"a clusterer named {clusterer.name!r} is already registered")
    CLUSTERERS[clusterer.name] = clusterer
    return clusterer


def clusterers() -> list[Clusterer]:
    """The registered methods in the order lists show them."""
    return sorted(CLUSTERERS.values(), key=lambda c: (c.rank, c.name))


def method_names() -> tuple[str, ...]:
    return tuple(c.name for c in clusterers())


def users_of(parameter: str) -> tuple[str, ...]:
    """The methods that read ``parameter``, in list order."""
    return tuple(c.name for c in clusterers() if parameter in c.parameters)


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
    labels[noise] = vote(neighbour_table(space, noise, clustered, k), labels[clustered])
    return labels


def neighbour_table(space: np.ndarray, rows: np.ndarray, among: np.ndarray, k: int = 10) -> np.ndarray:
    """Each of ``rows``' ``k`` nearest rows of ``among``, as positions in ``among``; -1 pads a row an
    approximate index found fewer for. It does not depend on any labels, so one table serves every cut."""
    nearest, _ = build_index(space[among], "euclidean").knn(space[rows], min(k, len(among)))
    return nearest


def vote(nearest: np.ndarray, among_labels: np.ndarray) -> np.ndarray:
    """Each row's majority label among its ``nearest`` (of two alike, the lower, as ``bincount().argmax()``)."""
    counts = np.zeros((len(nearest), int(among_labels.max(initial=0)) + 1), dtype=np.int64)
    # An approximate index pads missing neighbours with -1; those must not vote.
    rows, columns = np.nonzero(nearest >= 0)
    np.add.at(counts, (rows, among_labels[nearest[rows, columns]]), 1)
    return counts.argmax(axis=1)


@dataclass(frozen=True, eq=False)  # arrays have no single truth value to compare by
class Followers:
    """How the rows a tree was not fitted on take the labels of any cut of it, as the method placed them.

    Exactly one of ``neighbours`` and ``space`` is set. A tree fitted on every row has no rest.
    """

    #: The rows the tree's leaves are, in leaf order.
    fitted: np.ndarray
    #: Every other row, ascending.
    rest: np.ndarray
    #: Per row of ``rest``, its nearest fitted rows (positions in ``fitted``): it takes their majority label.
    neighbours: np.ndarray | None = None
    #: Or every row's point: each row of ``rest`` joins the nearest centre of the cut's groups.
    space: np.ndarray | None = None

    @classmethod
    def by_neighbours(cls, space: np.ndarray, fitted: np.ndarray, should_stop: StopFn) -> "Followers":
        """The rest follow their :func:`neighbour_table` among ``fitted``, found once (in a child on large folders)."""
        rest = np.setdiff1d(np.arange(len(space)), fitted)
        nearest = (run_step(neighbour_table, space, rest, fitted, rows=len(rest), should_stop=should_stop)
                   if len(rest) else np.empty((0, 0), dtype=np.int64))
        return cls(fitted, rest, neighbours=nearest)

    @classmethod
    def by_centres(cls, space: np.ndarray, fitted: np.ndarray) -> "Followers":
        return cls(fitted, np.setdiff1d(np.arange(len(space)), fitted), space=space)

    def labels(self, fitted_labels: np.ndarray) -> np.ndarray:
        """A label per row, given one per fitted row (0 and up, as a cut of the tree gives them)."""
        if self.space is not None:
            return assign_to_centres(self.space, self.fitted, fitted_labels)
        labels = np.empty(len(self.fitted) + len(self.rest), dtype=np.int64)
        labels[self.fitted] = fitted_labels
        if len(self.rest):
            labels[self.rest] = vote(self.neighbours, np.asarray(fitted_labels, dtype=np.int64))
        return labels


def with_noise_reassigned(space: np.ndarray, labels: np.ndarray, spec: ClusterSpec) -> tuple[np.ndarray, float]:
    """The labels, noise reassigned where ``spec`` asks, and the noise fraction before that."""
    noise = float(np.mean(labels < 0))
    if spec.reassign_noise and (labels >= 0).any():
        labels = reassign_noise(space, labels)
    return labels, noise


def similarity_graph(space: np.ndarray, neighbours: int):
    """A sparse, symmetric cosine-similarity graph over each point's ``neighbours`` nearest (itself included)."""
    from scipy.sparse import csr_matrix

    unit = unit_rows(space)
    k = min(neighbours + 1, len(unit))
    nearest, similarity = build_index(unit, "cosine").knn(unit, k)
    rows = np.repeat(np.arange(len(unit)), k)
    graph = csr_matrix((similarity.clip(min=1e-6).ravel(), (rows, nearest.ravel())), shape=(len(unit),) * 2)
    return graph.maximum(graph.T)


def sample_rows(space: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """Sorted indices of at most ``limit`` rows of ``space``, drawn at random."""
    if len(space) <= limit:
        return np.arange(len(space))
    return np.sort(np.random.default_rng(seed).choice(len(space), limit, replace=False))


def assign_to_centres(space: np.ndarray, fitted: np.ndarray, fitted_labels: np.ndarray) -> np.ndarray:
    """Labels for all of ``space``: fitted rows keep theirs, the rest join the nearest centre.

    Parameters
    ----------
    space : np.ndarray
        Every point, one row each.
    fitted : np.ndarray
        Indices of the rows the method was fitted on.
    fitted_labels : np.ndarray
        The method's label for each fitted row; -1 marks noise, which is no centre.

    Returns
    -------
    np.ndarray
        A label per row of ``space``.
    """
    from sklearn.neighbors import NearestCentroid

    labels = np.full(len(space), -1, dtype=np.int64)
    labels[fitted] = fitted_labels
    rest = np.setdiff1d(np.arange(len(space)), fitted)
    clustered = fitted_labels >= 0
    names = np.unique(fitted_labels[clustered])
    if not len(rest) or not len(names):
        return labels
    if len(names) == 1:
        # NearestCentroid refuses a single class; one centre is every point's nearest.
        labels[rest] = names[0]
        return labels
    centroid = NearestCentroid().fit(space[fitted][clustered], fitted_labels[clustered])
    labels[rest] = centroid.predict(space[rest])
    return labels


def tree_groups(linkage: np.ndarray, k: int) -> np.ndarray:
    """A group 0..k-1 per leaf of ``linkage``: its first n - k merges made, the rest not.

    Exactly k groups, where ``fcluster(..., "maxclust")`` gives fewer when merges tie in height;
    numbered in the order of the nodes they are.
    """
    n = len(linkage) + 1
    if not 1 <= k <= n:
        raise ValueError(f"a tree of {n} leaves cuts into 1 to {n} groups, not {k}")
    # Walk down from the cut's roots: every node made by a merge above the cut is a root's
    # ancestor, every node below it takes its parent's group.
    made = n - k
    group = np.full(2 * n - 1, -1, dtype=np.int64)
    children = linkage[:, :2].astype(np.int64)
    parented = np.zeros(2 * n - 1, dtype=bool)
    parented[children[:made].ravel()] = True
    roots = np.flatnonzero(~parented[:n + made])
    group[roots] = np.arange(len(roots))
    for row in range(made - 1, -1, -1):
        group[children[row]] = group[n + row]
    return group[:n]
