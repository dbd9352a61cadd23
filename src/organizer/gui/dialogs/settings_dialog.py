"""The settings dialog: what the images are compared by, and how they are clustered and mapped.

It edits a copy of :class:`~organizer.storage.settings.Settings`; the owner decides what
to recompute with :func:`organizer.folder.invalidation.what_changed`. Each choice carries a
sentence on what it does, because "texture" or "min cluster size" mean little on their own.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (QAbstractSpinBox, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox,
                               QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QSizePolicy, QSpinBox, QVBoxLayout, QWidget)

from ...analysis.clusterers import CLUSTERERS, PARAMETERS, clusterers
from ...analysis.clusterers.base import LINKAGES
from ...embedding.backbones import BACKBONES, DEFAULT_MODEL
from ...embedding.registry import AUTOENCODER, CNN_MODES, MODES
from ...embedding.runtime import BACKEND_LABELS, BACKENDS, CPU_BACKEND, DEVICES, torch_installed
from ...search.compare_indices import INDEX_SPECS
from ...search.similar import NEIGHBOURHOOD, NEIGHBOURHOOD_LABEL
from ...storage.settings import CHOICES, Settings
from ..palette import tone_colour
from .model_choice import (NEEDS_TORCH, WEIGHTS_FILTER, download_tooltip, model_item, model_label, model_note,
                           needs_weights)

MODE_NOTES = {
    "content": "Shapes and motifs, as a network sees them: the best general choice.",
    "texture": "Style statistics: repeats, grain and weave more than layout.",
    "structure": "The motif whatever its colours: finds one design in all its colourways.",
    "colour": "Colour histograms only: fast, no network, blind to shape.",
    "mean-colour": "One average colour per image: for sorting swatches by hue.",
    "palette": "The dominant colours, in any order: finds one colourway on every motif.",
}
MODE_LABELS = {"content": "Content", "texture": "Texture", "structure": "Structure (ignore colours)",
               "colour": "Colour", "mean-colour": "Mean colour", "palette": "Palette (ignore motif)"}
DEVICE_LABELS = {"auto": "Automatic (best available)", "cpu": "CPU", "cuda": "NVIDIA GPU (CUDA)",
                 "mps": "Apple GPU (Metal)"}
MELT_KNOTS_LABELS = {"auto": "Where most images are bracelet charts", "on": "In every folder", "off": "Never"}
RUNTIME_LABELS = {"auto": f"Automatic ({BACKEND_LABELS[CPU_BACKEND]} where installed)", **BACKEND_LABELS}
#: The devices and the runtime that only torch runs, marked where torch is left out (the bundle).
TORCH_CHOICES = ("cuda", "mps", "torch")
NO_RERANK = "No: keep the features' order"
NEIGHBOURHOOD_RERANK = f"{NEIGHBOURHOOD_LABEL}: best where each kind has many images"
AUTOMATIC = "Automatic"


def _marking_torch(labels: dict[str, str]) -> dict[str, str]:
    """``labels`` with the choices that need torch marked so, where torch is not installed."""
    if torch_installed():
        return labels
    return {value: f"{label} ({NEEDS_TORCH})" if value in TORCH_CHOICES else label for value, label in labels.items()}


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._original = settings
        self._labels: list[QLabel] = []
        self._note_style = f"color: {tone_colour(self.palette(), 'muted').name()};"
        layout = QVBoxLayout(self)

        features = self._form(layout, "Image features",
                              "Changing these embeds the folder again (cached per choice).")
        # Each model says before it is chosen whether it needs a download or a package first.
        models = [*sorted(BACKBONES, key=lambda m: (m != DEFAULT_MODEL, m)), AUTOENCODER]
        self.model_combo = self._combo(models, {model: model_item(model) for model in models})
        self.weights_button = QPushButton("Choose weights file…")
        self.weights_button.clicked.connect(self.choose_weights)
        #: (model, its state_dict file): the file stands in for that model's download, and for no other model.
        self._weights = (settings.model, settings.weights_file)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_combo, 1)
        model_row.addWidget(self.weights_button)
        self._row(features, "Model:", model_row)
        self.model_note = self._note()
        features.addRow("", self.model_note)
        self.layers_edit = QLineEdit(placeholderText="Default for the model")
        self.layers_edit.setToolTip("early, mid or late, or network module names, comma-separated" + (
            "" if torch_installed() else "; in this installation, layers other than the default need PyTorch"))
        self._row(features, "Layers:", self.layers_edit)
        self.mode_combo = self._combo(MODES, MODE_LABELS)
        self.mode_note = self._note()
        self._row(features, "Compare by:", self.mode_combo)
        features.addRow("", self.mode_note)
        self.invariant_check = QCheckBox("Match rotated and mirrored copies (8× slower)")
        self.invariant_check.setToolTip("Averages each image over its 8 flips and quarter turns, for repeating "
                                        "patterns and scans that may be turned or mirrored.")
        features.addRow("", self.invariant_check)
        self.centre_view_check = QCheckBox("Also look closer at each image's pattern (up to 2× slower)")
        self.centre_view_check.setToolTip("Embeds each photo or swatch a second time, closer: inside the garment "
                                          "or object a photo shows, wherever it stands with background around it, "
                                          "or through the middle three quarters of a flat pattern. So a print "
                                          "is compared, not its background. Strips are already seen tile by "
                                          "tile and are left as they are. Turn it off for a folder of flat, "
                                          "uncropped patterns, to scan it twice as fast.")
        features.addRow("", self.centre_view_check)
        self.melt_knots_combo = self._combo(CHOICES["melt_knots"], MELT_KNOTS_LABELS)
        self.melt_knots_combo.setToolTip("Where an image is a grid of knots, blurs it one knot wide before comparing, "
                                         "so a chart's motif counts rather than its knots: a heart finds hearts in "
                                         "other colours and knot styles, a photographed bracelet its flat chart. "
                                         "Some photos of prints, checks and crosshatching are blurred too, which "
                                         "costs a library of them; so by default only a folder most of whose "
                                         "images are knot grids is blurred.")
        self._row(features, "Blur knots away:", self.melt_knots_combo)
        self.adapt_check = QCheckBox("Adapt to this folder (a few seconds more)")
        self.adapt_check.setToolTip("Embeds up to 256 of the folder's images once more, each cropped, turned, lit "
                                    "and coloured a little differently, and learns from them what changes between "
                                    "two photos of one pattern, so that it counts less when images are compared.")
        features.addRow("", self.adapt_check)
        self.equalize_check = QCheckBox("Equalize brightness, contrast and sharpness to the folder's median")
        self.equalize_check.setToolTip("For scans and photos taken in different light or focus: each image is "
                                       "brought to the folder's typical level before it is compared.")
        features.addRow("", self.equalize_check)
        self.device_combo = self._combo(DEVICES, _marking_torch(DEVICE_LABELS))
        self._row(features, "Compute on:", self.device_combo)
        self.runtime_combo = self._combo(BACKENDS, _marking_torch(RUNTIME_LABELS))
        self.runtime_combo.setToolTip("What runs the network on the CPU (a GPU always runs PyTorch). The vectors "
                                      "agree (docs/benchmarks.md), so changing it re-embeds nothing.")
        self._row(features, "CPU runtime:", self.runtime_combo)

        clusters = self._form(layout, "Clusters", "Changing these clusters again; your edits stay with the old method.")
        self.method_combo = self._combo([c.name for c in clusterers()], {c.name: c.label for c in clusterers()})
        self.method_note = self._note()
        self._row(clusters, "Method:", self.method_combo)
        clusters.addRow("", self.method_note)
        # 0 stands for automatic, below each parameter's own range.
        self.k_spin = self._spin(QSpinBox(minimum=0, maximum=int(PARAMETERS["k"].high), specialValueText=AUTOMATIC))
        self._row(clusters, "Number of clusters:", self.k_spin)
        self.linkage_combo = self._combo(LINKAGES, {name: name.capitalize() for name in LINKAGES})
        self._row(clusters, "Linkage:", self.linkage_combo)
        self.min_size_spin = self._spin(QSpinBox(minimum=0, maximum=int(PARAMETERS["min_cluster_size"].high),
                                                 specialValueText=AUTOMATIC, suffix=" images"))
        self._row(clusters, "Smallest cluster:", self.min_size_spin)

        similarity_map = self._form(layout, "Map", "Changing this lays the map out again.")
        self.perplexity_spin = self._spin(QDoubleSpinBox(minimum=5, maximum=100, decimals=1, singleStep=5))
        self.perplexity_spin.setToolTip("About how many neighbours each image keeps close on the map: "
                                        "low values show small tight groups, high values the overall shape.")
        self._row(similarity_map, "Perplexity:", self.perplexity_spin)

        similar = self._form(layout, "Find similar", "Takes effect on the next search.")
        self.rerank_combo = self._combo(("", NEIGHBOURHOOD, *INDEX_SPECS), {
            "": NO_RERANK, NEIGHBOURHOOD: NEIGHBOURHOOD_RERANK,
            **{name: f"{index.label}: {index.measures}" for name, index in INDEX_SPECS.items()}})
        self.rerank_combo.setToolTip(
            "Re-orders the best matches. Folder neighbourhoods: each image is seen together with its closest "
            "look-alikes in the folder, which helps where a kind of design has many images and can blur groups "
            "of a few. A classic index: slower, and better for near-copies than for designs that are merely alike.")
        self._row(similar, "Re-rank matches by:", self.rerank_combo)

        files = self._form(layout, "Files", "Takes effect on the next scan.")
        self.max_file_spin = self._spin(QSpinBox(minimum=1, maximum=100_000, suffix=" MB"))
        self.max_file_spin.setToolTip("Larger files are listed under Problems without being read: "
                                      "no image within the 200-megapixel limit needs more.")
        self._row(files, "Largest image file:", self.max_file_spin)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

        self.mode_combo.currentIndexChanged.connect(self._update)
        self.model_combo.currentIndexChanged.connect(self._update)
        self.method_combo.currentIndexChanged.connect(self._update)
        # Each network option's own explanation, shown again once a colour mode has replaced it.
        self._network_tips = {widget: widget.toolTip() for widget in self._network_options()}
        self._load(settings)
        # One label column across the groups, so their fields line up.
        width = max(label.sizeHint().width() for label in self._labels)
        for label in self._labels:
            label.setMinimumWidth(width)

    # building -------------------------------------------------------------------------------
    def _network_options(self) -> tuple[QWidget, ...]:
        return (self.model_combo, self.layers_edit, self.invariant_check, self.centre_view_check,
                self.melt_knots_combo, self.adapt_check)

    def _form(self, layout: QVBoxLayout, title: str, note: str) -> QFormLayout:
        box = QGroupBox(title)
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        explanation = self._note()
        explanation.setText(note)
        form.addRow(explanation)
        layout.addWidget(box)
        return form

    def _row(self, form: QFormLayout, text: str, field: QWidget | QHBoxLayout) -> None:
        label = QLabel(text)
        self._labels.append(label)
        form.addRow(label, field)

    def _note(self) -> QLabel:
        # One line each, unwrapped: a wrapped label in a form layout can be clipped to one line.
        label = QLabel()
        label.setStyleSheet(self._note_style)
        return label

    @staticmethod
    def _spin(spin: QAbstractSpinBox) -> QAbstractSpinBox:
        """Numbers keep their natural width: a field-wide spin box reads as a text field."""
        spin.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        spin.setMinimumWidth(130)
        return spin

    @staticmethod
    def _combo(values, labels: dict[str, str] | None = None) -> QComboBox:
        combo = QComboBox()
        for value in values:
            combo.addItem((labels or {}).get(value, value), value)
        return combo

    @staticmethod
    def _select(combo: QComboBox, value: str) -> None:
        index = combo.findData(value)
        if index < 0:  # a value this version does not offer (an old settings file): keep it selectable
            combo.addItem(value, value)
            index = combo.count() - 1
        combo.setCurrentIndex(index)

    def _load(self, settings: Settings) -> None:
        self._select(self.model_combo, settings.model)
        self.layers_edit.setText(settings.layers)
        self._select(self.mode_combo, settings.feature_mode)
        self.invariant_check.setChecked(settings.invariant)
        self.centre_view_check.setChecked(settings.centre_view)
        self._select(self.melt_knots_combo, settings.melt_knots)
        self.adapt_check.setChecked(settings.adapt)
        self.equalize_check.setChecked(settings.equalize)
        self._select(self.device_combo, settings.device)
        self._select(self.runtime_combo, settings.runtime)
        self._select(self.method_combo, settings.cluster_method)
        self.k_spin.setValue(settings.cluster_k)
        self._select(self.linkage_combo, settings.linkage)
        self.min_size_spin.setValue(settings.min_cluster_size)
        self.perplexity_spin.setValue(settings.perplexity)
        self._select(self.rerank_combo, settings.similar_rerank)
        self.max_file_spin.setValue(settings.max_file_mb)
        self._update()

    def _update(self) -> None:
        """Show each option's note, and enable only the options the chosen methods use."""
        mode, method = self.mode_combo.currentData(), self.method_combo.currentData()
        self.mode_note.setText(MODE_NOTES.get(mode, ""))
        clusterer = CLUSTERERS.get(method)
        self.method_note.setText(clusterer.description if clusterer else "")
        uses_network = mode in CNN_MODES
        for widget in self._network_options():
            widget.setEnabled(uses_network)
            widget.setToolTip(self._network_tips[widget] if uses_network else "Colour modes use no network")
        model = self.model_combo.currentData()
        if model == AUTOENCODER:  # trained on this folder already: its codes are not adapted again
            self.adapt_check.setEnabled(False)
            self.adapt_check.setToolTip("The folder's own autoencoder is trained on this folder already")
        self.model_note.setText(model_note(model, self._weights_file()) if uses_network else "")
        self.weights_button.setEnabled(uses_network and needs_weights(model))
        self.weights_button.setToolTip(download_tooltip(model))
        uses = clusterer.parameters if clusterer else ()
        self.k_spin.setEnabled("k" in uses)
        self.linkage_combo.setEnabled("linkage" in uses)
        self.min_size_spin.setEnabled("min_cluster_size" in uses)

    def choose_weights(self) -> None:
        """Ask for a state_dict file for the chosen model, which then needs no download."""
        model = self.model_combo.currentData()
        chosen, _ = QFileDialog.getOpenFileName(self, f"Weights File for {model_label(model)}", self._weights_file(),
                                                WEIGHTS_FILTER)
        if chosen:
            self._weights = (model, chosen)
            self._update()

    def _weights_file(self) -> str:
        """The file chosen for the model now selected; "" for its own weights."""
        model, path = self._weights
        return path if model == self.model_combo.currentData() else ""

    # result ---------------------------------------------------------------------------------
    def settings(self) -> Settings:
        """The edited copy; fields this dialog does not show keep their values."""
        return replace(self._original,
                       model=self.model_combo.currentData(),
                       weights_file=self._weights_file(),
                       layers=self.layers_edit.text().strip(),
                       feature_mode=self.mode_combo.currentData(),
                       invariant=self.invariant_check.isChecked(),
                       centre_view=self.centre_view_check.isChecked(),
                       melt_knots=self.melt_knots_combo.currentData(),
                       adapt=self.adapt_check.isChecked(),
                       equalize=self.equalize_check.isChecked(),
                       device=self.device_combo.currentData(),
                       runtime=self.runtime_combo.currentData(),
                       cluster_method=self.method_combo.currentData(),
                       cluster_k=self.k_spin.value(),
                       linkage=self.linkage_combo.currentData(),
                       min_cluster_size=self.min_size_spin.value(),
                       perplexity=float(self.perplexity_spin.value()),
                       similar_rerank=self.rerank_combo.currentData(),
                       max_file_mb=self.max_file_spin.value())
