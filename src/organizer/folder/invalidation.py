"""Which computed results a change of settings makes stale, so the GUI redoes only those.

The embedding is keyed by the extractor spec's id, which leaves out what does not change
the vectors (the device, the precision, and the model and layers in the colour modes);
a new embedding makes the map and the clusters stale too. The map depends on the
perplexity alone; the clusters on the clustering method and its parameters.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..embedding import make_spec
from ..embedding.backbones import DEFAULT_MODEL
from ..embedding.registry import CNN_MODES
from ..embedding.weights import MissingWeightsFile
from ..storage.settings import Settings

_CLUSTER_FIELDS = ("cluster_method", "cluster_k", "linkage", "min_cluster_size")
_EXTRACTOR_FIELDS = ("model", "weights_file", "layers", "feature_mode", "invariant", "centre_view", "adapt")
#: The spec's ``melt_knots`` for each of the setting's values: "auto" leaves it to the folder.
_MELT_KNOTS = {"auto": None, "on": True, "off": False}


def extractor_spec(settings: Settings):
    """The extractor the settings describe, with the weights file the user chose for its model.

    With ``settings.equalize`` the folder's reference level still has to be added
    (tools.levels.folder_spec), which needs the folder's images.

    Raises
    ------
    ValueError
        For invalid choices (a mistyped layer name).
    MissingWeightsFile
        The chosen weights file is gone.
    """
    weights = "pretrained"
    if settings.weights_file and settings.feature_mode in CNN_MODES:  # the colour modes run no network
        weights = settings.weights_file
        if not Path(weights).is_file():
            raise MissingWeightsFile(Path(weights))
    return make_spec(settings.model, settings.layers or None, settings.feature_mode, invariant=settings.invariant,
                     weights=weights, centre_view=settings.centre_view, adapt=settings.adapt,
                     melt_knots=_MELT_KNOTS[settings.melt_knots])


def with_default_model(settings: Settings) -> Settings:
    """``settings`` with the default model, which needs no download, at its own layers."""
    return replace(settings, model=DEFAULT_MODEL, weights_file="", layers="")


def _extractor_id(settings: Settings) -> tuple[str, str] | None:
    try:
        # The weights file by its path, not by the content hash in the spec's id: hashing a
        # 500 MB file on each settings change would stall the window.
        spec = extractor_spec(replace(settings, weights_file=""))
    except ValueError:
        return None  # invalid choices: the rescan they cause will say what is wrong
    return spec.id, settings.weights_file if spec.uses_cnn else ""


def what_changed(old: Settings, new: Settings) -> set[str]:
    """The stale results, a subset of {"embedding", "map", "clusters"}."""
    # The folder decides "auto" (folder.extractor), so the spec alone cannot tell whether a change of it
    # changes the vectors; the rescan finds them in the cache where it does not.
    if old.equalize != new.equalize or old.melt_knots != new.melt_knots:
        return {"embedding", "map", "clusters"}
    if any(getattr(old, name) != getattr(new, name) for name in _EXTRACTOR_FIELDS):
        old_id, new_id = _extractor_id(old), _extractor_id(new)
        if old_id is None or old_id != new_id:
            return {"embedding", "map", "clusters"}
    changed = set()
    if old.perplexity != new.perplexity:
        changed.add("map")
    if any(getattr(old, name) != getattr(new, name) for name in _CLUSTER_FIELDS):
        changed.add("clusters")
    return changed
