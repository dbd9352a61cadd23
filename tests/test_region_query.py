"""A query with part of an image (the print on a garment, not the garment): the engine, the CLI and the app's job."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from organizer.cli import main
from organizer.embedding import make_spec
from organizer.embedding.library import load_library, query_for
from organizer.gui.panels.similar_search import file_search_job
from organizer.io import images
from organizer.search.similar import search_similar
from organizer.storage.cache import Cache

SIDE = 96


def texture(kind: str, seed: int, size: tuple[int, int] = (SIDE, SIDE)) -> Image.Image:
    """A noisy texture: "warm" stripes in reds and oranges, or "cool" dots in blues and greens."""
    rng = np.random.default_rng(seed)
    height, width = size[1], size[0]
    y, x = np.mgrid[0:height, 0:width]
    if kind == "warm":
        wave = (np.sin((x + y) / 4.0 + seed) > 0)[..., None]
        colours = np.where(wave, [220, 60, 30], [250, 170, 40])
    else:
        dots = ((x % 12 - 6) ** 2 + (y % 12 - 6) ** 2 < 12)[..., None]
        colours = np.where(dots, [30, 90, 220], [40, 170, 120])
    noisy = colours + rng.normal(0, 12, (height, width, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("textures")
    for seed in range(5):
        texture("warm", seed).save(folder / f"warm_{seed}.png")
        texture("cool", seed).save(folder / f"cool_{seed}.png")
    return folder


@pytest.fixture(scope="module")
def garment(tmp_path_factory) -> Path:
    """A photo whose left half is the warm texture and right half the cool one."""
    image = Image.new("RGB", (2 * SIDE, SIDE))
    image.paste(texture("warm", 11), (0, 0))
    image.paste(texture("cool", 12), (SIDE, 0))
    path = tmp_path_factory.mktemp("outside") / "garment.png"
    image.save(path)
    return path


LEFT, RIGHT = (0, 0, SIDE, SIDE), (SIDE, 0, SIDE, SIDE)


@pytest.fixture(scope="module")
def library(folder, tmp_path_factory):
    with Cache(tmp_path_factory.mktemp("cache") / "cache.db") as cache:
        return load_library(folder, make_spec(mode="colour"), cache)


def _kinds(paths) -> list[str]:
    return [Path(p).name.split("_")[0] for p in paths]


@pytest.mark.parametrize(("region", "kind"), [(LEFT, "warm"), (RIGHT, "cool")])
def test_a_region_searches_with_that_part_of_the_image_only(library, garment, region, kind):
    query = query_for(library, garment, "cpu", region=region)
    answer = search_similar(library.paths, library.vectors, query, 5, query_path=garment, region=region)
    assert _kinds(m.path for m in answer.matches) == [kind] * 5


@pytest.fixture
def right_half(garment, tmp_path) -> Path:
    crop = tmp_path / "crop.png"
    Image.open(garment).crop((SIDE, 0, 2 * SIDE, SIDE)).save(crop)
    return crop


def test_the_region_is_embedded_as_the_crop_would_be_as_a_file(library, garment, right_half):
    assert np.allclose(query_for(library, garment, "cpu", region=RIGHT), query_for(library, right_half, "cpu"))


def test_a_reranking_index_compares_the_region_too(library, garment, right_half):
    query = query_for(library, right_half, "cpu")
    with_region = search_similar(library.paths, library.vectors, query, 3, query_path=garment, rerank_by="mse",
                                 region=RIGHT)
    as_a_file = search_similar(library.paths, library.vectors, query, 3, query_path=right_half, rerank_by="mse")
    assert with_region.matches == as_a_file.matches


def test_a_region_of_a_folder_image_is_embedded_not_its_stored_vector(library, folder):
    inside = library.paths[0]
    assert query_for(library, inside, "cpu") == 0
    assert isinstance(query_for(library, inside, "cpu", region=(0, 0, 10, 10)), np.ndarray)


def test_a_region_is_clipped_to_the_image_and_one_outside_it_is_refused(garment):
    assert images.load_region(garment, (150, 50, 500, 500)).size == (2 * SIDE - 150, SIDE - 50)
    with pytest.raises(images.ImageError, match="outside the image"):
        images.load_region(garment, (500, 0, 10, 10))
    with pytest.raises(images.ImageError, match="empty"):
        images.load_region(garment, (0, 0, 0, 10))


def _cli(capsys, folder: Path, query: Path, *options: str) -> list[str]:
    assert main(["similar", str(folder), str(query), "-k", "5", "--json", "--mode", "colour", *options]) == 0
    return _kinds(m["path"] for m in json.loads(capsys.readouterr().out))


def test_the_cli_searches_with_the_region_it_is_given(capsys, folder, garment):
    assert _cli(capsys, folder, garment, "--region", f"0,0,{SIDE},{SIDE}") == ["warm"] * 5
    assert _cli(capsys, folder, garment, "--region", f"{SIDE},0,{SIDE},{SIDE}") == ["cool"] * 5


@pytest.mark.parametrize("bad", ["1,2,3", "a,b,c,d", "0,0,0,5", "-1,0,5,5"])
def test_the_cli_refuses_a_malformed_region_before_any_work(capsys, folder, garment, bad):
    assert main(["similar", str(folder), str(garment), "--mode", "colour", f"--region={bad}"]) == 2
    assert "--region" in capsys.readouterr().err


def test_the_cli_says_when_the_region_lies_outside_the_image(capsys, folder, garment):
    assert main(["similar", str(folder), str(garment), "--mode", "colour", "--region", "900,0,5,5"]) == 2
    assert "outside the image" in capsys.readouterr().err


class _Context:
    def should_stop(self) -> bool:
        return False


def test_the_apps_job_searches_with_the_region_and_says_which(library, garment):
    job = file_search_job(library, garment, 5, "cpu", "", print, max_file_bytes=10 ** 9, region=LEFT)
    result = job(_Context())
    assert _kinds(library.paths[i] for i, _ in result.matches) == ["warm"] * 5
    assert result.region == LEFT and result.query_size == (2 * SIDE, SIDE) and result.query_thumbnail
    whole = file_search_job(library, garment, 5, "cpu", "", print, max_file_bytes=10 ** 9)(_Context())
    assert whole.region is None and whole.query_size == (2 * SIDE, SIDE)
