"""The settings object: round trip, recent folders, and tolerance of bad stored values."""

import json

from organizer.storage.settings import MAX_RECENT, Settings


def test_round_trip():
    settings = Settings(model="resnet50", perplexity=12.5, cluster_k=7).with_recent("/a").with_recent("/b")
    assert Settings.from_json(settings.to_json()) == settings
    assert settings.recent_folders == ("/b", "/a")


def test_recent_folders_move_to_front_without_duplicates_and_are_bounded():
    settings = Settings()
    for n in range(MAX_RECENT + 3):
        settings = settings.with_recent(f"/f{n}")
    settings = settings.with_recent("/f5")
    assert settings.recent_folders[0] == "/f5"
    assert len(settings.recent_folders) == MAX_RECENT
    assert len(set(settings.recent_folders)) == MAX_RECENT


def test_bad_values_fall_back_to_defaults_and_unknown_keys_are_ignored():
    stored = json.dumps({"version": 1, "settings": {"model": 3, "perplexity": "high", "cluster_k": 5,
                                                     "recent_folders": [1, 2], "colour": "red",
                                                     "grid_columns": True}})
    settings = Settings.from_json(stored)
    assert settings.model == "lite1" and settings.perplexity == Settings().perplexity and settings.cluster_k == 5
    assert settings.recent_folders == () and settings.grid_columns == 8


def test_other_versions_and_garbage_give_defaults():
    assert Settings.from_json(json.dumps({"version": 99, "settings": {"model": "vgg19"}})) == Settings()
    assert Settings.from_json("{{{") == Settings()
    assert Settings.from_json(None) == Settings()
    assert Settings.from_json("[1, 2]") == Settings()


def test_the_apps_defaults_are_the_engines():
    from organizer.analysis.reduce import MapSpec
    from organizer.embedding.backbones import DEFAULT_MODEL
    from organizer.embedding.registry import DEFAULT_ADAPT, DEFAULT_CENTRE_VIEW, DEFAULT_MELT_KNOTS
    from organizer.folder.invalidation import extractor_spec

    assert Settings().perplexity == MapSpec().perplexity
    assert Settings().model == DEFAULT_MODEL
    assert Settings().centre_view == DEFAULT_CENTRE_VIEW
    assert Settings().adapt == DEFAULT_ADAPT
    assert extractor_spec(Settings()).melt_knots is DEFAULT_MELT_KNOTS


def test_a_choice_outside_its_values_falls_back_to_the_default():
    # melt_knots was a tick box before it could be left to the folder: a stored true reads as the default.
    for stored in ("true", '"sometimes"', "1"):
        assert Settings.from_json(f'{{"version": 2, "settings": {{"melt_knots": {stored}}}}}').melt_knots == "auto"
    assert Settings.from_json('{"version": 2, "settings": {"melt_knots": "off"}}').melt_knots == "off"


def test_only_chosen_values_are_stored_so_a_changed_default_reaches_the_rest():
    chosen = Settings(cluster_k=7).with_recent("/a")
    stored = json.loads(chosen.to_json())
    assert stored == {"version": 2, "settings": {"cluster_k": 7, "recent_folders": ["/a"]}}
    assert Settings.from_json(chosen.to_json()) == chosen
    assert json.loads(Settings().to_json())["settings"] == {}


def test_a_version_1_file_keeps_its_choices_and_takes_the_new_defaults():
    # Version 1 stored every value, the perplexity of 30 then the default among them.
    old = json.dumps({"version": 1, "settings": {"model": "resnet50", "perplexity": 30.0, "cluster_k": 5,
                                                 "invariant": False}})
    settings = Settings.from_json(old)
    assert (settings.model, settings.cluster_k, settings.perplexity) == ("resnet50", 5, Settings().perplexity)
    chosen = json.dumps({"version": 1, "settings": {"perplexity": 45.0}})
    assert Settings.from_json(chosen).perplexity == 45.0
