"""Find-similar: exact search, metrics, and neighbourhood re-ranking."""

from __future__ import annotations

import gc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from organizer.analysis.evaluate import ranking_scores, retrieval_metrics
from organizer.jobs.subprocess_step import CHILD_FROM_ROWS
from organizer.jobs.tasks import Cancelled
from organizer.search.index import ExactIndex
from organizer.search import similarity
from organizer.search.similarity import expand_query, find_similar, smooth_neighbourhoods, smoothed_index


def _blobs(seed=0, classes=6, per_class=40, dim=32, noise=1.5):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, dim))
    vectors = np.repeat(centres, per_class, axis=0) + noise * rng.normal(size=(classes * per_class, dim))
    labels = np.repeat(np.arange(classes), per_class)
    return vectors.astype(np.float32), labels


def test_exact_index_matches_brute_force_for_every_metric():
    rng = np.random.default_rng(1)
    data, query = rng.normal(size=(50, 8)).astype(np.float32), rng.normal(size=8).astype(np.float32)
    for metric, key in [
        ("cosine", lambda: -(data / np.linalg.norm(data, axis=1, keepdims=True)) @ (query / np.linalg.norm(query))),
        ("euclidean", lambda: np.linalg.norm(data - query, axis=1)),
        ("manhattan", lambda: np.abs(data - query).sum(axis=1)),
    ]:
        found = ExactIndex(metric).fit(data).query(query, k=5, exclude={int(np.argmin(key()))})
        expected = [i for i in np.argsort(key(), kind="stable") if i != np.argmin(key())][:5]
        assert list(found.indices) == expected


def test_k_larger_than_the_collection_returns_everything_else():
    data = np.eye(3, dtype=np.float32)
    found = ExactIndex().fit(data).query(data[0], k=10, exclude={0})
    assert sorted(found.indices) == [1, 2]


def test_unknown_metric_is_refused():
    with pytest.raises(ValueError):
        ExactIndex("hamming")


def test_smoothing_keeps_unit_vectors_and_pulls_clusters_together():
    vectors, labels = _blobs()
    smoothed = smooth_neighbourhoods(vectors)
    assert smoothed.shape == vectors.shape
    assert np.allclose(np.linalg.norm(smoothed, axis=1), 1, atol=1e-5)

    def within_class_similarity(x):
        unit = x / np.linalg.norm(x, axis=1, keepdims=True)
        sims = unit @ unit.T
        same = labels[:, None] == labels[None, :]
        return sims[same].mean() - sims[~same].mean()

    assert within_class_similarity(smoothed) > within_class_similarity(vectors)


def test_reranking_improves_retrieval_on_noisy_clusters():
    vectors, labels = _blobs()
    plain = retrieval_metrics(vectors, labels)
    reranked = retrieval_metrics(vectors, labels, rerank=True)
    assert plain["p_at_k"] < 0.9
    assert reranked["p_at_k"] > plain["p_at_k"] + 0.02
    assert reranked["map_at_r"] > plain["map_at_r"]


def test_ranking_scores_read_precision_and_average_precision_from_ranked_hits():
    # Two relevant images ranked 1st and 3rd: P@2 is 1/2 and AP@R (R = 2) is (1/1 + 0) / 2.
    # A query with nothing relevant has a precision but no average precision.
    hits = np.array([[True, False, True, False], [False, False, False, False]])
    precision, average_precision = ranking_scores(hits, np.array([2, 0]), k=2)
    assert precision == [0.5, 0.0]
    assert average_precision == [0.5]


def test_ranked_hits_of_an_exact_search_give_retrieval_metrics():
    rng = np.random.default_rng(3)
    labels = np.repeat(np.arange(4), 6)
    vectors = rng.normal(size=(4, 16))[labels] + rng.normal(scale=0.8, size=(24, 16))
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    hits = []
    for query in range(len(unit)):
        found = ExactIndex("cosine").fit(unit).query(unit[query], len(unit) - 1, exclude={query}).indices
        hits.append(labels[found] == labels[query])
    precision, average_precision = ranking_scores(np.array(hits), np.full(24, 5), k=10)
    expected = retrieval_metrics(vectors, labels, k=10)
    assert np.mean(precision) == pytest.approx(expected["p_at_k"])
    assert np.mean(average_precision) == pytest.approx(expected["map_at_r"])


def test_query_expansion_never_uses_the_excluded_image():
    vectors = np.array([[1, 0, 0], [0.7071, 0.7071, 0], [0, 0, 1]], dtype=np.float32)
    query = np.array([1, 0, 0], dtype=np.float32)
    assert expand_query(query, vectors, k=1)[1] == 0  # its best match is image 0, the same direction
    expanded = expand_query(query, vectors, k=1, exclude={0})
    assert expanded[1] > 0.1 and np.isclose(np.linalg.norm(expanded), 1)


