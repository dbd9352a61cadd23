"""The folder's annotations (tags, ratings, colour labels) as the model holds them: one per image.

They are saved per image path relative to the folder, with the content hash, and read back
by path, else by hash, as the cluster edits are (:func:`~organizer.analysis.edits.by_path_then_hash`):
a renamed or moved file keeps its tags.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ..analysis.edits import by_path_then_hash, image_keys
from ..embedding.library import Library
from ..storage.annotations import EMPTY, Annotation, clean_tag
from ..storage.cache import Cache


@dataclass(frozen=True)
class NotesState:
    """The annotations of some images, by index: the state an annotation edit goes between."""

    notes: dict[int, Annotation]


def load_annotations(cache_path: Path, library: Library) -> list[Annotation]:
    """The saved annotation of each of ``library``'s images, empty where none is saved."""
    with Cache(cache_path) as cache:
        saved = cache.annotations()
    found = by_path_then_hash(saved, image_keys(library.folder, library.paths), library.hashes)
    return [EMPTY if note is None else note for note in found]


def save_annotations(cache_path: Path, library: Library, notes: dict[int, Annotation]) -> None:
    """Save ``notes`` (image index to annotation) in one batch; an empty one removes its row."""
    indices = sorted(notes)
    keys = image_keys(library.folder, [library.paths[i] for i in indices])
    with Cache(cache_path) as cache:
        cache.put_annotations((key, library.hashes[i], notes[i]) for key, i in zip(keys, indices))


def with_tags(note: Annotation, add: tuple[str, ...] = (), remove: tuple[str, ...] = ()) -> Annotation:
    """``note`` with the tags in ``add`` added (after its own) and those in ``remove`` gone, in any case."""
    gone = {clean_tag(t).casefold() for t in remove}
    kept = [t for t in note.tags if t.casefold() not in gone]
    known = {t.casefold() for t in kept}
    return replace(note, tags=tuple(kept) + tuple(t for t in map(clean_tag, add) if t.casefold() not in known))
