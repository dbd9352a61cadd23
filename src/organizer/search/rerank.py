"""Re-rank a find-similar's best matches with a classic index (see :mod:`organizer.search.compare`).

The embedding finds the candidates across the whole folder; the index, too slow to run on
every image but easier to reason about, orders the best few. It looks at a pool of
``POOL_FACTOR`` × k candidates, so an image the embedding placed just outside the top k
can still move up.
"""

from __future__ import annotations

from pathlib import Path

from ..io import images
from ..jobs.tasks import Cancelled, StopFn, never_stop
from .compare import COMPARE_SIDE, HIGHER_IS_BETTER, INDICES, check_index, score_many
from .similarity import Match

POOL_FACTOR = 3


def pool_size(k: int, index: str) -> int:
    """How many of the embedding's matches to fetch for a final top ``k``: more when ``index`` re-ranks them."""
    return POOL_FACTOR * k if index in INDICES else k


def rerank(query: Path, matches: list[Match], index: str, k: int, should_stop: StopFn = never_stop,
           max_file_bytes: int = images.MAX_FILE_BYTES,
           region: images.Region | None = None) -> tuple[list[Match], list[tuple[Path, str]]]:
    """The ``k`` best of ``matches`` by ``index``, scored by it, and the candidates it could not read.

    Files over ``max_file_bytes`` are among those not read. With ``region`` the query is
    that part of its file.

    Raises
    ------
    ValueError
        For an unknown index.
    images.ImageError
        If the query itself cannot be read.
    """
    # Checked before the candidates are read, not only by score_many after, so a bad index fails at once.
    check_index(index)
    query_image = images.load(Path(query), COMPARE_SIDE, max_file_bytes, region)
    readable, skipped = [], []
    for match in matches:
        if should_stop():
            raise Cancelled()
        try:
            readable.append((match.path, images.load(match.path, COMPARE_SIDE, max_file_bytes)))
        except images.ImageError as exc:
            skipped.append((match.path, exc.reason))
    scores = score_many(query_image, [image for _, image in readable], index)
    sign = -1 if HIGHER_IS_BETTER[index] else 1
    # A stable sort: ties keep the embedding's order.
    ranked = sorted(zip(readable, scores), key=lambda pair: sign * pair[1])
    return [Match(path, float(score)) for (path, _), score in ranked[:k]], skipped
