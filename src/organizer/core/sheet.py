"""The contact sheet: a grid of thumbnails as one PNG, optionally captioned with file names."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from . import images
from .printable import printable
from .tasks import Cancelled, ProgressFn, StopFn, never_stop, no_progress

CAPTION_HEIGHT = 14
BACKGROUND = (245, 245, 245)


def _thumbnail(path: Path, cell: int) -> Image.Image:
    try:
        image = images.load(path, min_side=cell)
    except images.ImageError:
        return Image.new("RGB", (cell, cell), (200, 60, 60))  # a red tile marks an unreadable file
    image.thumbnail((cell, cell), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return image


def render_sheet(paths: list[Path], grid: list[int], cols: int, cell: int = 128, gap: int = 4,
                 names: bool = False, progress: ProgressFn = no_progress, should_stop: StopFn = never_stop) -> bytes:
    """Draw ``grid`` (image index per cell, -1 for empty) and return it as PNG bytes.

    Thumbnails keep their aspect and are centred in square cells; ``names`` writes each
    file name under its cell. The caller decides where the bytes go, and how safely.
    """
    rows = -(-len(grid) // cols)
    caption = CAPTION_HEIGHT if names else 0
    sheet = Image.new("RGB", (cols * (cell + gap) + gap, rows * (cell + caption + gap) + gap), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for n, index in enumerate(grid):
        if index < 0:
            continue
        if should_stop():
            raise Cancelled()
        x = gap + (n % cols) * (cell + gap)
        y = gap + (n // cols) * (cell + caption + gap)
        thumb = _thumbnail(paths[index], cell)
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
