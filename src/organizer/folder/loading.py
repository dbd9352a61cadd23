"""Opening a folder: its library as the app and the CLI scan it, and its state (clusters and the app's edits)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..analysis.cluster import ClusterSpec
from ..embedding.embed import EngineFactory, ReadyFn, nothing_ready
from ..embedding.library import Library, load_library
from ..embedding.registry import ExtractorSpec
from ..embedding.runtime import TorchMissing
from ..embedding.weights import WeightsUnavailable
from ..io.images import MAX_FILE_BYTES
from ..jobs.tasks import ProgressFn, StopFn, never_stop, no_progress
from .adaptation import adapt_library
from .annotations import load_annotations
from .clustering import ClusterResult, cluster_library
from ..storage.cache import Cache
from ..storage.settings import Settings
from .extractor import for_folder
from .invalidation import extractor_spec, with_default_model
from .model import FolderModel


def annotated_model(library: Library, cache_path: Path) -> FolderModel:
    """The model of ``library``'s folder with its images' saved tags, ratings and colour labels, not yet clustered."""
    model = FolderModel()
    model.open(library.folder, cache_path)
    model.set_library(library)
    model.set_annotations(load_annotations(model.cache_path, library))
    return model


def load_folder_state(library: Library, spec: ClusterSpec, cache_path: Path, *,
                      progress: ProgressFn = no_progress,
                      should_stop: StopFn = never_stop) -> tuple[FolderModel, ClusterResult]:
    """The model of ``library``'s folder, clustered by ``spec`` with the edits saved in the app,
    and its images' saved tags, ratings and colour labels.

    The clusters are those the app shows for the same extractor and clustering settings
    (the same :func:`~organizer.analysis.edits.edits_key`): the saved edits when there are
    any, the computed clustering otherwise. Edits made through the returned model are
    saved to ``cache_path`` at once.

    Returns
    -------
    The model, and the clustering result it holds (with the computed clustering's
    method, parameters and scores).
    """
    model = annotated_model(library, cache_path)
    result = cluster_library(library, spec, model.cache_path, progress=progress, should_stop=should_stop)
    model.set_clusters(result)
    return model, result


def open_library(folder: Path, spec: ExtractorSpec, cache, *, equalize: bool = False, device: str = "auto",
                 precision: str = "auto", backend: str = "auto", batch_size: int | None = None,
                 preparing: ProgressFn = no_progress,
                 progress: ProgressFn = no_progress, should_stop: StopFn = never_stop,
                 max_file_bytes: int = MAX_FILE_BYTES, on_ready: ReadyFn = nothing_ready,
                 make_engine: EngineFactory | None = None) -> Library:
    """The folder's library as the app and the CLI open it: ``spec`` set up for the folder first
    (:func:`~.extractor.for_folder`: an autoencoder trained on it, the equalization reference,
    reported through ``preparing``), then :func:`~organizer.embedding.library.load_library`,
    which tells ``on_ready`` of the images ready while it runs (with the network's own vectors), and
    last, for an adapted ``spec``, the projection learned on the folder (:mod:`.adaptation`, reported
    through ``progress``). ``make_engine`` embeds the new files elsewhere
    (:class:`~.distributed.DaskEngine`, made for the completed ``spec``)."""
    spec = for_folder(spec, folder, cache, equalize=equalize, device=device, progress=preparing,
                      should_stop=should_stop, max_file_bytes=max_file_bytes)
    library = load_library(folder, spec, cache, device=device, precision=precision, backend=backend,
                           batch_size=batch_size,
                           progress=progress, should_stop=should_stop, max_file_bytes=max_file_bytes,
                           on_ready=on_ready, make_engine=make_engine)
    if not spec.adapted:
        return library
    return adapt_library(library, spec, cache, device=device, precision=precision, backend=backend,
                         progress=progress, should_stop=should_stop, max_file_bytes=max_file_bytes)


@dataclass
class OpenedLibrary:
    """A folder's library, and the settings it was embedded with."""

    library: Library
    #: The settings asked for, or those with the default model when the chosen model's weights could not be had.
    settings: Settings
    #: Why the chosen model gave way to the default; None when it did not.
    fallback: WeightsUnavailable | TorchMissing | None = None


def open_library_or_default(folder: Path, settings: Settings, cache: Cache, *, preparing: ProgressFn = no_progress,
                            progress: ProgressFn = no_progress, should_stop: StopFn = never_stop,
                            max_file_bytes: int = MAX_FILE_BYTES, on_ready: ReadyFn = nothing_ready) -> OpenedLibrary:
    """:func:`open_library` with the extractor ``settings`` describe, or with the default model when the chosen
    one's weights cannot be had: offline before its download, a Lite whose package is not installed, a weights
    file that is gone or does not fit; or when it needs torch, which the bundle leaves out. The app then still
    shows the folder, and says why.

    Raises
    ------
    ValueError
        For invalid choices (a mistyped layer name).
    WeightsUnavailable
        When even the default model's weights are missing (a broken install).
    """
    def opened(chosen: Settings) -> Library:
        return open_library(folder, extractor_spec(chosen), cache, equalize=chosen.equalize, device=chosen.device,
                            backend=chosen.runtime, preparing=preparing, progress=progress, should_stop=should_stop,
                            max_file_bytes=max_file_bytes, on_ready=on_ready)

    try:
        return OpenedLibrary(opened(settings), settings)
    except (WeightsUnavailable, TorchMissing) as exc:
        fallback = with_default_model(settings)
        if fallback == settings:
            raise
        return OpenedLibrary(opened(fallback), fallback, exc)
