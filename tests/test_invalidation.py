"""What a settings change makes stale."""

from __future__ import annotations

from dataclasses import replace

import pytest

from organizer.folder.invalidation import extractor_spec, what_changed
from organizer.storage.settings import Settings

BASE = Settings()
ALL = {"embedding", "map", "clusters"}


@pytest.mark.parametrize("change, stale", [
    ({}, set()),
    ({"model": "resnet50"}, ALL),
    ({"layers": "early"}, ALL),
    ({"feature_mode": "texture"}, ALL),
    ({"centre_view": False}, ALL),
    # "auto" may have melted this folder's charts or not: either change may change its vectors.
    ({"melt_knots": "off"}, ALL),
    ({"melt_knots": "on"}, ALL),
    ({"perplexity": 50.0}, {"map"}),
    ({"cluster_method": "kmeans"}, {"clusters"}),
    ({"cluster_k": 5}, {"clusters"}),
    ({"linkage": "average"}, {"clusters"}),
    ({"min_cluster_size": 7}, {"clusters"}),
    ({"perplexity": 10.0, "cluster_k": 4}, {"map", "clusters"}),
    ({"device": "cpu", "precision": "fp32", "grid_columns": 12, "similar_count": 48}, set()),
    ({"layers": "no_such_module"}, ALL),
])
def test_what_changed(change, stale):
    assert what_changed(BASE, replace(BASE, **change)) == stale


def test_the_model_does_not_matter_in_colour_modes():
    colour = replace(BASE, feature_mode="colour")
    assert what_changed(colour, replace(colour, model="vgg19", layers="late")) == set()
    assert what_changed(colour, replace(colour, feature_mode="mean-colour")) == ALL


def test_the_centre_view_reaches_the_extractor_and_not_the_colour_modes():
    assert extractor_spec(replace(BASE, centre_view=False)).id != extractor_spec(BASE).id
    colour = replace(BASE, feature_mode="colour")
    assert what_changed(colour, replace(colour, centre_view=False)) == set()


def test_naming_the_default_layers_is_no_change():
    assert what_changed(BASE, replace(BASE, layers="_blocks.14,_blocks.15,_blocks.19")) == set()
    assert what_changed(BASE, replace(BASE, layers="_blocks.10,_blocks.14")) != set()  # the default before block 11
