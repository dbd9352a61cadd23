"""Turn an image of any size and shape into square network inputs ("views").

Pattern libraries mix squares, long bracelet strips and photos, so the policy is explicit:

``crop``
    Scale the short side to the input size and keep the centre square. Loses the ends of
    long images.
``pad``
    Scale the long side to the input size and pad to a square with mid-grey, which the
    (x - 127) / 128 normalisation maps to zero, so padding adds no signal. Keeps the whole
    image but shrinks a strip's pattern to a sliver.
``tiles``
    Scale the short side to the input size and cut evenly spaced, overlapping squares along
    the long side (at most ``max_tiles``); the embedding is their average. A repeating
    pattern is seen whole and at full scale. A photo of a strip (a bracelet on a table) is
    first cut down to the strip (:func:`strip_alone`), so its tiles see the knots, not the table.
``auto`` (the default)
    ``crop`` when the long side is at most 1.5 × the short one (the crop keeps at least
    two thirds of the image), else ``tiles``. Near-square swatches and photos get one cheap
    view; strips are covered end to end without being shrunk.

With ``centre_view`` an image seen in one view (``crop`` or ``pad``) is also seen closer, the
two descriptors summed as a strip's tiles are. A photo of a patterned object is seen through the
largest square inside the object (:func:`object_square`), so its print fills a view of its own
wherever it stands with background around it; any other image through its centre region
(:data:`CENTRE_VIEW` of each side, :func:`centre_region`), so a flat swatch is seen at a second
scale. Tiled images get none: their tiles already see the pattern at full scale.

With ``multiscale`` the image is seen twice: whole, padded at the input size (the context:
a photo's object and its surroundings), and through the policy at twice the input size
(the detail: the pattern's fine structure). Their descriptors are averaged.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageFilter

POLICIES = ("auto", "crop", "pad", "tiles")
#: The policies that cut a long image into tiles: ``tiles`` always, ``auto`` beyond :data:`AUTO_CROP_MAX_ASPECT`.
TILED_POLICIES = ("auto", "tiles")
AUTO_CROP_MAX_ASPECT = 1.5
PAD_GREY = (127, 127, 127)
#: The centre view's share of each side, for an image with no object to look inside. Measured, for every
#: image, on five labelled sets (docs/benchmarks.md,
#: "Regional views"): 75 % gains garments, swatches and object photos as much as 60 % at half
#: weight and costs dtd10 and charts nothing; 60 % at full weight gains more on photos and
#: costs dtd10 0.003.
CENTRE_VIEW = 0.75
#: The centre view of a photo goes inside the object where the largest square there spans at least this
#: share of the image's short side, and sees at least :data:`OBJECT_VIEW_MIN` of it around that square.
#: Against the centre region for every image (docs/benchmarks.md, "The centre view inside the object"), it
#: gained garment photos 0.055 and object photos 0.053 of P@10 and left dtd10 and the charts within their
#: noise; 0.15 gained garments more and cost dtd10 0.004, 0.25 gained garments less.
OBJECT_SQUARE_MIN = 0.2
#: A view of the object alone gained garments 0.02 more, but a coarse print then shows a motif or two where
#: the flat pattern shows its repeat: of 72 shirts on patterned walls, 33 found their own flat pattern first
#: against 42 with the centre region; at half the short side, 42.
OBJECT_VIEW_MIN = 0.5
#: The object is looked for on a grid of this many cells along the image's short side ...
OBJECT_GRID = 48
#: ... against the cells of a frame this many cells deep.
OBJECT_FRAME = 4
#: An image longer than this many times its width is a strip, not a photo of an object; this also bounds the
#: grid, which a 20000 × 3 strip under the ``pad`` policy would have made 48 × 320,000 cells.
OBJECT_MAX_ASPECT = 3.0
#: A strip lying in a photo (:func:`strip_box`) is looked for in images up to this many times longer than
#: wide, which bounds the grid at 48 × 384 cells; a photo of a bracelet on a table is 1.5 to 4 times wider than
#: high, and a longer image is taken for the strip itself.
STRIP_MAX_ASPECT = 8.0
#: The background a strip lies on must show on both of its long sides, each at least this share of the
#: image's short side: a flat chart or print runs to the frame's edges, and is left whole.
STRIP_MARGIN = 0.1
#: The least share of the strip's box the strip fills: a bracelet fills its box but for its strings and a
#: slight turn, where a row of motifs on a plain ground (an alpha chart, flat) leaves the ground between
#: them, and is left whole.
STRIP_FILL = 0.5
#: A view that shrinks its square of the image by at most this factor (every view of a JPEG, which draft mode
#: decodes at under twice the size the views need) is sampled by OpenCV's bilinear warp, 5x faster than PIL's
#: resampling (docs/benchmarks.md, "Cutting the views with OpenCV"); a larger shrink needs PIL's antialiasing.
WARP_MAX_SHRINK = 2.0


def make_views(image: Image.Image, size: int, policy: str = "auto", max_tiles: int = 4,
               centre_view: bool = False) -> np.ndarray:
    """Cut ``image`` into network views.

    Returns
    -------
    numpy.ndarray
        uint8 array of shape (n_views, size, size, 3); n_views is 1 except for tiles, and
        2 with ``centre_view`` where the image is seen in one view.
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown resize policy {policy!r}; choose one of {', '.join(POLICIES)}")
    if tiled(image, policy):
        return _tiles(image, size, max_tiles)
    whole = _pad(image, size) if policy == "pad" else _crop_centre(image, size)
    return np.stack([whole, _centre_square(image, size)]) if centre_view else whole[None]


