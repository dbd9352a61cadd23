"""One find-similar: the CLI's `similar` and the app's similar panel give the same matches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from organizer.cli import main
from organizer.embedding import make_spec
from organizer.embedding.library import load_library
from organizer.gui.panels.similar_search import file_search_job, search_job
from organizer.search.similar import NEIGHBOURHOOD, search_similar
from organizer.storage.cache import Cache


class _Context:
    def should_stop(self) -> bool:
        return False


@pytest.fixture
def library(sample_folder, tmp_path):
    with Cache(tmp_path / "cache.db") as cache:
        return load_library(sample_folder, make_spec(mode="colour"), cache)


def _cli(capsys, folder: Path, query: Path, *options: str) -> list[tuple[str, float]]:
    assert main(["similar", str(folder), str(query), "-k", "5", "--json", "--mode", "colour", *options]) == 0
    return [(m["path"], round(m["score"], 4)) for m in json.loads(capsys.readouterr().out)]


def _app(library, result) -> list[tuple[str, float]]:
    return [(str(library.paths[i]), round(score, 4)) for i, score in result.matches]


@pytest.mark.parametrize("rerank", ["", "neighbourhood", "mse"])
def test_the_cli_and_the_app_list_the_same_matches(capsys, library, sample_folder, rerank):
    query = library.paths[3]
    cli = _cli(capsys, sample_folder, query, *(["--rerank", rerank] if rerank else []))
    by_index = search_job(library, 3, 5, rerank, print, max_file_bytes=10 ** 9)(_Context())
    dropped = file_search_job(library, query, 5, "cpu", rerank, print, max_file_bytes=10 ** 9)(_Context())
    assert len(cli) == 5 and str(query) not in dict(cli)
    assert _app(library, by_index) == cli
    # Dropping a file of the folder on the app searched with it and listed it as its own best match.
    assert _app(library, dropped) == cli


def test_a_query_given_as_its_vector_and_file_leaves_itself_out(library):
    answer = search_similar(library.paths, library.vectors, library.vectors[0], 4, query_path=library.paths[0],
                            rerank_by=NEIGHBOURHOOD)
    assert len(answer.matches) == 4 and library.paths[0] not in [m.path for m in answer.matches]
    assert answer.matches == search_similar(library.paths, library.vectors, 0, 4, rerank_by=NEIGHBOURHOOD).matches


def test_an_unknown_reranking_is_a_clear_error(library):
    with pytest.raises(ValueError, match="unknown re-ranking 'nope'"):
        search_similar(library.paths, library.vectors, 0, 4, rerank_by="nope")
