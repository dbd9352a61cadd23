"""Cluster edits: each operation, undo snapshots, and persistence by content hash."""

import numpy as np
import pytest

from organizer.core.cluster import ClusterSpec
from organizer.core.edits import NOISE, ClusterBook, edits_key


def blobs(per: int = 10, centres: int = 3, dims: int = 16, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(centres, dims)) * 5
    return np.concatenate([m + rng.normal(size=(per, dims)) * 0.3 for m in means]).astype(np.float32)


def test_move_merge_rename_and_names():
    book = ClusterBook(np.array([0, 0, 1, 1, 2, -1]))
    assert book.clusters() == [0, 1, 2, NOISE]
    assert book.name(0) == "Cluster 1" and book.name(NOISE) == "Unclustered"
    book.move([0], 2)
    assert book.members(2).tolist() == [0, 4]
    book.rename(1, "  Hearts ")
    assert book.name(1) == "Hearts"
    book.merge(1, 2)
    assert book.members(1).tolist() == [0, 2, 3, 4] and book.name(1) == "Hearts"
    assert 2 not in book.clusters()
    book.rename(1, "")
    assert book.name(1) == "Cluster 2"
    with pytest.raises(ValueError):
        book.merge(1, 1)


def test_new_label_never_reuses_a_named_label():
    book = ClusterBook(np.array([0, 1]), {5: "kept name"})
    assert book.new_label() == 6


def test_split_separates_two_blobs_and_keeps_the_label_for_the_larger_part():
    vectors = blobs(per=12, centres=2)
    vectors = np.concatenate([vectors, vectors[:4] + 0.01])  # the first blob is larger
    book = ClusterBook(np.zeros(len(vectors), dtype=int), {0: "Mixed"})
    parts = book.split(0, vectors)
    assert parts[0] == 0 and len(parts) == 2
    first_blob = list(range(12)) + list(range(24, 28))
    assert set(book.labels[first_blob].tolist()) == {0}
    assert set(book.labels[12:24].tolist()) == {parts[1]}
    assert book.name(0) == "Mixed"


def test_split_needs_four_members():
    with pytest.raises(ValueError):
        ClusterBook(np.array([0, 0, 0, 1])).split(0, blobs(per=2, centres=2))


def test_snapshot_restore_round_trip_is_independent_of_later_edits():
    book = ClusterBook(np.array([0, 1, 1]), {1: "b"})
    state = book.snapshot()
    book.move([0], 1)
    book.rename(1, "changed")
    book.restore(state)
    assert book.labels.tolist() == [0, 1, 1] and book.names == {1: "b"}


def test_medoid_is_the_member_nearest_the_mean_direction():
    vectors = np.array([[1, 0], [0.9, 0.1], [0.1, 0.9], [0, 1]], dtype=np.float32)
    book = ClusterBook(np.array([0, 0, 0, 1]))
    assert book.medoid(0, vectors) == 1


def test_json_round_trip_follows_images_by_hash_across_a_reordered_folder():
    book = ClusterBook(np.array([0, 1, 1, 2]), {1: "Stars"})
    text = book.to_json(["a", "b", "c", "d"])
    restored = ClusterBook.from_json(text, ["d", "c", "b", "a", "new"])
    assert restored.labels.tolist() == [2, 1, 1, 0, NOISE]
    assert restored.name(1) == "Stars"


@pytest.mark.parametrize("text", ["not json", "[]", '{"format": 99, "labels": {}}', '{"format": 1}'])
def test_broken_or_foreign_json_is_ignored(text):
    assert ClusterBook.from_json(text, ["a"]) is None


def test_a_book_that_knows_too_few_images_is_stale():
    text = ClusterBook(np.array([0])).to_json(["a"])
    assert ClusterBook.from_json(text, ["a", "b", "c"]) is None


def test_edits_key_separates_methods_and_extractors():
    keys = {edits_key("x", ClusterSpec()), edits_key("y", ClusterSpec()), edits_key("x", ClusterSpec(method="kmeans"))}
    assert len(keys) == 3
