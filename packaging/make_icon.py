"""Draw the app icon from the project's own sample renderer: run once, commit the output.

    python packaging/make_icon.py   # writes resources/icon.png and packaging/icon.ico
"""

from pathlib import Path

from PIL import Image, ImageDraw

from organizer.samples.render import SampleSpec, render

SIZE = 512
ROOT = Path(__file__).resolve().parents[1]
TILES = [("normal-chevron", 0), ("alpha-hearts", 3), ("normal-diamonds", 5),
         ("alpha-stars", 1), ("normal-knotgrid", 2), ("normal-zigzag", 7),
         ("alpha-checker", 4), ("normal-stripes", 6), ("alpha-letters", 8)]


def main() -> None:
    icon = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    mask = Image.new("L", (SIZE, SIZE), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, SIZE - 1, SIZE - 1), radius=SIZE // 6, fill=255)
    board = Image.new("RGB", (SIZE, SIZE), (250, 248, 244))
    cell, gap = (SIZE - 4 * 24) // 3, 24
    for n, (family, colourway) in enumerate(TILES):
        tile = render(SampleSpec(family, colourway, 1), size=(cell, cell)).convert("RGB").resize((cell, cell))
        tile_mask = Image.new("L", (cell, cell), 0)
        ImageDraw.Draw(tile_mask).rounded_rectangle((0, 0, cell - 1, cell - 1), radius=cell // 8, fill=255)
        board.paste(tile, (gap + (n % 3) * (cell + gap), gap + (n // 3) * (cell + gap)), tile_mask)
    icon.paste(board, (0, 0), mask)
    icon.save(ROOT / "resources/icon.png")
    icon.save(ROOT / "packaging/icon.ico", sizes=[(16, 16), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)])


if __name__ == "__main__":
    main()
