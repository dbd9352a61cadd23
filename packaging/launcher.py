"""The frozen app's entry point: the same ``main`` as the installed ``organizer`` command."""

import multiprocessing
import sys

if __name__ == "__main__":
    # Before anything else: a child process of the frozen app (the fork server, or a spawned
    # clustering or map step) starts as this executable again and must run its task here.
    multiprocessing.freeze_support()
    from organizer.__main__ import main

    sys.exit(main())
