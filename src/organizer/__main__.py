"""``organizer`` with no arguments opens the app; with a subcommand it is the CLI."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from .cli import main as cli_main

    # The desktop window arrives with the GUI issue; until then the bare command explains the CLI.
    return cli_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
