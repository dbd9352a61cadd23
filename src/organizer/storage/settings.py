"""The app's settings: one typed, versioned object.

The GUI keeps it in QSettings as JSON; this module stays free of Qt so the rules (what a
value may be, what a stale file means) are tested without a window. Unknown keys are
ignored and a bad value falls back to its default, so an old or hand-edited settings
file can never stop the app from starting.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace

#: 2: only the values that differ from the defaults are stored, so a default that changes reaches
#: everyone who never chose otherwise. Version 1 stored every value; see :data:`_V1_DEFAULTS`.
SCHEMA_VERSION = 2
#: The defaults of version 1 that have changed since: a version-1 file holding one was almost
#: surely never edited there, so it reads as the default of now.
_V1_DEFAULTS = {"perplexity": 30.0}
MAX_RECENT = 10
#: The least a number field may hold; a smaller stored value falls back to the default.
_AT_LEAST = {"max_file_mb": 1, "similar_columns": 1, "similar_width": 120}
#: The values a choice field may hold; another stored value falls back to the default.
CHOICES = {"melt_knots": ("auto", "on", "off")}


@dataclass(frozen=True)
class Settings:
    #: embedding.backbones.DEFAULT_MODEL, which storage may not import (tests/test_settings.py holds them equal).
    model: str = "lite1"
    #: A state_dict file for ``model`` the user chose ("" for its ImageNet weights): a model that needs a
    #: download then runs offline.
    weights_file: str = ""
    layers: str = ""
    feature_mode: str = "content"
    invariant: bool = False
    #: Also embed each single-view image closer, inside its object or centre (embedding.registry.DEFAULT_CENTRE_VIEW,
    #: which storage may not import; tests/test_settings.py holds them equal).
    centre_view: bool = True
    #: Project the vectors with what the folder's own images teach (embedding.registry.DEFAULT_ADAPT;
    #: tests/test_settings.py holds them equal).
    adapt: bool = True
    #: Blur bracelet charts' knots away before the network sees them (io.knots): "auto" where most of the folder's
    #: images are knot grids (embedding.registry.DEFAULT_MELT_KNOTS; tests/test_settings.py holds them equal),
    #: "on" or "off" in every folder.
    melt_knots: str = "auto"
    #: Equalize every image to the folder's median brightness, contrast and sharpness first.
    equalize: bool = False
    device: str = "auto"
    precision: str = "auto"
    #: What runs the network on the CPU: auto, torch, onnx or openvino (embedding.runtime.BACKENDS).
    runtime: str = "auto"
    cluster_method: str = "auto"
    cluster_k: int = 0  # 0: automatic
    linkage: str = "ward"
    min_cluster_size: int = 0  # 0: automatic
    #: analysis.reduce.MapSpec's default, which storage may not import (tests/test_settings.py holds them equal).
    perplexity: float = 20.0
    grid_columns: int = 8
    similar_count: int = 24
    #: The similar panel's thumbnails per row, and its dock's width in pixels: wider, larger thumbnails.
    similar_columns: int = 2
    similar_width: int = 360
    #: What re-orders find-similar's best matches: "" for none, "neighbourhood" (search.similarity's DBA and αQE)
    #: or a classic index of search.compare.
    similar_rerank: str = ""
    #: Larger files are refused unread (the core's images.MAX_FILE_MB by default).
    max_file_mb: int = 1000
    recent_folders: tuple[str, ...] = field(default_factory=tuple)

    def with_recent(self, folder: str) -> "Settings":
        recent = (folder,) + tuple(f for f in self.recent_folders if f != folder)
        return replace(self, recent_folders=recent[:MAX_RECENT])

    def to_json(self) -> str:
        default = asdict(Settings())
        data = {name: value for name, value in asdict(self).items() if value != default[name]}
        return json.dumps({"version": SCHEMA_VERSION, "settings": data})

    @classmethod
    def from_json(cls, text: str | None) -> "Settings":
        try:
            data = json.loads(text or "{}")
            version = data.get("version")
            values = data.get("settings", {}) if version in (1, SCHEMA_VERSION) else {}
        except (ValueError, AttributeError):
            return cls()
        if not isinstance(values, dict):
            return cls()
        if version == 1:
            values = {name: value for name, value in values.items() if _V1_DEFAULTS.get(name, object()) != value}
        default = cls()
        kept = {}
        for spec in fields(cls):
            if spec.name not in values:
                continue
            value, expected = values[spec.name], getattr(default, spec.name)
            if spec.name in _AT_LEAST and (type(value) is not int or value < _AT_LEAST[spec.name]):
                continue
            if spec.name in CHOICES and value not in CHOICES[spec.name]:
                continue
            if isinstance(expected, tuple):
                if isinstance(value, list) and all(isinstance(v, str) for v in value):
                    kept[spec.name] = tuple(value[:MAX_RECENT])
            elif isinstance(expected, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
                kept[spec.name] = float(value)
            elif type(value) is type(expected):
                kept[spec.name] = value
        return replace(default, **kept)
