"""Exports onto file systems that refuse what a copy usually keeps, and of symbolic links."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from organizer.cli import main
from organizer.export.apply import apply_plan, undo
from organizer.export.flow import apply_summary
from organizer.export.plan import plan_sorted
from organizer.io.scan import hash_file
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


@pytest.fixture
def linked_folder(tmp_path) -> tuple[Path, list[Path]]:
    """A folder of two relative symbolic links: one to a file outside it, one into a subfolder."""
    originals, folder = tmp_path / "originals", tmp_path / "library"
    _images(originals, 1)
    (folder / "sub").mkdir(parents=True)
    render(SampleSpec("alpha-letters", 0, 1), (64, 48)).save(folder / "sub" / "real.png")
    (folder / "pattern.png").symlink_to(os.path.join("..", "originals", "swatch_0.png"))
    (folder / "alias.png").symlink_to(os.path.join("sub", "real.png"))
    return folder, [folder / "pattern.png", folder / "alias.png"]


def test_a_moved_relative_link_still_points_at_its_file_and_undo_puts_it_back(tmp_path, linked_folder):
    folder, links = linked_folder
    texts = [os.readlink(link) for link in links]
    pointed = [link.resolve() for link in links]
    out = tmp_path / "exported" / "deeper"
    report = apply_plan(plan_sorted(links, [0, 1], folder, out), "move")
    assert report.done == 2 and not report.failed
    for moved, real in zip(sorted(out.glob("*.png")), pointed):
        assert moved.is_symlink() and os.path.samefile(moved, real)
    assert not any(os.path.lexists(link) for link in links)
    assert undo(report.journal).restored == 2
    assert [os.readlink(link) for link in links] == texts
    assert all(os.path.samefile(link, real) for link, real in zip(links, pointed))
    assert not list(out.glob("*.png"))


def test_a_move_to_a_file_system_without_links_moves_the_content_and_undo_restores_the_link(
        tmp_path, refuse_in, linked_folder):
    folder, links = linked_folder
    texts, hashes = [os.readlink(link) for link in links], [hash_file(link) for link in links]
    out = tmp_path / "stick"
    refuse_in(out, "symlink", "link")
    report = apply_plan(plan_sorted(links, [0, 1], folder, out), "move")
    assert report.done == 2
    exported = sorted(out.glob("*.png"))
    assert not any(p.is_symlink() for p in exported)
    assert [hash_file(p) for p in exported] == hashes
    refuse_in.undo()
    assert undo(report.journal).restored == 2
    assert [os.readlink(link) for link in links] == texts and all(link.exists() for link in links)


@pytest.mark.parametrize("mode", ["copy", "link"])
def test_copy_and_link_exports_of_a_relative_link_hold_its_file(tmp_path, linked_folder, mode):
    folder, links = linked_folder
    out = tmp_path / "exported" / "deeper"
    report = apply_plan(plan_sorted(links, [0, 1], folder, out), mode)
    assert report.done == 2
    for target, link in zip(sorted(out.glob("*.png")), links):
        assert not target.is_symlink() and hash_file(target) == hash_file(link)
    assert all(link.is_symlink() for link in links)
    undo(report.journal)
    assert not list(out.glob("*.png")) and all(link.exists() for link in links)


def test_a_moved_link_whose_text_climbs_out_of_a_linked_folder_points_at_the_same_file(tmp_path):
    """``via/../x.png`` through a linked folder means a file a plain rewrite of the text would miss."""
    real = tmp_path / "elsewhere" / "deep"
    real.mkdir(parents=True)
    _images(tmp_path / "elsewhere", 1)
    folder = tmp_path / "library"
    folder.mkdir()
    (folder / "via").symlink_to(real, target_is_directory=True)
    link = folder / "pattern.png"
    link.symlink_to(os.path.join("via", "..", "swatch_0.png"))
    report = apply_plan(plan_sorted([link], [0], folder, tmp_path / "out"), "move")
    moved = tmp_path / "out" / "0001_pattern.png"
    assert report.done == 1 and os.path.samefile(moved, tmp_path / "elsewhere" / "swatch_0.png")
