"""The map: PCA, then t-SNE (openTSNE, FFT-accelerated for large folders), shown while it is computed.

A folder of fewer than :data:`SMALL_MAP` images is laid out by metric MDS instead, and a
layout that shows nothing (every point on one spot, or not finite) is never cached.

:func:`compute_map` reports partial layouts through ``on_partial``: the start (the PCA
initialisation, or a partial map to go on from) at once, then the layout every
``snapshot_every`` iterations, so a view can animate from the first second. The returned
:class:`MapModel` keeps what is needed to place new images into the finished map (openTSNE's
``transform``) without recomputing it. Its PCA, the neighbour search and the placing cannot
check ``should_stop``, so on large folders they run in a child process that a stop ends
(:func:`.subprocess_step.run_step`).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..jobs.subprocess_step import run_step
from ..jobs.tasks import Cancelled, ProgressFn, StopFn, never_stop, no_progress
from .map_start import UNTANGLED_SHARE, starting_layout

PartialFn = Callable[[np.ndarray], None]


@dataclass(frozen=True)
class MapSpec:
    """The map's parameters; they enter the layout cache key."""

    #: 20, not the customary 30: on 10,000 renders and on dtd10 it keeps as many of each image's
    #: neighbours and separates the classes as well (three seeds each), with a third fewer
    #: neighbours to attract, so the second phase settles sooner (docs/benchmarks.md, "The map").
    perplexity: float = 20.0
    pca_dims: int = 50
    #: The most iterations of each phase; with ``settle`` a phase ends once the layout stops moving.
    early_iterations: int = 250
    iterations: int = 500
    snapshot_every: int = 25
    seed: int = 0
    settle: bool = True

    def validate(self, n_points: int) -> None:
        if n_points < 1:
            raise ValueError("a map needs at least one image")
        if not 1 <= self.perplexity <= 500:
            raise ValueError(f"perplexity {self.perplexity} is outside 1..500")
        if self.pca_dims < 2:
            raise ValueError("pca_dims must be at least 2")
        if self.iterations < 1 or self.early_iterations < 0 or self.snapshot_every < 1:
            raise ValueError("iteration counts must be positive")

    @property
    def key(self) -> str:
        return (f"tsne-p{self.perplexity:g}-pca{self.pca_dims}-e{self.early_iterations}"
                f"-i{self.iterations}-s{self.seed}{'-settled' if self.settle else ''}")


@dataclass
class MapModel:
    """A finished map: the 2-D layout and the PCA that feeds it.

    Only arrays, so it stores compactly; the t-SNE state needed to place new points is
    rebuilt from the reference vectors on the first :meth:`place`.
    """

    layout: np.ndarray
    pca_mean: np.ndarray
    pca_components: np.ndarray
    perplexity: float
    seed: int = 0
    _embedding: object = None

    def project(self, vectors: np.ndarray) -> np.ndarray:
        return (np.asarray(vectors, dtype=np.float32) - self.pca_mean) @ self.pca_components.T

    def place(self, new_vectors: np.ndarray, reference_vectors: np.ndarray) -> np.ndarray:
        """2-D positions for new vectors, optimised against the fixed map of ``reference_vectors``."""
        if self._embedding is None:
            import openTSNE

            affinities = _affinities(self.project(reference_vectors), self.perplexity, self.seed)
            self._embedding = openTSNE.TSNEEmbedding(self.layout.astype(np.float64), affinities,
                                                     negative_gradient_method="fft", random_state=self.seed)
        return np.asarray(self._embedding.transform(self.project(new_vectors)), dtype=np.float32)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, layout=self.layout, mean=self.pca_mean, components=self.pca_components,
                 perplexity=self.perplexity, seed=self.seed)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "MapModel":
        arrays = np.load(io.BytesIO(data))
        return cls(arrays["layout"], arrays["mean"], arrays["components"], float(arrays["perplexity"]),
                   int(arrays["seed"]))


