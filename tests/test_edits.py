"""Cluster edits: each operation, undo snapshots, and persistence by path, then content hash."""

import json
import shutil

import numpy as np
import pytest

from organizer.analysis.cluster import ClusterSpec
from organizer.analysis.edits import NOISE, ClusterBook, edits_key, image_keys, load_saved_edits
from organizer.analysis.identity import NOISE_COLOUR, by_size, folder_names
from organizer.embedding import make_spec
from organizer.embedding.registry import earlier_defaults, unversioned
from organizer.io.scan import hash_file
from organizer.samples import SampleSpec, render
from organizer.storage.cache import Cache


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


def test_identities_number_name_and_colour_every_cluster():
    book = ClusterBook(np.array([0, 0, 1, 1, 3, -1]), {1: "Stripes"})
    shown = {label: (i.number, i.name, i.full_name) for label, i in book.identities().items()}
    assert shown == {0: (1, "Cluster 1", "Cluster 1"), 1: (2, "Stripes", "Stripes (cluster 2)"),
                     3: (4, "Cluster 4", "Cluster 4"), NOISE: (None, "Unclustered", "Unclustered")}
    colours = [i.colour for i in book.identities().values()]
    assert len(set(colours)) == 4 and colours[-1] == NOISE_COLOUR
    assert folder_names(book.identities().values()) == {0: "01_Cluster 1", 1: "02_Stripes", 3: "04_Cluster 4",
                                                        NOISE: "Unclustered"}


def test_an_edit_leaves_the_identity_of_every_cluster_it_does_not_touch():
    book = ClusterBook(np.array([0, 0, 1, 1, 2, 2, 3, 3]), {3: "Dots"})
    before = book.identities()
    book.merge(0, 1)
    after = book.identities()
    assert 1 not in after and all(after[label] == before[label] for label in (0, 2, 3))
    new = book.new_label()
    book.move([7], new)
    assert book.identity(new).number == 5 and all(book.identities()[label] == before[label] for label in (0, 2, 3))


def test_by_size_numbers_the_largest_first_and_keeps_noise():
    labels = np.array([7, 2, 2, -1, 7, 7, 5, 2, 9])
    # 7 and 2 both have three; 7's first image comes first. Then 5 and 9, one each, by first image.
    assert by_size(labels).tolist() == [0, 1, 1, -1, 0, 0, 2, 1, 3]
    assert by_size(np.array([-1, -1])).tolist() == [-1, -1] and by_size(np.zeros(0)).tolist() == []


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


def test_json_round_trip_follows_images_by_path_across_a_reordered_folder():
    book = ClusterBook(np.array([0, 1, 1, 2]), {1: "Stars"})
    text = book.to_json(["a.png", "b.png", "c.png", "d.png"], ["ha", "hb", "hc", "hd"])
    restored = ClusterBook.from_json(text, ["d.png", "c.png", "b.png", "a.png", "new.png"],
                                     ["hd", "hc", "hb", "ha", "hnew"])
    assert restored.labels.tolist() == [2, 1, 1, 0, NOISE]
    assert restored.name(1) == "Stars"


def write_library(folder, names_and_specs) -> list:
    """Render each sample to its name under ``folder``; a name given a path instead copies that file."""
    paths = []
    for name, source in names_and_specs:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(source, SampleSpec):
            render(source, size=(64, 64)).save(path)
        else:
            shutil.copyfile(source, path)
        paths.append(path)
    return paths


def test_identical_copies_in_different_clusters_keep_their_own_after_a_reload(tmp_path):
    folder = tmp_path / "library"
    chevron = folder / "chevron.png"
    paths = write_library(folder, [("chevron.png", SampleSpec("normal-chevron", 0, 0)),
                                   ("old/chevron copy.png", chevron),
                                   ("stars.png", SampleSpec("alpha-stars", 1, 0))])
    hashes = [hash_file(p) for p in paths]
    assert hashes[0] == hashes[1] != hashes[2]
    book = ClusterBook(np.array([0, 1, 1]))  # the user moved the old copy in with the stars
    keys = image_keys(folder, paths)
    assert keys == ["chevron.png", "old/chevron copy.png", "stars.png"]

    restored = ClusterBook.from_json(book.to_json(keys, hashes), keys, hashes)
    assert restored.labels.tolist() == [0, 1, 1]
    restored.move([1], 0)  # moving one copy back leaves the other where it is, through a second reload
    again = ClusterBook.from_json(restored.to_json(keys, hashes), keys, hashes)
    assert again.labels.tolist() == [0, 0, 1]


