"""The window's actions and menus, and the right-click menus of images and clusters."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QPoint
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QInputDialog, QMenu, QMenuBar

from ..storage.annotations import LABELS, MAX_RATING
from .clusters.annotation_badges import LABEL_COLOURS, stars_text
from .map.map_view import MapView
from .palette import colour_icon
from .session import FolderSession


class Window(Protocol):
    """What the menus call on the main window: main_window.MainWindow, whose module imports this one."""

    session: FolderSession
    map_view: MapView
    similar_dock: QDockWidget
    failures_dock: QDockWidget
    recent_menu: QMenu

    def menuBar(self) -> QMenuBar: ...
    def addAction(self, action: QAction) -> None: ...
    def close(self) -> bool: ...
    def choose_folder(self) -> None: ...
    def choose_query_image(self) -> None: ...
    def open_export(self) -> None: ...
    def open_settings(self) -> None: ...
    def open_align(self) -> None: ...
    def open_compare(self, first: int | None = None, second: int | None = None) -> None: ...
    def open_levels(self) -> None: ...
    def show_about(self) -> None: ...
    def find_similar_to_selection(self) -> None: ...
    def new_cluster_from_selection(self) -> None: ...
    def set_selection(self, indices: list[int]) -> None: ...
    def rename_cluster(self, label: int) -> None: ...
    def preview_selection(self) -> None: ...
    def show_preview(self, index: int) -> None: ...
    def reveal(self, index: int) -> None: ...


def _action(window: Window, text: str, slot, shortcut=None, enabled: bool = True) -> QAction:
    action = QAction(text, window)
    if isinstance(shortcut, QKeySequence.StandardKey):
        action.setShortcuts(shortcut)  # every key the platform binds to it, each once
    elif shortcut is not None:
        action.setShortcuts(shortcut if isinstance(shortcut, list) else [QKeySequence(shortcut)])
    action.triggered.connect(lambda _=False: slot())
    action.setEnabled(enabled)
    window.addAction(action)  # shortcuts work wherever focus is, even with the menu bar hidden
    return action


def _history_actions(window: Window) -> tuple[QAction, QAction]:
    """Undo and Redo, named after the edit they would reverse or repeat, as the folder model's history says."""
    session = window.session
    undo = _action(window, "&Undo", session.model.undo, QKeySequence.StandardKey.Undo, enabled=False)
    # The platform's own keys only: Ctrl+Shift+Z added by hand doubled Linux's and macOS's
    # Redo key, and Qt ignores a key bound twice as ambiguous.
    redo = _action(window, "&Redo", session.model.redo, QKeySequence.StandardKey.Redo, enabled=False)

    def follow() -> None:
        model = session.model
        undo.setEnabled(model.can_undo())
        undo.setText(f"&Undo {model.undo_text()}".rstrip())
        redo.setEnabled(model.can_redo())
        redo.setText(f"&Redo {model.redo_text()}".rstrip())
    session.history_changed.connect(follow)
    return undo, redo


def build_menu_bar(window: Window) -> dict[str, QAction]:
    bar = window.menuBar()
    undo, redo = _history_actions(window)
    actions = {
        "open": _action(window, "&Open Folder…", window.choose_folder, QKeySequence.Open),
        "search_file": _action(window, "Search with an &Image…", window.choose_query_image),
        "rescan": _action(window, "&Rescan", window.session.rescan, QKeySequence.Refresh),
        "export": _action(window, "&Export Sorted Copy…", window.open_export, "Ctrl+E"),
        "quit": _action(window, "&Quit", window.close, QKeySequence.Quit),
        "find_similar": _action(window, "&Find Similar", window.find_similar_to_selection, "Ctrl+F"),
        "new_cluster": _action(window, "&New Cluster from Selection", window.new_cluster_from_selection, "Ctrl+G"),
        "settings": _action(window, "&Settings…", window.open_settings, QKeySequence.Preferences),
        "align": _action(window, "&Align Images…", window.open_align),
        "compare": _action(window, "&Compare Two Images…", window.open_compare),
        "levels": _action(window, "&Equalization Report…", window.open_levels),
        "zoom_in": _action(window, "Zoom &In", window.map_view.zoom_in, [QKeySequence("+"), QKeySequence("=")]),
        "zoom_out": _action(window, "Zoom &Out", window.map_view.zoom_out, "-"),
        "fit": _action(window, "&Fit Map", window.map_view.zoom_to_fit, "0"),
        "preview": _action(window, "&Preview", window.preview_selection, "Space"),
        "about": _action(window, "&About Pattern Organizer", window.show_about),
    }
    actions["undo"], actions["redo"] = undo, redo

    file_menu = bar.addMenu("&File")
    file_menu.addAction(actions["open"])
    window.recent_menu = file_menu.addMenu("Open &Recent")
    file_menu.addAction(actions["search_file"])
    file_menu.addAction(actions["rescan"])
    file_menu.addSeparator()
    file_menu.addAction(actions["export"])
    file_menu.addSeparator()
    file_menu.addAction(actions["quit"])

    edit_menu = bar.addMenu("&Edit")
    edit_menu.addAction(undo)
    edit_menu.addAction(redo)
    edit_menu.addSeparator()
    edit_menu.addAction(actions["find_similar"])
    edit_menu.addAction(actions["new_cluster"])
    edit_menu.addSeparator()
    edit_menu.addAction(actions["settings"])

    view_menu = bar.addMenu("&View")
    for name in ("zoom_in", "zoom_out", "fit"):
        view_menu.addAction(actions[name])
    view_menu.addAction(actions["preview"])
    view_menu.addSeparator()
    view_menu.addAction(window.similar_dock.toggleViewAction())
    view_menu.addAction(window.failures_dock.toggleViewAction())

    tools_menu = bar.addMenu("&Tools")
    for name in ("align", "compare", "levels"):
        tools_menu.addAction(actions[name])
    bar.addMenu("&Help").addAction(actions["about"])
    return actions


