"""Which images a search shows: by name or tag text, tags, minimum rating, colour label and cluster.

Qt-free, so the app's filter bar and the CLI's ``export --tag/--min-rating/--label/--name``
pick the same images.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..storage.annotations import Annotation


@dataclass(frozen=True)
class LibraryFilter:
    """What an image must match; the defaults match every image.

    Attributes
    ----------
    text
        Words each found in the file name or in one of the tags (the search box), any case.
    name
        Text found in the file name, any case.
    tags
        Tags the image must all carry, any case.
    min_rating
        The fewest stars.
    label
        The colour label ("" for any).
    cluster
        The cluster label (None for any).
    """

    text: str = ""
    name: str = ""
    tags: tuple[str, ...] = ()
    min_rating: int = 0
    label: str = ""
    cluster: int | None = None

    @property
    def active(self) -> bool:
        """Whether the filter hides anything at all."""
        return self != LibraryFilter()

    def matches(self, path: Path, note: Annotation, cluster: int | None = None) -> bool:
        file_name = Path(path).name.casefold()
        if self.name and self.name.casefold() not in file_name:
            return False
        tags = [t.casefold() for t in note.tags]
        for word in self.text.casefold().split():
            if word not in file_name and not any(word in tag for tag in tags):
                return False
        if not all(note.has_tag(tag) for tag in self.tags):
            return False
        if note.rating < self.min_rating or (self.label and note.label != self.label):
            return False
        return self.cluster is None or cluster == self.cluster


def filter_indices(spec: LibraryFilter, paths: list[Path], annotations: list[Annotation],
                   labels: np.ndarray | None = None) -> np.ndarray:
    """The indices of the images that match ``spec``, ascending.

    ``labels`` are the images' clusters; without them a cluster filter matches nothing.
    """
    if not spec.active:
        return np.arange(len(paths))
    clusters = [None] * len(paths) if labels is None else [int(c) for c in labels]
    return np.array([i for i, (path, note, cluster) in enumerate(zip(paths, annotations, clusters))
                     if spec.matches(path, note, cluster)], dtype=np.int64)
