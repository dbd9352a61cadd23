"""Regional poolings and the centre-region view of the default extractor, on five sets (issue 17).

The default network (lite0 at its default taps) runs once per view on the default runtime
(OpenVINO bf16 where the CPU has it) through the product's own embedder, over every image's
views as the product cuts them, and once more over each image's centre region (60 % and
75 % of each side, its centre square). The tapped maps are kept in bench/out/regions/<set>.pt,
so pooling candidates cost no forward pass once a set has been run. Each candidate is then
pooled from the same maps:

  object        the default: a centre prior times how unlike the frame's border each
                position looks (embedding/cnn.py, object_saliency);
  R-MAC         regions of a 1x1, 2x2 and 3x3 overlapping grid (Tolias et al. 2016), each
                average-pooled and L2-normalised, summed, normalised again; plain, with the
                object weights inside each region, or each region weighted by its saliency;
  best region   the whole map's object pooling joined with the region the saliency says is
                most object-like (summed, or side by side);
  GeM           a generalised mean (p = 3) with the object weights, on the positive part of
                the maps: a third kind of pooling from the same maps;
  centre view   the centre region's own descriptor added to the whole view's (a second
                forward pass): at 60 % or 75 %, at full or half weight, for every image or
                only those seen in one view (tiled strips get none).

Prints find-similar P@10 (plain cosine) per set: dtd10 (every image), garments and charts
(bench/devsets.py), and bench/quality.py's swatches and photos (each queried against
everything), with the standard error of each change; then the product's cost of the centre
view, embed_folder end to end on dtd10 and garments with and without it, taking turns.

    .venv/bin/python bench/regions.py [--data ../shared/data/dtd10] [--refresh] [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from common import OUT
from devsets import build_charts, build_garments
from quality import build_objects_set, objects_queries
from report import Report, add_arguments

from organizer.embedding import create_embedder, make_spec
from organizer.embedding.cnn import (OBJECT_FLOOR, OBJECT_POWER, _l2, _pooling_weights, image_descriptors,
                                     object_saliency, pool_maps)
from organizer.embedding.embed import embed_folder
from organizer.io import images, preprocess
from organizer.samples import family_of
from organizer.storage.cache import Cache

HERE = Path(__file__).resolve().parent
REGION = 0.6
BATCH = 32
#: R-MAC's grid: at level l, l×l square regions of 2/(l+1) of the side, evenly spaced.
LEVELS = (1, 2, 3)


def centre_region(image, fraction: float = REGION):
    width, height = image.size
    left, top = width * (1 - fraction) / 2, height * (1 - fraction) / 2
    return image.crop((left, top, width - left, height - top))


def image_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


def extract(embedder, paths: list[Path], fractions: tuple[float, ...]) -> dict:
    """Each tap's maps for every view (float16), the views' owners, and the seconds per step."""
    spec = embedder.spec
    mean, std = np.array(embedder.backbone.mean), np.array(embedder.backbone.std)
    run = embedder.exported_taps or (lambda x: [m.float().numpy() for m in embedder.tapnet(torch.from_numpy(x))])

    def taps(views: np.ndarray) -> list[np.ndarray]:
        pixels = ((views.transpose(0, 3, 1, 2).astype(np.float32) - mean[:, None, None]) / std[:, None, None])
        return run(np.ascontiguousarray(pixels, dtype=np.float32))

    whole, owners = [], []
    centre: dict[float, list] = {fraction: [] for fraction in fractions}
    seconds = dict.fromkeys(("decode and views", "network, whole view", "centre view", "network, centre view"), 0.0)
    for start in range(0, len(paths), BATCH):
        t0 = time.perf_counter()
        loaded = [images.load(p, spec.largest_input) for p in paths[start:start + BATCH]]
        views = [preprocess.make_views(im, spec.size, spec.policy) for im in loaded]
        t1 = time.perf_counter()
        whole.append([torch.from_numpy(m).half() for m in taps(np.concatenate(views))])
        owners.extend(start + i for i, v in enumerate(views) for _ in range(len(v)))
        t2 = time.perf_counter()
        seconds["decode and views"] += t1 - t0
        seconds["network, whole view"] += t2 - t1
        for fraction in fractions:
            t2 = time.perf_counter()
            zoomed = np.stack([preprocess.make_views(centre_region(im, fraction), spec.size, "crop")[0]
                               for im in loaded])
            t3 = time.perf_counter()
            centre[fraction].append([torch.from_numpy(m).half() for m in taps(zoomed)])
            t4 = time.perf_counter()
            seconds["centre view"] += (t3 - t2) / len(fractions)
            seconds["network, centre view"] += (t4 - t3) / len(fractions)
    return {"paths": [str(p) for p in paths], "owners": np.array(owners),
            "whole": [torch.cat(parts) for parts in zip(*whole)],
            "centre": {f: [torch.cat(parts) for parts in zip(*chunks)] for f, chunks in centre.items()},
            "seconds": seconds}


def region_masks(side: int) -> torch.Tensor:
    """(R, side·side) indicator rows of R-MAC's regions on a side×side map."""
    rows = []
    for level in LEVELS:
        width = 2 / (level + 1)
        starts = np.linspace(0, 1 - width, level) if level > 1 else [0.0]
        for top in starts:
            for left in starts:
                mask = torch.zeros(side, side)
                y0, x0 = round(top * side), round(left * side)
                y1, x1 = max(y0 + 1, round((top + width) * side)), max(x0 + 1, round((left + width) * side))
                mask[y0:y1, x0:x1] = 1
                rows.append(mask.flatten())
    return torch.stack(rows)


