"""The CNN's taps exported to ONNX and run by ONNX Runtime or OpenVINO: the vectors, the cached file,
and torch in their place whenever they cannot run."""

from __future__ import annotations

import importlib.util
import logging
import shutil
import sys

import numpy as np
import pytest

from organizer.embedding import backbones, create_embedder, exported, make_spec
from organizer.embedding.cnn import CnnEmbedder
from organizer.embedding.torchless import ExportedEmbedder
from organizer.embedding.runtime import Runtime, choose
from organizer.io import preprocess
from organizer.samples import FAMILIES, SampleSpec, render

pytest.importorskip("openvino")  # a dependency; ONNX Runtime is an optional extra
ORT = pytest.param("onnx", marks=pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None,
                                                    reason="the onnxruntime extra is not installed"))

SIDE = 64
#: The packaged Lite0 weights at a small input: real features, quick to run.
SPEC = make_spec(size=SIDE)
TORCH32 = Runtime("cpu", "fp32", channels_last=False)
#: Issue 19's rule for vectors that may share a cache: the lowest cosine to torch fp32's.
SAME = 0.999


def _on(backend: str, precision: str = "fp32") -> Runtime:
    return Runtime("cpu", precision, channels_last=False, backend=backend)


def _batch(side: int = SIDE) -> tuple[np.ndarray, np.ndarray, int]:
    """Six rendered patterns of different families, one view each."""
    views = np.concatenate([preprocess.make_views(render(SampleSpec(family, i % 3, i), (96, 96)), side)
                            for i, family in enumerate(FAMILIES[:6])])
    return views, np.arange(len(views)), len(views)


@pytest.fixture(scope="module")
def torch_vectors():
    embedder = create_embedder(SPEC, TORCH32)
    return {side: embedder.embed(*_batch(side)) for side in (SIDE, 2 * SIDE)}


@pytest.mark.parametrize("backend", [ORT, "openvino"])
def test_the_exported_taps_give_torch_fp32s_vectors(backend, shared_models, torch_vectors):
    embedder = create_embedder(SPEC, _on(backend))
    assert isinstance(embedder, ExportedEmbedder) and embedder.runtime.backend == backend
    # Twice the side as well: multiscale detail views go through the same exported network.
    for side in (SIDE, 2 * SIDE):
        vectors = embedder.embed(*_batch(side))
        assert vectors.shape == torch_vectors[side].shape and vectors.dtype == np.float32
        assert (vectors * torch_vectors[side]).sum(axis=1).min() > SAME


def test_openvino_bf16_stays_close_to_torch_fp32(shared_models, torch_vectors):
    vectors = create_embedder(SPEC, _on("openvino", "bf16")).embed(*_batch())
    assert (vectors * torch_vectors[SIDE]).sum(axis=1).min() > 0.99


def test_the_export_is_reused_and_made_again_when_damaged(shared_models, tmp_path, monkeypatch, torch_vectors):
    create_embedder(SPEC, _on("openvino"))  # exported into the shared folder, if no test did yet
    (export,) = shared_models.glob("lite1-*.onnx")
    own = tmp_path / "models"
    own.mkdir()
    shutil.copy(export, own / export.name)
    monkeypatch.setattr(exported, "models_dir", lambda: own)
    made = []
    real_export = exported.export_taps
    monkeypatch.setattr(exported, "export_taps", lambda *args: made.append(args) or real_export(*args))

    reused = create_embedder(SPEC, _on("openvino"))
    assert not made and isinstance(reused, ExportedEmbedder)

    (own / export.name).write_bytes(b"not a network at all")
    remade = create_embedder(SPEC, _on("openvino"))
    assert len(made) == 1 and isinstance(remade, ExportedEmbedder)
    assert (own / export.name).stat().st_size > 100_000
    assert (remade.embed(*_batch()) * torch_vectors[SIDE]).sum(axis=1).min() > SAME
    assert [p.name for p in own.iterdir()] == [export.name]  # no partial file left behind


