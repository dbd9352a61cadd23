"""Which computed results a change of settings makes stale, so the GUI redoes only those.

The embedding is keyed by the extractor spec's id, which leaves out what does not change
the vectors (the device, the precision, and the model and layers in the colour modes);
a new embedding makes the map and the clusters stale too. The map depends on the
perplexity alone; the clusters on the clustering method and its parameters.
"""

from __future__ import annotations

from ..embedding import make_spec
from ..storage.settings import Settings

_CLUSTER_FIELDS = ("cluster_method", "cluster_k", "linkage", "min_cluster_size")


def extractor_spec(settings: Settings):
    """The extractor the settings describe; raises ValueError for invalid choices.

    With ``settings.equalize`` the folder's reference level still has to be added
    (tools.levels.folder_spec), which needs the folder's images.
    """
    return make_spec(settings.model, settings.layers or None, settings.feature_mode, invariant=settings.invariant)


def _extractor_id(settings: Settings) -> str | None:
    try:
        return extractor_spec(settings).id
    except ValueError:
        return None  # invalid choices: the rescan they cause will say what is wrong


def what_changed(old: Settings, new: Settings) -> set[str]:
    """The stale results, a subset of {"embedding", "map", "clusters"}."""
    if old.equalize != new.equalize:
        return {"embedding", "map", "clusters"}
    if (old.model, old.layers, old.feature_mode, old.invariant) != (new.model, new.layers, new.feature_mode,
                                                                    new.invariant):
        old_id, new_id = _extractor_id(old), _extractor_id(new)
        if old_id is None or old_id != new_id:
            return {"embedding", "map", "clusters"}
    changed = set()
    if old.perplexity != new.perplexity:
        changed.add("map")
    if any(getattr(old, name) != getattr(new, name) for name in _CLUSTER_FIELDS):
        changed.add("clusters")
    return changed
