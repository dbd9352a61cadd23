"""A folder's reference level for equalization: the median brightness, contrast and sharpness.

Every image is measured once; the metrics are cached by content hash beside the vectors
(under :data:`METRICS_ID`), so a rescan measures only new or changed files. The reference
enters the extractor id (see :func:`with_reference`), quantised so that adding a few images
to a large folder, which nudges the medians, does not embed the whole folder again.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..embedding import ExtractorSpec
from ..io import images
from ..io.equalize import MEASURE_SIDE, Adjustment, ImageMetrics, equalize, measure, reference_level
from ..io.folder_pass import compute_per_image
from ..io.transfer import replace_atomically
from ..jobs.tasks import Cancelled, ProgressFn, StopFn, never_stop, no_progress
from ..storage.cache import Cache

METRICS_ID = "levels/v1"
MEASURING_NOTE = "measuring levels"
#: Quantisation of the reference: 2 levels of brightness and contrast, 5 % of sharpness.
#: Each is well below what equalization visibly changes, and well above what one image
#: more or less moves the median of a folder of hundreds.
LEVEL_STEP = 2.0
SHARPNESS_RATIO = 1.05


@dataclass
class FolderLevels:
    paths: list[Path]
    metrics: list[ImageMetrics]
    failures: list[tuple[Path, str]]

    @property
    def reference(self) -> ImageMetrics:
        """The per-field median; raises ValueError for a folder without usable images."""
        return reference_level(self.metrics)


def measure_folder(folder: Path, cache: Cache, progress: ProgressFn = no_progress,
                   should_stop: StopFn = never_stop, max_file_bytes: int = images.MAX_FILE_BYTES) -> FolderLevels:
    """Every usable image's metrics, measuring only what the cache lacks; files over ``max_file_bytes`` fail."""
    measured = compute_per_image(folder, cache, measure, MEASURE_SIDE, frozenset(cache.embedded_hashes(METRICS_ID)),
                                 progress, should_stop, MEASURING_NOTE, max_file_bytes)
    fresh = {digest: value for digest, value in zip(measured.hashes, measured.values) if value is not None}
    if fresh:
        with cache.transaction():
            values = np.array([[m.brightness, m.contrast, m.sharpness] for m in fresh.values()], np.float32)
            cache.put_embeddings(METRICS_ID, list(fresh), values)
    # Always the stored rows, never the fresh floats: the cache keeps float16, and a median
    # from other values on the first run would give a second scan another extractor id.
    stored = cache.vectors(METRICS_ID, measured.hashes) if measured.hashes else np.zeros((0, 3))
    metrics = [ImageMetrics(*map(float, row)) for row in stored]
    return FolderLevels(measured.paths, metrics, measured.failures)


def quantised(reference: ImageMetrics) -> tuple[float, float, float]:
    def level(value: float) -> float:
        return round(value / LEVEL_STEP) * LEVEL_STEP

    sharpness = SHARPNESS_RATIO ** round(math.log(max(reference.sharpness, 1e-3), SHARPNESS_RATIO))
    return level(reference.brightness), level(reference.contrast), round(sharpness, 3)


def with_reference(spec: ExtractorSpec, reference: ImageMetrics) -> ExtractorSpec:
    """``spec`` equalizing every image to ``reference`` (quantised) before embedding."""
    return replace(spec, equalize=quantised(reference))


def folder_spec(spec: ExtractorSpec, folder: Path, cache: Cache, progress: ProgressFn = no_progress,
                should_stop: StopFn = never_stop, max_file_bytes: int = images.MAX_FILE_BYTES) -> ExtractorSpec:
    """``spec`` equalizing to ``folder``'s median level; raises ValueError for a folder with no usable image."""
    return with_reference(spec, measure_folder(folder, cache, progress, should_stop, max_file_bytes).reference)


def equalize_report(levels: FolderLevels, progress: ProgressFn = no_progress, should_stop: StopFn = never_stop,
                    max_file_bytes: int = images.MAX_FILE_BYTES) -> list[tuple[Path, Adjustment]]:
    """What equalizing to the folder's reference does to each image: before, after and the settings used.

    Pass the ``max_file_bytes`` the levels were measured with, so no file they left out is read here.
    """
    reference = ImageMetrics(*quantised(levels.reference))
    rows = []
    for done, path in enumerate(levels.paths, 1):
        if should_stop():
            raise Cancelled()
        try:
            image = images.load(path, MEASURE_SIDE, max_file_bytes)
        except images.ImageError as exc:
            levels.failures.append((path, exc.reason))
            continue
        rows.append((path, equalize(image, reference)[1]))
        progress(done, len(levels.paths), "equalizing")
    return rows


REPORT_COLUMNS = ("path", "brightness_before", "brightness_after", "contrast_before", "contrast_after",
                  "sharpness_before", "sharpness_after", "gain", "offset", "sharpen", "blur")


def report_table(rows: list[tuple[Path, Adjustment]]) -> list[dict]:
    """One flat dict per image, keyed by :data:`REPORT_COLUMNS`: what a table or a CSV shows."""
    table = []
    for path, change in rows:
        entry = {"path": str(path)}
        for field in ("brightness", "contrast", "sharpness"):
            entry[f"{field}_before"] = round(getattr(change.before, field), 3)
            entry[f"{field}_after"] = round(getattr(change.after, field), 3)
        entry.update({name: round(float(getattr(change, name)), 4) for name in ("gain", "offset", "sharpen", "blur")})
        table.append(entry)
    return table


def report_csv(rows: list[tuple[Path, Adjustment]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, REPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(report_table(rows))
    return buffer.getvalue()


def save_report_csv(rows: list[tuple[Path, Adjustment]], target: Path) -> Path:
    """Write :func:`report_csv` at ``target`` atomically: a reader never sees half a table."""
    text = report_csv(rows)
    return replace_atomically(Path(target), lambda partial: partial.write_text(text, encoding="utf-8"))