def image_menu(window: Window, index: int, selection: list[int]) -> QMenu:
    """Right-click on an image: search from it, preview it, or move it (with the selection)."""
    menu = QMenu(window)
    name = window.session.library.paths[index].name
    menu.addAction(f"Find Similar to {name}", lambda: window.session.find_similar(index))
    menu.addAction("Preview", lambda: window.show_preview(index))
    others = [i for i in selection if i != index]
    if len(others) == 1:
        other = others[0]
        menu.addAction(f"Compare with {window.session.library.paths[other].name}",
                       lambda: window.open_compare(index, other))
    moving = selection if index in selection else [index]
    book = window.session.book
    if book is not None:
        move = menu.addMenu(f"Move {len(moving)} Image{'s' * (len(moving) != 1)} to")
        current = {int(book.labels[i]) for i in moving}
        for label in book.clusters():
            if {label} != current:
                move.addAction(f"{book.name(label)} ({book.size(label)})",
                               lambda label=label: window.session.move_to_cluster(moving, label))
        menu.addAction("New Cluster from These", lambda: window.session.new_cluster(moving))
    menu.addSeparator()
    _annotation_menus(menu, window, moving)
    menu.addSeparator()
    menu.addAction("Show in Folder", lambda: window.reveal(index))
    return menu


def _annotation_menus(menu: QMenu, window: Window, chosen: list[int]) -> None:
    """Rating, colour label and tags for ``chosen``, as Lightroom's Photo menu offers them."""
    session = window.session
    rate = menu.addMenu("Rating")
    for stars in range(MAX_RATING + 1):
        rate.addAction(f"{stars_text(stars) if stars else 'No Rating'}\t{stars}",
                       lambda stars=stars: session.model.set_rating(chosen, stars))
    label = menu.addMenu("Colour Label")
    label.addAction("None", lambda: session.model.set_label(chosen, "none"))
    for name in LABELS[1:]:
        label.addAction(colour_icon(LABEL_COLOURS[name]), name.capitalize(),
                        lambda name=name: session.model.set_label(chosen, name))
    menu.addAction("Add Tag…", lambda: _ask_tag(window, chosen))
    present = dict.fromkeys(tag for i in chosen for tag in session.model.annotations[i].tags)
    remove = menu.addMenu("Remove Tag")
    remove.setEnabled(bool(present))
    for tag in present:
        remove.addAction(tag, lambda tag=tag: session.model.remove_tag(chosen, tag))


def _ask_tag(window: Window, chosen: list[int]) -> None:
    count = f"{len(chosen)} images" if len(chosen) > 1 else window.session.library.paths[chosen[0]].name
    tag, ok = QInputDialog.getText(window, "Add tag", f"Tag for {count}:")
    if ok and tag.strip():
        window.session.model.add_tag(chosen, tag)


def cluster_menu(window: Window, label: int) -> QMenu:
    """Right-click on a cluster's header: rename, split, merge into another."""
    menu = QMenu(window)
    book = window.session.book
    menu.addAction("Rename…", lambda: window.rename_cluster(label))
    split = menu.addAction("Split into Sub-clusters", lambda: window.session.split(label))
    split.setEnabled(book.size(label) >= 4)
    merge = menu.addMenu("Merge into")
    for other in book.clusters():
        if other != label:
            merge.addAction(f"{book.name(other)} ({book.size(other)})",
                            lambda other=other: window.session.merge(other, label))
    menu.addAction("Select All in Cluster", lambda: window.set_selection(book.members(label).tolist()))
    return menu


def show_menu(menu: QMenu, position: QPoint) -> None:
    menu.popup(position)
