"""A corpus of hostile and odd files, scanned end to end.

Every file is generated here (PIL, numpy or raw bytes). The scan must finish in bounded
time, list every bad file with a reason a person can read, embed every good file, and keep
the same verdicts in the cache, where ``organizer failures`` reads them.

Two conditions cannot be produced for real when the tests run as root, because root reads
through ``chmod 000`` and enters folders without the execute bit: an unreadable file and a
folder without execute permission. As root (only then) the file system's answer is
simulated with a monkeypatch that raises the same ``PermissionError`` the kernel would;
otherwise the test uses a real ``chmod``.
"""

from __future__ import annotations

import contextlib
import errno
import faulthandler
import io
import json
import os
import stat
import struct
import sys
import threading
import traceback
import unicodedata
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from PIL import Image

from organizer.embedding import make_spec
from organizer.embedding.colour import ColourEmbedder
from organizer.embedding.embed import EmbedReport, embed_folder
from organizer.io import images
from organizer.io.scan import hash_bytes
from organizer.storage.cache import Cache
from organizer.storage.paths import cache_db_path

from .test_fuzz import reason_problem

SPEC = make_spec(mode="colour")
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
#: Far above the few seconds the corpus takes, far below a CI job's patience.
SCAN_LIMIT_S = 60.0

# --- building the corpus -----------------------------------------------------------------


@dataclass
class Corpus:
    root: Path
    #: Paths the scan's wrappers act on (see ``_hooks``).
    unreadable: set[Path] = field(default_factory=set)
    no_search: set[Path] = field(default_factory=set)
    vanishing: set[Path] = field(default_factory=set)
    #: path -> bytes a "writer" puts there just before the scan reads the file.
    rewrites: dict[Path, bytes] = field(default_factory=dict)
    #: path -> bytes the writer has once it has finished (for the rescan).
    finished: dict[Path, bytes] = field(default_factory=dict)
    good: dict[str, list[Path]] = field(default_factory=dict)
    bad: dict[str, list[Path]] = field(default_factory=dict)
    ignored: dict[str, list[Path]] = field(default_factory=dict)

    def file(self, name: str, data: bytes) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path


@dataclass(frozen=True)
class Kind:
    verdict: str  # "good", "bad" or "ignored" (in neither list: hidden, not an image name, an alias)
    #: For bad kinds, words the reason must contain (lower case); "a|b" accepts either.
    words: tuple[str, ...]
    build: Callable[[Corpus], Path | list[Path]]


KINDS: dict[str, Kind] = {}


