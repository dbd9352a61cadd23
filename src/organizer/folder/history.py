"""Undo and redo of named edits, each a state before and after, as the app's Edit menu shows them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

from .events import Event

State = TypeVar("State")


@dataclass(frozen=True)
class Edit(Generic[State]):
    """One undoable step: its name for people, and the states it goes between."""

    text: str
    before: State
    after: State


class EditHistory(Generic[State]):
    """A linear history: a new edit drops the ones undone before it.

    Parameters
    ----------
    apply
        Puts a state in place; called with ``after`` on push and redo, ``before`` on undo.
    """

    def __init__(self, apply: Callable[[State], None]) -> None:
        self._apply = apply
        self._edits: list[Edit[State]] = []
        self._done = 0
        #: Emitted after every push, undo, redo and clear, for the Edit menu.
        self.changed = Event()

    def push(self, edit: Edit[State]) -> None:
        """Apply ``edit`` and record it."""
        del self._edits[self._done:]
        self._edits.append(edit)
        self._done += 1
        self._apply(edit.after)
        self.changed.emit()

    def undo(self) -> None:
        if self.can_undo():
            self._done -= 1
            self._apply(self._edits[self._done].before)
            self.changed.emit()

    def redo(self) -> None:
        if self.can_redo():
            self._done += 1
            self._apply(self._edits[self._done - 1].after)
            self.changed.emit()

    def can_undo(self) -> bool:
        return self._done > 0

    def can_redo(self) -> bool:
        return self._done < len(self._edits)

    def undo_text(self) -> str:
        """The name of the edit :meth:`undo` would reverse; empty when there is none."""
        return self._edits[self._done - 1].text if self.can_undo() else ""

    def redo_text(self) -> str:
        return self._edits[self._done].text if self.can_redo() else ""

    def count(self) -> int:
        """How many edits are recorded, undone ones included."""
        return len(self._edits)

    def clear(self) -> None:
        """Forget every edit: the states they hold describe images or clusters no longer shown."""
        self._edits.clear()
        self._done = 0
        self.changed.emit()
