"""Plain callbacks for the folder model's changes, so the model needs no Qt.

The GUI connects each event to a Qt signal; the CLI connects nothing. Handlers run on the
thread that changed the model, in the order they were connected.
"""

from __future__ import annotations

from typing import Callable


class Event:
    """A list of handlers called with the same arguments by :meth:`emit`."""

    def __init__(self) -> None:
        self._handlers: list[Callable[..., object]] = []

    def connect(self, handler: Callable[..., object]) -> None:
        self._handlers.append(handler)

    def disconnect(self, handler: Callable[..., object]) -> None:
        self._handlers.remove(handler)

    def emit(self, *args: object) -> None:
        # A copy: a handler may connect or disconnect others while this one runs.
        for handler in list(self._handlers):
            handler(*args)