def network_inputs(image: Image.Image, size: int, policy: str = "auto",
                   multiscale: bool = False, centre_view: bool = False) -> dict[int, np.ndarray]:
    """The views to embed for one image, keyed by input size; see :func:`make_views`."""
    if not multiscale:
        return {size: make_views(image, size, policy, centre_view=centre_view)}
    return {size: make_views(image, size, "pad"),
            2 * size: make_views(image, 2 * size, policy, centre_view=centre_view)}


def _resize(image: Image.Image, width: int, height: int) -> Image.Image:
    # reducing_gap lets PIL box-reduce first: several times faster for big downscales,
    # with no visible loss at network resolution.
    return image.resize((max(1, width), max(1, height)), Image.Resampling.BILINEAR, reducing_gap=2.0)


def _scaled_size(image: Image.Image, size: int) -> tuple[int, int]:
    """The size ``image`` has once its short side is scaled to ``size``."""
    width, height = image.size
    scale = size / min(width, height)
    return max(size, round(width * scale)), max(size, round(height * scale))


def _window(image: Image.Image, scaled: tuple[int, int], left: int, top: int, size: int) -> np.ndarray:
    """The ``size`` square at (left, top) of ``image`` resized to ``scaled``.

    Only that square is resampled (PIL's ``box``), with the same pixel grid as resizing the
    whole image and cropping: scaling a thin strip (say 20000 × 2) whole to a short side of
    ``size`` would take gigabytes before a few views were cut out of it.
    """
    sx, sy = image.width / scaled[0], image.height / scaled[1]
    return _square(image, (left * sx, top * sy, (left + size) * sx, (top + size) * sy), size)


