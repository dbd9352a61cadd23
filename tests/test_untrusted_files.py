"""Files that lie: a name that promises an image, and content that is something else.

A named pipe or a link to a device put where a scanned file was, a file far larger than
any image, a JPEG cut short and closed with an end marker, a format this app cannot read,
a 16-bit image far larger than its 8-bit result. Each must end as a one-line reason while
the rest of the work goes on, with no hang and no memory blow-up.

Where the code before the fix hung or read without end, the case runs in a child process
with a memory limit and a time limit, so a regression fails the test instead of stalling
or exhausting the machine.
"""

from __future__ import annotations

import io
import json
import os
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from untrusted import needs_dev_zero, needs_fifo, one_line, run_child

from organizer.cli import main
from organizer.embedding import make_spec
from organizer.embedding.colour import ColourEmbedder
from organizer.embedding.embed import embed_folder
from organizer.io import images
from organizer.io.images import MB, ImageError, decode
from organizer.storage.cache import Cache
from organizer.storage.settings import Settings

SPEC = make_spec(mode="colour")
FAST = ["--mode", "colour"]


def _photo(size: tuple[int, int] = (640, 480), seed: int = 3) -> Image.Image:
    """A photo-like image: smooth gradients with fine noise, so JPEG has real data in every block."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size[1], 0:size[0]]
    base = np.stack([x * 255 // size[0], y * 255 // size[1], (x + y) * 255 // sum(size)], axis=-1)
    return Image.fromarray(np.clip(base + rng.normal(0, 18, base.shape), 0, 255).astype(np.uint8))


def _encoded(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def _library(folder: Path, count: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        _photo((48, 40), seed=i).save(folder / f"good_{i}.png")
    return folder


def _embed(folder: Path, cache_path: Path, **kwargs):
    with Cache(cache_path) as cache:
        return embed_folder(folder, SPEC, cache, make_embedder=lambda: ColourEmbedder("colour"), workers=2, **kwargs)


# 1. A named pipe or a link to a device where a file was ----------------------------------


@needs_fifo
@needs_dev_zero
def test_files_replaced_by_a_pipe_and_a_dev_zero_link_after_the_listing_fail_and_the_scan_goes_on(tmp_path):
    folder = _library(tmp_path / "library", 4)
    result = run_child("""
        from pathlib import Path
        import json, os
        from organizer.embedding import embed
        from organizer.embedding import make_spec
        from organizer.embedding.colour import ColourEmbedder
        from organizer.io.scan import scan_folder
        from organizer.storage.cache import Cache

        folder = Path(sys.argv[1])
        listed = scan_folder(folder)
        # Replaced after the scan listed them as regular files, before they are read.
        (folder / "good_1.png").unlink()
        os.mkfifo(folder / "good_1.png")
        (folder / "good_2.png").unlink()
        (folder / "good_2.png").symlink_to("/dev/zero")
        embed.scan_folder = lambda *args: listed
        with Cache(Path(sys.argv[2])) as cache:
            report = embed.embed_folder(folder, make_spec(mode="colour"), cache,
                                        make_embedder=lambda: ColourEmbedder("colour"), workers=2)
        print(json.dumps({"paths": [p.name for p in report.paths],
                          "failures": {p.name: reason for p, reason in report.failures}}))
    """, str(folder), str(tmp_path / "cache.sqlite"))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["paths"] == ["good_0.png", "good_3.png"]
    assert report["failures"] == {"good_1.png": "not a regular file (a named pipe), so not an image",
                                  "good_2.png": "not a regular file (a device), so not an image"}


@needs_fifo
def test_compare_with_a_named_pipe_exits_2_withone_line(tmp_path):
    good = tmp_path / "good.png"
    _photo((64, 48)).save(good)
    pipe = tmp_path / "pipe.png"
    os.mkfifo(pipe)
    result = run_child("sys.exit(main(['compare', sys.argv[1], sys.argv[2]]))", str(pipe), str(good))
    assert result.returncode == 2
    assert one_line(result.stderr) == "error: not a regular file (a named pipe), so not an image"


@needs_dev_zero
def test_similar_with_a_dev_zero_link_as_query_exits_2_withone_line(tmp_path):
    folder = _library(tmp_path / "library")
    query = tmp_path / "query.jpg"
    query.symlink_to("/dev/zero")
    result = run_child("sys.exit(main(['similar', sys.argv[1], sys.argv[2], '--mode', 'colour', '--cache-beside']))",
                    str(folder), str(query))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    # After the scan's progress lines, one line says what is wrong with the query.
    assert result.stderr.strip().splitlines()[-1] == "error: not a regular file (a device), so not an image"


@needs_fifo
def test_scan_lists_a_pipe_and_a_device_link_with_the_same_reasons_as_a_read(tmp_path):
    folder = _library(tmp_path / "library", 2)
    os.mkfifo(folder / "pipe.png")
    (folder / "zero.jpg").symlink_to("/dev/zero" if Path("/dev/zero").exists() else os.devnull)
    report = _embed(folder, tmp_path / "cache.sqlite")
    assert [p.name for p in report.paths] == ["good_0.png", "good_1.png"]
    assert {p.name: reason for p, reason in report.failures} == {
        "pipe.png": "not a regular file (a named pipe), so not an image",
        "zero.jpg": "not a regular file (a device), so not an image"}


# 2. Files far larger than any image -------------------------------------------------------


def _sparse_jpeg(path: Path, size: int) -> Path:
    """A real JPEG's first bytes, then a hole up to ``size``: no disk space, all of it to read."""
    with open(path, "wb") as handle:
        handle.write(_encoded(_photo((64, 48)), "JPEG", quality=90))
        handle.truncate(size)
    return path


