"""Find-similar over a folder's vectors, for a query from inside or outside the folder.

With cosine similarity the search can use the folder's own structure: each image's vector
is smoothed with its nearest neighbours' (database-side augmentation, DBA), and the query
is expanded with its best matches (alpha query expansion, αQE), both as in Radenović,
Tolias & Chum, "Fine-tuning CNN image retrieval with no human annotation" (TPAMI 2018).
Images that sit in a consistent neighbourhood then rank above lone look-alikes; the
stored vectors stay as they were. It needs neighbourhoods to smooth over: with fewer
images of a kind than ``DBA_NEIGHBOURS`` it blends kinds together, so it is opt-in.
Smoothing costs a nearest-neighbour search over the whole folder (about 1 s at 10,000 images
here, 2 min at 100,000), so it runs where a stop can end it, and the last folder's smoothed
vectors are kept for its next queries.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..jobs.subprocess_step import run_step
from ..jobs.tasks import Cancelled, StopFn, never_stop
from .index import ExactIndex, build_index, unit_rows

#: Neighbours folded into each vector, and the power that sharpens their weights. These are
#: the usual values from the retrieval literature, not tuned on our evaluation data.
DBA_NEIGHBOURS = 8
QE_NEIGHBOURS = 3
ALPHA = 3.0


@dataclass(frozen=True)
class Match:
    path: Path
    #: Cosine similarity, or a distance for euclidean and manhattan (see ExactIndex).
    score: float


def smooth_neighbourhoods(vectors: np.ndarray, k: int = DBA_NEIGHBOURS, alpha: float = ALPHA) -> np.ndarray:
    """DBA: replace each unit vector by the similarity-weighted mean of itself and its k nearest."""
    unit = unit_rows(vectors)
    k = min(k, len(unit) - 1)
    if k < 1:
        return unit
    nearest, similarity = build_index(unit).knn(unit, k + 1)  # each image is among its own nearest
    weights = similarity.clip(min=0) ** alpha
    return unit_rows(np.einsum("nk,nkd->nd", weights, unit[nearest]))


_smoothed_lock = threading.Lock()
#: The vectors last smoothed, held weakly, and an index over their smoothed copy, under a token of their own:
#: a later folder's array, even one that reuses the freed array's address, is never served an older folder's
#: copy, and the copy is freed with the folder's vectors. At most one entry.
_smoothed: dict[int, tuple[weakref.ref, ExactIndex]] = {}
_tokens = itertools.count()
_last_token = -1


def smoothed_index(vectors: np.ndarray, should_stop: StopFn = never_stop) -> ExactIndex:
    """An exact index over :func:`smooth_neighbourhoods` of ``vectors`` (its ``vectors_``, read-only), made
    once while the same array is asked for again (thread-safe: a second caller waits for the first's
    result rather than computing it too). Fitting an index copies and normalises the vectors, which at
    100,000 images costs more than the query itself, so the index is kept, not only the vectors.

    The array is taken as it is: the folder's vectors are replaced on a rescan, never edited in place.

    Raises
    ------
    Cancelled
        When ``should_stop()`` turns true, while computing or while waiting for another caller.
    """
    global _last_token
    while not _smoothed_lock.acquire(timeout=0.05):
        if should_stop():
            raise Cancelled()
    try:
        entry = _smoothed.get(_last_token)  # one lookup: the collector may pop it at any moment
        if entry is not None and entry[0]() is vectors:
            return entry[1]
        smoothed = run_step(smooth_neighbourhoods, vectors, rows=len(vectors), should_stop=should_stop)
        index = ExactIndex().fit(smoothed)
        index.vectors_.setflags(write=False)
        token = _last_token = next(_tokens)
        _smoothed.clear()
        # The collector calls this when the vectors go, in any thread and perhaps while a caller holds the
        # lock, so it takes none: popping its own token is one step, and leaves a newer entry alone.
        _smoothed[token] = (weakref.ref(vectors, lambda _, token=token: _smoothed.pop(token, None)), index)
        return index
    finally:
        _smoothed_lock.release()


def expand_query(query: np.ndarray, vectors: np.ndarray, k: int = QE_NEIGHBOURS, alpha: float = ALPHA,
                 exclude: set[int] | None = None) -> np.ndarray:
    """αQE: add the query's k best matches, weighted by similarity to the power alpha."""
    query = unit_rows(query)
    scores = vectors @ query
    if exclude:
        scores[list(exclude)] = -np.inf
    top = np.argsort(-scores)[:k]
    weights = scores[top].clip(min=0) ** alpha
    return unit_rows(query + weights @ vectors[top])


def find_similar(paths: list[Path], vectors: np.ndarray, query: np.ndarray, k: int = 10,
                 metric: str = "cosine", exclude: Path | None = None, rerank: bool = False,
                 should_stop: StopFn = never_stop) -> list[Match]:
    """The ``k`` images most like ``query``, best first, never listing ``exclude`` itself.

    ``rerank`` applies DBA and αQE (cosine only); a stop ends its smoothing (:class:`Cancelled`).
    """
    skip = {i for i, p in enumerate(paths) if exclude is not None and p == exclude}
    if rerank and metric == "cosine":
        index = smoothed_index(vectors, should_stop)
        if skip:  # the query is one of the folder's images: start from its smoothed vector
            query = index.vectors_[min(skip)]
        query = expand_query(query, index.vectors_, exclude=skip)
    else:
        # One query is a single matrix-vector product: 6 ms over 100,000 vectors here, so exact
        # search is both faster than building a graph index and never misses a neighbour.
        index = ExactIndex(metric).fit(vectors)
    found = index.query(query, k, exclude=skip)
    return [Match(paths[i], float(s)) for i, s in zip(found.indices, found.scores)]
