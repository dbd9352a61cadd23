"""Find-similar, the one path the CLI and the app's similar panel take.

The embedding ranks the whole folder (:func:`.similarity.find_similar`, optionally with
the folder's neighbourhoods); a classic index (:mod:`.rerank`) may then re-order a pool of
the best candidates. The query is never among its own matches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..io.images import MAX_FILE_BYTES, Region
from ..jobs.tasks import StopFn, never_stop
from .compare import INDICES
from .rerank import pool_size, rerank
from .similarity import Match, find_similar

#: The re-ranking that smooths over the folder's neighbourhoods (DBA + αQE) instead of a classic index.
NEIGHBOURHOOD = "neighbourhood"
RERANKINGS = (NEIGHBOURHOOD, *INDICES)
#: What the app calls it, as compare_indices.INDEX_SPECS names each index.
NEIGHBOURHOOD_LABEL = "Folder neighbourhoods"


@dataclass
class SimilarAnswer:
    """The matches, best first, and the candidates a re-ranking index could not read, with why."""

    matches: list[Match]
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def search_similar(paths: list[Path], vectors: np.ndarray, query: int | np.ndarray, k: int, *,
                   query_path: Path | None = None, metric: str = "cosine", rerank_by: str = "",
                   should_stop: StopFn = never_stop, max_file_bytes: int = MAX_FILE_BYTES,
                   region: Region | None = None) -> SimilarAnswer:
    """The ``k`` images of ``paths`` most like ``query``.

    Parameters
    ----------
    query
        A row of ``vectors`` (an image of the folder) or a vector (an image from outside,
        whose file is ``query_path``).
    query_path
        The query's file when ``query`` is a vector: left out of the matches if the folder
        holds it, and read by a re-ranking index.
    rerank_by
        ``""`` for the embedding's order, :data:`NEIGHBOURHOOD`, or an index of
        :data:`.compare.INDICES` that re-orders ``rerank.POOL_FACTOR`` × k candidates.
    region
        The part of ``query_path`` that ``query`` is the vector of, for a re-ranking index
        to compare with (see :func:`.embedding.library.query_for`).

    Raises
    ------
    ValueError
        For an unknown ``rerank_by``, or an index re-ranking without ``query_path``.
    images.ImageError
        If a re-ranking index cannot read the query's file.
    Cancelled
        When ``should_stop()`` turns true during a re-ranking.
    """
    if rerank_by and rerank_by not in RERANKINGS:
        raise ValueError(f"unknown re-ranking {rerank_by!r}; choose one of {', '.join(RERANKINGS)}")
    if isinstance(query, (int, np.integer)):
        query_path, query = paths[int(query)], vectors[int(query)]
    if rerank_by in INDICES and query_path is None:
        raise ValueError(f"re-ranking by {rerank_by} needs the query's file")
    matches = find_similar(paths, vectors, query, pool_size(k, rerank_by), metric, exclude=query_path,
                           rerank=rerank_by == NEIGHBOURHOOD, should_stop=should_stop)
    if rerank_by not in INDICES:
        return SimilarAnswer(matches)
    return SimilarAnswer(*rerank(query_path, matches, rerank_by, k, should_stop, max_file_bytes, region))
