"""Arguments that abuse, names and pipes that break output, a full disk: one line on stderr,
never a traceback, a hang or a memory blow-up."""

from __future__ import annotations

import os

import pytest
from PIL import Image

from organizer.cli import main

FAST = ["--mode", "colour"]


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
