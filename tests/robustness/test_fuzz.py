"""Fuzzing the decoder: mutated image bytes decode to a usable image or fail cleanly.

Valid files of every supported format are made here and mutated (bit flips, truncation,
inserted, deleted and copied bytes, header fields set to edge values; PNG chunk CRCs are
optionally repaired so the mutation reaches the decoder behind them). Each result goes
through ``images.decode`` and ``preprocess.make_views``. Only two outcomes are allowed: an
RGB image whose views have the right shape, or an ``ImageError`` with a reason a person can
read. Anything else is a bug in the engine.

``bench/fuzz.py`` runs the same harness for as long as you like.
"""

from __future__ import annotations

import functools
import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from organizer.io import images, preprocess
from organizer.io.images import ImageError

#: The decoder's pixel limit while fuzzing. A mutated size field can ask for anything up to
#: the real 200 MP limit, and allocating that much thousands of times would measure memory
#: bandwidth, not robustness; the limit itself is tested in tests/test_images.py.
FUZZ_MAX_PIXELS = 4_000_000
VIEW_SIZE = 224

#: Text that must never reach a person: exception class names, tracebacks, a bare None.
DEVELOPER_WORDS = ("Traceback", 'File "', "Exception", "OSError", "IOError", "TypeError", "ValueError",
                   "KeyError", "IndexError", "SyntaxError", "EOFError", "struct.error", "ZeroDivision",
                   "Overflow", "UnidentifiedImageError", "PermissionError", "FileNotFoundError",
                   "UnicodeEncodeError", "MemoryError", "unexpected error")


def reason_problem(reason: object) -> str:
    """What is wrong with a failure reason meant for a person, or "" when nothing is."""
    if not isinstance(reason, str) or not reason.strip():
        return f"empty reason {reason!r}"
    if reason.strip() in ("None", "none") or len(reason) < 10 or " " not in reason:
        return f"reason too terse for a person: {reason!r}"
    if "\n" in reason:
        return f"multi-line reason: {reason!r}"
    found = [word for word in DEVELOPER_WORDS if word in reason]
    return f"developer text {found} in {reason!r}" if found else ""


# --- seeds -----------------------------------------------------------------------------------


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


@functools.cache
def seeds() -> dict[str, bytes]:
    """Small valid files, one per format and mode worth reaching."""
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, (16, 24, 3), dtype=np.uint8))
    smooth = Image.fromarray(np.add.outer(np.arange(16), np.arange(24)).astype(np.uint8) * 5).convert("RGB")
    rgba = rgb.convert("RGBA")
    rgba.putalpha(Image.fromarray(rng.integers(0, 256, (16, 24), dtype=np.uint8)))
    grey16 = Image.fromarray((rng.integers(0, 65536, (12, 20))).astype(np.uint16))
    exif = Image.Exif()
    exif[0x0112] = 6
    frames = [Image.new("RGB", (20, 12), colour) for colour in ((200, 0, 0), (0, 0, 200))]
    return {
        "png": _encode(rgb, "PNG"),
        "png-rgba": _encode(rgba, "PNG"),
        "png-palette-transparent": _encode(smooth.convert("P"), "PNG", transparency=0),
        "png-16bit": _encode(grey16, "PNG"),
        "png-interlaced": _encode(smooth, "PNG", interlace=1),
        "png-animated": _encode(frames[0], "PNG", save_all=True, append_images=frames[1:], disposal=1),
        "jpeg": _encode(smooth, "JPEG", quality=85),
        "jpeg-progressive": _encode(rgb, "JPEG", progressive=True),
        "jpeg-cmyk": _encode(rgb.convert("CMYK"), "JPEG"),
        "jpeg-exif-rotated": _encode(smooth, "JPEG", exif=exif),
        "gif": _encode(smooth.convert("P"), "GIF"),
        "gif-animated": _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50),
        "webp": _encode(smooth, "WEBP", quality=80),
        "webp-lossless-alpha": _encode(rgba, "WEBP", lossless=True),
        "webp-animated": _encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=50),
        "bmp": _encode(rgb, "BMP"),
        "bmp-palette": _encode(smooth.convert("P"), "BMP"),
        "bmp-1bit": _encode(rgb.convert("1"), "BMP"),
        "tiff": _encode(rgb, "TIFF"),
        "tiff-lzw": _encode(smooth, "TIFF", compression="tiff_lzw"),
        "tiff-multipage": _encode(frames[0], "TIFF", save_all=True, append_images=frames[1:]),
        "tiff-16bit": _encode(grey16, "TIFF"),
        "tiff-float": _encode(Image.fromarray(rng.random((8, 12), dtype=np.float32)), "TIFF"),
    }


