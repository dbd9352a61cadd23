"""Tests for equalizing brightness, contrast and sharpness (organizer.io.equalize)."""

from __future__ import annotations

import json
import math
from functools import lru_cache

import numpy as np
import pytest
from PIL import Image, ImageFilter

from organizer.io.equalize import Adjustment, ImageMetrics, equalize, equalized, measure, reference_level
from organizer.samples import SampleSpec, render

FAMILIES = ("normal-stripes", "normal-chevron", "normal-diamonds", "normal-knotgrid",
            "alpha-hearts", "alpha-letters")


@lru_cache(maxsize=None)
def _sample(family: str = "normal-chevron", size: int = 256) -> Image.Image:
    return render(SampleSpec(family, 0, 1), size=(size, size))


def _linear(image: Image.Image, gain: float, offset: float) -> Image.Image:
    return image.point(lambda x: max(0, min(255, round(x * gain + offset))))


def _mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16)).mean())


def test_measure_follows_brightness_contrast_and_blur():
    base = _sample()
    metrics = measure(base)
    mean = metrics.brightness

    assert measure(_linear(base, 1.0, 40)).brightness > metrics.brightness + 30
    assert measure(_linear(base, 1.5, -0.5 * mean)).contrast > metrics.contrast * 1.3
    assert measure(base.filter(ImageFilter.GaussianBlur(2))).sharpness < metrics.sharpness * 0.7


def test_measure_does_not_depend_on_resolution():
    small, large = measure(_sample(size=256)), measure(_sample(size=512))

    assert abs(small.brightness - large.brightness) < 5
    assert abs(small.contrast - large.contrast) < 5
    assert small.sharpness == pytest.approx(large.sharpness, rel=0.15)


def test_reference_level_is_the_median_per_field():
    metrics = [ImageMetrics(10, 5, 1), ImageMetrics(30, 1, 9), ImageMetrics(20, 3, 4)]

    assert reference_level(metrics) == ImageMetrics(20, 3, 4)
    assert reference_level(iter(metrics[:2])) == ImageMetrics(20, 3, 5)
    with pytest.raises(ValueError):
        reference_level([])


def test_dark_flat_copy_is_brought_to_the_reference():
    base = _sample()
    reference = measure(base)
    dull = _linear(base, 0.45, 15)

    out, adjustment = equalize(dull, reference)

    assert abs(adjustment.after.brightness - reference.brightness) < 3
    assert abs(adjustment.after.contrast - reference.contrast) < 3
    assert adjustment.gain > 1.5
    assert _mean_abs_diff(out, base) < _mean_abs_diff(dull, base) / 3
    assert adjustment.after == measure(out)


def test_blurred_copy_is_sharpened():
    base = _sample()
    reference = measure(base)
    soft = base.filter(ImageFilter.GaussianBlur(1.5))

    _, adjustment = equalize(soft, reference)

    assert adjustment.sharpen > 0 and adjustment.blur == 0
    assert (abs(adjustment.after.sharpness - reference.sharpness)
            < abs(adjustment.before.sharpness - reference.sharpness) / 2)


def test_oversharpened_copy_is_softened():
    base = _sample()
    reference = measure(base)
    harsh = base.filter(ImageFilter.UnsharpMask(2, 250, 0))

    _, adjustment = equalize(harsh, reference)

    assert adjustment.blur > 0 and adjustment.sharpen == 0
    assert (abs(adjustment.after.sharpness - reference.sharpness)
            < abs(adjustment.before.sharpness - reference.sharpness) / 2)


def test_image_at_the_reference_is_nearly_unchanged():
    base = _sample()

    out, adjustment = equalize(base, measure(base))

    assert adjustment.gain == pytest.approx(1, abs=0.02)
    assert abs(adjustment.offset) < 1
    assert _mean_abs_diff(out, base) < 1


@pytest.mark.parametrize("family", FAMILIES)
def test_library_images_move_to_the_folder_median(family):
    reference = reference_level(measure(_sample(f)) for f in FAMILIES)
    image = _sample(family, 320)

    out, adjustment = equalize(image, reference)

    assert out.size == image.size and out.mode == "RGB"
    assert abs(adjustment.after.brightness - reference.brightness) < 3
    before, after = adjustment.before, adjustment.after
    assert abs(after.contrast - reference.contrast) <= abs(before.contrast - reference.contrast) + 1


@pytest.mark.parametrize("family", ["normal-stripes", "alpha-hearts"])
def test_equalized_is_the_image_equalize_returns(family):
    reference = ImageMetrics(150, 40, 20)
    image = _sample(family, 320)
    before = measure(image)

    assert np.array_equal(np.asarray(equalized(image, reference)), np.asarray(equalize(image, reference)[0]))
    assert np.array_equal(np.asarray(equalized(image, reference, before)),
                          np.asarray(equalize(image, reference, before)[0]))


@pytest.mark.parametrize("image", [
    Image.new("RGB", (1, 1), (200, 30, 30)),
    Image.new("RGB", (64, 48), (90, 90, 90)),
    Image.new("L", (40, 40), 0),
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (2000, 3, 3), dtype=np.uint8)),
    Image.fromarray(np.random.default_rng(2).integers(0, 256, (3, 2000, 3), dtype=np.uint8)),
    Image.new("RGBA", (50, 70), (10, 200, 10, 100)),
], ids=["1x1", "flat", "black-grey", "strip-3x2000", "strip-2000x3", "rgba"])
def test_odd_images_do_not_raise(image):
    reference = measure(_sample())

    out, adjustment = equalize(image, reference)

    assert out.size == image.size and out.mode == "RGB"
    for value in adjustment.as_dict()["after"].values():
        assert math.isfinite(value)


def test_flat_image_takes_the_reference_brightness():
    reference = ImageMetrics(150, 40, 20)

    out, adjustment = equalize(Image.new("RGB", (32, 32), (60, 60, 60)), reference)

    assert adjustment.gain == 1 and adjustment.sharpen == adjustment.blur == 0
    assert abs(out.getpixel((0, 0))[0] - 150) <= 1


def test_adjustment_report_is_json_serialisable():
    base = _sample()
    _, adjustment = equalize(_linear(base, 0.5, 10), measure(base))

    report = json.loads(json.dumps(adjustment.as_dict()))

    assert set(report) == {"gain", "offset", "sharpen", "blur", "before", "after", "changes"}
    assert set(report["changes"]) == {"brightness", "contrast", "sharpness"}
    expected = adjustment.after.brightness - adjustment.before.brightness
    assert report["changes"]["brightness"] == pytest.approx(expected)
    assert isinstance(adjustment, Adjustment)
