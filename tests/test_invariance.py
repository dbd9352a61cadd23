"""--invariant: features averaged over the 8 flips and quarter turns match turned and mirrored copies."""

import numpy as np
from PIL import Image

from organizer.embedding import create_embedder, make_spec
from organizer.embedding.runtime import Runtime
from organizer.io.preprocess import network_inputs
from organizer.samples import SampleSpec, render

FP32 = Runtime("cpu", "fp32", channels_last=False)


def embed(spec, images: list[Image.Image]) -> np.ndarray:
    embedder = create_embedder(spec, FP32)
    views = np.stack([network_inputs(image, spec.size, spec.policy)[spec.size][0] for image in images])
    return embedder.embed(views, np.arange(len(images)), len(images))


def copies() -> list[Image.Image]:
    # A motif that is not symmetric, so its turns and mirrors really differ.
    original = render(SampleSpec("alpha-letters", 2, 1), (224, 224)).convert("RGB")
    return [original, original.transpose(Image.Transpose.ROTATE_90), original.transpose(Image.Transpose.ROTATE_180),
            original.transpose(Image.Transpose.FLIP_LEFT_RIGHT), original.transpose(Image.Transpose.TRANSPOSE)]


def test_invariant_features_match_every_turn_and_mirror_and_plain_ones_do_not():
    images = copies()
    plain = embed(make_spec(weights=None, pooling="avg"), images)
    invariant = embed(make_spec(weights=None, pooling="avg", invariant=True), images)
    plain_similarity = plain[1:] @ plain[0]
    invariant_similarity = invariant[1:] @ invariant[0]
    assert invariant_similarity.min() > 0.999
    assert plain_similarity.min() < invariant_similarity.min() - 0.001


def test_invariant_changes_the_id_and_is_dropped_where_it_means_nothing():
    assert "+d4" in make_spec(invariant=True).id
    assert make_spec(mode="colour", invariant=True).id == make_spec(mode="colour").id


def test_turning_it_on_in_the_settings_recomputes_everything():
    from dataclasses import replace

    from organizer.folder.invalidation import what_changed
    from organizer.storage.settings import Settings

    assert what_changed(Settings(), replace(Settings(), invariant=True)) == {"embedding", "map", "clusters"}
    colour = Settings(feature_mode="colour")
    assert what_changed(colour, replace(colour, invariant=True)) == set()


def test_the_cli_flag_reaches_the_extractor(tmp_path, capsys):
    import json

    from organizer.cli import main

    for n, image in enumerate(copies()[:3]):
        image.save(tmp_path / f"{n}.png")
    assert main(["scan", str(tmp_path), "--invariant", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert "+d4" in summary["extractor"] and summary["images"] == 3
