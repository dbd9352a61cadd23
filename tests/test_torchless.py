"""The CPU path without torch: numpy pooling equal to torch's, the exported taps found without torch
(the app's shipped file first), and an engine that embeds, and says what needs torch, where torch
cannot be imported at all."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from organizer.embedding import backbones, cnn, create_embedder, exported, make_spec, torchless
from organizer.embedding.runtime import Runtime
from organizer.io import preprocess
from organizer.samples import FAMILIES, SampleSpec, render

pytest.importorskip("openvino")
torch = pytest.importorskip("torch")

SIDE = 64
TORCH32 = Runtime("cpu", "fp32", channels_last=False)
OPENVINO32 = Runtime("cpu", "fp32", channels_last=False, backend="openvino")
#: fp32 on both sides: the same network, so the same vectors but for rounding.
EQUAL = 0.99999


def _batch(side: int = SIDE) -> tuple[np.ndarray, np.ndarray, int]:
    """Six rendered patterns of different families; the last image has two views (tiles)."""
    views = np.concatenate([preprocess.make_views(render(SampleSpec(family, i % 3, i), (96, 96)), side)
                            for i, family in enumerate(FAMILIES[:7])])
    return views, np.minimum(np.arange(len(views)), 5), 6


@pytest.mark.parametrize("shape, size", [((2, 7, 7), (14, 14)), ((3, 5, 9), (11, 4)), ((1, 6, 6), (6, 6))])
def test_the_bilinear_resize_is_torchs(shape, size):
    maps = np.random.default_rng(0).random(shape, dtype=np.float32)
    expected = torch.nn.functional.interpolate(torch.from_numpy(maps)[:, None], size, mode="bilinear")[:, 0]
    np.testing.assert_allclose(torchless.resize_bilinear(maps, *size), expected.numpy(), atol=1e-6)


@pytest.mark.parametrize("mode, pooling, gram", [("content", "object", False), ("content", "avg", False),
                                                 ("content", "centre", False), ("texture", "object", True)])
def test_the_numpy_pooling_is_torchs(mode, pooling, gram):
    rng = np.random.default_rng(1)
    # A finer and a coarser map, as the default taps give, named deepest first: the saliency follows the size.
    maps = [rng.standard_normal((3, 16, 7, 7), dtype=np.float32), rng.standard_normal((3, 8, 14, 14), dtype=np.float32)]
    expected = cnn.pool_maps([torch.from_numpy(m) for m in maps], mode, pooling, gram).numpy()
    np.testing.assert_allclose(torchless.pool_maps(maps, mode, pooling, gram), expected, atol=1e-5)


@pytest.mark.parametrize("options", [{}, {"mode": "texture", "gram": True}, {"mode": "structure"},
                                     {"pooling": "avg", "flip": True}, {"pooling": "centre", "invariant": True}])
def test_the_exported_embedder_gives_torchs_vectors(options, shared_models):
    spec = make_spec(size=SIDE, **options)
    embedder = create_embedder(spec, OPENVINO32)
    assert isinstance(embedder, torchless.ExportedEmbedder)
    for side in (SIDE, 2 * SIDE):  # multiscale's detail views run through the same file
        expected = create_embedder(spec, TORCH32).embed(*_batch(side))
        vectors = embedder.embed(*_batch(side))
        assert vectors.dtype == np.float32 and vectors.shape == expected.shape
        assert (vectors * expected).sum(axis=1).min() >= EQUAL


def test_the_shipped_export_is_read_first_and_never_written(shared_models, tmp_path, monkeypatch):
    create_embedder(make_spec(size=SIDE), OPENVINO32)
    export = shared_models / exported.export_name("lite1", exported.weights_digest(backbones.lite_weights_path(backbones.DEFAULT_MODEL)),
                                                  make_spec().taps)
    shipped = tmp_path / "resources" / exported.MODELS_FOLDER
    shipped.mkdir(parents=True)
    shutil.copy(export, shipped / export.name)
    (shipped / export.name).chmod(0o444)
    monkeypatch.setattr(exported, "resource_path", lambda name: _existing(tmp_path / "resources" / name))
    own = tmp_path / "cache"
    monkeypatch.setattr(exported, "models_dir", lambda: own)
    monkeypatch.setattr(exported, "build_tapnet", lambda spec: pytest.fail("built the network: it needs no export"))

    embedder = create_embedder(make_spec(size=SIDE), OPENVINO32)
    assert isinstance(embedder, torchless.ExportedEmbedder) and not own.exists()
    expected = create_embedder(make_spec(size=SIDE), TORCH32).embed(*_batch())
    assert (embedder.embed(*_batch()) * expected).sum(axis=1).min() >= EQUAL


def test_the_bundle_names_its_export_by_the_shipped_digest_without_the_weights(shared_models, tmp_path, monkeypatch):
    """The bundle ships weights.json in place of the weights: the export is found, the model is offered."""
    import organizer.resources as resources

    create_embedder(make_spec(size=SIDE), OPENVINO32)
    digest = exported.weights_digest(backbones.lite_weights_path(backbones.DEFAULT_MODEL))
    export = shared_models / exported.export_name("lite1", digest, make_spec().taps)
    shipped = tmp_path / "resources" / exported.MODELS_FOLDER
    shipped.mkdir(parents=True)
    shutil.copy(export, shipped / export.name)
    (tmp_path / "resources" / resources.WEIGHT_DIGESTS).write_text(json.dumps({"lite1": digest}))
    lookup = lambda name: _existing(tmp_path / "resources" / name)  # noqa: E731
    monkeypatch.setattr(exported, "resource_path", lookup)
    monkeypatch.setattr(resources, "resource_path", lookup)

    def no_weights(name="lite1"):
        raise backbones.weights_mod.WeightsUnavailable("the lite1 weights are not installed")

    monkeypatch.setattr(backbones, "lite_weights_path", no_weights)
    monkeypatch.setattr(exported, "models_dir", lambda: tmp_path / "cache")
    monkeypatch.setattr(exported, "build_tapnet", lambda spec: pytest.fail("built the network: it needs no export"))

    assert backbones.lite_installed("lite1") and backbones.weights_on_disk("lite1")
    assert not backbones.lite_installed("lite2")
    embedder = create_embedder(make_spec(size=SIDE), OPENVINO32)
    assert isinstance(embedder, torchless.ExportedEmbedder)
    monkeypatch.undo()
    expected = create_embedder(make_spec(size=SIDE), TORCH32).embed(*_batch())
    assert (embedder.embed(*_batch()) * expected).sum(axis=1).min() >= EQUAL


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"lite1": 7}', '{"lite1": ""}'])
def test_a_damaged_digest_file_ships_nothing(tmp_path, monkeypatch, content):
    import organizer.resources as resources

    (tmp_path / "models").mkdir()
    (tmp_path / resources.WEIGHT_DIGESTS).write_text(content)
    monkeypatch.setattr(resources, "resource_path", lambda name: _existing(tmp_path / name))
    assert resources.shipped_weights_digest("lite1") is None


def test_outside_the_bundle_no_digest_is_shipped():
    from organizer.resources import shipped_weights_digest

    assert shipped_weights_digest("lite1") is None


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(path)
    return path


#: Run in a child where ``import torch`` fails, as in the bundle: embed, then try what needs torch.
CHILD = textwrap.dedent("""
    import json, sys
    sys.modules["torch"] = sys.modules["torchvision"] = None  # an import of either now raises ImportError
    import numpy as np
    from organizer.embedding import create_embedder, make_spec
    from organizer.embedding.runtime import choose, describe_runtime
    from organizer.cli import main

    views, owners = np.load(sys.argv[1]), np.load(sys.argv[2])
    runtime = choose()
    vectors = create_embedder(make_spec(size={side}), runtime).embed(views, owners, int(owners.max()) + 1)
    np.save(sys.argv[3], vectors)
    refused = {{}}
    for name, attempt in {{"cuda": lambda: choose("cuda"), "torch": lambda: choose("cpu", "auto", "torch"),
                          "resnet50": lambda: create_embedder(make_spec("resnet50"), runtime),
                          "layers": lambda: create_embedder(make_spec(layers="late", size={side}), runtime)}}.items():
        try:
            attempt()
        except Exception as exc:
            refused[name] = f"{{type(exc).__name__}}: {{exc}}"
    cli = main(["scan", sys.argv[4], "--model", "resnet50"])
    print(json.dumps({{"backend": runtime.backend, "about": describe_runtime(), "refused": refused, "cli": cli,
                      "torch": "torch" in sys.modules and sys.modules["torch"] is not None}}))