# --- mutations ------------------------------------------------------------------------------

#: Values that break size and offset arithmetic when written into a header field.
INTERESTING = (0, 1, 2, 3, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
               0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
#: Header fields sit near the start of these formats (TIFF IFDs too, for files this small).
HEADER_SPAN = 512


def mutate(data: bytes, ops, fix_png_crc: bool = False) -> bytes:
    """Apply ``ops`` in order. Positions are taken modulo the current length, so any list
    of operations is valid for any input, which lets hypothesis shrink freely.

    ("flip", pos, bit) | ("truncate", pos) | ("insert", pos, bytes) | ("delete", pos, n)
    | ("field", pos, width, value, big_endian) | ("copy", pos, source, n)
    """
    out = bytearray(data)
    for op in ops:
        name, at = op[0], op[1] % (len(out) + 1)
        if name == "flip" and out:
            out[at % len(out)] ^= 1 << op[2]
        elif name == "truncate":
            del out[at:]
        elif name == "insert":
            out[at:at] = op[2]
        elif name == "delete":
            del out[at : at + op[2]]
        elif name == "field":
            _, pos, width, value, big = op
            pos %= min(len(out), HEADER_SPAN) + 1
            out[pos : pos + width] = (value % (1 << (8 * width))).to_bytes(width, "big" if big else "little")
        elif name == "copy" and out:
            source = op[2] % len(out)
            out[at:at] = out[source : source + op[3]]
    if fix_png_crc:
        out = bytearray(repair_png_crcs(bytes(out)))
    return bytes(out)


def repair_png_crcs(data: bytes) -> bytes:
    """Recompute every whole chunk's CRC, so a mutation inside a chunk reaches its parser."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data
    out, at = bytearray(data), 8
    while at + 12 <= len(out):
        (length,) = struct.unpack(">I", out[at : at + 4])
        end = at + 8 + length
        if end + 4 > len(out):
            break
        out[end : end + 4] = struct.pack(">I", zlib.crc32(bytes(out[at + 4 : end])))
        at = end + 4
    return bytes(out)


def check_decode(data: bytes, min_side: int, policy: str, size: int = VIEW_SIZE) -> str:
    """The contract: "decoded" (RGB, views of the right shape) or "refused" (ImageError with
    a readable reason). Any other exception propagates; a broken promise is an AssertionError."""
    try:
        image = images.decode(data, min_side)
    except ImageError as exc:
        problem = reason_problem(exc.reason)
        assert not problem, problem
        assert not exc.transient, f"bad content reported as an access problem: {exc.reason!r}"
        return "refused"
    assert image.mode == "RGB", image.mode
    assert image.width >= 1 and image.height >= 1 and image.width * image.height <= images.MAX_PIXELS
    views = preprocess.make_views(image, size, policy)
    assert views.dtype == np.uint8 and views.ndim == 4, (views.dtype, views.shape)
    assert views.shape[1:] == (size, size, 3) and 1 <= len(views) <= 4, views.shape
    return "decoded"


# --- hypothesis -------------------------------------------------------------------------------

_position = st.integers(0, 1 << 16)
_operation = st.one_of(
    st.tuples(st.just("flip"), _position, st.integers(0, 7)),
    st.tuples(st.just("truncate"), _position),
    st.tuples(st.just("insert"), _position, st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), _position, st.integers(1, 64)),
    st.tuples(st.just("field"), st.integers(0, HEADER_SPAN), st.sampled_from((1, 2, 4)),
              st.one_of(st.sampled_from(INTERESTING), st.integers(0, (1 << 32) - 1)), st.booleans()),
    st.tuples(st.just("copy"), _position, _position, st.integers(1, 64)),
)


@pytest.fixture(scope="module", autouse=True)
def _bounded_pixels():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(images, "MAX_PIXELS", FUZZ_MAX_PIXELS)
        yield


def test_every_seed_decodes():
    for name, data in seeds().items():
        assert check_decode(data, 0, "auto") == "decoded", name


def _strip_offsets_type_field(tiff: bytes) -> int:
    """Where the StripOffsets entry of a little-endian TIFF keeps its field type."""
    (ifd,) = struct.unpack("<I", tiff[4:8])
    (count,) = struct.unpack("<H", tiff[ifd : ifd + 2])
    entries = (ifd + 2 + 12 * i for i in range(count))
    return next(at + 2 for at in entries if struct.unpack("<H", tiff[at : at + 2])[0] == 273)


# Found by bench/fuzz.py: a strip offset of type RATIONAL (5) made PIL raise TypeError.
@example(seed="tiff", ops=[("field", _strip_offsets_type_field(seeds()["tiff"]), 2, 5, False)],
         fix_png_crc=False, min_side=0, policy="auto")
@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(sorted(seeds())), ops=st.lists(_operation, min_size=1, max_size=4),
       fix_png_crc=st.booleans(), min_side=st.sampled_from((0, VIEW_SIZE)),
       policy=st.sampled_from(preprocess.POLICIES))
def test_mutated_image_decodes_or_fails_with_a_readable_reason(seed, ops, fix_png_crc, min_side, policy):
    check_decode(mutate(seeds()[seed], ops, fix_png_crc), min_side, policy)


def _gif_with_frame(width: int, height: int) -> bytes:
    """A 16 x 16 GIF whose one frame claims ``width`` x ``height``, disposed to background."""
    control = b"\x21\xf9\x04" + bytes([2 << 2]) + b"\x00\x00\x00\x00"  # disposal method 2
    descriptor = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0)
    return (b"GIF89a" + struct.pack("<HHBBB", 16, 16, 0, 0, 0) + control + descriptor
            + b"\x02\x02\x44\x01\x00" + b"\x3b")


def test_a_gif_frame_past_the_limit_is_refused_before_pil_allocates_it(monkeypatch):
    # Found by bench/fuzz.py at the app's own limit: PIL fills a frame-sized disposal
    # buffer inside open(), so a 177-byte GIF took 2 GB and a second before being refused.
    filled: list[tuple[int, int]] = []
    real_fill = Image.core.fill
    monkeypatch.setattr(Image.core, "fill", lambda mode, size, *rest: filled.append(size) or real_fill(mode, size, *rest))
    with pytest.raises(ImageError, match="damaged"):
        images.decode(_gif_with_frame(1000, 1000))  # 1 MP, under the limit: opened, then found short
    assert (1000, 1000) in filled, "the spy sees PIL's frame buffers"
    filled.clear()
    with pytest.raises(ImageError, match="too large"):
        images.decode(_gif_with_frame(3000, 3000))  # 9 MP, over the 4 MP fuzzing limit
    assert all(w * h <= images.MAX_PIXELS for w, h in filled), filled


@pytest.mark.parametrize("reason", ["", "None", "OSError", "damaged image data (TypeError: x)", "a\nTraceback"])
def test_the_reason_check_rejects_developer_text(reason):
    assert reason_problem(reason)
