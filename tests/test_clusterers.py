"""The clusterer registry: its rules, and the docs' table it generates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from organizer.analysis.cluster import Clustering, ClusterSpec
from organizer.analysis.clusterers import CLUSTERERS, Clusterer, markdown_table, method_names, register, users_of

DOCS = Path(__file__).resolve().parents[1] / "docs" / "clusterers.md"


def _one(space, spec, progress, should_stop) -> Clustering:
    return Clustering(np.zeros(len(space), dtype=np.int64), "one", {})


def test_every_method_is_registered_in_list_order():
    assert method_names() == ("auto", "kmeans", "dbscan", "hdbscan", "agglomerative", "spectral", "affinity")
    assert users_of("k") == ("auto", "kmeans", "agglomerative", "spectral")
    assert users_of("linkage") == ("agglomerative",)
    assert users_of("reassign_noise") == ("dbscan", "hdbscan")


def test_a_second_method_of_one_name_and_an_unknown_option_are_refused(monkeypatch):
    monkeypatch.setattr("organizer.analysis.clusterers.base.CLUSTERERS", dict(CLUSTERERS))
    with pytest.raises(ValueError, match="already registered"):
        register(Clusterer("kmeans", "K", "again", ("k",), _one))
    with pytest.raises(ValueError, match="unknown parameters radius"):
        Clusterer("one", "One", "one cluster", ("radius",), _one)


def test_an_unknown_method_names_the_registered_ones():
    with pytest.raises(ValueError, match="choose one of auto, kmeans, dbscan"):
        ClusterSpec("nope").validate(10)


def test_the_docs_table_is_the_registry_rendered():
    assert markdown_table() in DOCS.read_text(encoding="utf-8"), \
        "docs/clusterers.md is stale: python -m organizer.analysis.clusterers --markdown prints the table"


def test_the_module_prints_the_table():
    out = subprocess.run([sys.executable, "-m", "organizer.analysis.clusterers", "--markdown"], capture_output=True,
                         text=True, check=True).stdout
    assert out == markdown_table()
    assert all(f"`{name}`" in out for name in method_names())
