"""``python -m organizer.analysis.clusterers --markdown`` prints the docs' table of clustering methods."""

from __future__ import annotations

import argparse

from . import clusterers, markdown_table

parser = argparse.ArgumentParser(prog="python -m organizer.analysis.clusterers",
                                 description="list the registered clustering methods")
parser.add_argument("--markdown", action="store_true", help="as the Markdown table in docs/architecture.md")
if parser.parse_args().markdown:
    print(markdown_table(), end="")
else:
    for clusterer in clusterers():
        print(f"{clusterer.name:14s} {clusterer.description}")