def test_a_renamed_file_keeps_its_cluster_and_renamed_copies_keep_theirs(tmp_path):
    folder = tmp_path / "library"
    first = folder / "a.png"
    paths = write_library(folder, [("a.png", SampleSpec("normal-chevron", 0, 0)), ("b.png", first),
                                   ("c.png", SampleSpec("alpha-stars", 1, 0)),
                                   ("d.png", SampleSpec("normal-diamonds", 0, 1))])
    hashes = [hash_file(p) for p in paths]
    text = ClusterBook(np.array([0, 1, 2, 2]), {1: "Copies"}).to_json(image_keys(folder, paths), hashes)

    # Rename both copies and the stars; the folder lists them in another order now.
    for old, new in (("a.png", "z-first.png"), ("b.png", "y-second.png"), ("c.png", "sub/stars.png")):
        (folder / new).parent.mkdir(exist_ok=True)
        (folder / old).rename(folder / new)
    renamed = sorted(p for p in folder.rglob("*.png"))
    restored = ClusterBook.from_json(text, image_keys(folder, renamed), [hash_file(p) for p in renamed])
    by_name = dict(zip([p.name for p in renamed], restored.labels.tolist()))
    assert by_name["stars.png"] == by_name["d.png"] == 2
    # Each saved entry of the copies is used once: one copy in each of its two clusters.
    assert sorted([by_name["z-first.png"], by_name["y-second.png"]]) == [0, 1]
    assert restored.name(1) == "Copies"


def test_edits_saved_by_hash_in_the_first_format_are_still_read():
    text = json.dumps({"format": 1, "labels": {"ha": 0, "hb": 3}, "names": {"3": "Stars"}})
    restored = ClusterBook.from_json(text, ["x.png", "y.png", "y copy.png"], ["ha", "hb", "hb"])
    assert restored.labels.tolist() == [0, 3, 3] and restored.name(3) == "Stars"


@pytest.mark.parametrize("text", ["not json", "[]", '{"format": 99, "labels": {}}', '{"format": 1}',
                                  '{"format": 2}', '{"format": 2, "labels": {"a": 3}}'])
def test_broken_or_foreign_json_is_ignored(text):
    assert ClusterBook.from_json(text, ["a"], ["a"]) is None


def test_a_book_that_knows_too_few_images_is_stale():
    text = ClusterBook(np.array([0])).to_json(["a"], ["ha"])
    assert ClusterBook.from_json(text, ["a", "b", "c"], ["ha", "hb", "hc"]) is None


def test_edits_key_separates_methods_and_extractors():
    keys = {edits_key("x", ClusterSpec()), edits_key("y", ClusterSpec()), edits_key("x", ClusterSpec(method="kmeans"))}
    assert len(keys) == 3


def test_unversioned_drops_only_a_version_prefix():
    assert unversioned("v2/colour/224/auto") == "colour/224/auto"
    assert unversioned("v13/lite0@pretrained/_blocks.10/content-centre/224/auto") == \
        "lite0@pretrained/_blocks.10/content-centre/224/auto"
    assert unversioned("colour/224/auto") == "colour/224/auto"
    assert unversioned("video/224/auto") == "video/224/auto"


def test_edits_saved_under_an_earlier_extractor_version_survive_the_bump(tmp_path):
    stable, spec = "lite0@pretrained/_blocks.10/content-centre/224/auto", ClusterSpec()
    keys, hashes = ["a.png", "b.png", "c.png"], ["ha", "hb", "hc"]
    # As the code before the bump saved them: the first format, under the versioned id.
    old = json.dumps({"format": 1, "labels": {"ha": 0, "hb": 0, "hc": 4}, "names": {"4": "Kept"}})
    with Cache(tmp_path / "cache.db") as cache:
        cache.put_edits(f"v1/{stable}|auto|k=None|ward|eps=None|mcs=None", old)
        assert load_saved_edits(cache, f"v2/{stable}", spec) == old
        assert load_saved_edits(cache, f"v2/{stable}", ClusterSpec(method="kmeans")) is None
        restored = ClusterBook.from_json(load_saved_edits(cache, f"v2/{stable}", spec), keys, hashes)
        assert restored.labels.tolist() == [0, 0, 4] and restored.name(4) == "Kept"

        restored.rename(0, "Saved after the bump")
        cache.put_edits(edits_key(f"v2/{stable}", spec), restored.to_json(keys, hashes))
        for version in ("v2", "v3"):  # found again, and after the next bump too
            again = ClusterBook.from_json(load_saved_edits(cache, f"{version}/{stable}", spec), keys, hashes)
            assert again.name(0) == "Saved after the bump" and again.name(4) == "Kept"


