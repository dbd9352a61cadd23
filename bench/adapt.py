"""Adapting the vectors to the folder (folder.adaptation, issue 17): the projection's settings,
its sample size, a control and a projection fitted on other folders, on five labelled sets.

Every image of each set gets its changed view through the product's own code (cached in
bench/out/cache beside the vectors, under the id the product uses), so each variant is a fit
of seconds on the network's vectors. Each cell is find-similar P@10 (plain cosine) and its
change from the network's vectors as they are, ± the standard error of that change paired
over the queries.

    .venv/bin/python bench/adapt.py            # 30 s once the sets' vectors and changed copies are cached
    .venv/bin/python bench/adapt.py --cost     # instead: its time beside the scan's, on fresh caches
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import replace
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from common import OUT, cache_file, cached_library, render_folder
from quality import build_objects_set, objects_queries
from report import Report, add_arguments
from sorting import default_sets

from organizer.analysis.evaluate import ranking_scores
from organizer.embedding import make_spec
from organizer.embedding.embed import embed_folder
from organizer.embedding.library import Library, Projection, shared_embedder
from organizer.embedding import embed_inputs
from organizer.folder import adaptation
from organizer.samples import family_of
from organizer.search.index import unit_rows
from organizer.storage.cache import Cache

K = 10
Fit = Callable[[np.ndarray, np.ndarray, np.ndarray, np.random.Generator], Projection]


class Labelled:
    """One set: the network's vectors, every image's changed view, labels and the query rows."""

    def __init__(self, name: str, folder: Path, queries: Callable[[list[Path]], np.ndarray] | None = None,
                 label: Callable[[Path], str] = lambda p: p.parent.name) -> None:
        spec = make_spec(adapt=False)
        library, _ = cached_library(folder, spec)
        with Cache(cache_file(folder)) as cache:
            embedder = shared_embedder(spec)
            changed = adaptation.changed_vectors(library, adaptation.sample_hashes(library.hashes, len(library)),
                                                 cache, lambda inputs: embed_inputs(embedder, inputs),
                                                 lambda *_: None, lambda: False, 1 << 30)
        self.name, self.vectors = name, library.vectors
        # An image whose copy could not be made pairs with a row of NaN, which the fit leaves out.
        missing = np.full(library.vectors.shape[1], np.nan, dtype=np.float32)
        self.changed = np.stack([changed.get(h, missing) for h in library.hashes])
        self.codes = np.unique([label(p) for p in library.paths], return_inverse=True)[1]
        self.queries = np.arange(len(library)) if queries is None else queries(library.paths)

    def precision(self, vectors: np.ndarray) -> np.ndarray:
        """P@10 of each query, plain cosine."""
        unit = unit_rows(vectors)
        similarity = unit[self.queries] @ unit.T
        similarity[np.arange(len(self.queries)), self.queries] = -np.inf
        nearest = np.argsort(-similarity, axis=1, kind="stable")[:, :K]
        hits = self.codes[nearest] == self.codes[self.queries][:, None]
        return np.asarray(ranking_scores(hits, np.full(len(self.queries), K), K)[0])


def photo_rows(photos: bool) -> Callable[[list[Path]], np.ndarray]:
    """The query rows of the objects' folder: its object photos, or its flat swatches."""
    return lambda paths: objects_queries(paths)["photos" if photos else "swatches"]


def sampled(size: int, exponent: float = adaptation.EXPONENT, shrink: float = adaptation.SHRINK) -> Fit:
    """The product's fit on the ``size`` images with the smallest hashes' stand-in: a seeded random sample."""
    def fit(vectors, originals, changed, rng):
        rows = rng.permutation(len(originals))[:size]
        return adaptation.fit_projection(vectors, originals[rows], changed[rows], exponent, shrink)
    return fit


VARIANTS: dict[str, Fit] = {
    **{f"exponent {e}, shrink {s}, every image": sampled(1 << 30, e, s)
       for e in (0.5, 1.0) for s in (0.05, 0.2, 1.0)},
    **{f"exponent 0.5, shrink 0.2, {n} images (the default: 256)": sampled(n) for n in (64, 128, 256)},
    "centring alone": lambda v, o, c, rng: Projection(v.mean(axis=0), np.zeros((v.shape[1], 0)), np.zeros(0), 1.0),
    "control: pairs of unrelated images": lambda v, o, c, rng: adaptation.fit_projection(
        v, o, o[rng.permutation(len(o))]),
}


