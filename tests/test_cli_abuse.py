"""Arguments that abuse, names and pipes that break output, a full disk: one line on stderr,
never a traceback, a hang or a memory blow-up."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

import organizer
from organizer.cli import main
from organizer.embedding import backbones, make_spec
from organizer.embedding.weights import BadWeights
from organizer.samples import SampleSpec, render
from organizer.storage import cache as cache_mod
from organizer.storage.cache import Cache, CacheError
from organizer.storage.paths import cache_db_path

FAST = ["--mode", "colour"]
NEWLINE, TAB = "a\nb.png", "tab\there.png"


def _error_line(capsys) -> str:
    """The one line a refused run leaves on stderr."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


# numeric arguments -----------------------------------------------------------------------------
BAD_NUMBERS = [
    (["grid", "{F}", "--out", "{T}/g.png", "--cell", "0"], "--cell"),
    (["grid", "{F}", "--out", "{T}/g.png", "--cell", "100000"], "--cell"),
    (["grid", "{F}", "--out", "{T}/g.png", "--cols", "0"], "--cols"),
    (["similar", "{F}", "{T}/q.png", "-k", "0"], "-k"),
    (["similar", "{F}", "{T}/q.png", "-k", "-1"], "-k"),
    (["scan", "{F}", "--size", "0"], "--size"),
    (["order", "{F}", "--size", "5000"], "--size"),
    (["scan", "{F}", "--size", "big"], "--size"),
    (["scan", "{F}", "--batch-size", "0"], "--batch-size"),
    (["embed", "{F}", "--out", "{T}/v.npz", "--batch-size", "-4"], "--batch-size"),
    (["cluster", "{F}", "--k", "0"], "--k"),
    (["cluster", "{F}", "--k-max", "1"], "--k-max"),
    (["cluster", "{F}", "--min-cluster-size", "1"], "--min-cluster-size"),
    (["cluster", "{F}", "--eps", "0"], "--eps"),
    (["cluster", "{F}", "--eps", "nan"], "--eps"),
    (["map", "{F}", "--out", "{T}/m.csv", "--perplexity", "0"], "--perplexity"),
    (["map", "{F}", "--out", "{T}/m.csv", "--perplexity", "inf"], "--perplexity"),
    (["map", "{F}", "--out", "{T}/m.csv", "--seed", "-1"], "--seed"),
    (["duplicates", "{F}", "--threshold", "1.5"], "--threshold"),
    (["export", "{F}", "--out", "{T}/out", "--cols", "0"], "--cols"),
    (["samples", "{T}/demo", "--per-family", "0"], "--per-family"),
    (["samples", "{T}/demo", "--colourways", "-1"], "--colourways"),
    (["train-autoencoder", "{F}", "--epochs", "0"], "--epochs"),
    (["align", "{F}", "--out", "{T}/a.png", "--max-side", "0"], "--max-side"),
]


@pytest.mark.parametrize("argv, option", BAD_NUMBERS, ids=[" ".join(a[i] for i in (0, -2, -1)) for a, _ in BAD_NUMBERS])
def test_a_number_out_of_range_exits_2_naming_the_option(capsys, tmp_path, argv, option):
    (tmp_path / "folder").mkdir()
    argv = [a.format(F=tmp_path / "folder", T=tmp_path) for a in argv]
    assert main(argv) == 2
    line = _error_line(capsys)
    assert f"argument {option}: must be " in line and f"got {argv[-1]}" in line.replace("'", "")
    assert not (tmp_path / "demo").exists() and not list(tmp_path.glob("*.*"))


def test_a_number_error_says_the_range(capsys, tmp_path):
    assert main(["grid", str(tmp_path), "--out", str(tmp_path / "g.png"), "--cell", "0"]) == 2
    assert _error_line(capsys).endswith("argument --cell: must be between 16 and 1024, got 0 "
                                        "(see organizer grid --help)")


def test_numbers_in_range_still_run(capsys, sample_folder, tmp_path):
    out = tmp_path / "sheet.png"
    assert main(["grid", str(sample_folder), "--out", str(out), "--cell", "16", "--cols", "6",
                 "--batch-size", "1", *FAST]) == 0
    with Image.open(out) as sheet:
        assert sheet.size == (6 * 20 + 4, 6 * 20 + 4)


