"""Clustering: every method and linkage, automatic k, automatic eps, noise reassignment."""

from __future__ import annotations

import numpy as np
import pytest
from opened import direction_blobs
from sklearn.metrics import adjusted_rand_score

from organizer.analysis.cluster import Clustering, ClusterSpec, cluster
from organizer.analysis.clusterers.base import LINKAGES, elbow, reassign_noise
from organizer.analysis.clusterers.dbscan import dbscan_eps
from organizer.jobs.tasks import Cancelled


def _check_summary(result: Clustering, n: int) -> None:
    assert len(result.labels) == n
    assert sum(result.sizes.values()) == int(np.sum(result.labels >= 0))
    for label, medoid in result.medoids.items():
        assert result.labels[medoid] == label


@pytest.mark.parametrize("method", ["kmeans", "agglomerative", "spectral", "hdbscan"])
def test_every_method_numbers_its_clusters_from_the_largest_down(method):
    # Blobs of 60, 20, 40 and 30 images: label 0 (Cluster 1) must be the 60, then the 40, the 30, the 20.
    points, truth = direction_blobs(per=60)
    keep = np.concatenate([np.flatnonzero(truth == c)[:n] for c, n in enumerate((60, 20, 40, 30))])
    labels = cluster(points[keep], ClusterSpec(method, k=4)).labels
    sizes = [int(np.count_nonzero(labels == label)) for label in range(labels.max() + 1)]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] >= 50 and len(sizes) >= 4


@pytest.mark.parametrize("method", ["kmeans", "agglomerative", "spectral"])
def test_methods_with_k_given_recover_thedirection_blobs(method):
    points, truth = direction_blobs()
    result = cluster(points, ClusterSpec(method, k=4))
    assert adjusted_rand_score(truth, result.labels) > 0.95
    assert result.params["k"] == 4 and len(result.sizes) == 4
    _check_summary(result, len(points))


@pytest.mark.parametrize("method", ["kmeans", "agglomerative", "spectral"])
@pytest.mark.parametrize("true_k", [3, 6])
def test_automatic_k_finds_the_known_k(method, true_k):
    points, truth = direction_blobs(k=true_k, seed=true_k)
    result = cluster(points, ClusterSpec(method, k_max=10))
    assert result.params["k"] == true_k
    assert adjusted_rand_score(truth, result.labels) > 0.95
    scores = result.scores
    assert scores["k"] == list(range(2, 11))
    assert len(scores["silhouette"]) == len(scores["davies_bouldin"]) == len(scores["criterion"]) == 9
    assert scores["best_k"]["silhouette"] == true_k
    assert scores["best_k"]["davies_bouldin"] == true_k
    assert set(scores["best_k"]) == {"silhouette", "davies_bouldin", "elbow"}


@pytest.mark.parametrize("linkage", LINKAGES)
def test_every_linkage_runs_and_returns_its_tree(linkage):
    points, truth = direction_blobs(k=3)
    result = cluster(points, ClusterSpec("agglomerative", k=3, linkage=linkage))
    assert result.linkage is not None and result.linkage.shape == (len(points) - 1, 4)
    assert adjusted_rand_score(truth, result.labels) > 0.9
    _check_summary(result, len(points))


def test_agglomerative_on_a_large_folder_fits_a_sample_and_assigns_the_rest(monkeypatch):
    from organizer.analysis.clusterers import agglomerative

    monkeypatch.setattr(agglomerative, "SAMPLE_LIMIT", 50)
    points, truth = direction_blobs(k=3, per=60)
    result = cluster(points, ClusterSpec("agglomerative", k=3))
    assert result.params["fitted"] == 50 and result.linkage.shape == (49, 4)
    assert adjusted_rand_score(truth, result.labels) > 0.95


def test_affinity_propagation_finds_its_own_number_of_clusters():
    points, truth = direction_blobs(k=3)
    result = cluster(points, ClusterSpec("affinity"))
    assert adjusted_rand_score(truth, result.labels) > 0.9
    _check_summary(result, len(points))


def test_hdbscan_marks_outliers_as_noise_and_reassignment_absorbs_them():
    points, truth = direction_blobs(k=3, per=40)
    outliers = np.random.default_rng(9).normal(size=(6, points.shape[1])).astype(np.float32) * 3
    data = np.vstack([points, outliers])
    plain = cluster(data, ClusterSpec("hdbscan", min_cluster_size=10))
    assert plain.noise_fraction > 0
    assert adjusted_rand_score(truth, plain.labels[: len(points)]) > 0.9
    absorbed = cluster(data, ClusterSpec("hdbscan", min_cluster_size=10, reassign_noise=True))
    assert absorbed.noise_fraction == 0
    assert absorbed.params["noise_before_reassignment"] == pytest.approx(plain.noise_fraction)


