"""Motif versus colourway: structure mode finds a motif in other colours, palette mode a colourway on other motifs."""

import numpy as np
import pytest

from organizer.embedding import create_embedder, make_spec
from organizer.embedding.palette import Palette, dominant_colours, palette_distance, rgb_to_lab, signature
from organizer.io.preprocess import network_inputs
from organizer.samples import PALETTES, SampleSpec, render

MOTIFS = [SampleSpec("normal-chevron", 0, 1), SampleSpec("normal-diamonds", 0, 2), SampleSpec("alpha-hearts", 0, 0),
          SampleSpec("alpha-letters", 0, 3), SampleSpec("normal-zigzag", 0, 0)]
# Light and dark grounds both, so structure mode must match a motif across a polarity swap.
COLOURWAYS = [0, 2, 3, 5]


@pytest.fixture(scope="module")
def recoloured():
    """Every motif in every colourway, with its motif and colourway labels."""
    images, motifs, colourways = [], [], []
    for m, spec in enumerate(MOTIFS):
        for colourway in COLOURWAYS:
            images.append(render(spec, (192, 192), palette=colourway))
            motifs.append(m)
            colourways.append(colourway)
    return images, np.array(motifs), np.array(colourways)


def embed(mode: str, images) -> np.ndarray:
    spec = make_spec(mode=mode)
    embedder = create_embedder(spec)
    views = np.stack([network_inputs(image, spec.size, spec.policy)[spec.size][0] for image in images])
    return embedder.embed(views, np.arange(len(images)), len(images))


def precision_at(vectors: np.ndarray, labels: np.ndarray, k: int) -> float:
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    nearest = np.argsort(-similarity, axis=1)[:, :k]
    return float((labels[nearest] == labels[:, None]).mean())


def test_structure_mode_ranks_a_motif_with_itself_in_other_colourways(recoloured):
    images, motifs, _ = recoloured
    others = len(COLOURWAYS) - 1
    structure = precision_at(embed("structure", images), motifs, others)
    content = precision_at(embed("content", images), motifs, others)
    # Object pooling lets content mode find most of them too (11 in 12 here); structure
    # mode must find them all, polarity swaps included.
    assert structure >= 0.95
    assert structure > content


def test_palette_mode_ranks_a_colourway_with_itself_on_other_motifs(recoloured):
    images, motifs, colourways = recoloured
    vectors = embed("palette", images)
    # Chance is 4 in 19; an alpha chart shows three of a colourway's colours, a normal one up to ten.
    assert precision_at(vectors, colourways, len(MOTIFS) - 1) >= 0.7
    assert precision_at(vectors, motifs, len(COLOURWAYS) - 1) < 0.3


def test_the_palette_holds_the_colourways_colours():
    colourway = PALETTES[0]
    image = np.asarray(render(SampleSpec("normal-stripes", 0, 0), (256, 256)))
    palette = dominant_colours(image)
    assert palette.shares.sum() == pytest.approx(1.0)
    assert list(palette.shares) == sorted(palette.shares, reverse=True)
    # The outline colour is the largest field; each string colour found lies near one of the colourway's.
    known = rgb_to_lab(np.array((colourway.dark, *colourway.colours), np.uint8))
    gaps = np.sqrt(((palette.colours[:, None] - known[None]) ** 2).sum(-1)).min(axis=1)
    assert np.median(gaps) < 15


def test_the_earth_movers_distance_ignores_order_and_grows_with_the_colour_shift():
    red, blue = [53.2, 80.1, 67.2], [32.3, 79.2, -107.9]
    first = Palette(np.array([red, blue]), np.array([0.7, 0.3]))
    reordered = Palette(np.array([blue, red]), np.array([0.3, 0.7]))
    assert palette_distance(first, reordered) == pytest.approx(0, abs=1e-9)
    assert np.dot(signature(first), signature(reordered)) == pytest.approx(1.0)
    near = Palette(np.array([[55.0, 78.0, 65.0], blue]), np.array([0.7, 0.3]))
    far = Palette(np.array([[55.0, -60.0, 50.0], blue]), np.array([0.7, 0.3]))
    assert 0 < palette_distance(first, near) < palette_distance(first, far)
    # All of red's weight moves to green.
    gap = np.linalg.norm(np.array(red) - far.colours[0])
    assert palette_distance(first, far) == pytest.approx(first.weights[0] * gap, rel=1e-6)


def test_a_flat_image_has_a_one_colour_palette():
    palette = dominant_colours(np.full((64, 64, 3), (200, 30, 40), np.uint8))
    assert len(palette.colours) == 1
    assert palette.as_dict()["hex"] == ["#c81e28"]


def test_modes_enter_the_id_and_palette_needs_no_network():
    assert "/structure-" in make_spec(mode="structure").id
    assert make_spec(mode="palette").id.startswith("v3/palette/")
    assert not make_spec(mode="palette").uses_cnn
    assert make_spec(mode="structure").uses_cnn


@pytest.mark.parametrize("mode", ["structure", "palette"])
def test_the_cli_scans_in_each_mode(tmp_path, capsys, mode):
    import json

    from organizer.cli import main

    for n, colourway in enumerate(COLOURWAYS[:3]):
        render(MOTIFS[0], (96, 96), palette=colourway).save(tmp_path / f"{n}.png")
    assert main(["scan", str(tmp_path), "--mode", mode, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["images"] == 3 and f"{mode}" in summary["extractor"]
