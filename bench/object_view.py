"""The centre view inside the object, against the centre region it replaced (issue 17, item 2).

An image that fits one view is also seen closer, through a second view whose descriptor is added to the
whole view's. Up to 2026-12-05 that view was the image's centre region (75 % of each side) for every image;
now a photo of an object is seen through the largest square inside the object, grown to at least half the
short side (io/preprocess.py ``object_square``), and only an image without an object to tell through its
centre region. This script embeds every image of five sets once per candidate second view with the default
network (the product's exported taps and pooling, not adapted, so the views alone differ) and prints
find-similar P@10 (plain cosine), each change against the centre region with its standard error over the
queries, paired; then "find the same texture flat" (each garment among dtd10's photos, its own source left
out; each object photo among the flat swatches alone) and what finding the square costs per image.

    .venv/bin/python bench/object_view.py [--data ../shared/data/dtd10]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
from regions import flat_matches, image_files, scores, sets_to_score
from report import Report, add_arguments

from organizer.embedding import create_embedder, make_spec
from organizer.embedding.torchless import image_descriptors
from organizer.io import images, preprocess

HERE = Path(__file__).resolve().parent
BATCH = 32


def inside_object(least_view: float = preprocess.OBJECT_VIEW_MIN, share: float = preprocess.CENTRE_VIEW) -> Callable:
    return lambda image: preprocess.object_square(image, least_view) or preprocess.centre_region(image, share)


#: name → the second view's square of an image (None: no second view); the second row is the one before.
SECOND_VIEWS: dict[str, Callable | None] = {
    "whole view only": None,
    "centre region of 75 % for every image (the default before)":
        lambda image: preprocess.centre_region(image, 0.75),
    "inside the object, at least half the short side; else 75 % (the default)": inside_object(),
    "inside the object, at least half the short side; else 60 %": inside_object(share=0.6),
    "inside the object, at least half the short side; else 50 %": inside_object(share=0.5),
    "inside the object, the object's square alone; else 75 %": inside_object(least_view=0.0),
    "inside the object, at least 0.6 of the short side; else 75 %": inside_object(least_view=0.6),
}
BEFORE = list(SECOND_VIEWS)[1]


def embed_set(embedder, paths: list[Path]) -> tuple[dict[str, np.ndarray], float, int]:
    """Each candidate's vectors, the seconds spent finding the object's square, and how many images had one."""
    spec = embedder.spec
    whole, owners, closer = [], [], {name: [] for name, view in SECOND_VIEWS.items() if view}
    seconds, found = 0.0, 0
    for start in range(0, len(paths), BATCH):
        loaded = [images.load(p, spec.largest_input) for p in paths[start:start + BATCH]]
        views = [preprocess.make_views(image, spec.size, spec.policy) for image in loaded]
        whole.append(embedder.embed(np.concatenate(views), np.arange(sum(map(len, views))), sum(map(len, views))))
        owners.extend(start + i for i, v in enumerate(views) for _ in range(len(v)))
        started = time.perf_counter()
        found += sum(preprocess.object_square(image) is not None for image in loaded)
        seconds += time.perf_counter() - started
        for name, view in SECOND_VIEWS.items():
            if view:
                squares = np.stack([preprocess._square(image, view(image), spec.size) for image in loaded])
                closer[name].append(embedder.embed(squares, np.arange(len(loaded)), len(loaded)))
    n = len(paths)
    owners = np.array(owners)
    tiled = np.bincount(owners, minlength=n) > 1  # strips seen tile by tile get no second view
    base = image_descriptors(np.concatenate(whole), owners, n)
    vectors = {"whole view only": base}
    for name, parts in closer.items():
        second = np.concatenate(parts)
        second[tiled] = 0
        vectors[name] = base + second
    return vectors, seconds, found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "dtd10")
    add_arguments(parser)
    args = parser.parse_args()
    report = Report("object-view", "The centre view inside the object (`bench/object_view.py`)", args)
    embedder = create_embedder(make_spec(centre_view=False, adapt=False))
    table: dict[str, dict[str, np.ndarray]] = {}
    vectors, paths, found, seconds, total = {}, {}, {}, 0.0, 0
    for set_name, folder in sets_to_score(args.data).items():
        files = image_files(folder)
        vectors[set_name], spent, found[set_name] = embed_set(embedder, files)
        paths[set_name] = [str(p) for p in files]
        seconds, total = seconds + spent, total + len(files)
        for name, found_vectors in vectors[set_name].items():
            table.setdefault(name, {}).update(scores(set_name, found_vectors, paths[set_name]))
        print(f"# {set_name}: {len(files)} images, {found[set_name]} with an object", file=sys.stderr, flush=True)
    columns = ("dtd10", "garments", "charts", "swatches", "photos")
    report.print(f"Find-similar P@10, plain cosine, not adapted, runtime {embedder.runtime.describe()}. Each cell: "
                 "the score, and its change from the centre region ± the standard error of that paired change "
                 "over the queries.\n")
    report.print(f"| second view | {' | '.join(columns)} | garments → dtd10 | photos → swatches |")
    report.print(f"|---|{'---|' * (len(columns) + 2)}")
    for name, row in table.items():
        cells = [f"{row[c].mean():.3f} ({(row[c] - table[BEFORE][c]).mean():+.3f} ± "
                 f"{(row[c] - table[BEFORE][c]).std() / len(row[c]) ** 0.5:.3f})" for c in columns]
        found_flat = flat_matches({set_name: by_name[name] for set_name, by_name in vectors.items()}, paths)
        cross = " | ".join(f"{value:.3f}" for value in found_flat)
        report.print(f"| {name} | {' | '.join(cells)} | {cross} |")
    report.print(f"\nImages with an object to look inside: {', '.join(f'{s} {n}' for s, n in found.items())}. "
                 f"Finding the square took {1000 * seconds / total:.2f} ms per image ({total:,} images), in the "
                 "decoding processes, beside the network.")
    report.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
