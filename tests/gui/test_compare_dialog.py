"""The Compare dialog: every classic index for one pair, scored in a worker, with the palettes shown."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from organizer.gui.dialogs.compare_dialog import CompareDialog
from organizer.io import images
from organizer.samples import SampleSpec, render
from organizer.search.compare import INDICES, compare


@pytest.fixture
def pair(tmp_path):
    """A chart, saved large, and a noisy half-size copy of it."""
    chart = render(SampleSpec("normal-chevron", 0, 1), (480, 480))
    noisy = np.asarray(chart.resize((240, 240)), np.int16) + np.random.default_rng(0).integers(-12, 12, (240, 240, 3))
    first, second = tmp_path / "chart.png", tmp_path / "scan.jpg"
    chart.save(first)
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(second, quality=90)
    return first, second


def test_every_index_is_scored_as_the_core_scores_it(qtbot, runner, pair):
    dialog = CompareDialog(runner, *pair)
    qtbot.addWidget(dialog)
    dialog.start()
    assert dialog.cancel_button.isVisibleTo(dialog) and not dialog.compare_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=60_000)
    assert [dialog.table.item(row, 0).text() for row in range(len(INDICES))][:2] == ["SSIM", "CW-SSIM"]
    first, second = (images.load(path) for path in pair)
    for row, index in enumerate(INDICES):
        assert float(dialog.table.item(row, 1).text()) == pytest.approx(compare(first, second, index).score, rel=1e-3)
    assert dialog.result.score("ssim") > 0.9  # the noisy copy reads as a near-copy
    assert "matches fit one view" in dialog.table.item(INDICES.index("sift"), 3).text()
    for label in dialog.image_labels + dialog.palette_labels:
        assert not label.pixmap().isNull()
    assert max(dialog.image_labels[0].pixmap().width(), dialog.image_labels[0].pixmap().height()) == 240
    assert dialog.compare_button.isEnabled() and not dialog.cancel_button.isVisibleTo(dialog)


def test_the_palette_strip_shows_each_colour_by_its_share(qtbot):
    from organizer.gui.dialogs.compare_dialog import palette_strip

    strip = palette_strip({"hex": ["#ff0000", "#0000ff"], "shares": [0.75, 0.25]}, width=100, height=4).toImage()
    assert strip.pixelColor(10, 2).name() == "#ff0000" and strip.pixelColor(74, 2).name() == "#ff0000"
    assert strip.pixelColor(76, 2).name() == "#0000ff"


def test_an_unreadable_file_is_reported_and_the_dialog_stays_usable(qtbot, runner, pair, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\ntruncated")
    dialog = CompareDialog(runner, pair[0], broken)
    qtbot.addWidget(dialog)
    dialog.start()
    qtbot.waitUntil(lambda: dialog.compare_button.isEnabled(), timeout=10_000)
    assert dialog.result is None and dialog.status.text() and dialog.status.text() != "Comparing…"
