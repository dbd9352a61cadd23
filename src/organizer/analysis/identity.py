"""One cluster, one identity: the number, name, colour and export folder every view and the CLI show.

A cluster's number is its label plus one, and its colour the palette's entry at its label,
so the grid, the map, the dendrogram, the similar panel, the export folders and
``organizer cluster --json`` agree without passing anything but the labels and the names.
A fresh clustering numbers its clusters 1..K from the largest down (:func:`by_size`);
edits never renumber a cluster they do not touch: a merge leaves its number unused, and
a new cluster or a split's new part takes the next number after the highest. A re-cut of
the tree (:mod:`.cut`) keeps the number of each group that is still an earlier cluster and
gives the others the lowest numbers free.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import numpy as np

NOISE = -1
#: Grey, which no colour of the Glasbey sets is, so no cluster looks like the unclustered images.
NOISE_COLOUR = "#969696"
UNCLUSTERED = "Unclustered"


@dataclass(frozen=True)
class ClusterIdentity:
    """What people see of one cluster."""

    label: int
    #: 1, 2, ...; None for the unclustered images, which have no number.
    number: int | None
    #: The user's name for it, or "Cluster N".
    name: str
    #: "#rrggbb".
    colour: str

    @property
    def full_name(self) -> str:
        """The name, with the number beside a name the user gave: "Stripes (cluster 3)"."""
        renamed = self.number is not None and self.name != f"Cluster {self.number}"
        return f"{self.name} (cluster {self.number})" if renamed else self.name


@cache
def _palette() -> tuple[str, ...]:
    # Imported on first use: colorcet takes a tenth of a second to import, which CLI
    # commands that show no cluster should not pay.
    from colorcet import glasbey_light

    return tuple(glasbey_light)


def cluster_number(label: int) -> int | None:
    return None if label < 0 else int(label) + 1


def cluster_colour(label: int) -> str:
    """Glasbey et al.'s colours, each chosen to differ most from those before it; noise is grey.

    The light variant leaves out colours darker than L* 30, which vanish on a dark map,
    and, like every colorcet Glasbey set, greys.
    """
    if label < 0:
        return NOISE_COLOUR
    palette = _palette()
    return palette[label % len(palette)]


def identify(label: int, names: dict[int, str]) -> ClusterIdentity:
    """``label``'s identity, named as the user named it in ``names`` (by label), or by its number."""
    label = int(label)
    number = cluster_number(label)
    name = names.get(label) or (UNCLUSTERED if number is None else f"Cluster {number}")
    return ClusterIdentity(label, number, name, cluster_colour(label))


def identity_in(identities: dict[int, ClusterIdentity], label: int) -> ClusterIdentity:
    """``label``'s identity among a book's ``identities``, or its plain numbered one where the book has none."""
    return identities.get(label) or identify(label, {})


def folder_names(identities: Iterable[ClusterIdentity]) -> dict[int, str]:
    """Each cluster's export folder by label: ``03_<name>``, the number padded alike for all; the
    unclustered images' folder is their name alone. Not yet made safe for a file system."""
    identities = list(identities)
    width = max(2, len(str(max((i.number for i in identities if i.number), default=0))))
    return {i.label: i.name if i.number is None else f"{i.number:0{width}d}_{i.name}" for i in identities}


def by_size(labels: np.ndarray) -> np.ndarray:
    """``labels`` renumbered 0, 1, ... from the largest cluster down (of two alike, the one whose
    first image comes first); noise stays -1. What a fresh clustering's numbers follow."""
    labels = np.asarray(labels, dtype=np.int64)
    clustered = labels >= 0
    found, first, counts = np.unique(labels[clustered], return_index=True, return_counts=True)
    rank = np.empty(len(found), dtype=np.int64)
    rank[np.lexsort((first, -counts))] = np.arange(len(found))
    result = labels.copy()
    result[clustered] = rank[np.searchsorted(found, labels[clustered])]
    return result