#: Below this many points Barnes-Hut gradients beat the FFT interpolation: on 10,000 real
#: vectors here BH took 14 s and FFT 37 s for the same 750 iterations, while on 20,000 and
#: 40,000 points FFT was 2.7× and 3.8× faster per iteration.
FFT_FROM = 20_000
#: The exaggerated phase keeps the layout compact, so the FFT's grid stays small and it wins
#: from far fewer points: 175 iterations took 1.5 s against 2.0 s with Barnes-Hut at 5,000
#: points and 1.6 s against 2.9–3.6 s at 7,500, but 1.25 s against 0.8 s at 2,000.
EARLY_FFT_FROM = 4_000
#: The exaggerated phase's FFT grid has this many intervals a side at least, not openTSNE's 50. Beyond its
#: minimum openTSNE takes one interval a unit of the layout, and that phase keeps 10,000 images within about
#: 17 units, so 50 resolved it three times finer than a wider layout gets. With 20: 3.7 ms an iteration
#: against 8.3, the 10k map 6.7 s against 7.5 (median of six seeds), keeping as many neighbours (0.706
#: against 0.705) and classes (+0.005 ± 0.005) (docs/benchmarks.md, "A coarser grid while exaggerated").
EARLY_FFT_INTERVALS = 20


def gradient_method(n_points: int, exaggerated: bool = False) -> str:
    """How the repulsive forces are computed for ``n_points``: Barnes-Hut or FFT interpolation."""
    return "fft" if n_points >= (EARLY_FFT_FROM if exaggerated else FFT_FROM) else "bh"