def test_edits_saved_under_an_earlier_default_descriptor_are_read_under_the_new_one(tmp_path):
    """The default gained a centre view, then block 11, then the projection learned on the folder, then a
    centre view inside the object, then melted knots, then Lite1, then strips cut out of their photos (issue 17):
    a folder's names and moves must not vanish."""
    latest = "lite0@pretrained/_blocks.10+_blocks.14/content-object+cv/224/auto"
    before = "lite0@pretrained/_blocks.10+_blocks.14/content-object/224/auto"
    oldest = "lite0@pretrained/_blocks.10+_blocks.14/content-centre/224/auto"
    block11 = latest.replace("_blocks.10+", "_blocks.10+_blocks.11+")
    adapted = block11.replace("+cv/", "+cv+lw1/")
    lite0 = adapted.replace("+cv+", "+cv2+")
    now = make_spec().id
    assert unversioned(now) == "lite1@pretrained/_blocks.14+_blocks.15+_blocks.19/content-object+cv2+lw1/240/auto+st1"
    spec, keys, hashes = ClusterSpec(), ["a.png", "b.png"], ["ha", "hb"]
    with Cache(tmp_path / "cache.db") as cache:

        def save(extractor_id: str, labels: list[int], named: tuple[int, str] | None = None) -> None:
            book = ClusterBook(np.array(labels))
            if named:
                book.rename(*named)
            cache.put_edits(edits_key(extractor_id, spec), book.to_json(keys, hashes))

        def read(extractor_id: str) -> ClusterBook:
            return ClusterBook.from_json(load_saved_edits(cache, extractor_id, spec), keys, hashes)

        save(f"v1/{oldest}", [0, 0])
        assert read(now).labels.tolist() == [0, 0]
        save(f"v2/{before}", [0, 1], (1, "Paisleys"))
        assert read(now).name(1) == "Paisleys"
        save(f"v2/{latest}", [1, 1], (1, "Argyles"))
        assert read(now).name(1) == "Argyles"
        save(f"v2/{block11}", [1, 1], (1, "Houndstooth"))
        assert read(now).name(1) == "Houndstooth"
        save(f"v2/{adapted}", [0, 1], (1, "Leopards"))
        assert read(now).name(1) == "Leopards"
        save(f"v3/{lite0}", [1, 0], (0, "Tartans"))
        assert read(now).name(0) == "Tartans"
        save(now.removesuffix("+st1"), [0, 1], (1, "Zigzags"))
        assert read(now).name(1) == "Zigzags"
        # A folder mostly of knot grids now melts them: what its user named and moved unmelted follows ...
        melted = make_spec(melt_knots=True).id
        assert "+kn3" in melted and lite0 in earlier_defaults(unversioned(melted))
        assert read(melted).name(0) == "Tartans"
        # ... and so does what was named melted by the gate before (KNOTS_VERSION 2), under Lite0.
        save(f"v3/{lite0.replace('+cv2+', '+cv2+kn2+')}", [0, 0], (0, "Hearts"))
        assert read(melted).name(0) == "Hearts"
        # The whole view alone under the earlier taps is that choice's own history, not the default's.
        assert read(now.replace("-object+cv2+lw1", "-object")).name(1) == "Paisleys"
        # Another pooling the user chose is another embedding: its edits stay its own.
        assert load_saved_edits(cache, now.replace("-object+cv2+lw1", "-average"), spec) is None


def test_a_split_stops_when_asked():
    from organizer.jobs.tasks import Cancelled

    rng = np.random.default_rng(0)
    vectors = np.concatenate([rng.normal(centre, 0.05, (20, 8)) for centre in (0.0, 1.0)]).astype(np.float32)
    book = ClusterBook(np.zeros(40, dtype=np.int64))
    with pytest.raises(Cancelled):
        book.split(0, vectors, should_stop=lambda: True)
    assert book.labels.tolist() == [0] * 40


def test_earlier_defaults_follow_each_change_only_where_it_applied():
    lite0 = "lite0@pretrained/_blocks.10+_blocks.11+_blocks.14"
    assert earlier_defaults(f"{lite0}/texture-object+flip+cv2+eq0.5-0.2-1/224/auto")[1:] == earlier_defaults(
        f"{lite0}/texture-object+flip+cv+eq0.5-0.2-1/224/auto")
    assert earlier_defaults(f"{lite0}/texture-object+flip+cv+eq0.5-0.2-1/224/auto") == [
        "lite0@pretrained/_blocks.10+_blocks.14/texture-object+flip+cv+eq0.5-0.2-1/224/auto",
        "lite0@pretrained/_blocks.10+_blocks.14/texture-object+flip+eq0.5-0.2-1/224/auto",
        "lite0@pretrained/_blocks.10+_blocks.14/texture-centre+flip+eq0.5-0.2-1/224/auto"]
    # Block 11 joined Lite0's default only: the same taps chosen on Lite1 were never a default there.
    assert earlier_defaults("lite1@pretrained/_blocks.10+_blocks.11+_blocks.14/content-object/240/auto") == [
        "lite1@pretrained/_blocks.10+_blocks.11+_blocks.14/content-centre/240/auto"]
    assert earlier_defaults(f"{lite0}+_blocks.15/content-average/224/auto") == []
    assert earlier_defaults("colour/224/auto") == []
    # Structure mode taps each Lite's middle stages, so Lite1's default there follows from Lite0's.
    structure, lite0_structure = make_spec(mode="structure").id, make_spec(model="lite0", mode="structure").id
    assert earlier_defaults(structure)[:2] == [structure.removesuffix("+st1"), lite0_structure.removesuffix("+st1")]
    # Cutting strips out names every network's choice whose policy tiles long images, and only those.
    assert earlier_defaults(make_spec(model="lite2").id)[0] == make_spec(model="lite2").id.removesuffix("+st1")
    assert make_spec(policy="tiles").id.endswith("/tiles+st1")
    assert "+st" not in make_spec(policy="crop").id and "+st" not in make_spec(mode="colour").id
