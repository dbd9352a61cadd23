"""bench/report.py writes a benchmark's block into the doc and leaves the rest of it alone."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import report  # noqa: E402  (bench/ is not a package: its scripts import each other by name)

DOC = """# Benchmarks

Hand-written prose, with trailing spaces  \r
and a table:

| a | b |
|---|---|
| 1 | 2 |

<!-- embed:begin -->
an old run
<!-- embed:end -->

More prose after the block, ünïcode kept.
<!-- map:begin -->
another block
<!-- map:end -->
"""


def read(doc: Path) -> str:
    """The doc as written, line endings included (read_text would turn \\r\\n into \\n)."""
    return doc.read_bytes().decode()


def run_report(doc: Path, name: str = "embed", lines: tuple[str, ...] = ("| x | y |", "|---|---|", "| 1 | 2 |")):
    out = report.Report(name, f"The {name} benchmark", argparse.Namespace(doc=doc, no_doc=False))
    for line in lines:
        out.print(line)
    out.write()
    return out


def test_replaces_only_the_block_between_its_markers(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_bytes(DOC.encode())
    run_report(doc)
    text = read(doc)
    before, rest = text.split("<!-- embed:begin -->\n")
    block, after = rest.split("<!-- embed:end -->")
    assert before.encode() == DOC.encode().split(b"<!-- embed:begin -->\n")[0]
    assert after.encode() == DOC.encode().split(b"<!-- embed:end -->")[1]
    assert "an old run" not in block
    assert block.endswith("| x | y |\n|---|---|\n| 1 | 2 |\n")
    assert text.count("<!-- embed:begin -->") == 1


def test_a_second_run_replaces_the_first(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_bytes(DOC.encode())
    run_report(doc, lines=("first",))
    run_report(doc, lines=("second",))
    text = read(doc)
    assert "second" in text and "first" not in text
    assert text.count("<!-- embed:begin -->") == text.count("<!-- embed:end -->") == 1


def test_missing_markers_append_a_section(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_bytes(DOC.encode())
    run_report(doc, name="engine", lines=("| engine |",))
    text = read(doc)
    assert text.startswith(DOC.rstrip("\n"))
    tail = text[len(DOC.rstrip("\n")):]
    assert tail.startswith("\n\n## The engine benchmark\n\n<!-- engine:begin -->\n")
    assert tail.endswith("| engine |\n<!-- engine:end -->\n")


def test_the_header_says_when_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["bench/embed.py", "--count", "0", "--dtd", "a folder"])
    doc = tmp_path / "benchmarks.md"
    doc.write_bytes(DOC.encode())
    out = run_report(doc)
    block = read(doc).split("<!-- embed:begin -->\n")[1]
    header = block.split("\n")[0]
    assert time.strftime("%Y-%m-%d", time.gmtime(out.started)) in header
    assert "UTC" in header and f"{os.cpu_count()} cores" in header and "GB RAM" in header
    assert "Python " in header and "torch " in header and "load average" in header
    assert "python bench/embed.py --count 0 --dtd 'a folder'\n" in block


def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    doc = tmp_path / "benchmarks.md"
    doc.write_bytes(DOC.encode())

    def interrupted(source, target):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_report(doc)
    assert read(doc) == DOC
    assert list(tmp_path.iterdir()) == [doc]  # no temporary file left behind


def test_a_begin_marker_without_its_end_is_refused(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_bytes(DOC.replace("<!-- embed:end -->", "").encode())
    with pytest.raises(ValueError):
        run_report(doc)
    assert read(doc) == DOC.replace("<!-- embed:end -->", "")


def test_no_doc_prints_only(tmp_path, capsys):
    doc = tmp_path / "benchmarks.md"
    doc.write_bytes(DOC.encode())
    out = report.Report("embed", "Embedding", argparse.Namespace(doc=doc, no_doc=True))
    out.print("| figures |")
    out.write()
    assert read(doc) == DOC
    assert capsys.readouterr().out == "| figures |\n"


def test_the_options_read_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_DOC", str(tmp_path / "copy.md"))
    monkeypatch.setenv("BENCH_NO_DOC", "1")
    parser = argparse.ArgumentParser()
    report.add_arguments(parser)
    args = parser.parse_args([])
    assert args.doc == tmp_path / "copy.md" and args.no_doc
