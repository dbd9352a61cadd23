"""The contact sheet: a grid of thumbnails as one PNG, optionally captioned with file names.

A sheet's size is known before anything is drawn, so one too large to hold is refused
(or, for an export's sheet, drawn with smaller cells) before its pixels are allocated.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from ..io import images
from ..io.printable import printable
from ..jobs.tasks import Cancelled, ProgressFn, StopFn, never_stop, no_progress

CAPTION_HEIGHT = 14
BACKGROUND = (245, 245, 245)
#: The default cell: a thumbnail's side, in pixels.
CELL = 128
GAP = 4
#: The largest sheet drawn: 100 megapixels is 300 MB of RGB while drawing, and half of
#: images.MAX_PIXELS, so the app (and any viewer) can open the sheet again.
MAX_SHEET_PIXELS = 100_000_000
#: The smallest cell :func:`fit_cell` shrinks to: below it a thumbnail shows no pattern.
MIN_CELL = 16


def sheet_size(cells: int, cols: int, cell: int = CELL, gap: int = GAP, names: bool = False) -> tuple[int, int]:
    """The ``(width, height)`` in pixels of a sheet of ``cells`` cells in ``cols`` columns."""
    rows = -(-cells // cols)
    caption = CAPTION_HEIGHT if names else 0
    return cols * (cell + gap) + gap, rows * (cell + caption + gap) + gap


def fit_cell(cells: int, cols: int, cell: int = CELL, gap: int = GAP, names: bool = False) -> int | None:
    """The largest cell up to ``cell`` whose sheet stays within ``MAX_SHEET_PIXELS``; None if not even ``MIN_CELL``."""
    for size in range(cell, MIN_CELL - 1, -1):
        width, height = sheet_size(cells, cols, size, gap, names)
        if width * height <= MAX_SHEET_PIXELS:
            return size
    return None


def check_sheet(cells: int, cols: int, cell: int = CELL, gap: int = GAP, names: bool = False) -> None:
    """Refuse a sheet over ``MAX_SHEET_PIXELS`` before anything is drawn.

    Raises
    ------
    ValueError
        Naming the sheet's size, the limit and the largest cell that would fit.
    """
    width, height = sheet_size(cells, cols, cell, gap, names)
    if width * height <= MAX_SHEET_PIXELS:
        return
    fitting = fit_cell(cells, cols, cell, gap, names)
    advice = f"use cells of {fitting} px or less" if fitting else "use fewer images or columns"
    raise ValueError(f"a contact sheet of {cells} images in {cols} columns at {cell} px cells would be "
                     f"{width:,} × {height:,} px ({width * height / 1e6:,.0f} megapixels), over the "
                     f"{MAX_SHEET_PIXELS / 1e6:.0f} megapixel limit; {advice}")


def _thumbnail(path: Path, cell: int, max_file_bytes: int) -> Image.Image:
    try:
        image = images.load(path, cell, max_file_bytes)
    except images.ImageError:
        return Image.new("RGB", (cell, cell), (200, 60, 60))  # a red tile marks an unreadable file
    image.thumbnail((cell, cell), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return image


def render_sheet(paths: list[Path], grid: list[int], cols: int, cell: int = CELL, gap: int = GAP,
                 names: bool = False, progress: ProgressFn = no_progress, should_stop: StopFn = never_stop,
                 max_file_bytes: int = images.MAX_FILE_BYTES) -> bytes:
    """Draw ``grid`` (image index per cell, -1 for empty) and return it as PNG bytes.

    Thumbnails keep their aspect and are centred in square cells; ``names`` writes each
    file name under its cell. The caller decides where the bytes go, and how safely. A file
    that cannot be read, or is over ``max_file_bytes``, is a red cell.

    Raises
    ------
    ValueError
        When the sheet would exceed ``MAX_SHEET_PIXELS`` (see :func:`check_sheet`).
    """
    check_sheet(len(grid), cols, cell, gap, names)
    caption = CAPTION_HEIGHT if names else 0
    sheet = Image.new("RGB", sheet_size(len(grid), cols, cell, gap, names), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for n, index in enumerate(grid):
        if index < 0:
            continue
        if should_stop():
            raise Cancelled()
        x = gap + (n % cols) * (cell + gap)
        y = gap + (n // cols) * (cell + caption + gap)
        thumb = _thumbnail(paths[index], cell, max_file_bytes)
        sheet.paste(thumb, (x + (cell - thumb.width) // 2, y + (cell - thumb.height) // 2))
        if names:
            label = printable(Path(paths[index]).name)
            while label and draw.textlength(label, font=font) > cell:
                label = label[:-1]
            draw.text((x, y + cell + 1), label, fill=(40, 40, 40), font=font)
        progress(n + 1, len(grid), "")
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    return buffer.getvalue()
