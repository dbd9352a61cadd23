"""The frozen app's entry point: the same ``main`` as the installed ``organizer`` command."""

import multiprocessing
import sys

from organizer.__main__ import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # joblib and friends may start worker processes
    sys.exit(main())
