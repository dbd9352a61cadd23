"""Tests for cutting images into square network views (organizer.io.preprocess)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from organizer.io.preprocess import AUTO_CROP_MAX_ASPECT, PAD_GREY, POLICIES, _square, make_views, network_inputs

SIZE = 64
RED, BLUE, GREEN = (230, 0, 0), (0, 0, 230), (0, 200, 0)
MID = (120, 120, 120)

SHAPES = {"square": (300, 300), "landscape": (800, 200), "portrait": (200, 800)}
# Views per policy and shape: a 4:1 strip is exactly four squares long.
EXPECTED_VIEWS = {
    ("auto", "square"): 1,
    ("auto", "landscape"): 4,
    ("auto", "portrait"): 4,
    ("crop", "square"): 1,
    ("crop", "landscape"): 1,
    ("crop", "portrait"): 1,
    ("pad", "square"): 1,
    ("pad", "landscape"): 1,
    ("pad", "portrait"): 1,
    ("tiles", "square"): 1,
    ("tiles", "landscape"): 4,
    ("tiles", "portrait"): 4,
}


def _strip(size: tuple[int, int], start: tuple[int, int, int], end: tuple[int, int, int]) -> Image.Image:
    """A mid-grey image with coloured bands, half the short side long, at both ends."""
    width, height = size
    pixels = np.full((height, width, 3), MID, dtype=np.uint8)
    band = max(1, min(width, height) // 2)
    if width >= height:
        pixels[:, :band], pixels[:, -band:] = start, end
    else:
        pixels[:band], pixels[-band:] = start, end
    return Image.fromarray(pixels)


def _colour(view: np.ndarray, y: int, x: int) -> tuple[int, ...]:
    return tuple(int(v) for v in view[y, x])


def _near(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 6) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("policy", POLICIES)
def test_shape_and_dtype_for_every_policy(policy: str, shape: str) -> None:
    image = _strip(SHAPES[shape], RED, BLUE)

    views = make_views(image, SIZE, policy)

    assert isinstance(views, np.ndarray)
    assert views.dtype == np.uint8
    assert views.shape == (EXPECTED_VIEWS[policy, shape], SIZE, SIZE, 3)


@pytest.mark.parametrize(
    ("size", "expected"),
    [((300, 300), "crop"), ((150, 100), "crop"), ((100, 150), "crop"), ((152, 100), "tiles"), ((100, 152), "tiles")],
)
def test_auto_crops_up_to_one_and_a_half_and_tiles_beyond(size: tuple[int, int], expected: str) -> None:
    assert AUTO_CROP_MAX_ASPECT == 1.5
    image = _strip(size, RED, BLUE)

    auto = make_views(image, SIZE, "auto")

    assert np.array_equal(auto, make_views(image, SIZE, expected))
    assert len(auto) == (1 if expected == "crop" else 2)


def test_crop_keeps_the_centre_and_drops_the_ends() -> None:
    image = _strip((400, 100), RED, BLUE)  # coloured bands are 50 px of a 400 px strip

    (view,) = make_views(image, SIZE, "crop")

    assert np.all(np.abs(view.astype(int) - MID) <= 2), "the centre square holds only the grey middle"


@pytest.mark.parametrize("size", [(640, 480), (480, 640)], ids=["landscape", "portrait"])
def test_crop_is_the_centre_of_the_image_scaled_to_the_short_side(size: tuple[int, int]) -> None:
    rng = np.random.default_rng(3)
    image = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)).resize(size, Image.Resampling.BICUBIC)
    scaled = image.resize((SIZE * size[0] // min(size), SIZE * size[1] // min(size)), Image.Resampling.BILINEAR)
    left, top = (scaled.width - SIZE) // 2, (scaled.height - SIZE) // 2
    expected = np.asarray(scaled.crop((left, top, left + SIZE, top + SIZE)), dtype=int)

    (view,) = make_views(image, SIZE, "crop")

    assert np.abs(view - expected).mean() < 2


@pytest.mark.parametrize("size", [(1000, 100), (100, 1000)], ids=["landscape", "portrait"])
def test_tiles_cover_both_ends_of_a_strip(size: tuple[int, int]) -> None:
    image = _strip(size, RED, BLUE)

    views = make_views(image, SIZE, "tiles", max_tiles=4)

    assert len(views) == 4
    first, last = views[0], views[-1]
    if size[0] > size[1]:
        assert _near(_colour(first, SIZE // 2, 1), RED) and _near(_colour(last, SIZE // 2, SIZE - 2), BLUE)
        assert not _near(_colour(first, SIZE // 2, SIZE - 2), RED)  # a tile is a square, not the strip
    else:
        assert _near(_colour(first, 1, SIZE // 2), RED) and _near(_colour(last, SIZE - 2, SIZE // 2), BLUE)
        assert not _near(_colour(first, SIZE - 2, SIZE // 2), RED)
    for middle in views[1:-1]:
        assert not np.any(np.all(middle == RED, axis=-1)) and not np.any(np.all(middle == BLUE, axis=-1))


def test_tiles_are_full_scale_squares_of_the_strip() -> None:
    # A 4:1 strip of four differently coloured squares gives exactly those four squares.
    colours = [RED, GREEN, BLUE, (240, 240, 0)]
    pixels = np.concatenate([np.full((100, 100, 3), c, dtype=np.uint8) for c in colours], axis=1)

    views = make_views(Image.fromarray(pixels), SIZE, "tiles")

    assert len(views) == 4
    for view, colour in zip(views, colours, strict=True):
        assert _near(_colour(view, SIZE // 2, SIZE // 2), colour, 0)


@pytest.mark.parametrize("size", [(400, 100), (100, 400)], ids=["landscape", "portrait"])
def test_pad_uses_grey_borders_around_the_whole_image(size: tuple[int, int]) -> None:
    assert PAD_GREY == (127, 127, 127)
    image = _strip(size, RED, BLUE)

    (view,) = make_views(image, SIZE, "pad")

    landscape = size[0] > size[1]
    border = view[:SIZE // 4 - 2] if landscape else view[:, : SIZE // 4 - 2]
    assert np.all(border == 127), "padding is exactly mid-grey"
    far_border = view[-(SIZE // 4 - 2) :] if landscape else view[:, -(SIZE // 4 - 2) :]
    assert np.all(far_border == 127)
    centre = SIZE // 2
    if landscape:
        assert _near(_colour(view, centre, 1), RED, 40) and _near(_colour(view, centre, SIZE - 2), BLUE, 40)
    else:
        assert _near(_colour(view, 1, centre), RED, 40) and _near(_colour(view, SIZE - 2, centre), BLUE, 40)


def test_pad_of_a_square_has_no_border() -> None:
    (view,) = make_views(Image.new("RGB", (300, 300), RED), SIZE, "pad")
    assert np.all(view == RED)


@pytest.mark.parametrize(("max_tiles", "expected"), [(1, 1), (2, 2), (4, 4), (10, 10), (50, 20)])
def test_max_tiles_caps_the_count(max_tiles: int, expected: int) -> None:
    image = _strip((2000, 100), RED, BLUE)  # 20 squares long

    views = make_views(image, SIZE, "tiles", max_tiles=max_tiles)

    assert views.shape == (expected, SIZE, SIZE, 3)
    if expected > 1:
        assert _near(_colour(views[0], SIZE // 2, 1), RED) and _near(_colour(views[-1], SIZE // 2, SIZE - 2), BLUE)


def test_a_single_tile_is_the_centre_square() -> None:
    image = _strip((1000, 100), RED, BLUE)
    assert np.array_equal(make_views(image, SIZE, "tiles", max_tiles=1), make_views(image, SIZE, "crop"))


def test_unknown_policy_raises_value_error() -> None:
    with pytest.raises(ValueError, match="unknown resize policy 'stretch'.*auto, crop, pad, tiles"):
        make_views(Image.new("RGB", (10, 10)), SIZE, "stretch")


@pytest.mark.parametrize("policy", POLICIES)
def test_one_pixel_image(policy: str) -> None:
    views = make_views(Image.new("RGB", (1, 1), (10, 200, 30)), SIZE, policy)
    assert views.shape == (1, SIZE, SIZE, 3)
    assert np.all(views == (10, 200, 30))


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("size", [(20000, 2), (2, 20000)], ids=["wide", "tall"])
def test_extreme_strip_is_resampled_only_to_view_sized_images(policy: str, size: tuple[int, int],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # A 40,000-pixel hairline must not be blown up to 224 px thick (22 million × 224 pixels,
    # gigabytes) just to cut a few squares out of it. bench/robustness.py times it.
    # Views are resampled by PIL (a resize) or by OpenCV from a copy of the pixels they need (a crop).
    image = _strip(size, RED, BLUE)
    asked: list[tuple[int, int]] = []
    real_resize, real_crop = Image.Image.resize, Image.Image.crop

    def refused_if_large(made: tuple[int, int], what: str) -> None:
        asked.append(made)
        if made[0] * made[1] > 224 * 224:
            # Refused before PIL allocates it, so the regression fails, not the machine.
            raise AssertionError(f"{what} made an image of {made}")

    def resize_spy(self: Image.Image, target: tuple[int, int], *args, **kwargs) -> Image.Image:
        refused_if_large(tuple(target), f"resizing {self.size}")
        return real_resize(self, target, *args, **kwargs)

    def crop_spy(self: Image.Image, box: tuple[int, int, int, int]) -> Image.Image:
        refused_if_large((box[2] - box[0], box[3] - box[1]), f"cropping {self.size}")
        return real_crop(self, box)

    monkeypatch.setattr(Image.Image, "resize", resize_spy)
    monkeypatch.setattr(Image.Image, "crop", crop_spy)
    views = make_views(image, 224, policy)

    assert views.shape[1:] == (224, 224, 3)
    assert asked, "the spies see the resampling"
    assert sum(w * h for w, h in asked) <= len(views) * 224 * 224
    if policy in ("auto", "tiles"):
        assert len(views) == 4
        first, last = views[0], views[-1]
        assert _near(_colour(first, 2, 2), RED) and _near(_colour(last, 221, 221), BLUE)


def test_same_input_gives_identical_views() -> None:
    image = _strip((900, 200), RED, BLUE)
    assert np.array_equal(make_views(image, SIZE), make_views(image, SIZE))


def test_network_inputs_single_and_multiscale() -> None:
    image = _strip((800, 200), RED, BLUE)

    single = network_inputs(image, SIZE, "tiles")
    assert list(single) == [SIZE] and np.array_equal(single[SIZE], make_views(image, SIZE, "tiles"))

    both = network_inputs(image, SIZE, "tiles", multiscale=True)
    assert sorted(both) == [SIZE, 2 * SIZE]
    assert np.array_equal(both[SIZE], make_views(image, SIZE, "pad")), "context: the whole image, padded"
    assert np.array_equal(both[2 * SIZE], make_views(image, 2 * SIZE, "tiles")), "detail: the policy at 2x"
    assert both[2 * SIZE].shape == (4, 2 * SIZE, 2 * SIZE, 3)


@pytest.mark.parametrize("box", [(0, 0, 256, 256), (32, 32, 224, 224), (10.3, 20.7, 150.3, 160.7), (0, 0, 440, 440)],
                         ids=["shrunk 1.14x", "enlarged", "enlarged off the pixel grid", "shrunk 1.96x"])
def test_a_view_shrunk_at_most_twice_samples_as_pils_resize_does(box: tuple[float, ...]) -> None:
    # Views within twice their size are warped by OpenCV, 5x faster: the same pixel grid as PIL's resize.
    rng = np.random.default_rng(5)
    image = Image.fromarray(rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)).resize((448, 448), Image.Resampling.BICUBIC)
    expected = np.asarray(image.resize((224, 224), Image.Resampling.BILINEAR, box=box), dtype=int)

    view = _square(image, box, 224).astype(int)

    # Enlarged, both are bilinear interpolation; shrunk, PIL's filter widens with the shrink, a little blur.
    enlarged = box[2] - box[0] <= 224
    assert np.abs(view - expected).max() <= (1 if enlarged else 6)
    assert np.abs(view - expected).mean() <= (0.5 if enlarged else 1)


def test_a_view_shrunk_beyond_twice_is_antialiased() -> None:
    # One-pixel black and white stripes shrunk 4x average to grey; sampling two of every eight would alias.
    stripes = np.zeros((896, 896, 3), dtype=np.uint8)
    stripes[:, ::2] = 255

    view = _square(Image.fromarray(stripes), (0, 0, 896, 896), 224).astype(int)

    assert np.abs(view - 127.5).max() <= 2


def test_a_palette_image_keeps_its_indices() -> None:
    # A palette's indices are not intensities: a view between two of them must not invent a third.
    indices = np.zeros((45, 45), dtype=np.uint8)
    indices[:, ::3] = 200
    image = Image.fromarray(indices, mode="P")

    view = _square(image, (0, 0, 45, 45), SIZE)

    assert set(np.unique(view)) == {0, 200}
