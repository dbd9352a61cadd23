"""The opened folder as plain Python: its images, map, clusters and the user's edits of them.

The app and the CLI hold the same model, so the CLI sees the clusters a designer edited in
the app. It runs no job itself: the owner computes a library, a map or clusters (in a
worker, or inline in the CLI) and hands the result in. Every edit is a named step of an
undo history and is saved at once through the ``submit`` given to the model: the app
passes its writer thread's, so saving never blocks the window. Changes are announced
through :class:`~.events.Event` callbacks, which the GUI turns into Qt signals; stale
results are told apart by the model's :class:`~organizer.jobs.generation.Generation`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Hashable

import numpy as np

from ..analysis.cluster import Clustering
from ..analysis.cut import cut_book, group_range
from ..analysis.dendrogram import Dendrogram
from ..analysis.edits import ClusterBook, image_keys
from ..embedding.library import Library
from ..export.flow import ExportSource
from ..jobs.generation import Generation
from ..storage.annotations import EMPTY, Annotation, check_label, check_rating
from ..storage.cache import Cache
from ..storage.paths import cache_db_path
from .annotations import NotesState, save_annotations, with_tags
from .clustering import ClusterResult, book_dendrogram, updated_medoids
from .events import Event
from .history import Edit, EditHistory

BookState = tuple[np.ndarray, dict[int, str]]
#: What an undo step goes between: the clusters, or some images' annotations.
State = BookState | NotesState
#: Runs ``write`` (now, or later on a writer thread); a later write for the same key supersedes it.
SubmitFn = Callable[[Hashable, Callable[[], None]], None]


def write_now(_key: Hashable, write: Callable[[], None]) -> None:
    """The CLI's way to save: at once, on the caller's thread."""
    write()


class FolderModel:
    """One opened folder's state; see the module docstring.

    Parameters
    ----------
    submit
        How an edit's save runs: :func:`write_now` by default, the app's
        :meth:`~organizer.jobs.writer.SerialWriter.submit` in the app.
    """

    def __init__(self, submit: SubmitFn = write_now) -> None:
        self._submit = submit
        self.folder: Path | None = None
        self.cache_path: Path | None = None
        self.library: Library | None = None
        self.layout: np.ndarray | None = None
        self.book: ClusterBook | None = None
        self.medoids: dict[int, int] = {}
        #: The clustering the book started from, whose tree the dendrogram draws.
        self.clustering: Clustering | None = None
        #: That tree coloured by the book's clusters as they are now, edits included; None without a tree.
        self.dendrogram: Dendrogram | None = None
        #: The edits key the book was computed for; the settings may name another by now.
        self.book_key = ""
        self.generation = Generation()
        #: Per image of the library: its tags, rating and colour label (empty until handed in).
        self.annotations: list[Annotation] = []
        self.history: EditHistory[State] = EditHistory(self._set_state)
        self.library_changed = Event()
        self.layout_changed = Event()
        #: After a new clustering and after every edit, undo and redo.
        self.clusters_changed = Event()
        #: With the indices whose annotations changed; None when all may have.
        self.annotations_changed = Event()

    # results handed in ---------------------------------------------------------------------
    def open(self, folder: Path, cache_path: Path | None = None) -> None:
        """Start on ``folder``, whose cache is at ``cache_path`` (the user cache by default); nothing is loaded yet."""
        self.folder = Path(folder).resolve()
        self.cache_path = Path(cache_path) if cache_path is not None else cache_db_path(self.folder)
        self.set_library(None)

    def set_library(self, library: Library | None) -> None:
        """A new scan's images: indices into the old library mean other images now, so its
        map, clusters and undo history go with it, and results still running are stale."""
        self.generation.new_library()
        self.library, self.layout, self.book, self.medoids, self.book_key = library, None, None, {}, ""
        self.annotations = [EMPTY] * (len(library) if library is not None else 0)
        self.clustering, self.dendrogram = None, None
        self.history.clear()
        self.library_changed.emit()
        self.annotations_changed.emit(None)

    def set_annotations(self, annotations: list[Annotation]) -> None:
        """The library's saved annotations (:func:`~.annotations.load_annotations`), one per image."""
        if self.library is None or len(annotations) != len(self.library):
            raise ValueError(f"{len(annotations)} annotations for {len(self.library or ())} images")
        self.annotations = list(annotations)
        self.annotations_changed.emit(None)

    def set_layout(self, layout: np.ndarray | None) -> None:
        self.layout = layout
        self.layout_changed.emit(layout)

    def set_clusters(self, result: ClusterResult) -> None:
        """A new clustering (or the saved edits of one) replaces the book; its undo history goes."""
        self.generation.new_book()
        self.history.clear()
        self.book, self.medoids, self.book_key = result.book, result.medoids, result.key
        self.clustering, self.dendrogram = result.clustering, result.dendrogram
        self.clusters_changed.emit()

    def export_source(self) -> ExportSource:
        """What an export of the folder is planned from, as it stands now: the clusters (when there are
        any) and every image's annotations, copied, so later edits leave a plan being built alone."""
        if self.library is None:
            raise ValueError("no folder is open")
        book = self.book
        return ExportSource(self.library, None if book is None else np.array(book.labels, dtype=np.int64),
                            {} if book is None else dict(book.names), tuple(self.annotations))

    # edits ------------------------------------------------------------------------------------
    def move_to_cluster(self, indices: list[int], label: int) -> None:
        moving = [i for i in indices if self.book is not None and self.book.labels[i] != label]
        if moving:
            self._edit(f"Move {len(moving)} image{'s' * (len(moving) != 1)} to {self.book.name(label)}",
                       lambda book: book.move(moving, label))

    def new_cluster(self, indices: list[int]) -> int | None:
        """Move ``indices`` to a new cluster; return its label (None when there is nothing to move)."""
        if self.book is None or not indices:
            return None
        label = self.book.new_label()
        self._edit(f"New cluster of {len(indices)}", lambda book: book.move(indices, label))
        return label

    def merge(self, keep: int, absorbed: int) -> None:
        if self.book is not None and keep != absorbed:
            self._edit(f"Merge {self.book.name(absorbed)} into {self.book.name(keep)}",
                       lambda book: book.merge(keep, absorbed))

    def rename(self, label: int, name: str) -> None:
        if self.book is not None and name.strip() != self.book.name(label):
            self._edit(f"Rename to {name.strip()}", lambda book: book.rename(label, name))

    def cut_into(self, groups: int) -> None:
        """Re-cut the clustering's tree into ``groups`` groups, as one undoable edit.

        The cut replaces the grouping, earlier moves, merges and splits included; a group that is
        an old cluster (changed a little) keeps its number and name (see :mod:`~organizer.analysis.cut`).
        Undo brings the grouping before it back, edits and all. Nothing happens when the cut
        leaves the clusters as they are.

        Raises
        ------
        ValueError
            Without a tree to cut, or for a number outside :meth:`group_range`.
        """
        allowed = self.group_range()
        if self.book is None or allowed is None:
            raise ValueError("these clusters have no tree to cut; the automatic and agglomerative methods have one")
        if not allowed[0] <= groups <= allowed[1]:
            raise ValueError(f"cut into {allowed[0]} to {allowed[1]} groups, not {groups}")
        after = cut_book(self.book, self.clustering, groups)
        if not np.array_equal(after.labels, self.book.labels) or after.names != self.book.names:
            self.history.push(Edit(f"Cut into {groups} group{'s' * (groups != 1)}", self.book.snapshot(),
                                   after.snapshot()))

    def group_count(self) -> int:
        """How many clusters the book holds now, the unclustered images not counted."""
        return 0 if self.book is None else len([label for label in self.book.clusters() if label >= 0])

    def group_range(self) -> tuple[int, int] | None:
        """The numbers of groups :meth:`cut_into` takes; None when the clusters have no tree to cut."""
        return group_range(self.clustering) if self.book is not None else None

    def apply_split(self, label: int, after: BookState) -> None:
        """Apply a split computed elsewhere (a worker's :meth:`ClusterBook.split` of a copy) as one edit.

        The caller checks first that the book has not changed since the copy was taken.
        """
        if self.book is not None:
            self.history.push(Edit(f"Split {self.book.name(label)}", self.book.snapshot(), after))

    # annotations ------------------------------------------------------------------------------
    def set_tags(self, indices: list[int], tags: list[str]) -> None:
        """Replace the tags of ``indices`` with ``tags``."""
        self._annotate(indices, "Set tags", lambda note: Annotation(tuple(tags), note.rating, note.label))

    def add_tag(self, indices: list[int], tag: str) -> None:
        self._annotate(indices, f"Tag {tag.strip()}", lambda note: with_tags(note, add=(tag,)))

    def remove_tag(self, indices: list[int], tag: str) -> None:
        self._annotate(indices, f"Untag {tag.strip()}", lambda note: with_tags(note, remove=(tag,)))

    def set_rating(self, indices: list[int], rating: int) -> None:
        rating = check_rating(rating)
        self._annotate(indices, f"Rate {rating} star{'s' * (rating != 1)}",
                       lambda note: Annotation(note.tags, rating, note.label))

    def set_label(self, indices: list[int], label: str) -> None:
        label = check_label(label)
        self._annotate(indices, "Clear label" if label == "none" else f"Label {label}",
                       lambda note: Annotation(note.tags, note.rating, label))

    def _annotate(self, indices: list[int], text: str, change: Callable[[Annotation], Annotation]) -> None:
        """One undoable step changing the annotations of ``indices``; nothing when none changes."""
        before = {i: self.annotations[i] for i in dict.fromkeys(indices)}
        after = {i: change(note) for i, note in before.items()}
        changed = [i for i in before if after[i] != before[i]]
        if changed:
            count = f" ({len(changed)} images)" if len(changed) > 1 else ""
            self.history.push(Edit(text + count, NotesState({i: before[i] for i in changed}),
                                   NotesState({i: after[i] for i in changed})))

    def _set_notes(self, state: NotesState) -> None:
        for i, note in state.notes.items():
            self.annotations[i] = note
        library, cache_path, notes = self.library, self.cache_path, dict(state.notes)
        # Keyed by the images written: a later write of the same images supersedes a waiting one.
        self._submit((cache_path, "annotations", tuple(sorted(notes))),
                     lambda: save_annotations(cache_path, library, notes))
        self.annotations_changed.emit(sorted(notes))

    def _set_state(self, state: State) -> None:
        if isinstance(state, NotesState):
            self._set_notes(state)
        else:
            self._set_book_state(state)

    def _edit(self, text: str, change: Callable[[ClusterBook], None]) -> None:
        if self.book is None:
            return
        before = self.book.snapshot()
        change(self.book)
        after = self.book.snapshot()
        self.book.restore(before)
        self.history.push(Edit(text, before, after))

    def _set_book_state(self, state: BookState) -> None:
        old_labels = self.book.labels
        self.book.restore(state)
        self.generation.new_book()
        self.medoids = updated_medoids(self.book, self.library.vectors, self.medoids, old_labels)
        if not np.array_equal(old_labels, self.book.labels):  # a rename leaves the tree's colours as they are
            self.dendrogram = book_dendrogram(self.clustering, self.book, self.library.vectors,
                                              self.dendrogram.leaf_images if self.dendrogram is not None else None)
        self.save_edits()
        self.clusters_changed.emit()

    def save_edits(self) -> None:
        """Save the book with the folder's cache, under the key it was computed for: a recluster
        for new settings would otherwise restore it as theirs."""
        library, (labels, names), key, cache_path = self.library, self.book.snapshot(), self.book_key, self.cache_path

        def write() -> None:
            text = ClusterBook(labels, names).to_json(image_keys(library.folder, library.paths), library.hashes)
            with Cache(cache_path) as cache:
                cache.put_edits(key, text)
        self._submit((cache_path, key), write)

    # history ----------------------------------------------------------------------------------
    def undo(self) -> None:
        self.history.undo()

    def redo(self) -> None:
        self.history.redo()

    def can_undo(self) -> bool:
        return self.history.can_undo()

    def can_redo(self) -> bool:
        return self.history.can_redo()

    def undo_text(self) -> str:
        return self.history.undo_text()

    def redo_text(self) -> str:
        return self.history.redo_text()

    def clear_history(self) -> None:
        self.history.clear()
