"""The CLI's output shapes, run in-process and once as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from organizer.cli import main
from organizer.samples import family_of, render, SampleSpec

FAST = ["--mode", "colour"]


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def library(sample_folder, tmp_path):
    """The sample folder plus one corrupt file, copied so tests may change it."""
    folder = tmp_path / "library"
    folder.mkdir()
    for path in sample_folder.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    return folder


def test_scan_json_summary(capsys, library):
    summary = _json(capsys, ["scan", str(library), "--json", *FAST])
    assert summary["images"] == 36 and summary["embedded"] == 36 and summary["failed"] == 1
    assert summary["failures"][0]["path"].endswith("corrupt.png")
    assert summary["extractor"].startswith("v3/colour/")
    again = _json(capsys, ["scan", str(library), "--json", *FAST])
    assert again["embedded"] == 0 and again["from_cache"] == 36


def test_scan_text_summary_lists_failures(capsys, library):
    assert main(["scan", str(library), *FAST]) == 0
    out = capsys.readouterr().out
    assert "36 images ready" in out and "1 failed" in out and "corrupt.png" in out


def test_embed_writes_paths_and_float32_vectors(capsys, library, tmp_path):
    out = tmp_path / "vectors.npz"
    assert main(["embed", str(library), "--out", str(out), *FAST]) == 0
    data = np.load(out)
    assert data["vectors"].dtype == np.float32 and data["vectors"].shape == (36, 512)
    paths = [Path(p) for p in data["paths"]]
    assert all(p.is_absolute() and p.exists() for p in paths)
    assert paths == sorted(paths)
    assert not list(tmp_path.glob("*.part*"))


def test_similar_json_with_default_extractor_groups_families(capsys, library):
    query = library / SampleSpec("alpha-checker", 0, 0).filename()
    matches = _json(capsys, ["similar", str(library), str(query), "-k", "3", "--json"])
    assert len(matches) == 3 and set(matches[0]) == {"path", "score"}
    assert str(query) not in [m["path"] for m in matches]
    scores = [m["score"] for m in matches]
    assert scores == sorted(scores, reverse=True)
    assert family_of(Path(matches[0]["path"]).name) == "alpha-checker"


def test_similar_with_a_query_from_outside_the_folder(capsys, library, tmp_path):
    outside = tmp_path / "outside.jpg"
    render(SampleSpec("alpha-hearts", 1, 7), (200, 150)).save(outside)
    matches = _json(capsys, ["similar", str(library), str(outside), "-k", "6", "--json"])
    families = [family_of(Path(m["path"]).name) for m in matches]
    # Hearts and stars are both pixel-art motifs on white, so they mingle; normal patterns must not.
    assert all(f.startswith("alpha-") for f in families)
    assert families.count("alpha-hearts") >= 3


def test_similar_with_rerank_returns_a_sorted_list(capsys, library):
    query = library / SampleSpec("normal-knotgrid", 1, 1).filename()
    matches = _json(capsys, ["similar", str(library), str(query), "-k", "5", "--rerank", "--json", *FAST])
    scores = [m["score"] for m in matches]
    assert len(matches) == 5 and scores == sorted(scores, reverse=True)
    assert str(query) not in [m["path"] for m in matches]


@pytest.mark.parametrize("metric", ["euclidean", "manhattan"])
def test_distance_metrics_sort_ascending(capsys, library, metric):
    query = library / SampleSpec("normal-stripes", 0, 0).filename()
    matches = _json(capsys, ["similar", str(library), str(query), "--metric", metric, "--json", *FAST])
    distances = [m["score"] for m in matches]
    assert len(matches) == 10 and distances == sorted(distances) and distances[0] >= 0


def test_similar_with_an_unreadable_query_is_a_clear_error(capsys, library, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_text("hello")
    assert main(["similar", str(library), str(bad), *FAST]) == 2
    assert "not an image" in capsys.readouterr().err


def test_failures_command(capsys, library):
    main(["scan", str(library), *FAST])
    capsys.readouterr()
    failures = _json(capsys, ["failures", str(library), "--json"])
    assert [Path(f["path"]).name for f in failures] == ["corrupt.png"]
    assert failures[0]["reason"]


def test_cache_beside_keeps_the_database_in_a_hidden_folder(capsys, library):
    main(["scan", str(library), "--cache-beside", *FAST])
    assert (library / ".pattern-organizer" / "cache.sqlite").is_file()


def test_broken_links_are_listed_by_the_failures_command(capsys, library):
    (library / "gone.png").symlink_to(library / "never-existed.png")
    main(["scan", str(library), *FAST])
    capsys.readouterr()
    failures = {Path(f["path"]).name: f["reason"] for f in _json(capsys, ["failures", str(library), "--json"])}
    assert failures["gone.png"] == "broken symbolic link"
    (library / "gone.png").unlink()
    main(["scan", str(library), *FAST])
    capsys.readouterr()
    assert "gone.png" not in [Path(f["path"]).name for f in _json(capsys, ["failures", str(library), "--json"])]


def test_similar_in_a_folder_without_images_is_a_clear_error(capsys, tmp_path):
    query = tmp_path / "q.png"
    Image.new("RGB", (32, 32)).save(query)
    (tmp_path / "empty").mkdir()
    assert main(["similar", str(tmp_path / "empty"), str(query), *FAST]) == 2
    assert "no usable images" in capsys.readouterr().err


def test_a_missing_folder_is_a_clear_error(capsys, tmp_path):
    assert main(["scan", str(tmp_path / "nowhere"), *FAST]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_samples_command_writes_the_demo_folder(capsys, tmp_path):
    assert main(["samples", str(tmp_path / "demo"), "--per-family", "1", "--colourways", "1"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "demo")
    assert len(list((tmp_path / "demo").glob("*.png"))) == 9


def test_python_dash_m_runs_the_cli(tmp_path):
    image = tmp_path / "one.png"
    Image.new("RGB", (64, 64), (250, 0, 0)).save(image)
    result = subprocess.run([sys.executable, "-m", "organizer", "scan", str(tmp_path), "--json", *FAST],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["images"] == 1
    # Without arguments `organizer` opens the app; --help is the CLI's.
    help_text = subprocess.run([sys.executable, "-m", "organizer", "--help"], capture_output=True, text=True,
                               timeout=60)
    assert "scan" in help_text.stdout and "similar" in help_text.stdout


def test_a_mistyped_folder_with_cache_beside_creates_nothing(capsys, tmp_path):
    missing = tmp_path / "typo"
    assert main(["scan", str(missing), "--cache-beside", *FAST]) == 2
    assert not missing.exists()


def test_a_query_given_through_a_symlink_is_not_its_own_match(capsys, library, tmp_path):
    query = library / SampleSpec("normal-zigzag", 0, 0).filename()
    link = tmp_path / "link.png"
    link.symlink_to(query)
    matches = _json(capsys, ["similar", str(library), str(link), "--json", *FAST])
    assert str(query) not in [m["path"] for m in matches]


def test_an_unwritable_output_is_a_clear_error(capsys, library, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("x")
    assert main(["embed", str(library), "--out", str(blocked / "v.npz"), *FAST]) == 2
    assert "error:" in capsys.readouterr().err
