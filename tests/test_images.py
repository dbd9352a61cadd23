"""Tests for safe image decoding (organizer.io.images).

Every case decodes a real file generated in ``tmp_path``; the only stand-in is the
permission case when the tests run as root, where ``chmod 000`` does not stop reading.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from organizer.io import images
from organizer.io.images import ImageError, decode, load, read_bytes

RED = (220, 20, 20)
WHITE = (255, 255, 255)


def _save(image: Image.Image, path: Path, **params: object) -> Path:
    image.save(path, **params)
    return path


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def _close(pixel: np.ndarray, expected: tuple[int, ...], tolerance: int) -> bool:
    return bool(np.all(np.abs(pixel.astype(int) - np.array(expected)) <= tolerance))


def _reason(path: Path, **kwargs: object) -> str:
    with pytest.raises(ImageError) as info:
        load(path, **kwargs)
    reason = info.value.reason
    assert reason == str(info.value)
    assert len(reason) > 10 and " " in reason, "the reason is meant for a person"
    return reason.lower()


def _noise_png(path: Path, size: tuple[int, int] = (160, 120)) -> bytes:
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path.read_bytes()


def _noise_jpeg(path: Path, size: tuple[int, int] = (320, 240)) -> bytes:
    rng = np.random.default_rng(8)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, "JPEG", quality=90)
    return path.read_bytes()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


# --- EXIF orientation -------------------------------------------------------------------

UPRIGHT_W, UPRIGHT_H = 96, 64


def _upright() -> np.ndarray:
    """A landscape image with a red block in its top-left corner only."""
    pixels = np.full((UPRIGHT_H, UPRIGHT_W, 3), 235, dtype=np.uint8)
    pixels[:24, :32] = RED
    return pixels


# How each orientation is *stored*, derived from the EXIF definition of where the stored
# 0th row and 0th column sit in the upright picture (not from PIL's own table).
STORED = {
    1: lambda u: u,
    2: lambda u: u[:, ::-1],  # 0th row top, 0th column right: mirrored
    3: lambda u: u[::-1, ::-1],  # bottom, right: rotated 180°
    4: lambda u: u[::-1, :],  # bottom, left: flipped vertically
    5: lambda u: u.transpose(1, 0, 2),  # left, top: transposed
    6: lambda u: np.rot90(u, 1),  # right, top: needs 90° clockwise to view
    7: lambda u: np.rot90(u, 2).transpose(1, 0, 2),  # right, bottom: transverse
    8: lambda u: np.rot90(u, -1),  # left, bottom: needs 90° counter-clockwise to view
}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_comes_out_upright(tmp_path: Path, orientation: int) -> None:
    stored = np.ascontiguousarray(STORED[orientation](_upright()))
    if orientation in (5, 6, 7, 8):
        assert stored.shape[:2] == (UPRIGHT_W, UPRIGHT_H)  # really stored sideways
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = _save(Image.fromarray(stored), tmp_path / f"orientation_{orientation}.jpg", quality=95, exif=exif)
    assert Image.open(path).getexif()[0x0112] == orientation

    image = load(path)

    assert image.mode == "RGB"
    assert image.size == (UPRIGHT_W, UPRIGHT_H)
    pixels = _pixels(image)
    assert np.abs(pixels - _upright()).mean() < 4
    assert _close(pixels[8, 8], RED, 30), "red block must be in the top-left corner"
    for y, x in ((8, UPRIGHT_W - 9), (UPRIGHT_H - 9, 8), (UPRIGHT_H - 9, UPRIGHT_W - 9)):
        assert _close(pixels[y, x], (235, 235, 235), 20)


def test_orientation_is_applied_after_draft_mode(tmp_path: Path) -> None:
    pixels = np.full((600, 1200, 3), 235, dtype=np.uint8)  # upright: 1200 wide, 600 high
    pixels[:200, :400] = RED
    exif = Image.Exif()
    exif[0x0112] = 6
    path = _save(Image.fromarray(np.ascontiguousarray(np.rot90(pixels, 1))), tmp_path / "rot.jpg", exif=exif)

    image = load(path, min_side=100)

    assert image.size == (1200 // 4, 600 // 4)  # draft at 1/4 keeps both sides >= 100
    assert _close(_pixels(image)[20, 20], RED, 30)


@pytest.mark.parametrize(
    "garbage",
    [
        bytes(range(256)) * 2,  # no TIFF header at all
        b"MM\x00\x2a\x7f\xff\xff\xf0" + b"\x01" * 40,  # IFD offset far beyond the block
        b"II*\x00\x08\x00\x00\x00\xff\xff" + b"\x12\x01\x03\x00" * 12,  # 65535 entries, few present
    ],
    ids=["random", "bad-offset", "bad-count"],
)
def test_corrupt_exif_block_still_decodes(tmp_path: Path, garbage: bytes) -> None:
    plain = io.BytesIO()
    Image.fromarray(_upright()).save(plain, "JPEG", quality=95)
    data = plain.getvalue()
    segment = b"Exif\x00\x00" + garbage
    app1 = b"\xff\xe1" + struct.pack(">H", len(segment) + 2) + segment
    path = tmp_path / "corrupt_exif.jpg"
    path.write_bytes(data[:2] + app1 + data[2:])  # right after SOI, where EXIF lives

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # decode must keep PIL's EXIF warnings to itself
        image = load(path)

    assert image.size == (UPRIGHT_W, UPRIGHT_H)
    assert np.abs(_pixels(image) - _upright()).mean() < 4


# --- modes and formats ----------------------------------------------------------------


def test_cmyk_jpeg_becomes_rgb_with_the_right_colours(tmp_path: Path) -> None:
    cmyk = Image.new("CMYK", (64, 32), (255, 0, 0, 0))  # left: cyan
    cmyk.paste((0, 255, 255, 0), (32, 0, 64, 32))  # right: red
    path = _save(cmyk, tmp_path / "cmyk.jpg", quality=95)
    assert Image.open(path).mode == "CMYK"

    image = load(path)

    assert image.mode == "RGB" and image.size == (64, 32)
    pixels = _pixels(image)
    assert _close(pixels[16, 8], (0, 255, 255), 30)
    assert _close(pixels[16, 56], (255, 0, 0), 30)


def test_palette_png_transparency_becomes_white(tmp_path: Path) -> None:
    image = Image.new("P", (40, 20), 0)
    image.putpalette([0, 0, 0, 0, 0, 200] + [0] * (254 * 3))  # index 0 black, 1 blue
    image.paste(1, (20, 0, 40, 20))
    path = _save(image, tmp_path / "palette.png", transparency=0)
    assert Image.open(path).mode == "P"

    pixels = _pixels(load(path))

    assert tuple(pixels[10, 5]) == WHITE, "transparent black must read as paper"
    assert tuple(pixels[10, 30]) == (0, 0, 200)


def test_la_png_transparency_becomes_white(tmp_path: Path) -> None:
    image = Image.new("LA", (40, 20), (0, 0))
    image.paste((60, 255), (20, 0, 40, 20))
    path = _save(image, tmp_path / "grey_alpha.png")
    assert Image.open(path).mode == "LA"

    pixels = _pixels(load(path))

    assert tuple(pixels[10, 5]) == WHITE
    assert tuple(pixels[10, 30]) == (60, 60, 60)


def test_rgba_png_is_composited_on_white(tmp_path: Path) -> None:
    image = Image.new("RGBA", (60, 20), (0, 0, 0, 0))
    image.paste((200, 0, 0, 255), (20, 0, 40, 20))
    image.paste((0, 0, 0, 128), (40, 0, 60, 20))
    path = _save(image, tmp_path / "rgba.png")

    pixels = _pixels(load(path))

    assert tuple(pixels[10, 5]) == WHITE
    assert tuple(pixels[10, 30]) == (200, 0, 0)
    assert _close(pixels[10, 50], (127, 127, 127), 2), "half-transparent black is mid-grey"


@pytest.mark.parametrize(
    ("mode", "key", "ink", "expected_ink"),
    [("RGB", (0, 0, 0), (200, 0, 0), (200, 0, 0)), ("L", 0, 90, (90, 90, 90))],
)
def test_colour_key_transparency_becomes_white(
    tmp_path: Path, mode: str, key: object, ink: object, expected_ink: tuple[int, int, int]
) -> None:
    image = Image.new(mode, (40, 20), key)
    image.paste(ink, (20, 0, 40, 20))
    path = _save(image, tmp_path / f"colour_key_{mode}.png", transparency=key)
    reopened = Image.open(path)
    assert reopened.mode == mode and reopened.info["transparency"] == key

    pixels = _pixels(load(path))

    assert tuple(pixels[10, 5]) == WHITE, "the keyed colour is transparent, so it reads as paper"
    assert tuple(pixels[10, 30]) == expected_ink


def test_16_bit_greyscale_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    values = np.zeros((10, 40), dtype=np.uint16)
    values[:, 10:20] = 32768
    values[:, 20:30] = 16384
    values[:, 30:] = 65535
    path = _save(Image.fromarray(values), tmp_path / "grey16.png")
    assert Image.open(path).mode.startswith("I")

    image = load(path)

    assert image.mode == "RGB"
    pixels = _pixels(image)
    assert tuple(pixels[5, 5]) == (0, 0, 0)
    assert _close(pixels[5, 15], (128, 128, 128), 2)
    assert _close(pixels[5, 25], (64, 64, 64), 2)
    assert tuple(pixels[5, 35]) == WHITE


def test_one_bit_image(tmp_path: Path) -> None:
    image = Image.new("1", (32, 16), 0)
    image.paste(1, (16, 0, 32, 16))
    path = _save(image, tmp_path / "bilevel.png")
    assert Image.open(path).mode == "1"

    pixels = _pixels(load(path))

    assert tuple(pixels[8, 4]) == (0, 0, 0)
    assert tuple(pixels[8, 20]) == WHITE


def test_animated_gif_uses_the_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (30, 20), colour) for colour in ((200, 0, 0), (0, 0, 200), (0, 200, 0))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(path).n_frames == 3

    image = load(path)

    assert image.mode == "RGB" and image.size == (30, 20)
    assert _close(_pixels(image)[10, 10], (200, 0, 0), 8)


def test_multi_page_tiff_uses_the_first_page(tmp_path: Path) -> None:
    pages = [Image.new("RGB", (24, 24), (0, 180, 0)), Image.new("RGB", (48, 12), (0, 0, 180))]
    path = tmp_path / "pages.tif"
    pages[0].save(path, save_all=True, append_images=pages[1:])
    assert Image.open(path).n_frames == 2

    image = load(path)

    assert image.size == (24, 24)
    assert tuple(_pixels(image)[12, 12]) == (0, 180, 0)


def test_webp_with_alpha_is_composited_on_white(tmp_path: Path) -> None:
    image = Image.new("RGBA", (32, 16), (0, 0, 0, 0))
    image.paste((0, 150, 0, 255), (16, 0, 32, 16))
    path = _save(image, tmp_path / "alpha.webp", lossless=True)
    assert Image.open(path).mode == "RGBA"

    pixels = _pixels(load(path))

    assert tuple(pixels[8, 4]) == WHITE
    assert tuple(pixels[8, 24]) == (0, 150, 0)


def test_bmp(tmp_path: Path) -> None:
    pixels = np.zeros((20, 30, 3), dtype=np.uint8)
    pixels[:, 15:] = (10, 120, 240)
    path = _save(Image.fromarray(pixels), tmp_path / "plain.bmp")

    image = load(path)

    assert np.array_equal(np.asarray(image), pixels)


# --- draft mode and sizes ----------------------------------------------------------------


@pytest.fixture(scope="module")
def big_jpeg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pixels = np.full((2000, 3000, 3), 200, dtype=np.uint8)
    pixels[:400, :600] = RED
    path = tmp_path_factory.mktemp("draft") / "big.jpg"
    Image.fromarray(pixels).save(path, quality=85)
    return path


def test_jpeg_draft_mode_decodes_smaller_but_not_below_min_side(big_jpeg: Path) -> None:
    image = load(big_jpeg, min_side=224)

    width, height = image.size
    assert width >= 224 and height >= 224
    assert width * height <= 3000 * 2000 // 16, "draft mode should skip most of the pixels"
    assert abs(width / height - 1.5) < 0.02
    assert _close(_pixels(image)[5, 5], RED, 30)


def test_min_side_zero_decodes_full_size(big_jpeg: Path) -> None:
    assert load(big_jpeg, min_side=0).size == (3000, 2000)
    assert load(big_jpeg).size == (3000, 2000)


def test_min_side_larger_than_the_image_decodes_full_size(tmp_path: Path) -> None:
    path = _save(Image.new("RGB", (300, 200), RED), tmp_path / "small.jpg")
    assert load(path, min_side=1000).size == (300, 200)


def test_long_strip_decodes_whole(tmp_path: Path) -> None:
    pixels = np.full((200, 20000, 3), 128, dtype=np.uint8)
    pixels[:, :50] = (200, 0, 0)
    pixels[:, -50:] = (0, 0, 200)
    path = _save(Image.fromarray(pixels), tmp_path / "strip.png")

    image = load(path)

    assert image.size == (20000, 200)
    out = np.asarray(image)
    assert tuple(out[100, 10]) == (200, 0, 0) and tuple(out[100, -10]) == (0, 0, 200)


def test_one_pixel_image(tmp_path: Path) -> None:
    path = _save(Image.new("RGB", (1, 1), (1, 2, 3)), tmp_path / "dot.png")
    image = load(path)
    assert image.size == (1, 1) and image.getpixel((0, 0)) == (1, 2, 3)


# --- refused files ------------------------------------------------------------------------


def test_truncated_jpeg_is_reported_as_damaged(tmp_path: Path) -> None:
    data = _noise_jpeg(tmp_path / "whole.jpg")
    path = tmp_path / "truncated.jpg"
    path.write_bytes(data[: len(data) // 2])
    assert "damaged" in _reason(path)


def test_truncated_png_is_reported_as_damaged(tmp_path: Path) -> None:
    data = _noise_png(tmp_path / "whole.png")
    path = tmp_path / "truncated.png"
    path.write_bytes(data[: len(data) // 2])
    assert "damaged" in _reason(path)


@pytest.mark.parametrize("kind", ["png", "jpg", "gif", "tif", "webp"])
def test_file_cut_off_inside_its_header_is_damaged_not_foreign(tmp_path: Path, kind: str) -> None:
    whole = tmp_path / f"whole.{kind}"
    Image.new("RGB", (64, 48), RED).save(whole)
    path = tmp_path / f"header_only.{kind}"
    path.write_bytes(whole.read_bytes()[:14])  # the signature survives, the header does not
    reason = _reason(path)
    assert "damaged" in reason and "not an image" not in reason


def test_png_with_corrupt_pixel_data_is_damaged(tmp_path: Path) -> None:
    data = bytearray(_noise_png(tmp_path / "whole.png"))
    start = data.find(b"IDAT") + 4
    data[start + 100 : start + 140] = bytes(40)  # zeroes in the middle of the zlib stream
    path = tmp_path / "corrupt.png"
    path.write_bytes(bytes(data))
    assert "damaged" in _reason(path)


def test_png_with_wrong_header_crc_is_damaged(tmp_path: Path) -> None:
    data = bytearray(_noise_png(tmp_path / "whole.png"))
    assert data[12:16] == b"IHDR"
    data[29] ^= 0xFF  # the IHDR CRC: 8-byte signature + length + type + 13 bytes of data
    path = tmp_path / "bad_crc.png"
    path.write_bytes(bytes(data))
    assert "damaged" in _reason(path)


def test_zero_byte_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    assert "empty" in _reason(path)


def test_text_file_named_jpg_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("Remember to buy more embroidery thread.\n" * 20)
    assert "not an image" in _reason(path)


def test_html_saved_as_png_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "page.png"
    path.write_text("<!DOCTYPE html>\n<html><head><title>Pattern 42</title></head><body></body></html>\n")
    assert "not an image" in _reason(path)


def test_png_header_declaring_a_huge_image_is_refused_before_decoding(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A 30000 × 30000 RGB PNG whose IDAT is a tiny valid zlib stream: a decompression bomb
    # would only show its size once inflated, so the header alone has to be enough.
    # How long the refusal takes is measured by bench/robustness.py.
    decoded: list[tuple[int, int]] = []
    real_load = ImageFile.ImageFile.load

    def spy(image: ImageFile.ImageFile):
        decoded.append(image.size)
        if image.size[0] * image.size[1] > images.MAX_PIXELS:
            # Raised before PIL allocates the gigabytes, so the regression fails, not the machine.
            raise AssertionError(f"the pixels of a {image.size} image were decoded")
        return real_load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    assert load(_save(Image.new("RGB", (8, 6), RED), tmp_path / "small.png")).size == (8, 6)
    assert set(decoded) == {(8, 6)}, "the spy sees every decode"
    decoded.clear()
    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + _png_chunk(b"IEND", b"")
    )
    path = tmp_path / "bomb.png"
    path.write_bytes(data)

    reason = _reason(path)

    assert "too large" in reason and "30000" in reason
    assert decoded == []


def test_max_pixels_limit_applies_to_real_images(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _save(Image.new("RGB", (400, 300), RED), tmp_path / "moderate.png")
    monkeypatch.setattr(images, "MAX_PIXELS", 400 * 300 - 1)
    assert "too large" in _reason(path)
    monkeypatch.setattr(images, "MAX_PIXELS", 400 * 300)
    assert load(path).size == (400, 300)


def test_max_pixels_counts_the_draft_size_of_a_jpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _save(Image.new("RGB", (2000, 1000), RED), tmp_path / "wide.jpg")
    monkeypatch.setattr(images, "MAX_PIXELS", 1_000_000)
    assert "too large" in _reason(path)
    image = load(path, min_side=224)  # drafted to 500 × 250, well under the limit
    assert image.size == (500, 250)


def test_missing_file_disappeared(tmp_path: Path) -> None:
    assert "disappeared" in _reason(tmp_path / "gone.png")


def test_unreadable_file_is_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _save(Image.new("RGB", (8, 8), RED), tmp_path / "locked.png")
    if os.geteuid() == 0:
        # root reads through chmod 000, so stand in for the OS here and only here.
        real_open = os.open

        def refuse(name, flags, *args, **kwargs) -> int:
            if Path(name) == path:
                raise PermissionError(13, "Permission denied", str(name))
            return real_open(name, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", refuse)
        assert "permission denied" in _reason(path)
    else:
        path.chmod(0)
        try:
            assert "permission denied" in _reason(path)
        finally:
            path.chmod(0o644)


def test_folder_is_not_an_image(tmp_path: Path) -> None:
    folder = tmp_path / "looks_like.png"
    folder.mkdir()
    assert "folder" in _reason(folder)


def test_read_bytes_returns_the_file_content(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(bytes(range(256)) * 3)
    assert read_bytes(path) == bytes(range(256)) * 3


def test_decode_of_bytes_matches_load(tmp_path: Path) -> None:
    path = _save(Image.fromarray(_upright()), tmp_path / "same.png")
    assert np.array_equal(np.asarray(decode(path.read_bytes())), np.asarray(load(path)))
    with pytest.raises(ImageError, match="empty"):
        decode(b"")