""")


def test_the_engine_embeds_and_says_what_needs_torch_where_torch_cannot_be_imported(shared_models, tmp_path):
    cache = tmp_path / "cache"
    # The child reads the export this process writes, as the bundle reads the one `make package` writes.
    (cache / "models").mkdir(parents=True)
    create_embedder(make_spec(size=SIDE), OPENVINO32)
    for export in shared_models.glob("lite1-*.onnx"):
        shutil.copy(export, cache / "models" / export.name)
    views, owners, n_images = _batch()
    np.save(tmp_path / "views.npy", views)
    np.save(tmp_path / "owners.npy", owners)
    (tmp_path / "folder").mkdir()
    render(SampleSpec(FAMILIES[0], 0, 0), (96, 96)).save(tmp_path / "folder" / "a.png")
    env = {**os.environ, "ORGANIZER_CACHE_DIR": str(cache), "ORGANIZER_RUNTIME": "auto",
           "ORGANIZER_PRECISION": "fp32", "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.run([sys.executable, "-c", CHILD.format(side=SIDE), str(tmp_path / "views.npy"),
                            str(tmp_path / "owners.npy"), str(tmp_path / "vectors.npy"), str(tmp_path / "folder")],
                           capture_output=True, text=True, env=env, timeout=300)
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout.strip().splitlines()[-1])
    assert report["backend"] == "openvino" and not report["torch"] and "without torch" in report["about"]
    expected = create_embedder(make_spec(size=SIDE), TORCH32).embed(views, owners, n_images)
    assert (np.load(tmp_path / "vectors.npy") * expected).sum(axis=1).min() >= EQUAL
    # Each refusal is one line naming torch and how to get it, never a traceback.
    assert set(report["refused"]) == {"cuda", "torch", "resnet50", "layers"}
    for refusal in report["refused"].values():
        assert refusal.startswith("TorchMissing: ") and "needs torch" in refusal and "pip install" in refusal
        assert "\n" not in refusal
    assert report["cli"] == 2
    (error,) = [line for line in child.stderr.splitlines() if line.startswith("error:")]
    assert "needs torch" in error and "Traceback" not in child.stderr
