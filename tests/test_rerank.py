"""Classic indices from the command line, and re-ranking find-similar's matches with them."""

import json
from pathlib import Path

import pytest
from PIL import Image

from organizer.cli import main
from organizer.io import images
from organizer.samples import SampleSpec, render
from organizer.search.compare import compare
from organizer.search.rerank import pool_size, rerank
from organizer.search.similarity import Match

CHEVRON = SampleSpec("normal-chevron", 0, 1)


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def pair(tmp_path) -> tuple[Path, Path, Path]:
    """A chart, the same chart shifted by two pixels, and another motif in the same colours."""
    chart = render(CHEVRON, (258, 258))
    paths = tmp_path / "chart.png", tmp_path / "shifted.png", tmp_path / "hearts.png"
    chart.crop((0, 0, 256, 256)).save(paths[0])
    chart.crop((2, 2, 258, 258)).save(paths[1])
    render(SampleSpec("alpha-hearts", 0, 1), (256, 256)).save(paths[2])
    return paths


@pytest.mark.parametrize("index", ["ssim", "cwssim", "mse", "sift", "emd"])
def test_compare_prints_the_score_and_its_direction(capsys, pair, index):
    result = _json(capsys, ["compare", str(pair[0]), str(pair[1]), "--index", index, "--json"])
    expected = compare(images.load(pair[0]), images.load(pair[1]), index).score
    assert result["index"] == index and result["score"] == pytest.approx(expected)
    assert result["higher_is_more_similar"] is (index not in ("mse", "emd"))
    assert main(["compare", str(pair[0]), str(pair[2]), "--index", index]) == 0
    assert capsys.readouterr().out.startswith(f"{index}: ")


def test_compare_reports_an_unreadable_image_as_an_error(capsys, pair, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    assert main(["compare", str(pair[0]), str(broken)]) == 2
    assert "error:" in capsys.readouterr().err


def test_rerank_orders_by_the_index_and_keeps_the_best_k(pair):
    chart, shifted, hearts = pair
    # The embedding's order puts the other motif first; CW-SSIM puts the shifted copy first.
    matches = [Match(hearts, 0.9), Match(shifted, 0.8)]
    ranked, skipped = rerank(chart, matches, "cwssim", k=1)
    assert [m.path for m in ranked] == [shifted] and not skipped
    assert ranked[0].score == pytest.approx(compare(images.load(chart), images.load(shifted), "cwssim").score)
    # A distance sorts the other way: lowest first.
    ranked, _ = rerank(chart, matches, "mse", k=2)
    assert [m.path for m in ranked] == [shifted, hearts]
    assert ranked[0].score < ranked[1].score


def test_rerank_leaves_out_a_candidate_it_cannot_read(pair, tmp_path):
    missing = tmp_path / "gone.png"
    ranked, skipped = rerank(pair[0], [Match(missing, 0.9), Match(pair[1], 0.8)], "ssim", k=5)
    assert [m.path for m in ranked] == [pair[1]]
    assert skipped[0][0] == missing and skipped[0][1]


def test_rerank_refuses_an_unknown_index(pair):
    with pytest.raises(ValueError, match="ssim"):
        rerank(pair[0], [], "nope", k=3)


def test_similar_reranks_by_an_index(capsys, tmp_path):
    # Ten charts; one is a 2-pixel shifted copy of the query, which SSIM must rank first.
    folder = tmp_path / "library"
    folder.mkdir()
    big = render(CHEVRON, (226, 226))
    big.crop((0, 0, 224, 224)).save(folder / "query.png")
    big.crop((2, 2, 226, 226)).save(folder / "shifted.png")
    for variant in range(8):
        render(SampleSpec("normal-chevron", 0, variant + 2), (224, 224)).save(folder / f"other{variant}.png")
    query = folder / "query.png"
    matches = _json(capsys, ["similar", str(folder), str(query), "-k", "3", "--rerank", "ssim", "--json",
                             "--mode", "colour"])
    assert len(matches) == 3 and Path(matches[0]["path"]).name == "shifted.png"
    scores = [m["score"] for m in matches]
    assert scores == sorted(scores, reverse=True)
    expected = compare(images.load(query), images.load(folder / "shifted.png"), "ssim").score
    assert scores[0] == pytest.approx(expected, abs=1e-6)  # the CLI prints six decimals


def test_the_pool_is_larger_than_k_only_for_an_index():
    assert pool_size(5, "ssim") > 5
    assert pool_size(5, "") == pool_size(5, "neighbourhood") == 5


def test_rerank_reads_odd_modes(tmp_path):
    grey = tmp_path / "grey.png"
    Image.new("L", (64, 64), 120).save(grey)
    palette = tmp_path / "palette.png"
    Image.new("P", (64, 40), 3).save(palette)
    ranked, skipped = rerank(grey, [Match(palette, 1.0)], "emd", k=1)
    assert len(ranked) == 1 and not skipped
