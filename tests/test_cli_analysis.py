"""The analysis commands' output shapes: map, cluster, duplicates, evaluate."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from organizer.analysis.dedup import find_duplicates
from organizer.cli import main
from organizer.embedding import make_spec
from organizer.folder.loading import open_library
from organizer.storage.cache import Cache
from organizer.samples import SampleSpec, family_of, render

FAST = ["--mode", "colour"]


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_map_writes_path_x_y_and_reuses_the_layout(capsys, sample_folder, tmp_path):
    out = tmp_path / "map.csv"
    assert main(["map", str(sample_folder), "--out", str(out), "--perplexity", "5", *FAST]) == 0
    assert "(computed)" in capsys.readouterr().err
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["path", "x", "y"] and len(rows) == 36
    assert all(Path(r["path"]).is_absolute() for r in rows)
    float(rows[0]["x"]), float(rows[0]["y"])
    assert main(["map", str(sample_folder), "--out", str(out), "--perplexity", "5", *FAST]) == 0
    assert "(cached)" in capsys.readouterr().err


def test_cluster_json_shape(capsys, sample_folder):
    data = _json(capsys, ["cluster", str(sample_folder), "--json", "--k-max", "12"])
    assert set(data) >= {"labels", "scores", "method", "sizes", "medoids", "noise_fraction"}
    assert len(data["labels"]) == 36 and all(isinstance(v, int) for v in data["labels"].values())
    assert data["method"] == "auto" and 0 < data["scores"]["modularity"] <= 1
    assert sum(data["sizes"].values()) == 36
    for label, medoid in data["medoids"].items():
        assert data["labels"][medoid] == int(label)


def test_cluster_with_a_given_k_and_method(capsys, sample_folder):
    data = _json(capsys, ["cluster", str(sample_folder), "--method", "kmeans", "--k", "9", "--json", *FAST])
    assert len(set(data["labels"].values())) == 9 and data["scores"] == {}


def test_duplicates_json_groups_copies(capsys, sample_folder, tmp_path):
    folder = tmp_path / "lib"
    shutil.copytree(sample_folder, folder)
    original = folder / SampleSpec("alpha-stars", 0, 0).filename()
    shutil.copy(original, folder / "exact_copy.png")
    render(SampleSpec("alpha-stars", 0, 0), (128, 128)).save(folder / "resaved.jpg", quality=95)
    groups = _json(capsys, ["duplicates", str(folder), "--threshold", "0.95", "--json"])
    exact = [g for g in groups if g["kind"] == "exact"]
    near = [g for g in groups if g["kind"] == "near"]
    assert {Path(p).name for p in exact[0]["paths"]} == {original.name, "exact_copy.png"}
    assert any({"resaved.jpg"} <= {Path(p).name for p in g["paths"]} for g in near)
    assert all(set(g) == {"kind", "similarity", "paths"} for g in groups)
    # Judged on the network's own vectors of each image seen whole, which the threshold was set for, not on the
    # folder's projection nor with the closer view.
    with Cache(tmp_path / "check.sqlite") as cache:
        network = open_library(folder, make_spec(adapt=False, centre_view=False), cache)
        adapted = open_library(folder, make_spec(), cache)

    def found(library):
        return [(g.kind, round(g.similarity, 6), sorted(map(str, g.paths)))
                for g in find_duplicates(library.paths, library.hashes, library.vectors, 0.95)]
    written = [(g["kind"], g["similarity"], sorted(g["paths"])) for g in groups]
    assert written == found(network) != found(adapted)


@pytest.fixture
def labelled_folder(sample_folder, tmp_path):
    """Three families, one subfolder each: the labels evaluate reads."""
    root = tmp_path / "labelled"
    for path in sample_folder.iterdir():
        family = family_of(path.name)
        if family in ("normal-chevron", "alpha-hearts", "alpha-checker"):
            (root / family).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, root / family / path.name)
    return root


def test_evaluate_scores_every_extractor_best_first(capsys, labelled_folder):
    rows = _json(capsys, ["evaluate", str(labelled_folder), "--json"])
    names = [r["extractor"] for r in rows]
    assert {"lite1 default", "lite1 texture", "lite1 early", "lite1 structure", "lite1 invariant", "colour histogram",
            "mean colour", "palette"} <= set(names)
    assert all({"p_at_k", "map_at_r", "nmi", "ari", "id"} <= set(r) for r in rows)
    p_at_k = [r["p_at_k"] for r in rows]
    assert p_at_k == sorted(p_at_k, reverse=True)
    default = next(r for r in rows if r["extractor"] == "lite1 default")
    # 4 images per family cap P@10 at 0.3, which the default reaches; mAP@R has no such cap. It was 0.90 before the
    # centre view went inside the object, and is 0.76 since: one of these 128 px hearts charts has a heart whole
    # in its middle, unlike its frame, and its centre view sees that heart (docs/benchmarks.md, "The centre view
    # inside the object"); a network's own ranking on 12 images moves a lot with one image.
    assert default["p_at_k"] == pytest.approx(0.3) and default["map_at_r"] > 0.7 and default["nmi"] > 0.5


def test_evaluate_needs_labelled_subfolders(capsys, sample_folder):
    assert main(["evaluate", str(sample_folder)]) == 2
    assert "subfolders" in capsys.readouterr().err


def test_evaluate_reads_labels_through_a_path_with_dots(capsys, labelled_folder):
    dotted = labelled_folder / ".." / labelled_folder.name
    rows = _json(capsys, ["evaluate", str(dotted), "--json"])
    assert next(r for r in rows if r["extractor"] == "mean colour")["p_at_k"] > 0