def kind(name: str, verdict: str, *words: str):
    def register(build):
        KINDS[name] = Kind(verdict, words, build)
        return build

    return register


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def _noise(width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def _swatch(width: int = 64, height: int = 48, seed: int = 1) -> Image.Image:
    """A small smooth image that compresses well in every format."""
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([x * 255 // max(1, width - 1), y * 255 // max(1, height - 1),
                       np.full_like(x, 40 * seed % 256)], axis=-1).astype(np.uint8)
    return Image.fromarray(pixels)


def _png_chunk(kind_: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind_ + payload + struct.pack(">I", zlib.crc32(kind_ + payload))


def _png_from_chunks(ihdr: bytes, *chunks: bytes) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + b"".join(chunks) + _png_chunk(b"IEND", b"")


def _tiff(tags: dict[int, tuple[int, bytes | None]], pixels: bytes) -> bytes:
    """A little-endian TIFF with one IFD: tag -> (field type, value bytes). A value of None
    stands for the offset of ``pixels`` (a LONG, or a RATIONAL offset/1)."""
    extra_at = 8 + 2 + 12 * len(tags) + 4
    lengths = [(8 if t == 5 else 4) if v is None else len(v) for t, v in tags.values()]
    out_of_line = sum(n for n in lengths if n > 4)
    pixel_at = extra_at + out_of_line
    entries, extra = b"", b""
    for tag, (field_type, value) in sorted(tags.items()):
        if value is None:
            value = struct.pack("<II", pixel_at, 1) if field_type == 5 else struct.pack("<I", pixel_at)
        size = {3: 2, 4: 4, 5: 8}[field_type]
        entry = struct.pack("<HHI", tag, field_type, max(1, len(value) // size))
        if len(value) <= 4:
            entries += entry + value.ljust(4, b"\0")
        else:
            entries += entry + struct.pack("<I", extra_at + len(extra))
            extra += value
    return b"II*\0" + struct.pack("<IH", 8, len(tags)) + entries + b"\0\0\0\0" + extra + pixels


def _grey_tiff_tags(width: int = 8, height: int = 8) -> dict[int, tuple[int, bytes | None]]:
    short, long_ = (lambda v: struct.pack("<H", v)), (lambda v: struct.pack("<I", v))
    return {256: (4, long_(width)), 257: (4, long_(height)), 258: (3, short(8)), 259: (3, short(1)),
            262: (3, short(1)), 273: (4, None), 277: (3, short(1)), 278: (4, long_(height)),
            279: (4, long_(width * height))}


# Bad files ------------------------------------------------------------------------------


@kind("truncated_jpeg", "bad", "damaged")
def _(c):
    data = _encode(_noise(320, 240), "JPEG", quality=90)
    return c.file("truncated.jpg", data[: len(data) // 2])


@kind("truncated_png", "bad", "damaged")
def _(c):
    data = _encode(_noise(160, 120), "PNG")
    return c.file("truncated.png", data[: len(data) // 2])


@kind("zero_bytes", "bad", "empty")
def _(c):
    return c.file("empty.png", b"")


@kind("text_named_jpg", "bad", "not an image")
def _(c):
    return c.file("shopping list.jpg", b"Remember to buy more embroidery thread.\n" * 20)


@kind("html_named_png", "bad", "not an image")
def _(c):
    return c.file("saved page.png", b"<!DOCTYPE html>\n<html><head><title>Pattern 42</title></head></html>\n")


@kind("pdf_named_jpg", "bad", "not an image")
def _(c):
    return c.file("chart.jpg", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n")


@kind("postscript_named_png", "bad", "not an image")
def _(c):
    # PIL reads EPS through Ghostscript; the app must never hand a .png to it.
    return c.file("poster.png", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n%%EOF\n")


@kind("png_decompression_bomb", "bad", "too large", "30000")
def _(c):
    # A 30000 x 30000 header over a tiny valid IDAT: only the header tells the size.
    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    return c.file("bomb.png", _png_from_chunks(ihdr, _png_chunk(b"IDAT", zlib.compress(b"\0" * 1000))))


@kind("png_text_chunk_bomb", "bad", "damaged", "too large")
def _(c):
    # A zTXt chunk that inflates to 64 MB: the decoder must stop early, not inflate it.
    data = _encode(_swatch(), "PNG")
    bomb = _png_chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"A" * (64 << 20), 9))
    return c.file("text_bomb.png", data[:33] + bomb + data[33:])


@kind("png_wrong_crc", "bad", "damaged")
def _(c):
    data = bytearray(_encode(_noise(40, 30), "PNG"))
    data[29] ^= 0xFF  # the IHDR CRC
    return c.file("bad_crc.png", bytes(data))


@kind("png_zero_width", "bad", "damaged")
def _(c):
    ihdr = struct.pack(">IIBBBBB", 0, 10, 8, 2, 0, 0, 0)
    return c.file("zero_width.png", _png_from_chunks(ihdr, _png_chunk(b"IDAT", zlib.compress(b"\0" * 10))))


@kind("jpeg_only_soi_marker", "bad", "damaged|not an image")
def _(c):
    return c.file("soi_only.jpg", b"\xff\xd8")


@kind("jpeg_huge_dimensions", "bad", "damaged|too large")
def _(c):
    # A 64 px JPEG whose frame header claims 65000 x 65000, cut inside the scan data.
    data = bytearray(_encode(_swatch(), "JPEG"))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 65000, 65000)
    return c.file("huge_header.jpg", bytes(data[: data.find(b"\xff\xda") + 30]))


@kind("jpeg_progressive_bomb", "bad", "too large", "15000")
def _(c):
    # Draft mode would shrink the output to 1/8, but libjpeg keeps a progressive JPEG's
    # coefficients at full size: before the fix this 1 KB file cost 700 MB (2965 MP: 9 GB).
    data = bytearray(_encode(_noise(64, 48), "JPEG", progressive=True))
    sof = data.find(b"\xff\xc2")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 15000, 15000)
    return c.file("progressive_bomb.jpg", bytes(data))


@kind("gif_zero_frames", "bad", "damaged")
def _(c):
    return c.file("no_frames.gif", b"GIF89a" + struct.pack("<HHBBB", 10, 10, 0, 0, 0) + b"\x3b")


@kind("gif_frame_bomb", "bad", "too large", "20000")
def _(c):
    # A 16 px screen whose first frame claims 20000 x 20000, disposed to background: PIL
    # fills that frame inside open(), so the size must be read from the bytes first.
    control = b"\x21\xf9\x04\x08\x00\x00\x00\x00"
    descriptor = b"\x2c" + struct.pack("<HHHHB", 0, 0, 20000, 20000, 0)
    screen = b"GIF89a" + struct.pack("<HHBBB", 16, 16, 0, 0, 0)
    return c.file("frame_bomb.gif", screen + control + descriptor + b"\x02\x02\x44\x01\x00\x3b")


@kind("gif_truncated", "bad", "damaged")
def _(c):
    data = _encode(_noise(64, 64), "GIF")
    return c.file("cut.gif", data[: len(data) // 2])


@kind("webp_truncated", "bad", "damaged")
def _(c):
    data = _encode(_noise(64, 64), "WEBP")
    return c.file("cut.webp", data[: len(data) // 2])


@kind("bmp_bogus_header", "bad", "damaged")
def _(c):
    header = b"BM" + struct.pack("<IHHI", 100, 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, 10, 10, 1, 0, 0, 0, 0, 0, 0, 0)  # 0 bits per pixel
    return c.file("bogus.bmp", header + info + bytes(46))


@kind("tiff_unsupported_compression", "bad", "damaged")
def _(c):
    tags = _grey_tiff_tags()
    tags[259] = (3, struct.pack("<H", 0x7FF1))
    return c.file("odd_compression.tif", _tiff(tags, bytes(range(64))))


@kind("tiff_fractional_strip_offset", "bad", "damaged")
def _(c):
    # Found by the fuzzer: a RATIONAL strip offset made PIL raise TypeError.
    tags = _grey_tiff_tags()
    tags[273] = (5, None)
    return c.file("rational_offset.tiff", _tiff(tags, bytes(range(64))))


@kind("tiff_huge_dimensions", "bad", "too large")
def _(c):
    return c.file("huge.tif", _tiff(_grey_tiff_tags(60000, 60000), bytes(64)))


@kind("dangling_symlink", "bad", "broken symbolic link")
def _(c):
    link = c.root / "gone.png"
    link.symlink_to(c.root / "never_existed.png")
    return link


@kind("symlink_loop", "bad", "symbolic link")
def _(c):
    first, second = c.root / "loop_a.png", c.root / "loop_b.png"
    first.symlink_to(second)
    second.symlink_to(first)
    return [first, second]


@kind("link_to_a_device", "bad", "device")
def _(c):
    # A link to a device is not an image. /dev/null reads as empty; /dev/zero would never
    # end, and before the fix the scan read it until memory ran out. (The test uses
    # /dev/null so that a regression fails instead of exhausting the machine's memory.)
    link = c.root / "device.png"
    link.symlink_to("/dev/null")
    return link


@kind("named_pipe", "bad", "named pipe")
def _(c):
    # Opening a FIFO with no writer blocks for ever; before the fix the scan hung here.
    path = c.root / "pipe.png"
    os.mkfifo(path)
    return path


@kind("name_not_utf8", "bad", "utf-8", "rename")
def _(c):
    # Bytes from a Latin-1 system: the name cannot be a (UTF-8) cache key. Before the fix
    # the whole scan died with UnicodeEncodeError. It is listed under a readable stand-in.
    raw = os.fsencode(c.root) + b"/latin1_caf\xe9.png"
    with open(raw, "wb") as handle:
        handle.write(_encode(_swatch(), "PNG"))
    return Path(str(c.root) + "/latin1_caf\ufffd.png")


@kind("unreadable_file", "bad", "permission denied")
def _(c):
    path = c.file("locked.png", _encode(_swatch(seed=20), "PNG"))
    c.unreadable.add(path)
    return path


@kind("folder_without_execute", "bad", "permission denied")
def _(c):
    folder = c.root / "no_search"
    paths = [c.file(f"no_search/inside_{i}.png", _encode(_swatch(seed=21 + i), "PNG")) for i in range(2)]
    c.no_search.add(folder)
    return paths


@kind("deleted_before_decode", "bad", "disappeared")
def _(c):
    path = c.file("vanishing.png", _encode(_swatch(seed=23), "PNG"))
    c.vanishing.add(path)
    return path


@kind("half_written_during_scan", "bad", "damaged")
def _(c):
    path = c.file("being_saved.png", _encode(_swatch(seed=7), "PNG"))
    whole = _encode(_noise(96, 64, seed=7), "PNG")
    c.rewrites[path] = whole[: len(whole) // 2]  # the writer is half-way through
    c.finished[path] = whole
    return path


# Good files -----------------------------------------------------------------------------


@kind("one_pixel", "good")
def _(c):
    return c.file("dot.png", _encode(Image.new("RGB", (1, 1), (1, 2, 3)), "PNG"))


@kind("strip_20000x200", "good")
def _(c):
    pixels = np.full((200, 20000, 3), 128, dtype=np.uint8)
    pixels[:, ::50] = (200, 0, 0)
    return c.file("strip.png", _encode(Image.fromarray(pixels), "PNG", compress_level=1))


@kind("cmyk_jpeg", "good")
def _(c):
    return c.file("cmyk.jpg", _encode(Image.new("CMYK", (64, 32), (255, 0, 0, 0)), "JPEG"))


@kind("png_16_bit", "good")
def _(c):
    values = (np.arange(40 * 10, dtype=np.uint32).reshape(10, 40) * 160).astype(np.uint16)
    return c.file("grey16.png", _encode(Image.fromarray(values), "PNG"))


@kind("palette_png_transparency", "good")
def _(c):
    image = Image.new("P", (40, 20), 0)
    image.putpalette([0, 0, 0, 0, 0, 200] + [0] * (254 * 3))
    image.paste(1, (20, 0, 40, 20))
    return c.file("palette.png", _encode(image, "PNG", transparency=0))


@kind("la_image", "good")
def _(c):
    image = Image.new("LA", (40, 20), (0, 0))
    image.paste((60, 255), (20, 0, 40, 20))
    return c.file("grey_alpha.png", _encode(image, "PNG"))


@kind("animated_gif", "good")
def _(c):
    frames = [Image.new("RGB", (30, 20), colour) for colour in ((200, 0, 0), (0, 0, 200), (0, 200, 0))]
    return c.file("anim.gif", _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100))


@kind("multi_page_tiff", "good")
def _(c):
    pages = [_swatch(24, 24), _swatch(48, 12, seed=2)]
    return c.file("pages.tif", _encode(pages[0], "TIFF", save_all=True, append_images=pages[1:]))


@kind("float_tiff", "good")
def _(c):
    values = np.linspace(-1.0, 3.0, 16 * 8, dtype=np.float32).reshape(8, 16)
    return c.file("float.tiff", _encode(Image.fromarray(values, "F"), "TIFF"))


@kind("webp_alpha", "good")
def _(c):
    image = Image.new("RGBA", (32, 16), (0, 0, 0, 0))
    image.paste((0, 150, 0, 255), (16, 0, 32, 16))
    return c.file("alpha.webp", _encode(image, "WEBP", lossless=True))


@kind("bilevel_bmp", "good")
def _(c):
    return c.file("bilevel.bmp", _encode(_noise(33, 17).convert("1"), "BMP"))


@kind("progressive_jpeg", "good")
def _(c):
    return c.file("progressive.jpg", _encode(_noise(80, 60), "JPEG", progressive=True))


@kind("multi_picture_jpeg", "good")
def _(c):
    # MPO, as stereo and some phone cameras write: a JPEG with a second picture appended.
    return c.file("stereo.jpg", _encode(_swatch(), "MPO", save_all=True, append_images=[_swatch(seed=5)]))


@kind("jpeg_corrupt_exif", "good")
def _(c):
    data = _encode(_swatch(), "JPEG", quality=95)
    segment = b"Exif\0\0" + b"MM\x00\x2a\x7f\xff\xff\xf0" + b"\x01" * 40  # IFD offset far beyond the block
    app1 = b"\xff\xe1" + struct.pack(">H", len(segment) + 2) + segment
    return c.file("corrupt_exif.jpg", data[:2] + app1 + data[2:])


@kind("png_trailing_garbage", "good")
def _(c):
    return c.file("trailing.png", _encode(_swatch(), "PNG") + bytes(range(256)) + b"trailing junk")


@kind("png_named_jpg", "good")
def _(c):
    return c.file("really_a_png.jpg", _encode(_swatch(seed=2), "PNG"))


@kind("upper_case_suffix", "good")
def _(c):
    return c.file("SHOUTING.PNG", _encode(_swatch(seed=3), "PNG"))


@kind("unicode_names_nfc_and_nfd", "good")
def _(c):
    name = "motif ñandú 日本"
    return [c.file(unicodedata.normalize(form, name) + f" {form}.png", _encode(_swatch(seed=4), "PNG"))
            for form in ("NFC", "NFD")]


@kind("emoji_name", "good")
def _(c):
    return c.file("🧶🎨✂️ bracelet.png", _encode(_swatch(seed=5), "PNG"))


@kind("name_of_200_bytes", "good")
def _(c):
    name = "é" * 98 + ".png"
    assert len(name.encode()) == 200
    return c.file(name, _encode(_swatch(seed=6), "PNG"))


@kind("newline_in_name", "good")
def _(c):
    return c.file("first line\nsecond line.png", _encode(_swatch(seed=7), "PNG"))


@kind("rewritten_during_scan", "good")
def _(c):
    # A finished rewrite between the scan's stat and its read: the new content is what counts.
    path = c.file("replaced.png", _encode(_swatch(seed=8), "PNG"))
    c.rewrites[path] = _encode(_noise(50, 40, seed=8), "PNG")
    return path


@kind("symlink_to_a_file_outside", "good")
def _(c):
    outside = c.root.parent / "outside"
    outside.mkdir(exist_ok=True)
    target = outside / "elsewhere.png"
    target.write_bytes(_encode(_swatch(seed=9), "PNG"))
    link = c.root / "link_to_elsewhere.png"
    link.symlink_to(target)
    return link


@kind("folder_named_like_an_image", "good")
def _(c):
    return c.file("looks_like.png/inner.png", _encode(_swatch(seed=10), "PNG"))


@kind("folder_symlink_loop", "good")
def _(c):
    inner = c.file("cycle/inner.png", _encode(_swatch(seed=11), "PNG"))
    (c.root / "cycle" / "back_up").symlink_to(c.root, target_is_directory=True)
    (c.root / "cycle" / "self").symlink_to(c.root / "cycle", target_is_directory=True)
    return inner


# EXIF orientations: the stored pixels are turned so that the upright result is REFERENCE.
# How each orientation is stored follows the EXIF definition of where the stored 0th row and
# 0th column sit in the upright picture.
STORED = {
    1: lambda u: u,
    2: lambda u: u[:, ::-1],
    3: lambda u: u[::-1, ::-1],
    4: lambda u: u[::-1, :],
    5: lambda u: u.transpose(1, 0, 2),
    6: lambda u: np.rot90(u, 1),
    7: lambda u: np.rot90(u, 2).transpose(1, 0, 2),
    8: lambda u: np.rot90(u, -1),
}


def _oriented_jpeg(upright: np.ndarray, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = np.ascontiguousarray(STORED[orientation](upright))
    return _encode(Image.fromarray(stored), "JPEG", quality=95, exif=exif)


def _small_reference() -> np.ndarray:
    pixels = np.full((48, 64, 3), 235, dtype=np.uint8)
    pixels[:16, :24] = (220, 20, 20)  # a red block in the top-left corner only
    return pixels


for _orientation in range(1, 9):
    kind(f"exif_orientation_{_orientation}", "good")(
        lambda c, o=_orientation: c.file(f"orientation_{o}.jpg", _oriented_jpeg(_small_reference(), o)))


# Ignored files: in neither list ----------------------------------------------------------


@kind("hidden_file_and_folder", "ignored")
def _(c):
    return [c.file(".broken_hidden.png", b"junk"), c.file(".thumbnails/bad.png", b"junk")]


@kind("not_an_image_name", "ignored")
def _(c):
    return [c.file("notes.txt", b"\0\1\2 not text"), c.file("archive.zip", b"PK\3\4")]


@kind("symlink_alias_of_a_corpus_file", "ignored")
def _(c):
    # Listed once, by its real path (which is a good file of the corpus).
    alias = c.root / "alias_of_dot.png"
    alias.symlink_to(c.root / "dot.png")
    return alias


# --- the scan ----------------------------------------------------------------------------


class _NoSearchListing:
    """What ``os.scandir`` gives for a folder without execute permission: the names, but
    every stat of an entry fails with EACCES (the kernel cannot look up paths inside)."""

    def __init__(self, listing):
        self._listing = listing

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._listing.close()

    def __iter__(self):
        for entry in self._listing:
            yield _NoSearchEntry(entry)


class _NoSearchEntry:
    def __init__(self, entry):
        self._entry = entry
        self.name, self.path = entry.name, entry.path

    def is_dir(self, *, follow_symlinks=True):
        return self._entry.is_dir(follow_symlinks=False)  # from readdir's d_type, no lookup

    def is_symlink(self):
        return self._entry.is_symlink()

    def is_file(self, *, follow_symlinks=True):
        return self._entry.is_file(follow_symlinks=False)

    def stat(self, *, follow_symlinks=True):
        raise PermissionError(errno.EACCES, "Permission denied", self.path)


@contextlib.contextmanager
def _hooks(corpus: Corpus):
    """Permissions, and a writer and a deleter that act between the scan and the read."""
    real_read_bytes = images.read_bytes
    real_open = os.open
    real_scandir = os.scandir

    def read_bytes(path, *limit):
        path = Path(path)
        if path in corpus.vanishing:
            path.unlink()
        if path in corpus.rewrites:
            path.write_bytes(corpus.rewrites[path])
        return real_read_bytes(path, *limit)

    def refuse_unreadable(path, flags, *args, **kwargs):
        if isinstance(path, (str, os.PathLike)) and Path(path) in corpus.unreadable:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    def scandir(path="."):
        listing = real_scandir(path)
        if isinstance(path, (str, bytes, os.PathLike)) and Path(os.fsdecode(path)) in corpus.no_search:
            return _NoSearchListing(listing)
        return listing  # everything else, file descriptors included, as the OS gives it

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(images, "read_bytes", read_bytes)
        if AS_ROOT:
            patch.setattr(os, "open", refuse_unreadable)
            patch.setattr(os, "scandir", scandir)
            yield
            return
        for path in corpus.unreadable:
            path.chmod(0)
        for folder in corpus.no_search:
            folder.chmod(stat.S_IRUSR | stat.S_IWUSR)  # listable, but no lookups inside
        try:
            yield
        finally:
            for path in corpus.unreadable:
                path.chmod(0o644)
            for folder in corpus.no_search:
                folder.chmod(0o755)


def _colour_embedder() -> ColourEmbedder:
    return ColourEmbedder("colour")


def _bounded(work: Callable[[], object]) -> object:
    """Run ``work`` in a thread: a hang fails the test instead of stalling the run. (SQLite
    connections belong to one thread, so ``work`` opens its own cache.)"""
    result: dict[str, object] = {}

    def run():
        try:
            result["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(SCAN_LIMIT_S)
    if thread.is_alive():
        stacks = "\n".join("".join(traceback.format_stack(frame)) for ident, frame in sys._current_frames().items()
                           if ident != threading.get_ident())
        # A thread stuck in a read cannot be stopped, and the decode pool's threads would
        # keep the interpreter from exiting: end the run in a minute, with tracebacks.
        faulthandler.dump_traceback_later(60, exit=True)
        pytest.fail(f"the scan did not finish within {SCAN_LIMIT_S:.0f} s; threads:\n{stacks}")
    if "error" in result:
        raise result["error"]
    return result["value"]


def _as_list(paths: Path | list[Path]) -> list[Path]:
    return paths if isinstance(paths, list) else [paths]


@dataclass
class Scanned:
    corpus: Corpus
    report: EmbedReport
    db: Path
    cli_failures: list[dict]
    cached_failures: dict[str, tuple[int, int, str]]
    good_hashes: dict[Path, str]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory) -> Scanned:
    corpus = Corpus(tmp_path_factory.mktemp("corpus").resolve() / "library")
    corpus.root.mkdir()
    for name, spec in KINDS.items():
        paths = _as_list(spec.build(corpus))
        getattr(corpus, spec.verdict)[name] = paths
    # The cache inside the folder (hidden, so never scanned), where `organizer failures
    # --cache-beside` finds it.
    db = cache_db_path(corpus.root, beside=True)

    def scan():
        with Cache(db) as cache:
            report = embed_folder(corpus.root, SPEC, cache, make_embedder=_colour_embedder, workers=2)
            cached = {f.path: (f.size, f.mtime_ns, f.reason) for f in cache.failures()}
            return report, cached, {Path(p): r.hash for p, r in cache.known_files().items()}

    with _hooks(corpus):
        report, cached, good_hashes = _bounded(scan)

    from organizer.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["failures", str(corpus.root), "--json", "--cache-beside"]) == 0
    return Scanned(corpus, report, db, json.loads(out.getvalue()), cached, good_hashes)


def _reasons(report: EmbedReport) -> dict[Path, str]:
    reasons = dict(report.failures)
    assert len(reasons) == len(report.failures), "a path is listed twice among the failures"
    return reasons


def test_the_corpus_is_as_big_as_promised():
    assert len(KINDS) >= 30
    assert sum(k.verdict == "bad" for k in KINDS.values()) >= 25
    assert sum(k.verdict == "good" for k in KINDS.values()) >= 25


def test_the_scan_lists_exactly_the_good_files_once_each(scanned):
    expected = {p for paths in scanned.corpus.good.values() for p in paths}
    assert len(scanned.report.paths) == len(set(scanned.report.paths))
    assert set(scanned.report.paths) == expected
    assert len(scanned.report.hashes) == len(scanned.report.paths)


def test_the_failures_are_exactly_the_bad_files(scanned):
    expected = {p for paths in scanned.corpus.bad.values() for p in paths}
    assert set(_reasons(scanned.report)) == expected


@pytest.mark.parametrize("name", [n for n, k in KINDS.items() if k.verdict == "bad"])
def test_a_bad_file_has_a_reason_a_person_understands(scanned, name):
    reasons = _reasons(scanned.report)
    for path in scanned.corpus.bad[name]:
        assert path in reasons, f"{name}: {path.name!r} is not among the failures"
        reason = reasons[path]
        assert not reason_problem(reason), f"{name}: {reason_problem(reason)}"
        for word in KINDS[name].words:
            assert any(w in reason.lower() for w in word.split("|")), f"{name}: {word!r} not in {reason!r}"


@pytest.mark.parametrize("name", [n for n, k in KINDS.items() if k.verdict == "good"])
def test_a_good_file_is_embedded(scanned, name):
    for path in scanned.corpus.good[name]:
        assert path in scanned.report.paths, f"{name}: {path.name!r} missing; failures: {scanned.report.failures}"


@pytest.mark.parametrize("name", [n for n, k in KINDS.items() if k.verdict == "ignored"])
def test_an_ignored_file_is_in_neither_list(scanned, name):
    failed = {path for path, _ in scanned.report.failures}
    for path in scanned.corpus.ignored[name]:
        assert path not in scanned.report.paths and path not in failed


def test_a_file_rewritten_during_the_scan_is_cached_with_its_new_content(scanned):
    (path,) = scanned.corpus.good["rewritten_during_scan"]
    assert scanned.good_hashes[path] == hash_bytes(scanned.corpus.rewrites[path])


def test_the_cache_keeps_every_failure_for_the_failures_command(scanned):
    reasons = {str(path): reason for path, reason in scanned.report.failures}
    assert {f["path"]: f["reason"] for f in scanned.cli_failures} == reasons
    assert {path: reason for path, (_, _, reason) in scanned.cached_failures.items()} == reasons
    # Access problems (and paths without a file behind them) are marked to be retried:
    # size -1 never matches a stat. Content verdicts keep the file's size.
    retried = {str(p) for name in ("unreadable_file", "folder_without_execute", "deleted_before_decode",
                                   "dangling_symlink", "symlink_loop", "link_to_a_device", "named_pipe",
                                   "name_not_utf8")
               for p in scanned.corpus.bad[name]}
    for path, (size, _, _) in scanned.cached_failures.items():
        assert (size == -1) == (path in retried), path


def test_a_rescan_decodes_only_what_changed_and_retries_access_problems(scanned, monkeypatch):
    corpus = scanned.corpus
    for path, data in corpus.finished.items():
        path.write_bytes(data)  # the writer has finished
    # No hooks now: the user fixed the permissions, the deleted file stays deleted.
    decoded: list[int] = []
    real_decode = images.decode
    monkeypatch.setattr(images, "decode", lambda data, min_side=0: decoded.append(1) or real_decode(data, min_side))

    def rescan():
        with Cache(scanned.db) as cache:
            report = embed_folder(corpus.root, SPEC, cache, make_embedder=_colour_embedder, workers=2)
            return report, {f.path for f in cache.failures()}

    report, remaining = _bounded(rescan)
    retried = (corpus.bad["unreadable_file"] + corpus.bad["folder_without_execute"]
               + corpus.bad["half_written_during_scan"])
    assert len(decoded) == len(retried), "only the fixed and the changed files are decoded again"
    assert set(retried) <= set(report.paths)
    still_bad = {p for name, paths in corpus.bad.items() for p in paths} - set(retried)
    still_bad -= set(corpus.bad["deleted_before_decode"])
    assert {path for path, _ in report.failures} == still_bad
    assert remaining == {str(p) for p in still_bad}


# --- EXIF orientation through the real CNN ------------------------------------------------


def _cnn_reference() -> np.ndarray:
    """A 640 x 448 chart that reads differently turned or mirrored (letters, an off-centre block)."""
    from organizer.samples import SampleSpec, render

    pixels = np.array(render(SampleSpec("alpha-letters", 0, 0), (640, 448)).convert("RGB"))
    pixels[:96, :160] = (200, 30, 30)
    return pixels


def test_every_exif_orientation_embeds_like_its_upright_twin_with_the_cnn(tmp_path):
    from organizer.embedding import create_embedder
    from organizer.embedding.runtime import Runtime

    folder = tmp_path / "oriented"
    folder.mkdir()
    upright = _cnn_reference()
    (folder / "upright.jpg").write_bytes(_encode(Image.fromarray(upright), "JPEG", quality=95))
    for orientation in range(1, 9):
        (folder / f"orientation_{orientation}.jpg").write_bytes(_oriented_jpeg(upright, orientation))
        # The stored pixels without the EXIF tag: what a reader that ignores it would see.
        if orientation > 1:
            stored = np.ascontiguousarray(STORED[orientation](upright))
            (folder / f"exif_ignored_{orientation}.jpg").write_bytes(_encode(Image.fromarray(stored), "JPEG", quality=95))

    spec = make_spec(adapt=False)  # the network's own vectors, which embed_folder stores
    embedder = create_embedder(spec, Runtime("cpu", "fp32", channels_last=False))

    def scan():
        with Cache(tmp_path / "c.sqlite") as cache:
            report = embed_folder(folder, spec, cache, make_embedder=lambda: embedder, workers=2)
            return report, cache.vectors(spec.id, report.hashes)

    report, vectors = _bounded(scan)
    assert not report.failures
    vectors = dict(zip((p.name for p in report.paths), vectors))
    reference = vectors["upright.jpg"]

    def cosine(name: str) -> float:
        vector = vectors[name]
        return float(vector @ reference / (np.linalg.norm(vector) * np.linalg.norm(reference)))

    for orientation in range(1, 9):
        assert cosine(f"orientation_{orientation}.jpg") > 0.999, f"orientation {orientation} is not upright"
    # The threshold tells a wrong turn apart: even a mirror image scores below it (about 0.996).
    for orientation in range(2, 9):
        assert cosine(f"exif_ignored_{orientation}.jpg") < 0.999, f"orientation {orientation} looks upright anyway"