# folder arguments ------------------------------------------------------------------------------
FOLDER_COMMANDS = [["scan"], ["embed", "--out", "{T}/v.npz"], ["similar", "{T}/q.png"], ["failures"],
                   ["map", "--out", "{T}/m.csv"], ["cluster"], ["duplicates"], ["evaluate"], ["order"],
                   ["grid", "--out", "{T}/g.png"], ["export", "--out", "{T}/out"], ["train-autoencoder"],
                   ["equalize"], ["align", "--out", "{T}/a.png"]]


@pytest.mark.parametrize("command", FOLDER_COMMANDS, ids=[c[0] for c in FOLDER_COMMANDS])
@pytest.mark.parametrize("folder", ["", "{T}/file.txt", "{T}/missing"], ids=["empty", "file", "missing"])
def test_a_folder_argument_that_is_no_folder_exits_2(capsys, tmp_path, monkeypatch, command, folder):
    monkeypatch.chdir(tmp_path)  # the old code scanned the current directory for ''
    Image.new("RGB", (40, 40), (200, 30, 30)).save(tmp_path / "here.png")
    (tmp_path / "file.txt").write_text("not a folder")
    folder = folder.format(T=tmp_path)
    argv = [command[0], folder, *(a.format(T=tmp_path) for a in command[1:])]
    assert main(argv) == 2
    assert f"argument FOLDER: not a folder: {folder!r}" in _error_line(capsys)
    assert not os.path.exists(os.environ["ORGANIZER_CACHE_DIR"])  # nothing was scanned or cached


def test_samples_refuses_an_empty_folder_name(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["samples", ""]) == 2
    assert "argument FOLDER: not a folder: ''" in _error_line(capsys)
    assert not list(tmp_path.iterdir())


