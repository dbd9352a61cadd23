"""Every embedder gives the same vectors when several threads call it at once.

The library shares one embedder per extractor, so a scan and a find-similar with an outside
image call it together; wrong vectors from such a race would be cached for good.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from organizer.embedding import create_embedder, embed, library, make_spec
from organizer.embedding.autoencoder import AutoencoderEmbedder, TrainConfig
from organizer.embedding.runtime import Runtime
from organizer.embedding.torchless import ExportedEmbedder
from organizer.io import preprocess
from organizer.samples import FAMILIES, SampleSpec, render, write_sample_folder
from organizer.storage.cache import Cache
from organizer.tools.autoencoder_training import save_autoencoder, train_autoencoder

CPU32 = Runtime("cpu", "fp32", channels_last=False)
SIDE = 64
THREADS = 4


def _batches(count: int = 48) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """Many small batches of distinct rendered images: one or two images, each one view."""
    batches = []
    for i in range(count):
        specs = [SampleSpec(FAMILIES[(i + j) % len(FAMILIES)], i % 6, i + j) for j in range(1 + i % 2)]
        views = np.concatenate([preprocess.make_views(render(s, (96, 96)), SIDE) for s in specs])
        batches.append((views, np.arange(len(specs)), len(specs)))
    return batches


def _embed_concurrently(embedder, batches: list) -> list[np.ndarray]:
    """Each of THREADS threads embeds every THREADS-th batch, all starting together."""
    results: list[np.ndarray | None] = [None] * len(batches)
    start = threading.Barrier(THREADS)

    def work(first: int) -> None:
        start.wait()
        for i in range(first, len(batches), THREADS):
            results[i] = embedder.embed(*batches[i])

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(work, range(THREADS)))
    return results


def _autoencoder(tmp_path) -> AutoencoderEmbedder:
    config = TrainConfig(size=SIDE, epochs=1, batch_size=8)
    images = np.stack([np.asarray(render(SampleSpec(f, 0, 0), (SIDE, SIDE)).convert("RGB")) for f in FAMILIES])
    model, report = train_autoencoder(images, config)
    path = tmp_path / "ae.pt"
    save_autoencoder(model, path, config, "test", report)
    return AutoencoderEmbedder(path, CPU32)


def _exported(backend: str):
    pytest.importorskip({"onnx": "onnxruntime", "openvino": "openvino"}[backend])
    embedder = create_embedder(make_spec(size=SIDE, weights=None), Runtime("cpu", "fp32", False, backend))
    assert isinstance(embedder, ExportedEmbedder), "the network did not export: this would test torch"
    return embedder


EMBEDDERS = {
    "cnn-content": lambda _: create_embedder(make_spec(size=SIDE, weights=None), CPU32),
    "cnn-onnx": lambda _: _exported("onnx"),  # skipped without the onnxruntime extra
    "cnn-openvino": lambda _: _exported("openvino"),
    "cnn-structure": lambda _: create_embedder(make_spec(mode="structure", size=SIDE, weights=None), CPU32),
    "autoencoder": _autoencoder,
    "colour": lambda _: create_embedder(make_spec(mode="colour"), CPU32),
    "mean-colour": lambda _: create_embedder(make_spec(mode="mean-colour"), CPU32),
    "palette": lambda _: create_embedder(make_spec(mode="palette"), CPU32),
}


@pytest.mark.parametrize("kind", EMBEDDERS)
def test_concurrent_calls_give_the_serial_vectors(kind, tmp_path):
    embedder = EMBEDDERS[kind](tmp_path)
    batches = _batches()
    serial = [embedder.embed(*batch) for batch in batches]
    concurrent = _embed_concurrently(embedder, batches)
    wrong = [i for i, (a, b) in enumerate(zip(serial, concurrent)) if not np.allclose(a, b, atol=1e-5)]
    assert not wrong, f"{len(wrong)} of {len(batches)} batches got other vectors when embedded concurrently"


def test_a_folder_scan_and_outside_queries_share_one_embedder_safely(tmp_path, monkeypatch):
    folder = tmp_path / "folder"
    write_sample_folder(folder, per_family=2, colourways=2, size=(96, 96))
    outside = write_sample_folder(tmp_path / "outside", per_family=1, colourways=1, size=(96, 96))
    spec = make_spec(size=SIDE, weights=None)
    monkeypatch.setattr(library, "choose", lambda *_: CPU32)
    monkeypatch.setattr(library, "_embedders", {})
    # Batches of two images make the scan call the embedder many times, as a large folder would.
    monkeypatch.setattr(embed, "auto_batch_size", lambda *_: 2)

    serial_library = library.load_library(folder, spec, Cache(tmp_path / "serial.sqlite"))
    serial_queries = [library.embed_outside_image(path, spec) for path in outside]

    queries: list[np.ndarray] = []
    scan_done = threading.Event()

    def ask_until_the_scan_ends() -> None:
        while not scan_done.is_set() or len(queries) < 2 * len(outside):
            queries.append(library.embed_outside_image(outside[len(queries) % len(outside)], spec))

    asker = threading.Thread(target=ask_until_the_scan_ends)
    asker.start()
    try:
        concurrent_library = library.load_library(folder, spec, Cache(tmp_path / "concurrent.sqlite"))
    finally:
        scan_done.set()
        asker.join()

    assert concurrent_library.paths == serial_library.paths
    assert np.allclose(concurrent_library.vectors, serial_library.vectors, atol=1e-3)
    for i, vector in enumerate(queries):
        assert np.allclose(vector, serial_queries[i % len(outside)], atol=1e-5), f"query {i} got another vector"
