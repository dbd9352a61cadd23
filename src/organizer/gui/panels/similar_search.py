"""Find-similar jobs for the session: search the library with one of its images or an outside file.

Each function returns a job for the :class:`~.workers.TaskRunner`; the job captures the
library it searches, so a result always describes that library, and the session drops it
when the library has changed since (see :mod:`organizer.jobs.generation`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ...embedding.library import Library, query_for
from ...io.images import ImageError, Region
from ...io.thumbs import make_preview
from ...search.compare_indices import INDEX_SPECS
from ...search.similar import NEIGHBOURHOOD, NEIGHBOURHOOD_LABEL, search_similar
from ..workers import TaskContext


#: The longest side of an outside query's picture: the panel's icon, and the image a region is drawn on.
PREVIEW_SIDE = 1024


@dataclass
class SimilarResult:
    """A find-similar answer: the query (an image of the folder or an outside file) and its matches."""

    query_path: Path
    query_index: int | None
    matches: list[tuple[int, float]] = field(default_factory=list)
    #: JPEG bytes of an outside query's whole picture, at most PREVIEW_SIDE, made in the worker;
    #: None for a folder image (the thumbnail loader has it) or a file that cannot be decoded.
    query_thumbnail: bytes | None = None
    #: The outside file's full size, which ``region`` is in; None with no ``query_thumbnail``.
    query_size: tuple[int, int] | None = None
    #: The part of the outside file searched with, or None for all of it.
    region: Region | None = None
    #: What re-ordered the matches (search.similar.RERANKINGS), or "" for the features' own order.
    reranked_by: str = ""


def searching_words(query_name: str, reranked_by: str) -> str:
    """What the window says while a search runs: with a re-ranking, which reads files or smooths a large
    folder first, it can take a while, and the words say why."""
    if not reranked_by:
        return f"Searching like {query_name}…"
    return f"Searching like {query_name}, re-ranked by {reranking_label(reranked_by)}…"


def reranking_label(name: str) -> str:
    """The name people see for a re-ranking of search.similar.RERANKINGS; an unknown name (from a settings
    file of another version) as it is, for the search to refuse."""
    if name == NEIGHBOURHOOD:
        return NEIGHBOURHOOD_LABEL
    return INDEX_SPECS[name].label if name in INDEX_SPECS else name


def _outside_preview(path: Path, max_file_bytes: int) -> tuple[bytes | None, tuple[int, int] | None]:
    # Not stored: an outside file is shown once, for this search. One that cannot be
    # decoded just shows no icon.
    try:
        return make_preview(path, PREVIEW_SIDE, max_file_bytes)
    except ImageError:
        return None, None


def _answered(library: Library, query: int | np.ndarray, query_path: Path, k: int, index_name: str,
              ctx: TaskContext, say: Callable[[str], None], max_file_bytes: int,
              region: Region | None = None) -> list[tuple[int, float]]:
    answer = search_similar(library.paths, library.vectors, query, k, query_path=query_path, rerank_by=index_name,
                            should_stop=ctx.should_stop, max_file_bytes=max_file_bytes, region=region)
    skipped = answer.skipped
    if skipped:
        named = "; ".join(f"{path.name}: {reason}" for path, reason in skipped[:2])
        say(f"Re-ranking left out {len(skipped)} image(s): {named}" + ("; …" if len(skipped) > 2 else ""))
    row = {p: i for i, p in enumerate(library.paths)}
    return [(row[m.path], m.score) for m in answer.matches]


def search_job(library: Library, index: int, k: int, index_name: str, say: Callable[[str], None], *,
               max_file_bytes: int) -> Callable[[TaskContext], SimilarResult]:
    """A job that finds the ``k`` images most like the library's image ``index``; re-ranking reads
    no file over ``max_file_bytes``."""
    def job(ctx: TaskContext) -> SimilarResult:
        query = library.paths[index]
        return SimilarResult(query, index, _answered(library, index, query, k, index_name, ctx, say, max_file_bytes),
                             reranked_by=index_name)
    return job


def file_search_job(library: Library, path: Path, k: int, device: str, index_name: str,
                    say: Callable[[str], None], *, max_file_bytes: int,
                    region: Region | None = None, backend: str = "auto") -> Callable[[TaskContext], SimilarResult]:
    """A job that finds the ``k`` images most like the file ``path``, or like its ``region`` (its
    embedding loads the model once)."""
    def job(ctx: TaskContext) -> SimilarResult:
        # A file of the folder is searched with its stored vector, and left out of its matches, as the CLI does.
        query = query_for(library, path, device, max_file_bytes=max_file_bytes, region=region, backend=backend)
        matches = _answered(library, query, path, k, index_name, ctx, say, max_file_bytes, region)
        if not isinstance(query, int):
            # Here, not in the panel: a full-size decode on the GUI thread would freeze the window.
            return SimilarResult(path, None, matches, *_outside_preview(path, max_file_bytes), region, index_name)
        return SimilarResult(path, query, matches, reranked_by=index_name)
    return job