def test_dbscan_eps_comes_from_the_knee_of_the_distance_curve():
    points, truth = direction_blobs(k=3, per=40)
    from organizer.analysis.cluster import clustering_space

    space = clustering_space(points)
    eps = dbscan_eps(space)
    _, distances = __import__("organizer.search.index", fromlist=["build_index"]).build_index(space, "euclidean").knn(space, 6)
    curve = np.sort(distances[:, -1])
    assert curve[0] <= eps <= curve[-1]
    result = cluster(points, ClusterSpec("dbscan"))
    assert result.params["eps_auto"] and result.params["eps"] == pytest.approx(eps)
    assert adjusted_rand_score(truth[result.labels >= 0], result.labels[result.labels >= 0]) > 0.95
    assert result.noise_fraction < 0.2
    given = cluster(points, ClusterSpec("dbscan", eps=1e-6))
    assert given.noise_fraction == 1.0 and not given.params["eps_auto"]


def test_elbow_of_a_bent_curve():
    xs = list(range(1, 11))
    ys = [100, 50, 20, 10, 8, 7, 6, 5, 4, 3]
    assert elbow(xs, ys) in (3, 4)


def test_noise_reassignment_uses_the_nearest_clustered_points():
    space = np.array([[0, 0], [0.1, 0], [5, 5], [5.1, 5], [0.05, 0.02], [5.05, 4.9]], dtype=np.float32)
    labels = np.array([0, 0, 1, 1, -1, -1])
    assert list(reassign_noise(space, labels, k=2)) == [0, 0, 1, 1, 0, 1]


def test_cancelling_the_search_for_k():
    points, _ = direction_blobs()
    calls = {"n": 0}

    def stop():
        calls["n"] += 1
        return calls["n"] > 2

    with pytest.raises(Cancelled):
        cluster(points, ClusterSpec("kmeans"), should_stop=stop)


@pytest.mark.parametrize("bad", [dict(method="magic"), dict(linkage="fuzzy"), dict(k=0), dict(eps=-1.0),
                                 dict(k_min=5, k_max=3)])
def test_invalid_specs_are_refused(bad):
    points, _ = direction_blobs()
    with pytest.raises(ValueError):
        cluster(points, ClusterSpec(**bad))


@pytest.mark.parametrize("spec", [ClusterSpec("auto", k_max=6), ClusterSpec("kmeans", k_max=4),
                                  ClusterSpec("agglomerative", k=4, linkage="average"), ClusterSpec("spectral", k=4),
                                  ClusterSpec("affinity"), ClusterSpec("dbscan", reassign_noise=True),
                                  ClusterSpec("hdbscan", reassign_noise=True)], ids=lambda spec: spec.method)
def test_a_stoppable_run_fits_in_child_processes_and_matches_the_in_process_labels(spec, monkeypatch):
    from organizer.jobs import subprocess_step
    from organizer.jobs.tasks import StopFlag

    points, _ = direction_blobs()
    here = cluster(points, spec)  # nobody can stop it: every step in this process
    children = []

    def counted(fn, *args, **kwargs):
        children.append(fn.__name__)
        return run_stoppable(fn, *args, **kwargs)

    run_stoppable = subprocess_step.run_stoppable
    monkeypatch.setattr(subprocess_step, "CHILD_FROM_ROWS", 10)
    monkeypatch.setattr(subprocess_step, "run_stoppable", counted)
    there = cluster(points, spec, should_stop=StopFlag())
    assert "clustering_space" in children and len(children) >= 2
    assert np.array_equal(there.labels, here.labels)
    assert there.params == here.params and there.scores == here.scores
    assert (there.linkage is None) == (here.linkage is None)
    if here.linkage is not None:
        assert np.array_equal(there.linkage, here.linkage)


def test_a_stop_ends_hdbscan_in_its_child_on_a_large_folder():
    import multiprocessing

    from organizer.jobs.subprocess_step import CHILD_FROM_ROWS

    # Five times the size that goes to a child: HDBSCAN takes seconds on it, far longer than one poll.
    points, _ = direction_blobs(k=10, per=CHILD_FROM_ROWS // 2, dim=64)

    def hdbscan_running() -> bool:
        return any(child.name == "stoppable _hdbscan_fit" for child in multiprocessing.active_children())

    with pytest.raises(Cancelled):
        cluster(points, ClusterSpec("hdbscan"), should_stop=hdbscan_running)
    assert multiprocessing.active_children() == []


def test_the_clusterings_medoids_are_the_apps_medoids():
    """The CLI's fresh clustering and the app's book name a cluster after the same image, also when PCA drops
    dimensions (the reduced space's nearest-to-mean member was another image)."""
    from organizer.analysis.edits import ClusterBook

    rng = np.random.default_rng(3)
    points = rng.normal(size=(90, 128)).astype(np.float32) + np.repeat(rng.normal(size=(3, 128)) * 0.5, 30, axis=0)
    result = cluster(points, ClusterSpec("kmeans", k=3))
    book = ClusterBook(result.labels)
    assert result.medoids == {label: book.medoid(label, points) for label in book.clusters() if label >= 0}
