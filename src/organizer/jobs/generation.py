"""Which state of a folder a background result was computed for, so that a late one is dropped.

A result that lands after the folder, its scan, its clusters or an edit changed describes
what the user no longer sees: a split finishing after a recluster would overwrite it, and
a search started in one folder would show in the next. A job takes a :class:`Stamp` when
it starts, and its owner applies the result only while the stamp is still current.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stamp:
    """The generation a job started in: of the library, and of its clusters."""

    library: int
    book: int


class Generation:
    """Counts the changes of the library (open, rescan, a new scan's result) and of its
    clusters (recluster, edit, undo, redo). Used from one thread, the owner's."""

    def __init__(self) -> None:
        self._library = 0
        self._book = 0

    def stamp(self) -> Stamp:
        return Stamp(self._library, self._book)

    def new_library(self) -> None:
        """Another folder or another scan: every earlier result is stale, clusters too."""
        self._library += 1
        self._book += 1

    def new_book(self) -> None:
        """The clusters changed: results computed from the earlier clusters are stale."""
        self._book += 1

    def is_current(self, stamp: Stamp, *, book: bool = False) -> bool:
        """Whether ``stamp`` still describes the library and, with ``book``, its clusters.

        Parameters
        ----------
        stamp
            What :meth:`stamp` returned when the job started.
        book
            True for a result computed from the clusters (a split); False for one that
            depends on the library alone (a search, the map).
        """
        return stamp.library == self._library and (not book or stamp.book == self._book)