def _pca(vectors: np.ndarray, dims: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.decomposition import PCA

    dims = min(dims, vectors.shape[1], len(vectors))
    # scikit-learn's own choice: for vectors of at most 1,000 dimensions and at least 10 images a dimension,
    # the eigenvectors of the covariance, exact and the fastest (10,000 × 496 vectors: 0.05 s against the
    # randomized SVD's 0.16; 100,000: 0.17 s against 1.7).
    pca = PCA(n_components=dims, svd_solver="auto", random_state=seed)
    pca.fit(vectors)
    return pca.mean_.astype(np.float32), pca.components_.astype(np.float32)


#: Below this many points each image's neighbours are found exactly (one BLAS product per
#: block of rows) rather than with Annoy's trees: on 50-D vectors here the exact search took
#: 0.42 s against 1.44 s at 10,000 points and 5.6 s against 8.1 s at 50,000, and fell behind
#: only near 100,000 (19.7 s against 18.3 s). It is exact, too, where the trees approximate.
EXACT_NEIGHBOURS_BELOW = 60_000


#: From this many images each one is attracted to its 2 × perplexity nearest, not openTSNE's 3 ×: the
#: Gaussian of perplexity 20 puts little weight beyond the 40th, and every iteration's attraction costs in
#: proportion. At 10,000 renders it took the map from 8.9 s to 7.8 s (six seeds), keeping as many neighbours
#: (0.706 against 0.708) and classes (−0.002 ± 0.008); dtd10 kept both too. Below it the map takes seconds,
#: and the 150 charts lost 0.025 of class separation.
FEWER_NEIGHBOURS_FROM = 5_000


def _affinities(reduced: np.ndarray, perplexity: float, seed: int):
    import openTSNE

    neighbours = int(2 * perplexity) if len(reduced) >= FEWER_NEIGHBOURS_FROM else "auto"
    if len(reduced) < EXACT_NEIGHBOURS_BELOW:
        # One job: the exact search's time is in BLAS, which has threads of its own (10,000 points took
        # 0.38-0.46 s with one job or two, 50,000 took 5.4-5.7 s), and scikit-learn's second job needs
        # loky, which cannot start in the child process that runs this step for the app.
        method, jobs = "exact", 1
    else:
        method, jobs = "annoy", os.cpu_count() or 1
    return openTSNE.affinity.PerplexityBasedNN(reduced, perplexity=perplexity, n_jobs=jobs, random_state=seed,
                                               method=method, k_neighbors=neighbours)


#: Below this many images the map is metric MDS, not t-SNE: openTSNE put every point within
#: 1e-40 of (0, 0) for 2 to 24 random unit vectors here, at perplexity 5 and 30 alike, and
#: on a few dozen images t-SNE's neighbourhoods span much of the folder anyway.
SMALL_MAP = 50


#: A phase of the layout ends once its points move less than this between two snapshots:
#: the median move, in units of the layout's RMS radius, so the steady growth of a t-SNE
#: layout does not count. On 10,000 rendered samples the exaggerated phase settled by
#: iteration 175 of 250 and the second by 400 of 500 (575 in all, against 750), keeping
#: the same share of each image's 10 nearest neighbours (0.693 against 0.698) and the same
#: class separation; a second-phase threshold of 0.005 stopped at 375 but kept only 0.674,
#: less than scikit-learn's 0.687 (docs/benchmarks.md, "The map").
EARLY_SETTLED = 0.01
SETTLED = 0.003
#: The exaggerated phase first untangles the PCA start, moving little while it gathers clusters.
MIN_EARLY_ITERATIONS = 100


class Settling:
    """Tells, snapshot by snapshot, whether a layout has stopped moving."""

    def __init__(self, threshold: float, least_iterations: int) -> None:
        self.threshold, self.least_iterations = threshold, least_iterations
        self._previous: np.ndarray | None = None

    def settled(self, iteration: int, layout) -> bool:
        current = np.asarray(layout, dtype=np.float64)
        current = current - current.mean(axis=0)
        current /= max(float(np.sqrt((current ** 2).sum(axis=1).mean())), 1e-12)
        previous, self._previous = self._previous, current
        if previous is None or iteration < self.least_iterations:
            return False
        return float(np.median(np.linalg.norm(current - previous, axis=1))) < self.threshold


def degenerate(layout: np.ndarray) -> bool:
    """Whether ``layout`` shows nothing: a position is not finite, or all of two or more points share one spot."""
    layout = np.asarray(layout, dtype=np.float64)
    if not np.isfinite(layout).all():
        return True
    return len(layout) >= 2 and float(np.ptp(layout, axis=0).max()) < 1e-6


def distance_layout(vectors: np.ndarray, seed: int = 0) -> np.ndarray:
    """2-D positions whose distances follow the vectors': the PCA plane, refined by metric MDS
    for fewer than :data:`SMALL_MAP` images (it holds the distances of every pair).

    Images with one and the same vector have no shape to show, so they go round a circle,
    each one visible and clickable.
    """
    from sklearn.manifold import smacof
    from sklearn.metrics import pairwise_distances

    vectors = np.asarray(vectors, dtype=np.float64)
    count = len(vectors)
    layout = np.zeros((count, 2))
    left, scales, _ = np.linalg.svd(vectors - vectors.mean(axis=0), full_matrices=False)
    dims = min(2, len(scales))
    layout[:, :dims] = left[:, :dims] * scales[:dims]
    if 2 <= count < SMALL_MAP and not degenerate(layout):
        layout, _stress = smacof(pairwise_distances(vectors), n_components=2, init=layout, n_init=1,
                                 random_state=seed)
    if degenerate(layout):
        angles = 2 * np.pi * np.arange(count) / count
        layout = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return layout.astype(np.float32)


def _distance_map(vectors: np.ndarray, spec: MapSpec, progress: ProgressFn) -> MapModel:
    """A map by :func:`distance_layout`; its MapModel has no PCA, so :func:`cached_map` never places images into it."""
    progress(0, 1, "layout")
    layout = distance_layout(vectors, spec.seed)
    progress(1, 1, "done")
    return MapModel(layout, vectors.mean(axis=0), np.zeros((0, vectors.shape[1]), dtype=np.float32),
                    min(spec.perplexity, (len(vectors) - 1) / 3), spec.seed)


def compute_map(vectors: np.ndarray, spec: MapSpec = MapSpec(), *, progress: ProgressFn = no_progress,
                should_stop: StopFn = never_stop, on_partial: PartialFn | None = None,
                start: np.ndarray | None = None) -> MapModel:
    """Lay ``vectors`` out in 2-D: t-SNE, or MDS for fewer than :data:`SMALL_MAP` images
    or where t-SNE collapsed.

    ``start`` (N × 2, NaN where unknown) is a layout to go on from instead of the PCA's: a partial
    map of some of the same images (of their network's vectors, before adapting), so the finished
    map keeps the arrangement the user has watched grow (see :func:`starting_layout` and
    :data:`UNTANGLED_SHARE`). An MDS map, below :data:`SMALL_MAP` images, takes no start.

    Raises
    ------
    Cancelled
        When ``should_stop()`` turns true; checked at every iteration of the layout.
    """
    import openTSNE

    vectors = np.asarray(vectors, dtype=np.float32)
    spec.validate(len(vectors))
    if len(vectors) < SMALL_MAP:
        return _distance_map(vectors, spec, progress)
    early_iterations = spec.early_iterations
    progress(0, early_iterations + spec.iterations, "PCA")
    mean, components = run_step(_pca, vectors, spec.pca_dims, spec.seed, rows=len(vectors), should_stop=should_stop)
    reduced = (vectors - mean) @ components.T
    started = None if start is None else run_step(starting_layout, reduced, start, spec.seed, rows=len(vectors),
                                                  should_stop=should_stop)
    if started is None:
        initial = openTSNE.initialization.pca(reduced, random_state=spec.seed)
    else:
        initial, unlike = started
        early_iterations = 0 if unlike <= UNTANGLED_SHARE else early_iterations
    total = early_iterations + spec.iterations
    if on_partial:
        on_partial(initial.copy())
    if should_stop():
        raise Cancelled()
    progress(0, total, "neighbours")
    perplexity = min(spec.perplexity, (len(vectors) - 1) / 3)
    affinities = run_step(_affinities, reduced, perplexity, spec.seed, rows=len(vectors), should_stop=should_stop)
    done = 0
    settling = Settling(EARLY_SETTLED, MIN_EARLY_ITERATIONS)
    cancelled = False

    # Asked every iteration, not at every snapshot: 25 iterations on 10,000 points took up to
    # 4.8 s on a busy machine, and evaluating the error each time cost no measurable time.
    def snapshot(iteration, _error, embedding):
        nonlocal cancelled
        if iteration % spec.snapshot_every == 0:
            progress(done + iteration, total, "layout")
            if on_partial:
                on_partial(np.array(embedding, dtype=np.float32))
            if spec.settle and settling.settled(iteration, embedding):
                return True
        cancelled = should_stop()
        return cancelled

    # A callback's True ends a phase early; openTSNE then returns the layout so far, and
    # ``cancelled`` tells a stop from a settled layout.
    embedding = openTSNE.TSNEEmbedding(initial, affinities, negative_gradient_method=gradient_method(len(vectors)),
                                       n_jobs=os.cpu_count() or 1, random_state=spec.seed, callbacks=snapshot,
                                       callbacks_every_iters=1)
    if early_iterations:
        embedding = embedding.optimize(early_iterations, exaggeration=12, momentum=0.5,
                                       negative_gradient_method=gradient_method(len(vectors), exaggerated=True),
                                       min_num_intervals=EARLY_FFT_INTERVALS)
    if cancelled:
        raise Cancelled()
    done = early_iterations
    settling = Settling(SETTLED, 0)
    embedding = embedding.optimize(spec.iterations, momentum=0.8)
    if cancelled:
        raise Cancelled()
    progress(total, total, "done")
    embedding.gradient_descent_params["callbacks"] = None
    layout = np.array(embedding, dtype=np.float32)
    if degenerate(layout):  # seen only below 25 images, but a collapsed map must never be shown or cached
        return MapModel(distance_layout(reduced, spec.seed), mean, components, perplexity, spec.seed)
    return MapModel(layout, mean, components, perplexity, spec.seed, embedding)


#: New images are placed into a cached map while they number at most this share of the
#: images it already holds; beyond that the old layout no longer describes the folder.
PLACE_SHARE = 0.1


def cached_map(cache, extractor: str, hashes: list[str], vectors: np.ndarray, spec: MapSpec = MapSpec(), *,
               progress: ProgressFn = no_progress, should_stop: StopFn = never_stop,
               on_partial: PartialFn | None = None, start: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """The map of a folder's images, from the cache when it can be.

    Returns the (N, 2) layout in the order of ``hashes`` and how it was obtained:
    ``"cached"`` (the same images), ``"placed"`` (a few new images placed into the cached
    t-SNE map with openTSNE's transform; removed images simply leave it) or ``"computed"``.
    A degenerate cached layout (a collapsed map of an older version) is computed again. A computed
    map goes on from ``start`` (in the order of ``hashes``) where it is given: see :func:`compute_map`.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    row_of = {h: i for i, h in enumerate(hashes)}  # copies share a hash, and so a position
    unique = list(row_of)
    stored = cache.get_layout(extractor, spec.key)
    if stored is not None:
        old_hashes, blob = stored
        model = MapModel.from_bytes(blob)
        old_row = {h: i for i, h in enumerate(old_hashes)}
        kept = [h for h in unique if h in old_row]
        new = [h for h in unique if h not in old_row]
        # openTSNE's transform needs more reference points than 3 × perplexity neighbours,
        # and a t-SNE map to place them into: an MDS map (no PCA kept) is computed again.
        placeable = not new or len(model.pca_components) > 0
        if (not degenerate(model.layout) and placeable and len(kept) > 3 * model.perplexity
                and len(new) <= PLACE_SHARE * len(kept)):
            positions = {h: model.layout[old_row[h]] for h in kept}
            source = "cached"
            if new:
                progress(0, 1, f"placing {len(new)} new images")
                reference = MapModel(np.stack([positions[h] for h in kept]), model.pca_mean,
                                     model.pca_components, model.perplexity, model.seed)
                placed = run_step(MapModel.place, reference, vectors[[row_of[h] for h in new]],
                                  vectors[[row_of[h] for h in kept]], rows=len(kept), should_stop=should_stop)
                positions.update(zip(new, placed))
                source = "placed"
            if source == "placed" or len(kept) < len(old_hashes):
                layout = np.stack([positions[h] for h in unique])
                _store(cache, extractor, spec.key, unique,
                       MapModel(layout, model.pca_mean, model.pca_components, model.perplexity, model.seed))
            return np.stack([positions[h] for h in hashes]), source
    position_of = {h: i for i, h in enumerate(unique)}
    rows = np.array([position_of[h] for h in hashes])
    model = compute_map(vectors[[row_of[h] for h in unique]], spec, progress=progress, should_stop=should_stop,
                        on_partial=(lambda partial: on_partial(partial[rows])) if on_partial else None,
                        start=None if start is None else np.asarray(start)[[row_of[h] for h in unique]])
    _store(cache, extractor, spec.key, unique, model)
    positions = dict(zip(unique, model.layout))
    return np.stack([positions[h] for h in hashes]), "computed"


def _store(cache, extractor: str, key: str, hashes: list[str], model: MapModel) -> None:
    """Cache ``model`` unless its layout is degenerate: the next open computes it afresh instead."""
    if not degenerate(model.layout):
        cache.put_layout(extractor, key, hashes, model.to_bytes())
