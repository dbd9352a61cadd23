"""The command-line face of the engine: progress on stderr, results on stdout."""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import sys

from .. import __version__
from ..embedding.weights import BadWeights, WeightsUnavailable
from ..io import images
from ..jobs.tasks import Cancelled
from ..storage.cache import CacheError
from . import analysis, engine, library, ordering, tools
from .args import Parser


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="organizer", description="Sort pattern images by visual similarity.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    engine.register(sub)
    analysis.register(sub)
    ordering.register(sub)
    library.register(sub)
    tools.register(sub)
    return parser


def subcommands() -> frozenset[str]:
    """The CLI's command names, which ``organizer`` hands to the CLI instead of opening the app."""
    return frozenset(build_parser()._subparsers._group_actions[0].choices)


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit status (2 for bad arguments, 141 when stdout's reader left)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        # argparse ends --help, --version and a bad argument (status 2) by exiting; callers
        # in-process get the status back like any other outcome.
        return int(exc.code or 0)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        status = _run(args)
        # Inside the try: output still buffered for a pipe fails here, not at interpreter exit.
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        # The reader (head, less) has all it wanted. Point stdout at devnull, as the Python
        # docs advise, so the flush at exit does not fail a second time.
        _silence_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a command stopped by a closed pipe


def _run(args) -> int:
    try:
        return args.func(args)
    except Cancelled:
        print("cancelled; what was finished is kept and the next run picks up from there", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted; what was finished is kept and the next run picks up from there", file=sys.stderr)
        return 130
    except BrokenPipeError:
        raise  # for main, not the OSError below: a reader that stopped early is no error
    except BadWeights as exc:
        print(f"error: {'--weights ' if exc.user_file else ''}{exc}", file=sys.stderr)
        return 2
    except (WeightsUnavailable, CacheError, ValueError, images.ImageError, RuntimeError, OSError,
            sqlite3.Error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:  # io.UnsupportedOperation too: an in-memory stdout, as under a test, has no descriptor
        pass


if __name__ == "__main__":
    sys.exit(main())
