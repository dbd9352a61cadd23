"""Tests for finding image files in a folder tree (organizer.io.scan).

The scan never decodes, so the files only need the right names; they still hold real
bytes so sizes can be checked.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from organizer.io.scan import FileEntry, ScanResult, hash_bytes, scan_folder
from organizer.jobs.tasks import Cancelled, StopFlag


def _touch(path: Path, content: bytes = b"pattern") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def _names(result: ScanResult, root: Path) -> list[str]:
    return [f.path.relative_to(root).as_posix() for f in result.files]


def test_finds_every_supported_suffix_in_any_case_and_ignores_others(tmp_path: Path) -> None:
    wanted = ["a.JPG", "b.Jpeg", "c.tif", "d.tiff", "e.webp", "f.bmp", "g.gif", "h.png", "i.jpeg", "j.PNG"]
    ignored = ["notes.txt", "png", "archive.png.zip", "thumbs.db", "k.jpg~", "data.json"]
    unsupported = {"raw.CR2": "camera raw (CR2)", "vector.svg": "SVG", "l.heic": "HEIC"}
    for name in wanted + ignored + list(unsupported):
        _touch(tmp_path / name)

    result = scan_folder(tmp_path)

    assert _names(result, tmp_path) == sorted(wanted)
    assert sorted(result.problems) == sorted(
        (tmp_path / name, f"unsupported format: {kind} (convert it to PNG or JPEG)") for name, kind in unsupported.items())


def test_entries_are_absolute_with_size_and_mtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _touch(tmp_path / "sub" / "x.png", b"12345")
    os.utime(path, ns=(1_600_000_000_000_000_000, 1_600_000_000_123_456_789))
    monkeypatch.chdir(tmp_path)

    (entry,) = scan_folder(Path("sub")).files  # a relative folder still gives absolute paths

    assert entry == FileEntry(tmp_path / "sub" / "x.png", 5, 1_600_000_000_123_456_789)
    assert entry.path.is_absolute()



def test_each_entry_carries_its_path_as_text_the_cache_key(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    _touch(outside / "shared.png")
    root = tmp_path / "library"
    for name in ["top.png", "a/b/deep.jpg", "a b/spaced.gif"]:
        _touch(root / name)
    (root / "linked").symlink_to(outside)

    files = scan_folder(root).files

    assert len(files) == 4
    assert [f.key for f in files] == [str(f.path) for f in files]
    # Made by hand (as a cluster's worker or a test does), an entry works its key out itself.
    assert FileEntry(root / "top.png", 1, 2).key == str(root / "top.png")

def test_skips_hidden_files_and_hidden_folders_and_recurses(tmp_path: Path) -> None:
    for name in ["top.png", "a/b/c/deep.jpg", "a/mid.gif", "z/last.bmp"]:
        _touch(tmp_path / name)
    for name in [".hidden.png", ".thumbnails/t.png", "a/.cache/x.jpg", "a/b/.git/objects/y.png"]:
        _touch(tmp_path / name)

    result = scan_folder(tmp_path)

    assert _names(result, tmp_path) == ["a/b/c/deep.jpg", "a/mid.gif", "top.png", "z/last.bmp"]


def test_a_hidden_root_folder_is_still_scanned(tmp_path: Path) -> None:
    root = tmp_path / ".library"
    _touch(root / "x.png")
    assert _names(scan_folder(root), root) == ["x.png"]


def test_order_is_sorted_and_repeatable(tmp_path: Path) -> None:
    names = ["b/2.png", "a/10.png", "a/9.png", "B/1.png", "c.png", "a.png", "a/b/z.png", "a b/x.png", "a-b/y.png"]
    for name in reversed(names):
        _touch(tmp_path / name)

    first = scan_folder(tmp_path)
    second = scan_folder(tmp_path)

    paths = [str(f.path) for f in first.files]
    assert paths == sorted(paths)
    assert len(paths) == len(names)
    assert first.files == second.files


def test_empty_folder(tmp_path: Path) -> None:
    assert scan_folder(tmp_path) == ScanResult(files=[], problems=[])


def test_symlink_loop_terminates(tmp_path: Path) -> None:
    _touch(tmp_path / "a" / "b" / "x.png")
    _touch(tmp_path / "a" / "y.png")
    (tmp_path / "a" / "b" / "up").symlink_to(tmp_path / "a")  # points to an ancestor
    (tmp_path / "a" / "self").symlink_to(tmp_path / "a", target_is_directory=True)
    (tmp_path / "root_again").symlink_to(tmp_path)

    result = scan_folder(tmp_path)

    assert _names(result, tmp_path) == ["a/b/x.png", "a/y.png"]
    assert result.problems == []


@pytest.mark.parametrize("link_first", [False, True], ids=["folder-made-first", "link-made-first"])
@pytest.mark.parametrize("alias", ["a_alias", "alias", "m_alias", "q", "x_alias", "zz"])
def test_file_reached_through_a_symlinked_folder_is_listed_once_by_its_real_path(
    tmp_path: Path, alias: str, link_first: bool
) -> None:
    # Several names and creation orders, because the order a file system lists a folder in
    # (hashed on ext4, by creation on others) must not decide which path is kept.
    if link_first:
        (tmp_path / alias).symlink_to(tmp_path / "real", target_is_directory=True)
    _touch(tmp_path / "real" / "x.png")
    _touch(tmp_path / "real" / "inner" / "y.png")
    if not link_first:
        (tmp_path / alias).symlink_to(tmp_path / "real")

    result = scan_folder(tmp_path)

    assert _names(result, tmp_path) == ["real/inner/y.png", "real/x.png"]
    assert result.problems == []


@pytest.mark.parametrize("alias", ["a_link.png", "z_link.png"])
def test_symlinked_file_and_its_target_are_listed_once_by_the_real_path(tmp_path: Path, alias: str) -> None:
    _touch(tmp_path / "m_real.png")
    (tmp_path / alias).symlink_to(tmp_path / "m_real.png")
    assert _names(scan_folder(tmp_path), tmp_path) == ["m_real.png"]


def test_hard_links_are_one_file(tmp_path: Path) -> None:
    _touch(tmp_path / "b.png")
    os.link(tmp_path / "b.png", tmp_path / "a.png")
    assert _names(scan_folder(tmp_path), tmp_path) == ["a.png"]


def test_symlinked_folder_outside_the_root_is_followed(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    _touch(outside / "shared.png")
    root = tmp_path / "library"
    _touch(root / "own.png")
    (root / "linked").symlink_to(outside)

    assert _names(scan_folder(root), root) == ["linked/shared.png", "own.png"]


def test_two_links_to_one_outside_folder_give_one_deterministic_path(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    _touch(outside / "shared.png")
    root = tmp_path / "library"
    root.mkdir()
    (root / "b_link").symlink_to(outside)
    (root / "a_link").symlink_to(outside)

    assert _names(scan_folder(root), root) == ["a_link/shared.png"]


def test_dangling_symlink_is_a_problem_and_the_rest_is_found(tmp_path: Path) -> None:
    _touch(tmp_path / "ok.png")
    broken = tmp_path / "broken.png"
    broken.symlink_to(tmp_path / "deleted.png")

    result = scan_folder(tmp_path)

    assert _names(result, tmp_path) == ["ok.png"]
    assert result.problems == [(broken, "broken symbolic link")]


def test_unlistable_folder_is_a_problem_and_the_rest_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _touch(tmp_path / "open" / "a.png")
    _touch(tmp_path / "locked" / "secret.png")
    _touch(tmp_path / "z.png")
    locked = tmp_path / "locked"
    if os.geteuid() == 0:
        # root lists a chmod 000 folder anyway, so stand in for the OS for that one folder.
        real_scandir = os.scandir

        def scandir(path: object = ".") -> object:
            if Path(path) == locked:
                raise PermissionError(13, "Permission denied", str(path))
            return real_scandir(path)

        monkeypatch.setattr(os, "scandir", scandir)
    else:
        locked.chmod(0)
    try:
        result = scan_folder(tmp_path)
    finally:
        locked.chmod(0o755)

    assert _names(result, tmp_path) == ["open/a.png", "z.png"]
    assert len(result.problems) == 1
    path, reason = result.problems[0]
    assert path == locked
    assert "cannot be listed" in reason and "permission denied" in reason.lower()


def test_should_stop_raises_cancelled(tmp_path: Path) -> None:
    for name in ["a/1.png", "b/2.png", "c/3.png"]:
        _touch(tmp_path / name)
    with pytest.raises(Cancelled):
        scan_folder(tmp_path, should_stop=lambda: True)

    calls = 0

    def stop_on_third_folder() -> bool:
        nonlocal calls
        calls += 1
        return calls >= 3

    with pytest.raises(Cancelled):
        scan_folder(tmp_path, should_stop=stop_on_third_folder)
    assert calls == 3, "checked once per folder, and the walk stops at the first true"


def test_stop_flag_cancels_and_an_unset_one_does_not(tmp_path: Path) -> None:
    _touch(tmp_path / "x.png")
    flag = StopFlag()
    assert _names(scan_folder(tmp_path, should_stop=flag), tmp_path) == ["x.png"]
    flag.set()
    with pytest.raises(Cancelled):
        scan_folder(tmp_path, should_stop=flag)


def test_a_file_is_not_a_folder(tmp_path: Path) -> None:
    path = _touch(tmp_path / "x.png")
    with pytest.raises(NotADirectoryError, match="not a folder"):
        scan_folder(path)


def test_a_missing_folder_is_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        scan_folder(tmp_path / "nowhere")


def test_hash_bytes_is_stable_and_content_sensitive() -> None:
    # The hash is a cache key stored on disk: it must not change between runs or releases.
    assert hash_bytes(b"") == "3345524abf6bbe1809449224b5972c41790b6cf2"
    assert hash_bytes(b"pattern") == "c2ee0cd88c39e44e8dbd762b84b04b912afef282"
    data = bytes(range(256)) * 100
    assert hash_bytes(data) == hash_bytes(bytes(data))
    assert hash_bytes(data) != hash_bytes(data[:-1] + b"\x00")
    assert hash_bytes(b"ab") != hash_bytes(b"ba")
    assert len(hash_bytes(data)) == 40 and int(hash_bytes(data), 16) >= 0