@pytest.mark.parametrize("rerank", [False, True])
def test_find_similar_excludes_the_query_and_sorts(rerank):
    vectors, labels = _blobs(per_class=10)
    paths = [Path(f"/lib/{i:03d}.png") for i in range(len(vectors))]
    matches = find_similar(paths, vectors, vectors[0], k=5, exclude=paths[0], rerank=rerank)
    assert len(matches) == 5 and paths[0] not in [m.path for m in matches]
    scores = [m.score for m in matches]
    assert scores == sorted(scores, reverse=True)
    assert sum(labels[paths.index(m.path)] == labels[0] for m in matches) >= 4


def _counting_smoothing(monkeypatch) -> list[int]:
    calls = []
    smooth = similarity.smooth_neighbourhoods

    def counted(vectors, *args, **kwargs):
        calls.append(len(vectors))
        return smooth(vectors, *args, **kwargs)
    monkeypatch.setattr(similarity, "smooth_neighbourhoods", counted)
    return calls


def test_a_folder_is_smoothed_once_for_all_its_queries_and_again_when_its_vectors_change(monkeypatch):
    calls = _counting_smoothing(monkeypatch)
    vectors, _ = _blobs(per_class=10)
    paths = [Path(f"/lib/{i:03d}.png") for i in range(len(vectors))]
    first = [find_similar(paths, vectors, vectors[i], k=5, exclude=paths[i], rerank=True) for i in range(4)]
    assert calls == [len(vectors)]
    assert np.allclose(smoothed_index(vectors).vectors_, smooth_neighbourhoods(vectors), atol=1e-6)
    rescanned = vectors.copy()
    rescanned[0] = -rescanned[0]  # a new array, as a rescan makes: never served the old folder's copy
    again = [find_similar(paths, rescanned, rescanned[i], k=5, exclude=paths[i], rerank=True) for i in range(4)]
    assert calls == [len(vectors)] * 2
    assert again[0] != first[0]
    assert first[1] == find_similar(paths, vectors, vectors[1], k=5, exclude=paths[1], rerank=True)
    assert calls == [len(vectors)] * 3
    assert not smoothed_index(vectors).vectors_.flags.writeable


def test_the_smoothed_copy_is_freed_with_the_folders_vectors():
    vectors, _ = _blobs(per_class=10)
    smoothed_index(vectors)
    assert len(similarity._smoothed) == 1
    del vectors
    gc.collect()
    assert similarity._smoothed == {}


def test_queries_from_two_threads_get_the_serial_answers(monkeypatch):
    vectors, _ = _blobs(per_class=20)
    paths = [Path(f"/lib/{i:03d}.png") for i in range(len(vectors))]
    serial = [find_similar(paths, vectors.copy(), vectors[i], k=8, exclude=paths[i], rerank=True) for i in range(12)]
    calls = _counting_smoothing(monkeypatch)
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda i: find_similar(paths, vectors, vectors[i], k=8, exclude=paths[i],
                                                        rerank=True), range(12)))
    assert threaded == serial
    assert calls == [len(vectors)]


def test_a_stop_ends_a_running_smoothing_and_leaves_nothing_half_made():
    # Enough rows for the smoothing's own process, and for seconds of work in it (30,000² products).
    vectors = np.random.default_rng(5).normal(size=(30_000, 128)).astype(np.float32)
    paths = [Path(f"/lib/{i:05d}.png") for i in range(len(vectors))]
    polls = []

    def stop_after_five_polls() -> bool:  # the child is at work by then: it is polled every 50 ms
        polls.append(True)
        return len(polls) > 5
    with pytest.raises(Cancelled):
        find_similar(paths, vectors, vectors[0], k=5, exclude=paths[0], rerank=True, should_stop=stop_after_five_polls)
    assert len(polls) > 5
    assert all(reference() is not vectors for reference, _ in similarity._smoothed.values())


def test_a_smoothing_in_its_own_process_gives_the_answers_of_one_in_the_calling_thread():
    vectors, _ = _blobs(per_class=CHILD_FROM_ROWS // 6 + 1)
    paths = [Path(f"/lib/{i:04d}.png") for i in range(len(vectors))]
    in_child = find_similar(paths, vectors, vectors[0], k=8, exclude=paths[0], rerank=True,
                            should_stop=lambda: False)
    assert in_child == find_similar(paths, vectors.copy(), vectors[0], k=8, exclude=paths[0], rerank=True)


def test_a_query_waiting_for_another_ones_smoothing_can_be_stopped():
    vectors, _ = _blobs(per_class=10)
    with similarity._smoothed_lock:  # another query is smoothing
        with pytest.raises(Cancelled):
            smoothed_index(vectors, should_stop=lambda: True)
