"""Safe image decoding: every file becomes an upright RGB image or an :class:`ImageError`.

One place decides how odd files are read, so the scan, the query path and the thumbnails
all agree. Nothing here writes to the file.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# The guarded reading lives in .files; callers know these names as images.X.
from .files import MAX_FILE_BYTES, MAX_FILE_MB, MB, ImageError, read_bytes  # noqa: F401

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"})

#: The PIL decoders a file may reach, whatever its name: the formats of IMAGE_SUFFIXES (the
#: JPEG opener also returns multi-picture MPO files). Left open, PIL would try every plugin
#: it has, and a PostScript file named .png would be handed to Ghostscript.
DECODERS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")

#: Image formats this app cannot read, by suffix. A scan lists them as failures, so the
#: user learns why they are missing; files of other suffixes (notes, archives) are not
#: images and stay out of both lists.
UNSUPPORTED_FORMATS = {
    ".avif": "AVIF", ".heic": "HEIC", ".heif": "HEIF", ".jxl": "JPEG XL", ".jp2": "JPEG 2000",
    ".j2k": "JPEG 2000", ".svg": "SVG", ".svgz": "SVG", ".psd": "Photoshop (PSD)", ".psb": "Photoshop (PSB)",
    ".xcf": "GIMP (XCF)", ".kra": "Krita", ".ai": "Illustrator", ".eps": "EPS", ".pdf": "PDF",
    ".exr": "OpenEXR", ".hdr": "Radiance HDR", ".tga": "TGA", ".ico": "ICO", ".pcx": "PCX",
    ".ppm": "PPM", ".pgm": "PGM", ".pbm": "PBM", ".raw": "camera raw",
    **{f".{raw}": f"camera raw ({raw.upper()})" for raw in ("dng", "cr2", "cr3", "nef", "arw", "orf", "rw2",
                                                           "raf", "pef", "srw")},
}

#: Larger images are refused. 200 MP (e.g. 14,000 × 14,000) covers scanned textiles and
#: print-resolution tiles. PIL keeps RGB at 4 bytes a pixel, so a full-size decode at the
#: limit holds 800 MB of RGB, and its source format's pixels while converting.
MAX_PIXELS = 200_000_000

# PIL's own bomb check raises at open() with a message meant for developers, and it would
# refuse a huge JPEG that draft mode decodes cheaply at 1/8 scale. decode() enforces
# MAX_PIXELS itself, on the size it will really allocate.
Image.MAX_IMAGE_PIXELS = None

#: Rec. 601 luma weights for R, G and B: the grey of PIL's "L" mode, used wherever the
#: core turns colour into luminance so every module measures the same grey.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)

_WHITE = (255, 255, 255)
_ORIENTATION = 0x0112


def unsupported_reason(suffix: str) -> str:
    """Why a file of a known image format this app cannot read is left out, or "" for any other suffix."""
    kind = UNSUPPORTED_FORMATS.get(suffix.lower(), "")
    return f"unsupported format: {kind} (convert it to PNG or JPEG)" if kind else ""


def decode(data: bytes, min_side: int = 0) -> Image.Image:
    """Decode image bytes to an upright RGB image.

    Parameters
    ----------
    data
        The file's bytes.
    min_side
        The smallest side the caller needs. JPEGs are decoded in draft mode at the largest
        DCT scale that keeps both sides at least this long, which is many times faster for
        photos; 0 decodes at full size.

    Raises
    ------
    ImageError
        For empty, unrecognised, truncated, corrupt or oversized images.
    """
    if not data:
        raise ImageError("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            # Corrupt EXIF and odd chunks warn; the image is still usable, so stay quiet.
            warnings.simplefilter("ignore")
            if data[:6] in (b"GIF87a", b"GIF89a"):
                # PIL fills a buffer the size of a GIF's first frame inside open(), before
                # the size can be checked below: a 100-byte file could cost gigabytes.
                _check_dimensions(*_gif_canvas(data))
            image = Image.open(io.BytesIO(_without_end_marker(data)), formats=DECODERS)
            if image.format == "JPEG" and min_side > 0:
                if image.info.get("progressive"):
                    # libjpeg keeps every DCT coefficient of a progressive JPEG, at full
                    # size whatever the draft scale: it costs what the full image costs.
                    _check_size(image)
                image.draft("RGB", (min_side, min_side))
            _check_size(image)
            image.load()
            image = _upright(image)
            return to_rgb(image)
    except ImageError:
        raise
    except UnidentifiedImageError:
        kind = _signature_kind(data)
        if kind:
            # PIL reports a file whose header is cut off or fails its checksum as
            # "unidentified"; a file that starts like an image is a damaged image.
            raise ImageError(
                f"damaged image data (the file starts like a {kind} but its header is unreadable)"
            ) from None
        raise ImageError("not an image: the content is not a format this app can read") from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise ImageError(f"damaged image data ({_short(exc)})") from None
    except (TypeError, IndexError, KeyError, ArithmeticError):
        # Plugins trip over their own parsing of a corrupt header (a TIFF strip offset that
        # is a fraction, say); their message is meant for developers, so say what it means.
        raise ImageError("damaged image data (its internal structure is inconsistent)") from None
    except MemoryError:
        raise ImageError("not enough memory to decode this image") from None


def load(path: Path, min_side: int = 0, max_bytes: int = MAX_FILE_BYTES, region: Region | None = None) -> Image.Image:
    """Read and decode one file, or only its ``region`` (see :func:`load_region`); see :func:`read_bytes`
    and :func:`decode`."""
    if region is not None:
        return load_region(path, region, max_bytes)
    return decode(read_bytes(path, max_bytes), min_side)


#: A part of an image: left, top, width and height, in pixels of the upright image at full size.
Region = tuple[int, int, int, int]


def load_region(path: Path, region: Region, max_bytes: int = MAX_FILE_BYTES) -> Image.Image:
    """The ``region`` of one file (the print on a garment, say), clipped to the image.

    Decoded at full size: the region is given in full-size pixels, which a draft decode
    would rescale.

    Raises
    ------
    ImageError
        As :func:`load`, and if the region is empty or lies outside the image.
    """
    left, top, width, height = (int(v) for v in region)
    if width <= 0 or height <= 0:
        raise ImageError(f"the region {width}×{height} is empty: give a width and a height above 0")
    image = load(path, 0, max_bytes)
    box = (max(left, 0), max(top, 0), min(left + width, image.width), min(top + height, image.height))
    if box[0] >= box[2] or box[1] >= box[3]:
        raise ImageError(f"the region {left},{top},{width},{height} lies outside the image "
                         f"({image.width}×{image.height})")
    return image.crop(box)


#: A marker in a JPEG's entropy-coded data: 0xFF followed by anything but a stuffed zero,
#: a restart marker (0xD0-0xD7) or another fill 0xFF.
_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
#: Baseline and extended sequential Huffman JPEGs: a single scan carries the whole image.
_SEQUENTIAL = (0xC0, 0xC1)
#: libjpeg-turbo fills a 64-bit bit buffer, so it may read up to 8 bytes past the last byte
#: the final block uses; padding those keeps an intact file from looking cut short.
_PADDING = bytes(8)


def _without_end_marker(data: bytes) -> bytes:
    """A single-scan sequential JPEG with its end marker (and anything after it) replaced by padding.

    A JPEG cut short and closed with an end marker decodes without an error: libjpeg only
    warns, fills the missing blocks with grey, and PIL drops the warning. Without the marker,
    libjpeg runs out of data instead, which PIL reports as truncated, while an intact file
    has every block before the marker. Progressive and multi-scan files need the marker to
    finish, and a progressive file cut at a scan is still a whole, coarser image: they are
    left as they are, as is anything that is not a JPEG.
    """
    if not data.startswith(b"\xff\xd8"):
        return data
    at, sof = 2, 0
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker == 0xFF:  # a fill byte before a marker
            at += 1
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # a start of frame
            sof = marker
        header_end = at + 2 + int.from_bytes(data[at + 2:at + 4], "big")
        if marker == 0xDA:  # start of scan: its entropy-coded data follows the header
            found = _MARKER.search(data, header_end)
            if sof not in _SEQUENTIAL or not found or data[found.start() + 1] != 0xD9:
                return data
            end = found.start()
            while data[end - 1] == 0xFF:  # fill bytes belong to the marker, not to the data
                end -= 1
            return data[:end] + _PADDING
        at = header_end
    return data


_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


def _signature_kind(data: bytes) -> str:
    """The format whose magic bytes ``data`` starts with, or "" (BMP's 2-byte "BM" is too weak)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return next((kind for magic, kind in _SIGNATURES if data.startswith(magic)), "")


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if text.startswith("image file is truncated"):
        return "premature end of data: the file is cut short"
    return text if len(text) <= 120 else text[:117] + "..."


def _check_size(image: Image.Image) -> None:
    _check_dimensions(*image.size)


def _check_dimensions(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise ImageError(f"invalid image size {width}×{height}")
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"image too large: {width}×{height} is {width * height / 1e6:.0f} megapixels, "
            f"over the {MAX_PIXELS / 1e6:.0f} MP limit (a decompression bomb guard)"
        )


def _gif_canvas(data: bytes) -> tuple[int, int]:
    """The size PIL gives a GIF when it opens it: the logical screen, grown to hold the
    first frame. The blocks are walked as PIL walks them (a stray byte is skipped)."""
    if len(data) < 13:
        return 1, 1  # too short to have a size; PIL reports it as damaged
    width, height = struct.unpack_from("<HH", data, 6)
    at = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)  # after the global palette
    while at < len(data) and data[at] != 0x3B:  # up to the trailer
        if data[at] == 0x2C and at + 9 <= len(data):  # image descriptor: x, y, width, height
            left, top, frame_width, frame_height = struct.unpack_from("<HHHH", data, at + 1)
            return max(width, left + frame_width), max(height, top + frame_height)
        if data[at] == 0x21:  # extension: introducer, label, then sub-blocks up to a 0 length
            at += 2
            while at < len(data) and data[at]:
                at += data[at] + 1
        at += 1
    return width, height


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a corrupt EXIF block leaves the image as stored."""
    try:
        if image.getexif().get(_ORIENTATION, 1) == 1:
            return image  # exif_transpose would copy the pixels even when nothing turns
        return ImageOps.exif_transpose(image)
    except Exception:  # noqa: BLE001 - any EXIF parser failure means "no usable orientation"
        return image


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB.

    Transparency is composited on white, because pattern charts are drawn on white and a
    transparent background should read as paper, not as black. 16- and 32-bit greyscale is
    scaled to 8 bits rather than clipped, which would turn it white.
    """
    if image.mode in ("L", "RGB") and "transparency" in image.info:
        image = image.convert("RGBA")  # a PNG/GIF colour key marks the transparent pixels
    if image.mode == "RGB":
        return image
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return _wide_grey_to_rgb(image)
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        # No copy of an RGBA image, nor of its alpha: at 200 MP each costs 800 MB.
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        background = Image.new("RGB", rgba.size, _WHITE)
        background.paste(rgba, mask=rgba)
        return background
    return image.convert("RGB")


