"""The contract between long-running work and whoever started it.

A long step takes ``progress(done, total, note)`` and ``should_stop()`` callbacks.
It calls ``should_stop()`` once per batch and raises :class:`Cancelled` when told to
stop, after it has saved what it finished, so a later run resumes from there.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Protocol


class ProgressFn(Protocol):
    def __call__(self, done: int, total: int, note: str = "") -> None: ...


StopFn = Callable[[], bool]


class Cancelled(Exception):
    """Raised by a long step that stopped because ``should_stop()`` said so."""


def no_progress(done: int, total: int, note: str = "") -> None:
    """A progress callback that ignores every report."""


def never_stop() -> bool:
    """A stop callback for work nobody will cancel."""
    return False


@dataclass
class StopFlag:
    """A thread-safe ``should_stop`` that a caller sets from another thread."""

    _event: threading.Event = field(default_factory=threading.Event)

    def set(self) -> None:
        self._event.set()

    def __call__(self) -> bool:
        return self._event.is_set()
