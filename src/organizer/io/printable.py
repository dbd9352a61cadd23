"""File names as text a person can read on one line, whatever bytes the name holds."""

from __future__ import annotations

import os


def printable(value: str | os.PathLike[str]) -> str:
    """``value`` as it is, or quoted and escaped as a Python string literal when it holds a
    character that would not show as itself.

    A newline in a name would split one listed image over two lines, and a terminal escape
    sequence would act instead of showing; most names need neither, so they stay unquoted.

    Parameters
    ----------
    value
        A path or a name.

    Returns
    -------
    str
        ``'a\\nb.png'`` (with the quotes) for a name holding a newline; ``a b.png`` unchanged.
    """
    text = os.fspath(value)
    return text if text.isprintable() else repr(text)