# weights files ---------------------------------------------------------------------------------
def _bad_weights(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    import torch

    linear = torch.nn.Linear(3, 2).state_dict()
    files = {"text": tmp_path / "notes.txt", "empty": tmp_path / "empty.pt", "truncated": tmp_path / "cut.pt",
             "list": tmp_path / "list.pt", "checkpoint": tmp_path / "checkpoint.pt",
             "module": tmp_path / "module.pt", "other network": tmp_path / "linear.pt"}
    files["text"].write_text("my notes\nabout weights\n")
    files["empty"].write_bytes(b"")
    torch.save(linear, files["other network"])
    whole = files["other network"].read_bytes()
    files["truncated"].write_bytes(whole[: len(whole) // 2])
    torch.save([torch.zeros(2)], files["list"])
    torch.save({"epoch": 3, "state_dict": linear}, files["checkpoint"])
    torch.save(torch.nn.Linear(3, 2), files["module"])
    reasons = {"text": "neither a zip archive nor a pickle", "empty": "the file is empty",
               "truncated": "zip archive", "list": "it holds an object of type list", "checkpoint": "'epoch' holds an object of type int",
               "module": "Python objects besides tensors", "other network": "not a state_dict for lite0"}
    return {kind: (files[kind], reasons[kind]) for kind in files}


def test_every_bad_weights_file_is_one_clear_reason(tmp_path):
    for kind, (path, reason) in _bad_weights(tmp_path).items():
        with pytest.raises(BadWeights) as caught:
            backbones.build(backbones.get("lite0"), path)
        message = str(caught.value)
        assert message.startswith(f"{path}: ") and reason in message, kind
        assert "\n" not in message and caught.value.user_file, kind


def test_a_state_dict_for_the_network_still_loads(tmp_path):
    import torch

    source = backbones.build(backbones.get("lite0"), None)
    torch.save(source.state_dict(), tmp_path / "mine.pt")
    loaded = backbones.build(backbones.get("lite0"), tmp_path / "mine.pt")
    assert all(torch.equal(a, b) for a, b in zip(source.state_dict().values(), loaded.state_dict().values()))


def test_a_text_file_as_weights_exits_2_with_one_line(capsys, tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    render(SampleSpec("alpha-hearts", 0, 0), (64, 64)).save(folder / "one.png")
    notes = tmp_path / "notes.txt"
    notes.write_text("not weights\n" * 5)
    assert main(["scan", str(folder), "--weights", str(notes)]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith(("error", "Traceback"))]
    assert errors == [f"error: --weights {notes}: not a PyTorch state_dict "
                      f"(neither a zip archive nor a pickle, as torch.save writes)"]


# names that need quoting -----------------------------------------------------------------------
@pytest.fixture
def odd_names(sample_folder, tmp_path):
    """The sample folder plus a copy named with a newline, one with a tab, and a corrupt file
    whose name holds a newline and an escape character."""
    folder = tmp_path / "odd"
    shutil.copytree(sample_folder, folder)
    first = sorted(folder.iterdir())[0]
    shutil.copy(first, folder / NEWLINE)
    shutil.copy(sorted(folder.iterdir())[5], folder / TAB)
    (folder / "bad\n\x1b[31mred.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    return folder


def _lines(capsys, argv) -> list[str]:
    assert main(argv) == 0
    return capsys.readouterr().out.splitlines()


def test_names_with_control_characters_stay_on_one_line(capsys, odd_names):
    images = 38  # 36 samples and the two copies; the corrupt file fails
    quoted, tabbed = repr(str(odd_names / NEWLINE)), repr(str(odd_names / TAB))
    order = _lines(capsys, ["order", str(odd_names), *FAST])
    assert len(order) == images and quoted in order and tabbed in order
    assert str(odd_names / SampleSpec("alpha-checker", 0, 0).filename()) in order  # plain names stay unquoted
    similar = _lines(capsys, ["similar", str(odd_names), str(odd_names / NEWLINE), "-k", str(images - 1), *FAST])
    assert len(similar) == images - 1 and any(line.endswith(tabbed) for line in similar)
    failures = _lines(capsys, ["failures", str(odd_names)])
    assert len(failures) == 1 and failures[0].startswith(repr(str(odd_names / "bad\n\x1b[31mred.png")) + ": ")
    scan = [line for line in _lines(capsys, ["scan", str(odd_names), *FAST]) if "failed:" in line]
    assert len(scan) == 1 and "\x1b" not in scan[0]
    duplicates = _lines(capsys, ["duplicates", str(odd_names), *FAST])
    assert f"  {quoted}" in duplicates and all(line.startswith(("  ", "exact", "near")) for line in duplicates)
    clusters = _lines(capsys, ["cluster", str(odd_names), "--method", "kmeans", "--k", "9", *FAST])
    assert len(clusters) == 10
    rows = json.loads("\n".join(_lines(capsys, ["order", str(odd_names), "--json", *FAST])))
    assert {row["path"] for row in rows} >= {str(odd_names / NEWLINE), str(odd_names / TAB)}


def test_grid_names_show_a_newline_escaped(capsys, tmp_path, monkeypatch):
    folder = tmp_path / "folder"
    folder.mkdir()
    render(SampleSpec("normal-zigzag", 0, 0), (64, 64)).save(folder / NEWLINE)
    render(SampleSpec("alpha-hearts", 0, 0), (64, 64)).save(folder / "plain.png")
    drawn = []
    text = ImageDraw.ImageDraw.text
    monkeypatch.setattr(ImageDraw.ImageDraw, "text", lambda self, xy, label, *a, **k: (
        drawn.append(label), text(self, xy, label, *a, **k))[1])
    out = tmp_path / "sheet.png"
    assert main(["grid", str(folder), "--out", str(out), "--names", "--cell", "256", *FAST]) == 0
    assert sorted(drawn) == sorted([repr(NEWLINE), "plain.png"])  # one line each, the newline shown as \\n
    with Image.open(out) as sheet:
        assert sheet.size == (2 * 260 + 4, 256 + 14 + 8)


# a reader that leaves early --------------------------------------------------------------------
@pytest.mark.parametrize("unbuffered", [True, False], ids=["unbuffered", "buffered"])
def test_a_closed_pipe_ends_quietly(sample_folder, unbuffered):
    assert main(["scan", str(sample_folder), *FAST]) == 0  # the subprocess only reads the cache
    env = dict(os.environ, PYTHONPATH=str(Path(organizer.__file__).parents[1]))
    env.pop("PYTHONUNBUFFERED", None)
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head` once it has its lines: every write now fails
    try:
        result = subprocess.run([sys.executable, "-m", "organizer", "similar", str(sample_folder),
                                 str(sorted(sample_folder.iterdir())[0]), *FAST],
                                stdout=write_end, stderr=subprocess.PIPE, text=True, env=env, timeout=120)
    finally:
        os.close(write_end)
    assert result.returncode == 141, result.stderr
    assert result.stderr == ""


# a full disk -----------------------------------------------------------------------------------
def _fill_at_open(patch: pytest.MonkeyPatch) -> None:
    """Every cache opened from now on has no room to grow: SQLite's own "database or disk is
    full" (SQLITE_FULL), as on a full disk, which it answers by rolling back by itself."""
    connect = cache_mod.Cache._connect

    def full(self):
        conn = connect(self)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn

    patch.setattr(cache_mod.Cache, "_connect", full)


def _fill(cache: Cache, rows: int) -> None:
    with cache.transaction():
        cache.put_files((f"/f{i}.png", i, i, f"h{i}") for i in range(rows))
        cache.put_embeddings("x", [f"h{i}" for i in range(rows)], np.ones((rows, 64)) * np.arange(rows)[:, None])


WRITES = {
    "embeddings": lambda c: _fill(c, 400),
    "failures": lambda c: _write(c, lambda: c.put_failures((f"/bad{i}", 1, 1, "x" * 200) for i in range(200))),
    "layout": lambda c: c.put_layout("x", "p", ["h0"], b"\x00" * 100_000),
    "edits": lambda c: c.put_edits("k", "[]" * 50_000),
}


def _write(cache: Cache, put) -> None:
    with cache.transaction():
        put()


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES)
def test_a_full_disk_is_one_clear_error_and_the_cache_stays_intact(tmp_path, monkeypatch, write):
    path = tmp_path / "cache.sqlite"
    with Cache(path) as cache:
        _fill(cache, 20)
        before = cache.vectors("x", [f"h{i}" for i in range(20)])
    with monkeypatch.context() as patch:
        _fill_at_open(patch)
        with Cache(path) as cache, pytest.raises(CacheError) as caught:
            write(cache)
    message = str(caught.value)
    assert message.startswith(f"the disk is full: the cache {path} could not be written; nothing was lost")
    assert "cannot rollback" not in message
    with Cache(path) as cache:
        assert cache.recovered_from is None
        assert np.array_equal(cache.vectors("x", [f"h{i}" for i in range(20)]), before)
        assert len(cache.known_files()) == 20 and cache.get_edits("k") is None
        _fill(cache, 400)  # with room again, the same writes go through
        assert cache.count_embeddings("x") == 400


def test_a_scan_onto_a_full_disk_says_so_in_one_line(capsys, sample_folder, tmp_path, monkeypatch):
    folder = tmp_path / "folder"
    folder.mkdir()
    kept = sorted(sample_folder.iterdir())[:6]
    for path in kept:
        shutil.copy(path, folder / path.name)
    assert main(["scan", str(folder), *FAST]) == 0
    for path in sorted(sample_folder.iterdir())[6:]:
        shutil.copy(path, folder / path.name)
    capsys.readouterr()
    with monkeypatch.context() as patch:
        _fill_at_open(patch)
        assert main(["scan", str(folder), *FAST]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "cannot rollback" not in err
    assert [line for line in err.splitlines() if line.startswith("error")] == [
        f"error: the disk is full: the cache {cache_db_path(folder.resolve(), False)} could not be written; "
        f"nothing was lost (free some space and run again)"]
    spec = make_spec(mode="colour")
    with Cache(cache_db_path(folder.resolve(), False)) as cache:
        assert cache.count_embeddings(spec.id) == len(kept)
    assert main(["scan", str(folder), "--json", *FAST]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["from_cache"] == len(kept) and summary["embedded"] == 36 - len(kept)
