"""The folder's own autoencoder as an extractor: trained once, kept beside the cache, named by its training run."""

import json

import pytest

from organizer.cli import main
from organizer.embedding import create_embedder, make_spec
from organizer.embedding.autoencoder import TrainConfig
from organizer.folder.extractor import for_folder, train_for_folder, trained_models
from organizer.jobs.tasks import Cancelled
from organizer.samples import SampleSpec, render
from organizer.storage.cache import Cache
from organizer.storage.paths import cache_db_path

FAST = TrainConfig(epochs=3)


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "charts"
    root.mkdir()
    for family in ("normal-chevron", "alpha-hearts", "normal-diamonds"):
        for variant in range(3):
            render(SampleSpec(family, variant, variant), (96, 96)).save(root / f"{family}-{variant}.png")
    return root


def test_an_untrained_autoencoder_cannot_embed():
    spec = make_spec("autoencoder")
    assert spec.weights == "untrained"
    with pytest.raises(ValueError, match="not trained"):
        create_embedder(spec)


def test_scanning_trains_once_and_the_id_names_the_run(folder, capsys):
    assert main(["scan", str(folder), "--model", "autoencoder", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    models = trained_models(cache_db_path(folder))
    assert len(models) == 1 and first["images"] == 9
    digest = models[0].stem.rsplit("-", 1)[-1]
    assert f"autoencoder@ae-{digest}/" in first["extractor"]
    stamp = models[0].stat().st_mtime_ns

    # A new image is embedded with the stored model, not a retrained one.
    render(SampleSpec("alpha-stars", 0, 0), (96, 96)).save(folder / "new.png")
    assert main(["scan", str(folder), "--model", "autoencoder", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["extractor"] == first["extractor"] and second["embedded"] == 1
    assert trained_models(cache_db_path(folder)) == models and models[0].stat().st_mtime_ns == stamp


def test_retraining_on_changed_images_gives_a_new_run_that_scans_then_use(folder, tmp_path, capsys):
    with Cache(cache_db_path(folder)) as cache:
        first = train_for_folder(folder, cache, FAST)
        assert train_for_folder(folder, cache, FAST) == first  # the same run is not trained twice
        (folder / "normal-chevron-0.png").unlink()
        second = train_for_folder(folder, cache, FAST)
        assert second != first
        spec = for_folder(make_spec("autoencoder"), folder, cache)
    assert spec.weights_file == str(second)
    assert main(["train-autoencoder", str(folder), "--epochs", "3"]) == 0
    assert "already trained" in capsys.readouterr().out


def test_training_can_be_cancelled_and_saves_nothing(folder):
    notes = []
    with Cache(cache_db_path(folder)) as cache, pytest.raises(Cancelled):
        # Stop once the first epoch has reported its loss.
        train_for_folder(folder, cache, FAST, progress=lambda done, total, note="": notes.append(note),
                         should_stop=lambda: any(n.startswith("training the autoencoder: ") for n in notes))
    assert "loss" in notes[-1]
    assert trained_models(cache_db_path(folder)) == []


def test_a_folder_of_one_image_is_refused(tmp_path):
    render(SampleSpec("alpha-hearts", 0, 0), (64, 64)).save(tmp_path / "one.png")
    with Cache(tmp_path / "cache.sqlite") as cache, pytest.raises(ValueError, match="two usable images"):
        train_for_folder(tmp_path, cache, FAST)


def test_the_colour_modes_ignore_the_model_choice():
    assert make_spec("autoencoder", mode="colour").id == make_spec(mode="colour").id
