"""Classic similarity indices: SSIM, CW-SSIM, MSE and SIFT on generated images."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter

from organizer.embedding.palette import dominant_colours
from organizer.jobs.tasks import Cancelled
from organizer.samples import SampleSpec, render
from organizer.search.compare import (COMPARE_SIDE, HIGHER_IS_BETTER, INDICES, compare, compare_all, mse, prepare,
                                      score_many, sift_match, ssim)
from organizer.search.cwssim import cw_ssim


def _texture(seed: int, size: int = 256, sigma: float = 3.0) -> np.ndarray:
    """Smoothed noise in [0, 1]: textured everywhere and never repeating, unlike a chart."""
    noise = gaussian_filter(np.random.default_rng(seed).normal(size=(size, size)), sigma)
    return (noise - noise.min()) / (noise.max() - noise.min())


def _uint8(values: np.ndarray) -> np.ndarray:
    return (values * 255 + 0.5).astype(np.uint8)


def _image(values: np.ndarray) -> Image.Image:
    return Image.fromarray(_uint8(values))


def test_prepare_gives_a_unit_range_square_for_any_size_and_mode():
    rgba = Image.new("RGBA", (300, 120), (10, 20, 30, 0))
    for image in (render(SampleSpec("normal-chevron", 0, 1), size=(200, 90)), rgba, Image.new("L", (7, 500))):
        prepared = prepare(image)
        assert prepared.shape == (COMPARE_SIDE, COMPARE_SIDE)
        assert prepared.dtype == np.float64
        assert 0.0 <= prepared.min() <= prepared.max() <= 1.0
    assert prepare(rgba).min() == 1.0  # transparency reads as white paper
    with pytest.raises(ValueError):
        prepare(rgba, side=4)


def test_identical_images_score_perfectly():
    image = render(SampleSpec("normal-chevron", 0, 1), size=(256, 256))
    assert compare(image, image, "ssim").score == pytest.approx(1.0, abs=1e-9)
    assert compare(image, image, "mse").score == 0.0
    assert compare(image, image, "cwssim").score == pytest.approx(1.0, abs=1e-9)
    texture = _image(_texture(0))
    assert compare(texture, texture, "sift").score > 0.95


def test_ssim_and_mse_rank_a_noisy_copy_above_an_unrelated_image():
    a = _texture(0)
    noisy = np.clip(a + np.random.default_rng(9).normal(0, 0.03, a.shape), 0, 1)
    unrelated = _texture(1)
    assert ssim(a, noisy) > ssim(a, unrelated) + 0.3
    assert mse(a, noisy) < mse(a, unrelated) / 5
    assert HIGHER_IS_BETTER["ssim"] and not HIGHER_IS_BETTER["mse"]


def test_cw_ssim_is_symmetric_bounded_and_one_only_for_a_match():
    a, b = _texture(0), _texture(1)
    assert cw_ssim(a, a) == pytest.approx(1.0, abs=1e-9)
    forth = cw_ssim(a, b)
    assert forth == pytest.approx(cw_ssim(b, a), abs=1e-9)
    assert 0.0 <= forth < 1.0
    flat = np.full_like(a, 0.5)
    assert cw_ssim(flat, flat) == pytest.approx(1.0)
    assert 0.0 <= cw_ssim(flat, a) < 0.2
    with pytest.raises(ValueError):
        cw_ssim(a, a[:100])


def test_cw_ssim_forgives_small_shifts_and_brightness_that_ssim_does_not():
    # Two windows of one larger texture, 2 pixels apart: a real shift, not a wrap-around.
    large = _texture(0, size=300, sigma=2.0)
    a, shifted = large[20:276, 20:276], large[22:278, 20:276]
    brighter = np.clip(a + 0.1, 0, 1)
    unrelated = _texture(1, size=300, sigma=2.0)[20:276, 20:276]

    assert cw_ssim(a, shifted) > 0.9
    assert cw_ssim(a, shifted) - ssim(a, shifted) > 0.2
    assert cw_ssim(a, brighter) > 0.99
    assert cw_ssim(a, unrelated) < cw_ssim(a, shifted) - 0.3


def _rotated(values: np.ndarray, degrees: float, scale: float) -> np.ndarray:
    centre = (values.shape[1] / 2, values.shape[0] / 2)
    matrix = cv2.getRotationMatrix2D(centre, degrees, scale)
    return cv2.warpAffine(values, matrix, values.shape[::-1], borderMode=cv2.BORDER_REFLECT)


def test_sift_finds_a_rotated_scaled_copy_and_not_an_unrelated_image():
    a = _uint8(_texture(0))
    turned = sift_match(a, _rotated(a, 30, 0.8))
    unrelated = sift_match(a, _uint8(_texture(1)))

    assert turned.details["inliers"] >= 100
    assert turned.details["inliers"] <= turned.details["matches"]
    assert turned.score > 0.3
    assert unrelated.score < 0.05
    assert set(turned.details) == {"keypoints_a", "keypoints_b", "matches", "inliers"}
    json.dumps(turned.details)


def test_sift_scores_flat_images_zero_without_raising():
    flat = np.full((200, 300, 3), 128, np.uint8)
    assert sift_match(flat, flat).score == 0.0
    assert sift_match(flat, _uint8(_texture(0))).details["keypoints_a"] == 0
    assert compare(Image.new("RGB", (64, 64), "grey"), _image(_texture(0)), "sift").score == 0.0


def test_compare_rejects_an_unknown_index_naming_the_valid_ones():
    image = _image(_texture(0, size=32))
    with pytest.raises(ValueError, match="cwssim"):
        compare(image, image, "psnr")
    with pytest.raises(ValueError):
        score_many(image, [image], "psnr")


def test_score_many_matches_compare_for_every_index():
    query = _image(_texture(0))
    candidates = [_image(_texture(1)), Image.fromarray(_rotated(_uint8(_texture(0)), 30, 0.8))]
    for index in INDICES:
        expected = [compare(query, candidate, index).score for candidate in candidates]
        assert score_many(query, candidates, index) == pytest.approx(expected, abs=1e-12)
    assert score_many(query, [], "ssim") == []


def test_compare_details_say_what_each_index_looked_at():
    first, second = _image(_texture(0)), _image(_texture(1))
    for index in ("ssim", "cwssim", "mse"):
        assert compare(first, second, index).details == {"side": COMPARE_SIDE}
    # The palettes come in the order of the images, so the compare dialog shows each under its own.
    emd = compare(first, second, "emd").details
    assert emd == {"palette_a": dominant_colours(np.asarray(first.convert("RGB"))).as_dict(),
                   "palette_b": dominant_colours(np.asarray(second.convert("RGB"))).as_dict()}
    json.dumps(emd)


def test_compare_all_gives_every_index_in_order_and_stops_between_them():
    query, candidate = _image(_texture(0)), _image(_texture(1))
    reports = []
    results = compare_all(query, candidate, progress=lambda done, total, note="": reports.append((done, note)))
    assert [r.index for r in results] == list(INDICES)
    assert [r.score for r in results] == pytest.approx([compare(query, candidate, i).score for i in INDICES])
    assert reports[0] == (0, "ssim") and reports[-1] == (len(INDICES), "")
    asked = []

    def stop_after_two() -> bool:
        asked.append(1)
        return len(asked) > 2

    with pytest.raises(Cancelled):
        compare_all(query, candidate, should_stop=stop_after_two)
    with pytest.raises(ValueError, match="psnr"):
        compare_all(query, candidate, ("ssim", "psnr"))


def test_images_of_different_sizes_and_aspects_are_compared_by_their_centre():
    square = _texture(0)
    strip = np.hstack([_texture(1), square, _texture(2)])  # 3:1, the square in its middle
    smaller = _image(square).resize((128, 128), Image.Resampling.LANCZOS)
    for index in INDICES:
        score = compare(_image(strip), smaller, index).score
        assert np.isfinite(score)
    assert compare(_image(strip), _image(square), "ssim").score > 0.99
    assert compare(_image(strip), smaller, "cwssim").score > 0.9
    unrelated = compare(_image(strip), _image(_texture(3)), "ssim").score
    assert compare(_image(strip), smaller, "ssim").score > unrelated