def _square(image: Image.Image, box: tuple[float, float, float, float], size: int) -> np.ndarray:
    """The ``box`` of ``image`` (left, top, right, bottom, in its pixels) resampled to a ``size`` square."""
    # Imported here, as scipy is below: OpenCV takes 0.1 s to import, and what imports the embedding package
    # for its names alone (the CLI's start, a peer benchmark's venv borrowing import_torchvision) needs none.
    import cv2

    left, top, right, bottom = box
    shrink_x, shrink_y = (right - left) / size, (bottom - top) / size
    # PIL also keeps any mode whose values are not intensities to interpolate (a palette's indices).
    if max(shrink_x, shrink_y) > WARP_MAX_SHRINK or image.mode not in ("RGB", "L"):
        return np.asarray(image.resize((size, size), Image.Resampling.BILINEAR, box=box, reducing_gap=2.0))
    # Only the pixels the samples fall between are copied out of PIL: a tile of a long strip needs a sliver of it.
    x0, y0 = max(0, math.floor(left - 0.5)), max(0, math.floor(top - 0.5))
    x1, y1 = min(image.width, math.ceil(right + 0.5) + 1), min(image.height, math.ceil(bottom + 0.5) + 1)
    pixels = np.asarray(image.crop((x0, y0, x1, y1)))
    # Output pixel i samples the box at (i + 0.5) * shrink - 0.5, PIL's pixel-centre convention.
    to_source = np.array([[shrink_x, 0.0, left - x0 + 0.5 * shrink_x - 0.5],
                          [0.0, shrink_y, top - y0 + 0.5 * shrink_y - 0.5]])
    return cv2.warpAffine(pixels, to_source, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def _crop_centre(image: Image.Image, size: int) -> np.ndarray:
    scaled = _scaled_size(image, size)
    left, top = (scaled[0] - size) // 2, (scaled[1] - size) // 2
    return _window(image, scaled, left, top, size)


def _centre_square(image: Image.Image, size: int) -> np.ndarray:
    """The centre view at ``size``: the largest square inside the object a photo shows, or else the centre
    square of the image's :data:`CENTRE_VIEW` region."""
    return _square(image, object_square(image) or centre_region(image), size)


def centre_region(image: Image.Image, share: float = CENTRE_VIEW) -> tuple[float, float, float, float]:
    """The centre square of ``share`` of the image's short side, as (left, top, right, bottom) in its pixels."""
    side = share * min(image.size)
    left, top = (image.width - side) / 2, (image.height - side) / 2
    return left, top, left + side, top + side


def object_square(image: Image.Image, least_view: float = OBJECT_VIEW_MIN) -> tuple[float, float, float, float] | None:
    """The square the centre view sees of the object ``image`` shows, as (left, top, right, bottom) in its
    pixels: the largest square inside the object, grown about its middle to ``least_view`` of the short
    side. None where there is no object to tell (a flat pattern, a strip), or where that largest square is under
    :data:`OBJECT_SQUARE_MIN`.

    What a photo's frame touches is its background. Each cell of a coarse grid is described by its colour
    and its local contrast (a texture's grain); a cell is the object's where its Mahalanobis distance to the
    frame's cells is beyond the frame's own 95th percentile, and beyond 3. A flat swatch is like its frame
    everywhere, and an object that covers under 3 % or over 70 % of the image is no object to zoom into. An
    object the frame cuts along much of an edge is part of what the frame holds, and so is not found either:
    such an image keeps the centre region. The decoders hand every image over as RGB; any other mode gets None.
    """
    from scipy.ndimage import distance_transform_cdt

    if image.mode != "RGB" or max(image.size) > OBJECT_MAX_ASPECT * min(image.size):
        return None
    inside = _object_cells(image)
    if inside is None:
        return None
    rows, columns = inside.shape
    scale = OBJECT_GRID / min(image.size)
    # A cell's chessboard distance to the nearest cell outside is the half-side of the square centred on it;
    # of the largest squares (all along a sleeve or a body), the one nearest the object's middle.
    reach = distance_transform_cdt(np.pad(inside, 1), metric="chessboard")[1:-1, 1:-1]
    half = int(reach.max())
    if 2 * half - 1 < OBJECT_SQUARE_MIN * OBJECT_GRID:
        return None
    rows_in, columns_in = np.nonzero(inside)
    centres = np.argwhere(reach == half)
    row, column = centres[np.argmin(((centres - [rows_in.mean(), columns_in.mean()]) ** 2).sum(axis=1))]
    side = max(2 * half - 1, least_view * OBJECT_GRID) / scale
    left = min(max((column + 0.5) * image.width / columns - side / 2, 0.0), image.width - side)
    top = min(max((row + 0.5) * image.height / rows - side / 2, 0.0), image.height - side)
    return left, top, left + side, top + side


def _object_cells(image: Image.Image) -> np.ndarray | None:
    """Which cells of the coarse grid (:data:`OBJECT_GRID` along the short side) the object ``image`` shows
    covers, or None where there is no object to tell; see :func:`object_square`."""
    from scipy.ndimage import uniform_filter

    scale = OBJECT_GRID / min(image.size)
    columns, rows = (max(OBJECT_GRID, round(side * scale)) for side in image.size)
    small = _resize(image, columns, rows).filter(ImageFilter.BoxBlur(1))
    colour = np.asarray(small, dtype=np.float32) / 255
    grey = colour.mean(axis=2)
    spread = uniform_filter(grey * grey, 5, mode="mirror") - uniform_filter(grey, 5, mode="mirror") ** 2
    features = np.concatenate([colour, 2 * np.sqrt(np.maximum(spread, 0))[..., None]], axis=2)
    frame = np.ones((rows, columns), dtype=bool)
    frame[OBJECT_FRAME:-OBJECT_FRAME, OBJECT_FRAME:-OBJECT_FRAME] = False
    around = features[frame]
    inverse = np.linalg.inv(np.cov(around.T) + 1e-3 * np.eye(features.shape[2]))
    offsets = (features - around.mean(axis=0)).reshape(-1, features.shape[2])
    distance = np.sqrt(np.maximum(((offsets @ inverse) * offsets).sum(axis=1), 0)).reshape(rows, columns)
    inside = distance > max(float(np.quantile(distance[frame], 0.95)), 3.0)
    return inside if 0.03 <= inside.mean() <= 0.7 else None


def tiled(image: Image.Image, policy: str) -> bool:
    """Whether ``policy`` cuts ``image`` into tiles (see the module's docstring)."""
    width, height = image.size
    return policy == "tiles" or (policy == "auto" and max(width, height) > AUTO_CROP_MAX_ASPECT * min(width, height))


def strip_alone(image: Image.Image, policy: str) -> Image.Image:
    """``image`` cut down to the strip it shows lying in a frame (:func:`strip_box`) where ``policy`` tiles it,
    else ``image`` itself."""
    box = strip_box(image) if tiled(image, policy) else None
    return image if box is None else image.crop(box)


def strip_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    """The box, as (left, top, right, bottom) in pixels, of a strip lying along a long image with background
    on both its long sides (a bracelet photographed on a table, a chart on a page), or None.

    The strip is the object :func:`object_square` finds, told from a flat pattern by its shape: it runs along
    the image's long side, at least :data:`~AUTO_CROP_MAX_ASPECT` times longer than wide, leaves a margin of
    :data:`STRIP_MARGIN` on both long sides, and fills :data:`STRIP_FILL` of its box. Its extent is taken
    between the 1st and 99th percentiles of its cells, so a stray cell of background does not widen it.
    """
    width, height = image.size
    if image.mode != "RGB" or max(width, height) > STRIP_MAX_ASPECT * min(width, height):
        return None
    inside = _object_cells(image)
    if inside is None:
        return None
    if height > width:  # judged lying down; the box is turned back at the end
        inside = inside.T
    rows, columns = np.nonzero(inside)
    top, bottom = (int(v) for v in np.quantile(rows, [0.01, 0.99]).round())
    left, right = (int(v) for v in np.quantile(columns, [0.01, 0.99]).round())
    across, along = bottom - top + 1, right - left + 1
    margin = STRIP_MARGIN * inside.shape[0]
    if (along < AUTO_CROP_MAX_ASPECT * across or min(top, inside.shape[0] - 1 - bottom) < margin
            or inside[top:bottom + 1, left:right + 1].mean() < STRIP_FILL):
        return None
    if height > width:
        left, top, right, bottom = top, left, bottom, right
    scale = min(width, height) / OBJECT_GRID
    return (max(0, math.floor(left * scale)), max(0, math.floor(top * scale)),
            min(width, math.ceil((right + 1) * scale)), min(height, math.ceil((bottom + 1) * scale)))


def _pad(image: Image.Image, size: int) -> np.ndarray:
    width, height = image.size
    scale = size / max(width, height)
    scaled = _resize(image, min(size, round(width * scale)), min(size, round(height * scale)))
    canvas = Image.new("RGB", (size, size), PAD_GREY)
    canvas.paste(scaled, ((size - scaled.width) // 2, (size - scaled.height) // 2))
    return np.asarray(canvas)


def _tiles(image: Image.Image, size: int, max_tiles: int) -> np.ndarray:
    scaled = _scaled_size(image, size)
    horizontal = scaled[0] >= scaled[1]
    length = scaled[0] if horizontal else scaled[1]
    count = min(max_tiles, max(1, math.ceil(length / size)))
    starts = np.linspace(0, length - size, count).round().astype(int) if count > 1 else [(length - size) // 2]
    if horizontal:
        top = (scaled[1] - size) // 2
        views = [_window(image, scaled, s, top, size) for s in starts]
    else:
        left = (scaled[0] - size) // 2
        views = [_window(image, scaled, left, s, size) for s in starts]
    return np.stack(views)
