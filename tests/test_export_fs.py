"""Exports onto file systems that refuse what a copy usually keeps."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from organizer.cli import main
from organizer.core.apply import apply_plan, hash_file, undo
from organizer.core.export import plan_sorted
from organizer.core.export_flow import apply_summary
from organizer.samples import SampleSpec, render

FAT_NOTE = "kept the content but not the permissions or times of {} files (the target file system refuses them)"


def _images(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"swatch_{i}.png"
        render(SampleSpec("normal-stripes", i % 3, i), (64, 48)).save(path)
        paths.append(path)
    return paths


@pytest.mark.parametrize("mode", ["copy", "link", "move"])
def test_an_export_to_a_stick_without_permissions_or_times_copies_every_file_and_says_so(tmp_path, refuse_in,
                                                                                         mode):
    source, out = tmp_path / "src", tmp_path / "stick"
    paths = _images(source, 5)
    hashes = sorted(hash_file(p) for p in paths)
    # FAT and exFAT have no hard links either, so link and move copy too.
    refuse_in(out, "chmod", "utime", "link")
    report = apply_plan(plan_sorted(paths, list(range(5)), source, out), mode)
    assert report.done == 5 and not report.failed
    assert sorted(hash_file(p) for p in out.glob("*.png")) == hashes
    assert len(report.attributes_refused) == 5
    headline, details = apply_summary(report)
    assert "5 files written" in headline
    assert details.count(FAT_NOTE.format(5)) == 1 and not any("failed" in line for line in details)
    if mode == "move":
        refuse_in.undo()
        assert undo(report.journal).restored == 5
        assert sorted(hash_file(p) for p in source.glob("*.png")) == hashes


def test_times_are_kept_where_only_permissions_are_refused(tmp_path, refuse_in):
    source, out = tmp_path / "src", tmp_path / "stick"
    paths = _images(source, 2)
    os.utime(paths[0], ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    refuse_in(out, "chmod")
    report = apply_plan(plan_sorted(paths, [0, 1], source, out), "copy")
    assert report.done == 2
    assert os.stat(report.attributes_refused[0][0]).st_mtime_ns == os.stat(paths[0]).st_mtime_ns
    assert apply_summary(report)[1][0] == ("kept the content but not the permissions of 2 files "
                                           "(the target file system refuses them)")


def test_the_cli_export_summary_notes_the_refused_attributes(capsys, sample_folder, tmp_path, refuse_in):
    library, out = tmp_path / "library", tmp_path / "stick"
    shutil.copytree(sample_folder, library)
    refuse_in(out, "chmod", "utime")
    assert main(["export", str(library), "--out", str(out), "--feature-mode", "colour"]) == 0
    printed = capsys.readouterr().out
    assert "36 files written" in printed and printed.count(FAT_NOTE.format(36)) == 1
