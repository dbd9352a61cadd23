"""The Align Images dialog: settings, a worker run with progress, the mean image and the motions."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from organizer.gui.align_dialog import AlignDialog
from organizer.samples import SampleSpec, render


@pytest.fixture
def turned_copies(tmp_path):
    """One chart and two copies turned by known angles about its centre."""
    chart = render(SampleSpec("alpha-letters", 0, 1), (240, 240))
    paths = [tmp_path / f"{name}.png" for name in ("a", "b", "c")]
    chart.save(paths[0])
    chart.rotate(4, resample=Image.Resampling.BICUBIC).save(paths[1])
    chart.rotate(-3, resample=Image.Resampling.BICUBIC).save(paths[2])
    return paths


def test_aligning_shows_the_mean_and_each_images_turn(qtbot, runner, turned_copies, tmp_path):
    dialog = AlignDialog(runner, turned_copies)
    qtbot.addWidget(dialog)
    assert not dialog.save_button.isEnabled()
    dialog.start()
    assert dialog.cancel_button.isVisibleTo(dialog)
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=30_000)
    turns = [float(dialog.table.item(row, 3).text()) for row in range(3)]
    # PIL turns counter-clockwise; the motions read clockwise as positive.
    assert turns == pytest.approx([0, -4, 3], abs=0.5)
    assert not dialog.mean_label.pixmap().isNull()
    assert dialog.save_button.isEnabled()

    target = tmp_path / "mean.png"
    dialog.save_mean(target)
    qtbot.waitUntil(lambda: target.exists(), timeout=10_000)
    assert np.asarray(Image.open(target)).shape == (240, 240, 3)


def test_bilinear_cannot_be_aligned_sequentially(qtbot, runner, turned_copies):
    dialog = AlignDialog(runner, turned_copies)
    qtbot.addWidget(dialog)
    dialog.reference_combo.setCurrentIndex(dialog.reference_combo.findData("sequential"))
    dialog.model_combo.setCurrentIndex(dialog.model_combo.findData("bilinear"))
    assert dialog.reference_combo.currentData() == "first"


def test_an_unreadable_set_reports_the_reason(qtbot, runner, tmp_path):
    broken = [tmp_path / "x.png", tmp_path / "y.png"]
    for path in broken:
        path.write_bytes(b"not an image")
    dialog = AlignDialog(runner, broken)
    qtbot.addWidget(dialog)
    dialog.start()
    qtbot.waitUntil(lambda: "x.png" in dialog.status.text(), timeout=10_000)
    assert dialog.result is None and dialog.align_button.isEnabled()
