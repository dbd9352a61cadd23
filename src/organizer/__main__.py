"""``organizer`` opens the app (on FOLDER when given); ``organizer SUBCOMMAND`` is the CLI.

``organizer --self-test`` checks an installation headless (see :mod:`organizer.gui.selftest`).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ["--self-test"]:
        from .gui.selftest import run_self_test

        return run_self_test()
    from .cli import main as cli_main, subcommands

    if argv and (argv[0] in subcommands() or argv[0].startswith("-")):
        return cli_main(argv)
    if len(argv) > 1:
        print("usage: organizer [FOLDER] | organizer SUBCOMMAND ... (see organizer --help)", file=sys.stderr)
        return 2
    # Qt loads only here, so the CLI stays usable on machines without a display.
    from .gui.app import run

    return run(argv[0] if argv else None)


if __name__ == "__main__":
    import multiprocessing

    multiprocessing.freeze_support()  # a frozen build's child processes start here; see packaging/launcher.py
    sys.exit(main())
