"""Pooling, tap and region variants of lite0, from one forward pass per view.

The full pipeline (bench/sorting.py, bench/quality.py) embeds a folder once per
configuration. Pooling and tap choices only change what is done with the feature maps, so
this script taps every candidate block once and pools the maps every way, which makes a
whole table cost one embedding. It reads each image's first view only (a strip's first
tile), so its figures differ slightly from the pipeline's; it ranks variants, and the
winner is then measured through the pipeline.

    .venv/bin/python bench/pooling.py [--every-dtd N] [--region 0.6]

Prints find-similar P@10 (plain cosine) on dtd10 (every Nth photo), and on the
development sets of bench/devsets.py when they exist.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from common import OUT

from organizer.analysis.evaluate import retrieval_metrics
from organizer.embedding import backbones
from organizer.embedding.cnn import TapNet, pool_maps
from organizer.io import images, preprocess

HERE = Path(__file__).resolve().parent
TAPS = ("_blocks.10", "_blocks.11", "_blocks.12", "_blocks.14", "_blocks.15")
#: (name, taps by block number, pooling, with the centre-region view)
VARIANTS = (
    ("blocks 10+14, centre prior", (10, 14), "centre", False),
    ("blocks 10+11+14, object pooling (the default's taps)", (10, 11, 14), "object", False),
    ("blocks 10+14, object pooling (the taps before block 11)", (10, 14), "object", False),
    ("blocks 10+14, plain average", (10, 14), "avg", False),
    ("blocks 12+15, object pooling", (12, 15), "object", False),
    ("blocks 10+15, object pooling", (10, 15), "object", False),
    ("blocks 12+14, object pooling", (12, 14), "object", False),
    ("blocks 14+15, object pooling", (14, 15), "object", False),
    ("blocks 10+14, centre prior + centre region", (10, 14), "centre", True),
    ("blocks 10+14, object pooling + centre region", (10, 14), "object", True),
)
BATCH = 32


def centre_region(image, fraction: float):
    width, height = image.size
    left, top = width * (1 - fraction) / 2, height * (1 - fraction) / 2
    return image.crop((left, top, width - left, height - top))


def labelled_files(root: Path, every: int) -> tuple[list[Path], list[str]]:
    paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[::every]
    return paths, [p.parent.name for p in paths]


def describe(net: TapNet, backbone, views: list[np.ndarray]) -> dict[str, torch.Tensor]:
    mean = torch.tensor(backbone.mean).view(1, 3, 1, 1)
    std = torch.tensor(backbone.std).view(1, 3, 1, 1)
    batch = (torch.from_numpy(np.stack(views)).permute(0, 3, 1, 2).float() - mean) / std
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        maps = net(batch.contiguous(memory_format=torch.channels_last))
    return {tap: fmap.float() for tap, fmap in zip(TAPS, maps)}


def score_set(net: TapNet, backbone, paths: list[Path], labels: list[str], region: float) -> dict[str, float]:
    size = backbone.input_size
    pooled: dict[str, list[torch.Tensor]] = {name: [] for name, *_ in VARIANTS}
    for start in range(0, len(paths), BATCH):
        loaded = [images.load(p, size) for p in paths[start:start + BATCH]]
        whole = describe(net, backbone, [preprocess.make_views(im, size, "auto")[0] for im in loaded])
        zoomed = describe(net, backbone, [preprocess.make_views(centre_region(im, region), size, "crop")[0]
                                          for im in loaded])
        for name, blocks, pooling, with_region in VARIANTS:
            taps = [f"_blocks.{b}" for b in blocks]
            vectors = pool_maps([whole[t] for t in taps], "content", pooling)
            if with_region:
                vectors = vectors + pool_maps([zoomed[t] for t in taps], "content", pooling)
            pooled[name].append(vectors)
    return {name: retrieval_metrics(torch.cat(v).numpy(), labels, k=10)["p_at_k"] for name, v in pooled.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "dtd10")
    parser.add_argument("--every-dtd", type=int, default=3, help="use every Nth dtd10 photo (default 3: 400)")
    parser.add_argument("--region", type=float, default=0.6, help="the centre region's share of each side")
    args = parser.parse_args()
    sets = {"dtd10": labelled_files(args.data, args.every_dtd)}
    for name in ("garments", "charts"):
        if (OUT / "devsets" / name).is_dir():
            sets[name] = labelled_files(OUT / "devsets" / name, 1)
    backbone = backbones.get("lite0")
    net = TapNet(backbones.build(backbone, "pretrained"), TAPS, backbone.input_size)
    scores = {name: score_set(net, backbone, *files, args.region) for name, files in sets.items()}
    print(f"| variant | {' | '.join(f'{name} ({len(files[0])})' for name, files in sets.items())} |")
    print(f"|---|{'---|' * len(sets)}")
    for name, *_ in VARIANTS:
        print(f"| {name} | {' | '.join(f'{scores[s][name]:.3f}' for s in sets)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
