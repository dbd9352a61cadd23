"""Contact sheets: the size known before drawing, and a sheet too large to hold refused or shrunk."""

from __future__ import annotations

import io
import shutil

import pytest
from PIL import Image
from test_export_flow import make_library

from organizer.arrange import sheet as sheet_mod
from organizer.arrange.sheet import MAX_SHEET_PIXELS, fit_cell, render_sheet, sheet_size
from organizer.cli import main
from organizer.export.flow import CONTACT_SHEET, apply_summary, build_plan, run_export
from organizer.samples import write_sample_folder


@pytest.fixture
def swatches(tmp_path):
    return write_sample_folder(tmp_path / "swatches", per_family=1, colourways=1, size=(60, 40))[:5]


@pytest.fixture
def allocations(monkeypatch):
    """The sizes of every image the sheet module asks PIL for; a huge one is refused, not allocated."""
    sizes, real_new = [], Image.new

    def recording_new(mode, size, *args, **kwargs):
        sizes.append(tuple(size))
        if size[0] * size[1] > MAX_SHEET_PIXELS:
            raise MemoryError(f"the test refused to allocate {size}")
        return real_new(mode, size, *args, **kwargs)
    monkeypatch.setattr(sheet_mod.Image, "new", recording_new)
    return sizes


def test_a_sheet_too_large_is_refused_before_its_pixels_are_allocated(swatches, allocations):
    with pytest.raises(ValueError, match=r"200,012 × 300,016 px .* over the 100 megapixel limit; use cells of \d+ px"):
        render_sheet(swatches, [0, 1, 2, 3, 4, -1], cols=2, cell=100_000)
    assert allocations == []


def test_a_sheet_is_the_size_it_was_planned_at(swatches, allocations):
    png = render_sheet(swatches, [0, 1, 2, 3, 4], cols=3, cell=40, names=True)
    assert allocations[0] == sheet_size(5, 3, 40, names=True) == (3 * 44 + 4, 2 * (40 + 14 + 4) + 4)
    with Image.open(io.BytesIO(png)) as drawn:
        assert drawn.size == allocations[0]


def test_fit_cell_is_the_largest_cell_within_the_limit(monkeypatch):
    monkeypatch.setattr(sheet_mod, "MAX_SHEET_PIXELS", 1_000_000)
    cell = fit_cell(100, 10, 128)
    width, height = sheet_size(100, 10, cell)
    wider, taller = sheet_size(100, 10, cell + 1)
    assert width * height <= 1_000_000 < wider * taller
    assert fit_cell(100, 10, 64) == min(64, cell)
    assert fit_cell(100_000, 300) is None


def test_the_grid_command_refuses_a_sheet_over_the_limit(capsys, sample_folder, tmp_path, monkeypatch):
    library = tmp_path / "library"
    shutil.copytree(sample_folder, library)
    monkeypatch.setattr(sheet_mod, "MAX_SHEET_PIXELS", 1_000_000)
    out = tmp_path / "sheet.png"
    assert main(["grid", str(library), "--cell", "200", "--out", str(out), "--mode", "colour"]) == 2
    error = capsys.readouterr().err
    assert "error: a contact sheet of 36 images in 6 columns at 200 px cells" in error and "megapixel limit" in error
    assert "Traceback" not in error and not out.exists()


def test_a_grid_export_draws_its_sheet_with_smaller_cells_or_says_why_there_is_none(tmp_path, monkeypatch):
    library = make_library(tmp_path / "src")
    monkeypatch.setattr(sheet_mod, "MAX_SHEET_PIXELS", 120_000)
    report = run_export(build_plan("grid", library, tmp_path / "out"), "copy")
    cell = fit_cell(12, 4, names=True)
    assert report.done == 12 and cell < 128
    with Image.open(tmp_path / "out" / CONTACT_SHEET) as drawn:
        assert drawn.size == sheet_size(12, 4, cell, names=True)
    assert f"contact sheet drawn with {cell} px cells instead of 128 px" in apply_summary(report)[1][0]

    monkeypatch.setattr(sheet_mod, "MAX_SHEET_PIXELS", 1000)
    report = run_export(build_plan("grid", library, tmp_path / "out2"), "copy")
    assert report.done == 12 and not (tmp_path / "out2" / CONTACT_SHEET).exists()
    assert apply_summary(report)[1][0].startswith("no contact sheet: 12 cells do not fit one sheet")