def _region_means(fmap: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """(N, R, C): each region's mean of ``fmap``, weighted by ``weights`` (N, P) if given."""
    masks = region_masks(fmap.shape[2])
    flat = fmap.flatten(2)
    within = masks[None] * (weights[:, None] if weights is not None else 1)
    within = within / within.sum(2, keepdim=True).clamp_min(1e-12)
    return torch.einsum("ncp,nrp->nrc", flat, within)


def _object_weights(fmap: torch.Tensor, saliency: torch.Tensor) -> torch.Tensor:
    return _pooling_weights(fmap, "object", saliency)


def _region_saliency(fmap: torch.Tensor, saliency: torch.Tensor) -> torch.Tensor:
    """(N, R): each region's mean object weight (floor + saliency^power), resized to ``fmap``."""
    resized = torch.nn.functional.interpolate(saliency[:, None], fmap.shape[2:], mode="bilinear")[:, 0]
    weights = OBJECT_FLOOR + resized.flatten(1) ** OBJECT_POWER
    masks = region_masks(fmap.shape[2])
    return weights @ (masks / masks.sum(1, keepdim=True)).T


def _joined(parts: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat([_l2(p) for p in parts], dim=1) / len(parts) ** 0.5


def rmac(maps, saliency, inside: str = "avg", weigh: bool = False) -> torch.Tensor:
    parts = []
    for fmap in maps:
        regions = _l2_last(_region_means(fmap, _object_weights(fmap, saliency) if inside == "object" else None))
        if weigh:
            regions = regions * _region_saliency(fmap, saliency)[..., None]
        parts.append(regions.sum(1))
    return _joined(parts)


def _l2_last(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(x, dim=-1, eps=1e-12)


def best_region(maps, saliency, how: str) -> torch.Tensor:
    """The object pooling with the most object-like sub-region's mean (not the whole map)."""
    deepest = maps[-1]
    scores = _region_saliency(deepest, saliency)
    scores[:, 0] = -1  # the whole map is the object pooling's own
    chosen = scores.argmax(1)
    whole = pool_maps(maps, "content", "object")
    region = _joined([_region_means(f, None)[torch.arange(len(f)), chosen] for f in maps])
    return torch.cat([whole, region], 1) / 2**0.5 if how == "concat" else whole + region


def gem(maps, saliency, p: float = 3.0) -> torch.Tensor:
    parts = []
    for fmap in maps:
        weights = _object_weights(fmap, saliency)
        powered = fmap.clamp_min(0).flatten(2) ** p
        parts.append(torch.einsum("ncp,np->nc", powered, weights).clamp_min(1e-12) ** (1 / p))
    return _joined(parts)


#: name → pooling of one view's maps, given the deepest tap's saliency.
POOLINGS: dict[str, Callable] = {
    "object (default)": lambda maps, sal: pool_maps(maps, "content", "object"),
    "R-MAC 1+2x2+3x3, average in each region": lambda maps, sal: rmac(maps, sal),
    "R-MAC, object weights in each region": lambda maps, sal: rmac(maps, sal, "object"),
    "R-MAC, regions weighted by saliency": lambda maps, sal: rmac(maps, sal, "avg", True),
    "R-MAC, object weights in and across regions": lambda maps, sal: rmac(maps, sal, "object", True),
    "object + best region, summed": lambda maps, sal: best_region(maps, sal, "sum"),
    "object + best region, side by side": lambda maps, sal: best_region(maps, sal, "concat"),
    "object + R-MAC (saliency-weighted), summed": lambda maps, sal: _l2(pool_maps(maps, "content", "object"))
    + _l2(rmac(maps, sal, "avg", True)),
    "GeM p=3, object weights": gem,
}


def pooled(maps: list[torch.Tensor], how: Callable) -> torch.Tensor:
    out = []
    for start in range(0, len(maps[0]), 256):
        chunk = [m[start:start + 256].float() for m in maps]
        out.append(how(chunk, object_saliency(chunk[-1])))
    return torch.cat(out)


def vectors_of(data: dict, how: Callable, centre: tuple[float, float, bool] | None) -> tuple[np.ndarray, float]:
    """Each image's vector under ``how``, and the pooling's seconds.

    ``centre`` is (the region's share of each side, its view's weight, whether images cut
    into tiles get it too), or None for the whole views alone.
    """
    started = time.perf_counter()
    n = len(data["paths"])
    vectors = image_descriptors(pooled(data["whole"], how), data["owners"], n)
    if centre is not None:
        fraction, weight, tiled_too = centre
        zoomed = image_descriptors(pooled(data["centre"][fraction], how), np.arange(n), n)
        if not tiled_too:
            zoomed[np.bincount(data["owners"], minlength=n) > 1] = 0
        vectors = vectors + weight * zoomed
    return vectors, time.perf_counter() - started


def sets_to_score(data: Path) -> dict[str, Path]:
    devsets = OUT / "devsets"
    if not (devsets / "garments").is_dir():
        build_garments(data, devsets / "garments")
    if not (devsets / "charts").is_dir():
        build_charts(devsets / "charts")
    return {"dtd10": data, "garments": devsets / "garments", "charts": devsets / "charts",
            "objects": build_objects_set(OUT / "objects")}


def precisions(vectors: np.ndarray, labels: list[str], queries: np.ndarray, k: int = 10) -> np.ndarray:
    """Each query's share of its k nearest (cosine, itself left out) that carry its label."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = unit[queries] @ unit.T
    similarity[np.arange(len(queries)), queries] = -np.inf
    nearest = np.argpartition(-similarity, k, axis=1)[:, :k]
    labels = np.asarray(labels)
    return (labels[nearest] == labels[queries, None]).mean(1)


def scores(name: str, vectors: np.ndarray, paths: list[str]) -> dict[str, np.ndarray]:
    """Per-query P@10 of each set the folder holds (the objects folder holds two query sets)."""
    if name != "objects":
        return {name: precisions(vectors, [Path(p).parent.name for p in paths], np.arange(len(paths)))}
    families = [family_of(p) for p in paths]
    return {name: precisions(vectors, families, rows) for name, rows in objects_queries(paths).items()}


#: (pooling, centre view as vectors_of takes it) for each row; the first is the default.
CANDIDATES: dict[str, tuple[str, tuple[float, float, bool] | None]] = {
    **{label: (label, None) for label in POOLINGS},
    **{f"{label} + centre view": (label, (REGION, 1.0, True)) for label in POOLINGS},
    "object + centre view, not for tiled images": ("object (default)", (REGION, 1.0, False)),
    "object + centre view at half weight": ("object (default)", (REGION, 0.5, True)),
    "object + centre view at half weight, not for tiled images": ("object (default)", (REGION, 0.5, False)),
    "object + centre view of 75 %": ("object (default)", (0.75, 1.0, True)),
    "object + centre view of 75 %, not for tiled images": ("object (default)", (0.75, 1.0, False)),
    "object + centre view of 75 % at half weight": ("object (default)", (0.75, 0.5, True)),
}
FRACTIONS = (REGION, 0.75)


def cross_scores(kept: dict[str, dict], how: Callable, centre) -> tuple[float, float]:
    """:func:`flat_matches` of the sets' vectors pooled by ``how``, with ``centre`` as :func:`vectors_of` takes it."""
    vectors = {name: vectors_of(kept[name], how, centre)[0] for name in ("dtd10", "garments", "objects")}
    return flat_matches(vectors, {name: kept[name]["paths"] for name in vectors})


def flat_matches(vectors: dict[str, np.ndarray], paths: dict[str, list[str]]) -> tuple[float, float]:
    """P@10 of "find the same texture flat": each garment against dtd10's photos (its own
    source photo left out), each object photo against the flat swatches alone."""
    vectors = {name: v / np.linalg.norm(v, axis=1, keepdims=True) for name, v in vectors.items()}
    flat, garments = paths["dtd10"], paths["garments"]
    row_of = {Path(p).stem: row for row, p in enumerate(flat)}
    similarity = vectors["garments"] @ vectors["dtd10"].T
    for row, path in enumerate(garments):
        similarity[row, row_of[Path(path).stem.removeprefix("garment_")]] = -np.inf
    on_garments = _precision(similarity, [Path(p).parent.name for p in garments], [Path(p).parent.name for p in flat])
    families = np.array([family_of(p) for p in paths["objects"]])
    photos = np.array(["__photo__" in Path(p).name for p in paths["objects"]])
    objects = vectors["objects"]
    on_photos = _precision(objects[photos] @ objects[~photos].T, families[photos], families[~photos])
    return on_garments, on_photos


def _precision(similarity: np.ndarray, query_labels, gallery_labels, k: int = 10) -> float:
    nearest = np.argpartition(-similarity, k, axis=1)[:, :k]
    return float((np.asarray(gallery_labels)[nearest] == np.asarray(query_labels)[:, None]).mean())


def end_to_end_cost(folder: Path, rounds: int) -> list[str]:
    """Table rows: embed_folder's img/s on ``folder`` (fresh cache, default runtime) with the
    whole view alone and with the centre view, taking turns so the machine's load falls on both."""
    specs = {"whole view only": make_spec(centre_view=False), "with the centre view": make_spec(centre_view=True)}
    embedders = {name: create_embedder(spec) for name, spec in specs.items()}
    rates: dict[str, list[float]] = {name: [] for name in specs}
    for _ in range(rounds):
        for name, spec in specs.items():
            with tempfile.TemporaryDirectory() as tmp, Cache(Path(tmp) / "bench.sqlite") as cache:
                report = embed_folder(folder, spec, cache, make_embedder=lambda name=name: embedders[name])
                rates[name].append(report.embedded / report.seconds)
    base = np.median(rates["whole view only"])
    return [f"| {folder.name} | {name} | {' / '.join(f'{r:.1f}' for r in found)} | {np.median(found):.1f} | "
            f"{base / np.median(found):.2f} |" for name, found in rates.items()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "dtd10")
    parser.add_argument("--refresh", action="store_true", help="run the network again even where maps are kept")
    parser.add_argument("--rounds", type=int, default=3,
                        help="end-to-end embeddings of dtd10 with and without the centre view (0: skip)")
    add_arguments(parser)
    args = parser.parse_args()
    report = Report("regions", "Regional views of the default extractor (`bench/regions.py`)", args)
    spec = make_spec(centre_view=False)
    embedder = create_embedder(spec)
    store = OUT / "regions"
    store.mkdir(parents=True, exist_ok=True)
    table: dict[str, dict[str, np.ndarray]] = {}
    costs: dict[str, float] = {}
    images_total = 0
    step_seconds: dict[str, float] = {}
    kept_sets: dict[str, dict] = {}
    for name, folder in sets_to_score(args.data).items():
        kept = store / f"{name}.pt"
        data = torch.load(kept, weights_only=False) if kept.exists() and not args.refresh else {}
        if data.get("extractor") != spec.id:  # maps kept under another default are not this one's
            data = {**extract(embedder, image_files(folder), FRACTIONS), "extractor": spec.id}
            torch.save(data, kept)
        images_total += len(data["paths"])
        for step, seconds in data["seconds"].items():
            step_seconds[step] = step_seconds.get(step, 0.0) + seconds
        for key, (label, centre) in CANDIDATES.items():
            vectors, seconds = vectors_of(data, POOLINGS[label], centre)
            table.setdefault(key, {}).update(scores(name, vectors, data["paths"]))
            costs[key] = costs.get(key, 0.0) + seconds
        kept_sets[name] = data
        print(f"# {name}: {len(data['paths'])} images", file=sys.stderr, flush=True)
    columns = ("dtd10", "garments", "charts", "swatches", "photos")
    base = table[next(iter(CANDIDATES))]
    report.print(f"Find-similar P@10, plain cosine, runtime {embedder.runtime.describe()}. Each cell: the score, "
                 "and its change from the default ± the standard error of that paired change over the queries.\n")
    report.print(f"| pooling | {' | '.join(columns)} | pooling ms / image |")
    report.print(f"|---|{'---|' * (len(columns) + 1)}")
    for key, row in table.items():
        cells = []
        for c in columns:
            change = row[c] - base[c]
            cells.append(f"{row[c].mean():.3f} ({change.mean():+.3f} ± {change.std() / len(change) ** 0.5:.3f})")
        report.print(f"| {key} | {' | '.join(cells)} | {1000 * costs[key] / images_total:.2f} |")
    report.print("\nFinding the same texture flat, P@10: each garment among dtd10's photos (its own source "
                 "photo left out), each object photo among the flat swatches alone:\n")
    report.print("| pooling | garments → dtd10 | photos → swatches |")
    report.print("|---|---|---|")
    for key, (label, centre) in CANDIDATES.items():
        if label == "object (default)":
            report.print(f"| {key} | {' | '.join(f'{v:.3f}' for v in cross_scores(kept_sets, POOLINGS[label], centre))} |")
    report.print(f"\nThe network's steps over {images_total:,} images, ms per image (maps kept from the run "
                 "that computed them):\n")
    report.print("| " + " | ".join(step_seconds) + " |")
    report.print("|" + "---|" * len(step_seconds))
    report.print("| " + " | ".join(f"{1000 * s / images_total:.2f}" for s in step_seconds.values()) + " |")
    if args.rounds:
        report.print(f"\nEnd to end (`embed_folder` on a fresh cache, {embedder.runtime.describe()}), "
                     f"{args.rounds} rounds taking turns:\n")
        report.print("| folder | views | img/s each round | median | time per image over the whole view's |")
        report.print("|---|---|---|---|---|")
        for folder in (args.data, OUT / "devsets" / "garments"):
            for row in end_to_end_cost(folder, args.rounds):
                report.print(row)
    report.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