def cost(args: argparse.Namespace) -> int:
    """Seconds of the scan (embed_folder on a fresh cache) and of adapting to the folder after it, per folder,
    taking turns over ``--rounds``; the ratio is taken within each round."""
    report = Report("adapt-cost", "The cost of adapting to the folder (`bench/adapt.py --cost`)", args)
    spec = make_spec()
    folders = {**default_sets(), "samples10000": render_folder(10_000)}
    shared_embedder(spec.unadapted)  # loaded once, before any timing
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in folders}
    images: dict[str, int] = {}
    for _ in range(args.rounds):
        for name, folder in folders.items():
            with tempfile.TemporaryDirectory() as tmp, Cache(Path(tmp) / "c.sqlite") as cache:
                scan = embed_folder(folder, spec, cache, make_embedder=lambda: shared_embedder(spec.unadapted))
                network = Library(scan.folder, spec.unadapted, scan.paths, scan.hashes,
                                  cache.vectors(spec.unadapted.id, scan.hashes))
                started = time.perf_counter()
                adaptation.adapt_library(network, spec, cache)
                times[name].append((scan.seconds, time.perf_counter() - started))
                images[name] = len(scan.paths)
            print(f"# {name}: scan {scan.seconds:.1f} s, adapting {times[name][-1][1]:.1f} s", flush=True)
    report.print("| folder | images | scan s | adapting s | adapting / scan, median (range) | ms per image added |")
    report.print("|---|---|---|---|---|---|")
    for name, measured in times.items():
        ratios = [adapt / scan for scan, adapt in measured]
        adapt_s = statistics.median(m[1] for m in measured)
        report.print(f"| {name} | {images[name]} | {statistics.median(m[0] for m in measured):.1f} | {adapt_s:.1f} | "
                     f"{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f}) | "
                     f"{1000 * adapt_s / images[name]:.1f} |")
    report.write()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cost", action="store_true", help="instead: adapting's time beside the scan's")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of --cost")
    add_arguments(parser)
    args = parser.parse_args()
    if args.cost:
        return cost(args)
    report = Report("adapt", "Adapting to the folder (`bench/adapt.py`)", args)
    objects = build_objects_set(OUT / "objects")
    sets = [Labelled(name, folder) for name, folder in default_sets().items()]
    sets += [Labelled("swatches", objects, photo_rows(False), family_of),
             Labelled("photos", objects, photo_rows(True), family_of)]
    base = {s.name: s.precision(s.vectors) for s in sets}
    report.print("| variant | " + " | ".join(s.name for s in sets) + " |")
    report.print("|---|" + "---|" * len(sets))
    report.print("| the network's vectors | " + " | ".join(f"{base[s.name].mean():.3f}" for s in sets) + " |")

    def row(name: str, projected: dict[str, np.ndarray]) -> None:
        cells = []
        for s in sets:
            change = s.precision(projected[s.name]) - base[s.name]
            cells.append(f"{base[s.name].mean() + change.mean():.3f} ({change.mean():+.3f} ± "
                         f"{change.std(ddof=1) / np.sqrt(len(change)):.3f})")
        report.print(f"| {name} | " + " | ".join(cells) + " |")

    for name, fit in VARIANTS.items():
        rng = np.random.default_rng(0)
        row(name, {s.name: fit(s.vectors, s.vectors, s.changed, rng).apply(s.vectors) for s in sets})
    # One projection for every folder: fitted on the other sets' pairs, which share no image with the set,
    # and centred on the set's own mean (centring alone gains the garments), so only Sw comes from elsewhere.
    projected = {}
    for s in sets:
        others = [o for o in sets if o.name != s.name and not {o.name, s.name} <= {"swatches", "photos"}]
        projection = adaptation.fit_projection(np.concatenate([o.vectors for o in others]),
                                               np.concatenate([o.vectors for o in others]),
                                               np.concatenate([o.changed for o in others]))
        own = replace(projection, mean=s.vectors.mean(axis=0, dtype=np.float64))
        projected[s.name] = own.apply(s.vectors)
    row("Sw fitted on the other sets' pairs, centred on the set's own mean", projected)
    report.write()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
