"""A running scan as a view follows it: the images ready so far, when to map them, and its rate and ETA.

Qt-free, so the app's session keeps no arithmetic of its own and tests need no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..embedding.embed import ScanBatch

#: A running scan's map is laid out afresh each time this many images are ready, so a first
#: map shows after a few hundred and the refinements stay few: each is a whole t-SNE.
PARTIAL_MAP_AT = (300, 1_000, 3_000, 10_000, 30_000, 100_000)


@dataclass
class PartialScan:
    """The images a scan has made ready so far (from the cache or embedded), in the order they came."""

    extractor: str = ""
    paths: list[Path] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    #: How many of them the latest partial map lays out.
    mapped: int = 0
    #: The images of the latest map laid out to its end (a partial map of this scan, or the folder's map before
    #: it), and their places: the finished map goes on from it. Not a layout still moving: its first step is
    #: the PCA's, which has gathered nothing.
    finished_hashes: list[str] = field(default_factory=list)
    finished_layout: np.ndarray | None = None

    def add(self, batch: ScanBatch) -> bool:
        """Take ``batch``; True when the images ready now reach a new step of :data:`PARTIAL_MAP_AT`.

        Never for a folder whose every image came from the cache: its library, and the map the app
        keeps for it, follow at once, and a map of the network's vectors (which the scan reports) would
        only show before the map of the folder's adapted ones replaced it.
        """
        self.extractor = batch.extractor
        self.paths += batch.paths
        self.hashes += batch.hashes
        return not batch.complete and any(self.mapped < step <= len(self.paths) for step in PARTIAL_MAP_AT)

    def next_scan(self) -> PartialScan:
        """The partial scan of a new scan, keeping this one's map laid out to its end: a scan after a settings
        change starts its map from the map on view, and one of another folder finds too few of its images in it."""
        return PartialScan(finished_hashes=self.finished_hashes, finished_layout=self.finished_layout)

    def laid_out(self, hashes: list[str], layout: np.ndarray) -> None:
        """Keep ``layout`` (in the order of ``hashes``), a partial map laid out to its end."""
        self.finished_hashes, self.finished_layout = list(hashes), np.asarray(layout, dtype=np.float64)

    def start_for(self, hashes: list[str]) -> np.ndarray | None:
        """The latest finished map's places for ``hashes`` (N × 2, NaN for an image it lacks), or None without
        one: a computed map starts from it (``analysis.reduce.compute_map``), keeping its arrangement."""
        if self.finished_layout is None:
            return None
        row = {digest: i for i, digest in enumerate(self.finished_hashes)}
        places = np.vstack([self.finished_layout, np.full((1, 2), np.nan)])
        return places[[row.get(digest, len(self.finished_hashes)) for digest in hashes]]

    def unmapped(self) -> bool:
        """Whether some ready images are missing from the latest partial map (after a stop, map them)."""
        return self.mapped < len(self.paths)


@dataclass
class ScanRate:
    """The embedding's rate and ETA, counted from its first progress report.

    Images the cache already held are neither work to do nor work done: counting them, a
    resumed scan's rate, and so its ETA, came out far too good.
    """

    base: int | None = None
    started: float = 0.0

    def report(self, done: int, total: int, now: float) -> tuple[int, int, str]:
        """``done`` and ``total`` less the images found ready, and a note with the rate and ETA."""
        if self.base is None:
            self.base, self.started = done, now
        done, total = done - self.base, total - self.base
        elapsed = now - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        if not (0 < done < total and rate > 0):
            return done, total, ""
        eta = int((total - done) / rate)
        cached = f" · {self.base:,} in the cache" if self.base else ""
        return done, total, f"{rate:.1f} img/s · ETA {eta // 60}:{eta % 60:02d}{cached}"
