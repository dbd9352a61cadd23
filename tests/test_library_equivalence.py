"""The libraries that replaced hand-written code give today's answers.

Each test keeps a copy of the replaced code as its reference and compares the two on
images rendered here.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from organizer.analysis import dedup
from organizer.embedding.colour import ColourEmbedder
from organizer.export.plan import safe_name
from organizer.samples import FAMILIES, SampleSpec, render
from organizer.search.index import build_index


class _UnionFind:
    """The union-find analysis/dedup.py used before scipy's connected_components."""

    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


def _old_near_groups(paths, vectors, threshold):
    nearest, similarity = build_index(vectors, "cosine").knn(vectors, min(dedup.NEIGHBOURS + 1, len(vectors)))
    links = _UnionFind(len(paths))
    pairs = []
    for i, (row, sims) in enumerate(zip(nearest, similarity)):
        for j, score in zip(row, sims):
            if j >= 0 and j != i and score >= threshold:
                links.union(i, int(j))
                pairs.append((i, float(score)))
    weakest: dict[int, float] = {}
    for i, score in pairs:
        root = links.find(i)
        weakest[root] = min(weakest.get(root, 1.0), score)
    members: dict[int, list[int]] = {}
    for i in range(len(paths)):
        members.setdefault(links.find(i), []).append(i)
    return [dedup.DuplicateGroup("near", tuple(paths[i] for i in group), weakest[root])
            for root, group in members.items() if len(group) > 1]


@pytest.fixture(scope="module")
def sample_histograms():
    """Colour histograms of rendered samples: variants of one colourway are near copies."""
    specs = [SampleSpec(family, colourway, variant) for family in FAMILIES[:4]
             for colourway in range(3) for variant in range(3)]
    views = np.stack([np.asarray(render(spec, size=(96, 96)).convert("RGB")) for spec in specs])
    vectors = ColourEmbedder("colour").embed(views, np.arange(len(views)), len(views))
    return [Path(spec.filename()) for spec in specs], vectors


@pytest.mark.parametrize("threshold", [0.8, 0.9, 0.95, 0.97, 0.99])
def test_near_duplicate_groups_match_the_union_find(sample_histograms, threshold):
    paths, vectors = sample_histograms
    key = lambda g: g.paths  # noqa: E731
    old = sorted(_old_near_groups(paths, vectors, threshold), key=key)
    new = sorted(dedup._near_groups(paths, vectors, threshold), key=key)
    assert new == old
    if threshold == 0.9:  # the sweep must include groups joined through a chain, not only pairs
        assert any(len(g.paths) > 2 for g in new)


_UNSAFE = re.compile(r'[\x00-\x1f<>:"/\\|?*]')


def _old_safe_name(name: str, limit: int = 240) -> str:
    """export/plan.py's safe_name before pathvalidate."""
    name = _UNSAFE.sub("_", unicodedata.normalize("NFC", name)).strip(" .") or "_"
    stem, dot, suffix = name.rpartition(".")
    if not dot or len(suffix) > 10:
        stem, suffix = name, ""
    suffix = f".{suffix}" if suffix else ""
    budget = limit - len(suffix.encode("utf-8"))
    return stem.encode("utf-8")[:budget].decode("utf-8", errors="ignore") + suffix


_RESERVED = re.compile(r"(con|prn|aux|nul|com\d|lpt\d)(\..*)?", re.IGNORECASE)
# Names of hazards, dots and spaces mixed with any other text, short and over the limit.
_NAMES = st.text(st.one_of(st.sampled_from(list('\n\t\x00 ...<>:"/\\|?*é\u0301')),
                           st.characters(codec="utf-8", exclude_characters="\x7f")), max_size=300)


def test_a_name_of_control_characters_alone_becomes_one_underscore():
    assert safe_name("\x1f\r") == safe_name("\x00") == "_"


@given(_NAMES, st.sampled_from([240, 120, 20]))
def test_safe_name_matches_the_hand_written_one(name, limit):
    old = _old_safe_name(name, limit)
    # Where they differ pathvalidate is right: a Windows device name, a trailing dot or
    # space the shortening exposed, which Windows drops, or a name of nothing but
    # whitespace (a lone U+0085 or U+2003) or control characters ("\x1f\r", which the old
    # code made "__"), which it makes one visible "_".
    unprintable = all(unicodedata.category(c) == "Cc" or c.isspace() for c in name)
    if _RESERVED.fullmatch(old) or old.rstrip(" .") != old or not old.strip() or unprintable:
        return
    assert safe_name(name, limit) == old
