"""The Align Images dialog: settings, a worker run with progress, the mean image and the motions."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from organizer.gui.dialogs.align_dialog import AlignDialog
from organizer.samples import SampleSpec, render
from organizer.tools.align import MAX_IMAGES, memory_estimate


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


def _megabytes(text: str) -> float:
    return float(re.search(r"([\d,]+) MB", text).group(1).replace(",", ""))


def test_the_selection_is_aligned_unless_the_whole_folder_is_chosen(qtbot, runner, turned_copies):
    folder = turned_copies + [turned_copies[0].with_name("d.png")]
    dialog = AlignDialog(runner, turned_copies[:2], folder)
    qtbot.addWidget(dialog)
    assert dialog.paths == turned_copies[:2]
    assert _megabytes(dialog.estimate_label.text()) == round(memory_estimate(2) / 1e6)
    dialog.scope_combo.setCurrentIndex(dialog.scope_combo.findData("folder"))
    assert dialog.paths == folder
    assert _megabytes(dialog.estimate_label.text()) == round(memory_estimate(4) / 1e6)
    dialog.scope_combo.setCurrentIndex(dialog.scope_combo.findData("selection"))
    dialog.start()
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=30_000)
    assert dialog.result.paths == turned_copies[:2] and dialog.table.rowCount() == 2


def test_without_a_selection_nothing_runs_until_the_folder_is_chosen(qtbot, runner, turned_copies):
    dialog = AlignDialog(runner, [], turned_copies)
    qtbot.addWidget(dialog)
    assert dialog.paths == [] and not dialog.align_button.isEnabled()
    assert "Select two or more images" in dialog.estimate_label.text()
    dialog.scope_combo.setCurrentIndex(dialog.scope_combo.findData("folder"))
    assert dialog.align_button.isEnabled()


def test_more_images_than_the_cap_are_refused_before_anything_is_read(qtbot, runner, tmp_path):
    missing = [tmp_path / f"never_written_{i}.png" for i in range(MAX_IMAGES + 1)]
    dialog = AlignDialog(runner, missing)
    qtbot.addWidget(dialog)
    assert not dialog.align_button.isEnabled()
    assert f"the limit is {MAX_IMAGES} images" in dialog.estimate_label.text()
    assert _megabytes(dialog.estimate_label.text()) == round(memory_estimate(MAX_IMAGES + 1) / 1e6)
    dialog.start()
    assert not dialog.busy and f"the limit is {MAX_IMAGES} images" in dialog.status.text()