def test_the_export_is_keyed_by_the_weights_file_and_the_taps(shared_models, tmp_path):
    import torch

    create_embedder(SPEC, _on("openvino"))
    (export,) = shared_models.glob("lite1-*.onnx")
    packaged = backbones.lite_weights_path(backbones.DEFAULT_MODEL)
    assert export.name == exported.export_name("lite1", exported.weights_digest(packaged), SPEC.taps)
    assert exported.export_name("lite1", exported.weights_digest(packaged), ("_blocks.10",)) != export.name
    # Other weights for the same network: the same file's tensors, one of them nudged.
    state = torch.load(packaged, map_location="cpu", weights_only=True)
    state["_blocks.0._depthwise_conv.weight"][0, 0, 0, 0] += 1e-3
    torch.save(state, tmp_path / "nudged.pth")
    nudged = make_spec(size=SIDE, weights=tmp_path / "nudged.pth")
    create_embedder(nudged, _on("openvino"))
    assert len(list(shared_models.glob("lite1-*.onnx"))) == 2
    assert exported.export_name("lite1", exported.weights_digest(tmp_path / "nudged.pth"), SPEC.taps) != export.name


def test_an_export_that_fails_runs_on_torch_with_a_one_line_notice(monkeypatch, caplog, torch_vectors):
    def refuse(*_args):
        raise RuntimeError("Exporting the operator 'aten::odd_op' to ONNX opset version 17 is not supported.\nMore")

    monkeypatch.setattr(exported, "export_taps", refuse)
    with caplog.at_level(logging.WARNING):
        embedder = create_embedder(SPEC, _on("openvino"))
    assert isinstance(embedder, CnnEmbedder) and embedder.runtime.backend == "torch"
    (notice,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "openvino runtime is unavailable" in notice and "aten::odd_op" in notice and "\n" not in notice
    assert (embedder.embed(*_batch()) * torch_vectors[SIDE]).sum(axis=1).min() > 0.99


@pytest.mark.parametrize("backend, package", [("onnx", "onnxruntime"), ("openvino", "openvino")])
def test_a_missing_runtime_package_gives_way_to_torch(backend, package, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, package, None)  # an import of it now raises ImportError
    with caplog.at_level(logging.WARNING):
        assert choose("cpu", "auto", backend).backend == "torch"
    assert f"needs the {package} package" in caplog.text
    # A runtime made by hand, past that check, falls back when the embedder loads it.
    embedder = create_embedder(SPEC, _on(backend))
    assert isinstance(embedder, CnnEmbedder) and embedder.runtime.backend == "torch"
    assert embedder.embed(*_batch()).shape[0] == 6


def test_auto_runs_the_exported_backend_on_the_cpu_only_where_it_is_installed(monkeypatch):
    from organizer.embedding import runtime

    monkeypatch.delenv("ORGANIZER_RUNTIME", raising=False)
    monkeypatch.delenv("ORGANIZER_PRECISION", raising=False)
    chosen = choose("cpu")
    assert (chosen.backend, chosen.precision) == (runtime.CPU_BACKEND, choose("cpu", "auto", "torch").precision)
    assert choose("cpu", "fp16").backend == "torch"  # a precision the exported backends lack
    assert choose("cpu", "auto", "torch").backend == "torch"
    monkeypatch.setenv("ORGANIZER_RUNTIME", "openvino")
    assert choose("cpu", "bf16").backend == "openvino"
    monkeypatch.setitem(sys.modules, runtime.BACKEND_PACKAGES[runtime.CPU_BACKEND], None)
    monkeypatch.delenv("ORGANIZER_RUNTIME")
    assert choose("cpu").backend == "torch"


def test_named_backends_never_stop_a_scan_on_a_gpu_or_at_a_precision_they_lack(caplog):
    from organizer.embedding.runtime import _backend_for

    with caplog.at_level(logging.WARNING):
        assert _backend_for("cuda", "auto", "openvino") == ("torch", "auto")
        assert _backend_for("cpu", "fp16", "openvino") == ("openvino", "fp32")
        assert _backend_for("cpu", "bf16", "openvino") == ("openvino", "bf16")
    assert "CPU only" in caplog.text and "does not run fp16" in caplog.text


def test_the_cli_embeds_a_folder_on_the_runtime_it_names(sample_folder, shared_models, tmp_path, monkeypatch):
    from organizer.cli import main
    from organizer.embedding import library

    monkeypatch.setattr(library, "_embedders", {})
    vectors = {}
    for backend in ("openvino", "torch"):
        monkeypatch.setenv("ORGANIZER_CACHE_DIR", str(tmp_path / backend))  # each its own vectors cache
        out = tmp_path / f"{backend}.npz"
        assert main(["embed", str(sample_folder), "--out", str(out), "--size", str(SIDE), "--precision", "fp32",
                     "--runtime", backend]) == 0
        (embedder,) = library._embedders.values()
        assert embedder.runtime.backend == backend
        vectors[backend] = np.load(out)["vectors"]
    assert (vectors["openvino"] * vectors["torch"]).sum(axis=1).min() > SAME