#: Pixels scaled at a time (a few MB of temporaries). Converting the whole image at once
#: took float32 and 8-bit copies of it beside the source and the result: 11 bytes a pixel
#: instead of 6 for a 16-bit image, 1 GB more at the 200 MP limit.
_BAND_PIXELS = 1 << 18


def _wide_grey_to_rgb(image: Image.Image) -> Image.Image:
    width, height = image.size
    rows = max(1, _BAND_PIXELS // width)
    tops = range(0, height, rows)

    def band(top: int) -> np.ndarray:
        return np.asarray(image.crop((0, top, width, min(height, top + rows))))

    if image.mode == "F":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a band of NaN only has no minimum
            low = float(np.nanmin([np.nanmin(band(top)) for top in tops]))
            high = float(np.nanmax([np.nanmax(band(top)) for top in tops]))
        scale = 255.0 / (high - low) if high > low else 0.0

        def to_8bit(values: np.ndarray) -> np.ndarray:
            values = np.nan_to_num(values.astype(np.float32), nan=low)
            values -= low
            values *= scale
            return np.clip(np.rint(values), 0, 255).astype(np.uint8)
    else:
        wide = image.mode.startswith("I;16") or image.getextrema()[1] > 255

        def to_8bit(values: np.ndarray) -> np.ndarray:
            if not wide:
                return np.clip(values, 0, 255).astype(np.uint8)
            # round(v × 255 / 65535) in integers: 65535 = 255 × 257, and v / 257 is never a tie.
            scaled = np.clip(values, 0, 65535).astype(np.uint32)
            scaled += 128
            scaled //= 257
            return scaled.astype(np.uint8)

    rgb = Image.new("RGB", image.size)
    for top in tops:
        rgb.paste(Image.fromarray(to_8bit(band(top))), (0, top))
    return rgb