def test_a_file_over_the_size_limit_fails_unread_naming_its_size_and_the_limit(tmp_path):
    folder = _library(tmp_path / "library", 2)
    _sparse_jpeg(folder / "huge.jpg", 600 * MB)
    tracemalloc.start()
    try:
        report = _embed(folder, tmp_path / "cache.sqlite", max_file_bytes=500 * MB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [p.name for p in report.paths] == ["good_0.png", "good_1.png"]
    (reason,) = [reason for path, reason in report.failures if path.name == "huge.jpg"]
    assert reason.startswith("file too large: 600 MB is over the 500 MB limit")
    assert peak < 100 * MB, "the file was read"


def test_a_raised_limit_reads_the_file_it_refused_before(tmp_path):
    folder = _library(tmp_path / "library", 1)
    photo = folder / "photo.jpg"
    photo.write_bytes(_encoded(_photo(), "JPEG", quality=90))
    limit = photo.stat().st_size - 1
    first = _embed(folder, tmp_path / "cache.sqlite", max_file_bytes=limit)
    assert [p.name for p, _ in first.failures] == ["photo.jpg"]
    # A refusal by the limit is not the file's verdict: the cache must not keep it.
    second = _embed(folder, tmp_path / "cache.sqlite", max_file_bytes=limit + 1)
    assert [p.name for p in second.paths] == ["good_0.png", "photo.jpg"] and second.failures == []


def test_the_cli_option_limits_the_scan_and_failures_shows_it(tmp_path, capsys):
    folder = _library(tmp_path / "library", 2)
    _sparse_jpeg(folder / "huge.jpg", 3 * MB)
    assert main(["scan", str(folder), "--json", "--max-file-mb", "2", *FAST]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["images"] == 2
    assert main(["failures", str(folder), "--json"]) == 0
    (failure,) = json.loads(capsys.readouterr().out)
    assert Path(failure["path"]).name == "huge.jpg"
    assert failure["reason"].startswith("file too large: 3.0 MB is over the 2.0 MB limit")
    assert main(["scan", str(folder), "--max-file-mb", "0", *FAST]) == 2
    assert "--max-file-mb" in capsys.readouterr().err


def test_the_size_limit_is_a_setting_and_a_bad_value_falls_back():
    assert Settings().max_file_mb == images.MAX_FILE_MB
    assert Settings.from_json(Settings(max_file_mb=250).to_json()).max_file_mb == 250
    for bad in (0, -5, 2.5, "300", True):
        stored = json.dumps({"version": 1, "settings": {"max_file_mb": bad}})
        assert Settings.from_json(stored).max_file_mb == images.MAX_FILE_MB, bad


def test_the_apps_size_limit_setting_reaches_its_scan(qtbot, tmp_path):
    from organizer.gui.main_window import MainWindow

    folder = _library(tmp_path / "library", 2)
    _sparse_jpeg(folder / "huge.jpg", 3 * MB)
    window = MainWindow(Settings(feature_mode="colour", max_file_mb=2))
    qtbot.addWidget(window)
    window.open_folder(folder)
    qtbot.waitUntil(lambda: window.session.library is not None, timeout=60_000)
    table = window.failures.table
    qtbot.waitUntil(lambda: table.rowCount() == 1, timeout=5_000)
    assert table.item(0, 0).text() == "huge.jpg"
    assert table.item(0, 2).text().startswith("file too large: 3.0 MB is over the 2.0 MB limit")
    assert len(window.session.library) == 2
    window.close()


# 3. A JPEG cut short and closed with an end marker -------------------------------------------


@pytest.mark.parametrize("params", [{}, {"subsampling": 0}, {"restart_marker_blocks": 4}, {"optimize": True}],
                         ids=["4:2:0", "4:4:4", "restart markers", "optimized tables"])
def test_a_jpeg_cut_in_half_with_an_end_marker_is_damaged(params):
    whole = _encoded(_photo(), "JPEG", quality=90, **params)
    cut = whole[: len(whole) // 2] + b"\xff\xd9"
    for min_side in (0, 224):
        with pytest.raises(ImageError, match=r"^damaged image data \(premature end of data"):
            decode(cut, min_side)
    assert np.array_equal(np.asarray(decode(whole)), np.asarray(Image.open(io.BytesIO(whole)).convert("RGB")))


def test_intact_jpegs_of_every_size_and_layout_still_decode():
    rng = np.random.default_rng(5)
    for width, height in ((1, 1), (7, 5), (17, 33), (129, 65), (300, 2)):
        pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        for mode in ("RGB", "L", "CMYK"):
            for params in ({}, {"subsampling": 2}, {"restart_marker_blocks": 1}, {"quality": 5}):
                data = _encoded(Image.fromarray(pixels).convert(mode), "JPEG", **params)
                assert decode(data).size == (width, height), (width, height, mode, params)


def test_a_jpeg_with_bytes_after_its_end_marker_decodes_as_it_did():
    whole = _encoded(_photo(), "JPEG", quality=90)
    padded = whole + b"trailing junk \xff\xd8\xff\xd9 from a careless writer"
    assert np.array_equal(np.asarray(decode(padded)), np.asarray(decode(whole)))


def test_a_progressive_jpeg_and_a_multi_picture_file_still_decode():
    photo = _photo()
    progressive = _encoded(photo, "JPEG", quality=90, progressive=True)
    assert decode(progressive).size == photo.size
    mpo = io.BytesIO()
    photo.save(mpo, "MPO", save_all=True, append_images=[photo.transpose(Image.Transpose.ROTATE_180)])
    assert np.array_equal(np.asarray(decode(mpo.getvalue())),
                          np.asarray(decode(_encoded(photo, "JPEG"))))


def test_a_png_cut_short_is_damaged_with_or_without_its_end_chunk():
    whole = _encoded(_photo(), "PNG")
    for cut in (whole[: len(whole) // 2], whole[: len(whole) // 2] + whole[-12:]):
        with pytest.raises(ImageError, match=r"^damaged image data \(premature end of data"):
            decode(cut)


# 4. Formats this app cannot read -----------------------------------------------------------


def test_image_formats_this_app_cannot_read_are_listed_and_other_files_ignored(tmp_path, capsys):
    folder = _library(tmp_path / "library", 1)
    stubs = {"photo.heic": "HEIC", "logo.svg": "SVG", "layers.psd": "Photoshop (PSD)", "still.AVIF": "AVIF"}
    for name in stubs:
        (folder / name).write_bytes(b"\0\0\0\x18ftypheic stub content")
    (folder / "notes.txt").write_text("not an image")
    (folder / "data.json").write_text("{}")
    (folder / ".DS_Store").write_bytes(b"\0Bud1")
    assert main(["scan", str(folder), *FAST]) == 0
    capsys.readouterr()
    assert main(["failures", str(folder), "--json"]) == 0
    failures = {Path(f["path"]).name: f["reason"] for f in json.loads(capsys.readouterr().out)}
    assert failures == {name: f"unsupported format: {kind} (convert it to PNG or JPEG)" for name, kind in stubs.items()}


# 5. Memory of a decode ---------------------------------------------------------------------


def _peak_per_pixel(tmp_path: Path, image: Image.Image) -> float:
    """Bytes per pixel by which decoding ``image`` (saved as PNG) raised the peak resident
    memory of a fresh process, over the file's bytes already read. (The process imports
    only the decoder: a heavier import's own peak would hide the decode's.)"""
    path = tmp_path / f"{image.mode.replace(';', '_')}.png"
    image.save(path, compress_level=1)
    result = run_child("""
        def peak_kb():
            # VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's (pytest's) peak.
            with open("/proc/self/status") as status:
                return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

        data = images.read_bytes(sys.argv[1])
        before = peak_kb()
        decoded = images.decode(data)
        print((peak_kb() - before) * 1024 / (decoded.width * decoded.height))
    """, str(path), imports="from organizer.io import images", memory_mb=4000)
    assert result.returncode == 0, result.stderr
    return float(result.stdout)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak from /proc (Linux)")
def test_a_16_bit_grey_decode_holds_the_source_and_the_result_only(tmp_path):
    y, x = np.mgrid[0:3000, 0:4000]
    grey = Image.fromarray(((x * 16 + y * 5) % 65536).astype(np.uint16))
    assert grey.mode == "I;16"
    # The 16-bit source (2 bytes a pixel) and PIL's RGB (4): 6. Whole-image float and
    # 8-bit copies made it 11.
    assert _peak_per_pixel(tmp_path, grey) < 8


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak from /proc (Linux)")
def test_a_transparent_decode_holds_the_source_and_the_result_only(tmp_path):
    y, x = np.mgrid[0:3000, 0:4000]
    rgba = Image.fromarray(np.stack([x % 256, y % 256, (x + y) % 256, (x * 7) % 256], -1).astype(np.uint8))
    # RGBA and RGB, 4 bytes a pixel each: 8. A copy of the RGBA and of its alpha made it 13.
    assert _peak_per_pixel(tmp_path, rgba) < 10.5


def test_wide_grey_is_scaled_in_bands_without_whole_image_copies():
    grey = Image.fromarray(np.arange(2000 * 3000, dtype=np.uint32).reshape(2000, 3000).astype(np.uint16))
    tracemalloc.start()
    try:
        rgb = images.to_rgb(grey)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.5 * grey.width * grey.height, "a whole-image numpy copy was made"
    values = np.arange(2000 * 3000, dtype=np.uint32).reshape(2000, 3000) % 65536
    assert np.array_equal(np.asarray(rgb)[..., 0], np.rint(values * 255 / 65535).astype(np.uint8))

