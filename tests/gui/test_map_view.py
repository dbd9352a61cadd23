"""The t-SNE map: dots per cluster, progressive moves, thumbnails when zoomed in, selection and signals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QPainterPath, QPolygonF
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from organizer.analysis.identity import identify
from organizer.gui.map import map_view
from organizer.gui.map.map_view import MapView, points_in_polygon
from organizer.gui.palette import cluster_colour
from organizer.io.scan import hash_file
from organizer.samples import family_of

LEFT, RIGHT = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton
NO_MODS = Qt.KeyboardModifier.NoModifier


@pytest.fixture
def view(qtbot, loader):
    view = MapView(loader)
    qtbot.addWidget(view)
    view.resize(800, 600)
    view.show()
    qtbot.waitExposed(view)
    yield view
    view.close()


@pytest.fixture(scope="module")
def images(sample_folder) -> tuple[list[Path], list[str], np.ndarray]:
    """The 36 sample images, their digests and their family as the cluster label."""
    paths = sorted(sample_folder.glob("*.png"))
    families = sorted({family_of(p) for p in paths})
    labels = np.array([families.index(family_of(p)) for p in paths])
    return paths, [hash_file(p) for p in paths], labels


def clustered_layout(labels: np.ndarray, spread: float = 1.0, seed: int = 0) -> np.ndarray:
    """Clusters on a circle of radius 50, far apart compared to their spread."""
    rng = np.random.default_rng(seed)
    angles = labels * 2 * np.pi / (labels.max() + 1)
    return np.c_[np.cos(angles), np.sin(angles)] * 50 + rng.normal(scale=spread, size=(len(labels), 2))


def dot_data(view: MapView) -> list[tuple[np.ndarray, np.ndarray]]:
    return [item.getData() for item in view._dots]


def to_viewport(view: MapView, x: float, y: float) -> QPoint:
    return view._view.mapFromScene(view._box.mapViewToScene(QPointF(x, y)))


def send_mouse(view: MapView, kind: QEvent.Type, pos: QPoint, button, buttons, mods) -> None:
    viewport = view._view.viewport()
    event = QMouseEvent(kind, QPointF(pos), QPointF(viewport.mapToGlobal(pos)), button, buttons, mods)
    QApplication.sendEvent(viewport, event)


def drag(view: MapView, points: list[QPoint], mods) -> None:
    """Press at the first point, move through the rest, release at the last, holding `mods`."""
    send_mouse(view, QEvent.Type.MouseButtonPress, points[0], LEFT, LEFT, mods)
    for pos in points[1:]:
        QTest.qWait(12)  # pyqtgraph drops mouse moves that come faster than 100 a second
        send_mouse(view, QEvent.Type.MouseMove, pos, Qt.MouseButton.NoButton, LEFT, mods)
    send_mouse(view, QEvent.Type.MouseButtonRelease, points[-1], LEFT, Qt.MouseButton.NoButton, mods)


def test_one_scatter_item_per_cluster_in_its_colour(view, images):
    paths, hashes, labels = images
    layout = clustered_layout(labels)
    view.set_points(layout, labels, paths, hashes)
    assert len(view._dots) == 9
    for item, (x, y) in zip(view._dots, dot_data(view)):
        members = np.flatnonzero(np.isin(layout[:, 0], x))
        assert len(x) == 4 and len(set(labels[members])) == 1
        assert item.opts["brush"].color() == cluster_colour(int(labels[members[0]]))

    relabelled = np.where(labels < 3, -1, labels % 2)
    view.set_labels(relabelled)
    colours = sorted(item.opts["brush"].color().name() for item in view._dots)
    assert colours == sorted(cluster_colour(label).name() for label in (-1, 0, 1))
    assert sum(len(x) for x, _ in dot_data(view)) == 36


def test_update_positions_moves_the_dots_in_place_and_follows_until_the_user_zooms(view, images):
    paths, hashes, labels = images
    view.set_points(clustered_layout(labels), labels, paths, hashes)
    items = list(view._dots)
    moved = clustered_layout(labels, seed=1) * 3 + 400
    view.update_positions(moved)
    assert view._dots == items  # moved, not re-created
    got = np.concatenate([np.c_[x, y] for x, y in dot_data(view)])
    assert sorted(map(tuple, got)) == sorted(map(tuple, moved))
    rect = view._box.viewRect()
    assert rect.contains(QPointF(*moved.min(axis=0))) and rect.contains(QPointF(*moved.max(axis=0)))

    view.zoom_in()
    kept = view._box.viewRect()
    view.update_positions(moved * 2)
    assert view._box.viewRect() == kept
    with pytest.raises(ValueError):
        view.update_positions(moved[:5])


def test_thumbnails_appear_zoomed_in_and_go_when_zoomed_out_or_away(qtbot, view, images):
    paths, hashes, labels = images
    # 396 points from 36 files (a digest may repeat): more than THUMBNAIL_LIMIT on the whole map.
    labels = np.repeat(labels, 11)
    view.set_points(clustered_layout(labels, spread=2), labels, [p for p in paths for _ in range(11)],
                    [h for h in hashes for _ in range(11)])
    assert len(labels) > map_view.THUMBNAIL_LIMIT
    qtbot.wait(50)
    assert view.shown_thumbnails() == 0

    cluster = np.flatnonzero(labels == 3)
    view.zoom_to(cluster.tolist())
    qtbot.waitUntil(lambda: view.shown_thumbnails() == len(cluster), timeout=10000)
    thumbs = {item for item in view._view.scene().items() if isinstance(item, map_view._Thumb)}

    view.zoom_to_fit()
    qtbot.waitUntil(lambda: view.shown_thumbnails() == 0, timeout=2000)

    second = np.flatnonzero(labels == 5)
    view.zoom_to(second.tolist())
    qtbot.waitUntil(lambda: view.shown_thumbnails() == len(second), timeout=10000)
    view._box.translateBy(x=500)  # scrolled off to empty space
    qtbot.waitUntil(lambda: view.shown_thumbnails() == 0, timeout=2000)
    # The pool is reused: the second cluster needed no more items than the first one made.
    after = {item for item in view._view.scene().items() if isinstance(item, map_view._Thumb)}
    assert after == thumbs


def test_points_in_polygon_matches_qpainterpath():
    rng = np.random.default_rng(3)
    points = rng.uniform(-1, 11, size=(2000, 2))
    concave = np.array([[0, 0], [10, 0], [10, 10], [6, 10], [6, 3], [3, 3], [3, 10], [0, 10]], dtype=float)
    path = QPainterPath()
    path.addPolygon(QPolygonF([QPointF(x, y) for x, y in concave]))
    expected = np.array([path.contains(QPointF(x, y)) for x, y in points])
    inside = points_in_polygon(points, concave)
    notch = (points[:, 0] > 3.5) & (points[:, 0] < 5.5) & (points[:, 1] > 3.5)
    assert inside.sum() > 100 and not inside[notch].any()
    assert (inside == expected).mean() > 0.999  # only points exactly on an edge may differ
    assert not points_in_polygon(points, concave[:2]).any()


def test_shift_drag_selects_a_rectangle_and_ctrl_drag_a_lasso(qtbot, view, images):
    paths, hashes, labels = images
    layout = clustered_layout(labels)
    view.set_points(layout, labels, paths, hashes)
    cluster = np.flatnonzero(labels == 0)  # around (50, 0)
    lo, hi = layout[cluster].min(axis=0) - 2, layout[cluster].max(axis=0) + 2
    with qtbot.waitSignal(view.selection_changed) as blocker:
        drag(view, [to_viewport(view, lo[0], lo[1]), to_viewport(view, (lo[0] + hi[0]) / 2, hi[1]),
                    to_viewport(view, hi[0], hi[1])], Qt.KeyboardModifier.ShiftModifier)
    assert blocker.args == [cluster.tolist()] and view.selection() == cluster.tolist()

    other = np.flatnonzero(labels == 4)
    centre = layout[other].mean(axis=0)
    ring = [centre + 8 * np.array([np.cos(a), np.sin(a)]) for a in np.linspace(0, 2 * np.pi, 24)]
    with qtbot.waitSignal(view.selection_changed) as blocker:
        drag(view, [to_viewport(view, *p) for p in ring], Qt.KeyboardModifier.ControlModifier)
    assert blocker.args == [other.tolist()]

    before = view._box.viewRect()
    drag(view, [QPoint(300, 300), QPoint(340, 320), QPoint(380, 340)], NO_MODS)
    assert view._box.viewRect() != before and view.selection() == other.tolist()  # a plain drag pans


def test_click_picks_the_nearest_point_and_modifiers_extend(qtbot, view, loader):
    layout = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 10.0], [-10.0, -10.0]])
    view.set_points(layout, np.zeros(4, dtype=int), [Path(f"/x/{i}.png") for i in range(4)], list("abcd"))
    px = view._box.viewPixelSize()[0]
    assert 1 / px > 8  # the two close points are a few pixels apart on screen, not on top of each other
    near_second = to_viewport(view, 1.0 - 2 * px, 0.0)  # 2 px from point 1, further from point 0
    with qtbot.waitSignal(view.selection_changed) as blocker:
        QTest.mouseClick(view._view.viewport(), LEFT, NO_MODS, near_second)
    assert blocker.args == [[1]]
    QTest.mouseClick(view._view.viewport(), LEFT, Qt.KeyboardModifier.ShiftModifier, to_viewport(view, 10, 10))
    assert view.selection() == [1, 2]
    QTest.mouseClick(view._view.viewport(), LEFT, Qt.KeyboardModifier.ControlModifier, to_viewport(view, 1, 0))
    assert view.selection() == [2]
    empty = to_viewport(view, 10, 10) + QPoint(3 * map_view.HIT_PX, 0)  # just beside point 2
    QTest.mouseClick(view._view.viewport(), LEFT, NO_MODS, empty)
    assert view.selection() == []

    with qtbot.assertNotEmitted(view.selection_changed):
        view.set_selection([0, 3, 99])
    assert view.selection() == [0, 3]
    ring_x, ring_y = view._ring.getData()
    assert sorted(zip(ring_x, ring_y)) == [(-10.0, -10.0), (0.0, 0.0)]

    with qtbot.waitSignal(view.activated) as blocker:
        # pyqtgraph reports a double-click on the release that follows the MouseButtonDblClick event.
        pos = to_viewport(view, -10, -10)
        for kind in ("MouseButtonPress", "MouseButtonRelease", "MouseButtonDblClick", "MouseButtonRelease"):
            down = LEFT if "Release" not in kind else Qt.MouseButton.NoButton
            send_mouse(view, getattr(QEvent.Type, kind), pos, LEFT, down, NO_MODS)
    assert blocker.args == [3]


def test_right_click_requests_a_context_menu_for_the_point_only(qtbot, view, images):
    paths, hashes, labels = images
    layout = clustered_layout(labels)
    view.set_points(layout, labels, paths, hashes)
    pos = to_viewport(view, *layout[7])
    with qtbot.waitSignal(view.context_requested) as blocker:
        QTest.mouseClick(view._view.viewport(), RIGHT, NO_MODS, pos)
    assert blocker.args == [7, view._view.viewport().mapToGlobal(pos)]
    assert view.selection() == [7]

    with qtbot.assertNotEmitted(view.context_requested, wait=50):
        QTest.mouseClick(view._view.viewport(), RIGHT, NO_MODS, to_viewport(view, 0, 0))
    assert QApplication.activePopupWidget() is None


def test_hover_shows_a_preview_and_reports_the_point(qtbot, view, images):
    paths, hashes, labels = images
    layout = clustered_layout(labels)
    view.set_points(layout, labels, paths, hashes)
    with qtbot.waitSignal(view.hovered) as blocker:
        QTest.mouseMove(view._view.viewport(), to_viewport(view, *layout[5]))
    assert blocker.args == [5]
    assert view._preview.isVisible() and view._preview.name.text() == paths[5].name
    qtbot.waitUntil(lambda: view._preview.image.pixmap() is not None and not view._preview.image.pixmap().isNull())
    with qtbot.waitSignal(view.hovered) as blocker:
        QTest.mouseMove(view._view.viewport(), to_viewport(view, 0, 0))
    assert blocker.args == [-1] and not view._preview.isVisible()


def test_zoom_keys_and_methods(qtbot, view, images):
    paths, hashes, labels = images
    view.set_points(clustered_layout(labels), labels, paths, hashes)
    fitted = view._box.viewRect().width()
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Plus)
    assert view._box.viewRect().width() == pytest.approx(fitted / map_view.ZOOM_STEP)
    qtbot.keyClick(view, Qt.Key.Key_Minus)
    view.zoom_out()
    assert view._box.viewRect().width() == pytest.approx(fitted * map_view.ZOOM_STEP)
    qtbot.keyClick(view, Qt.Key.Key_0)
    assert view._box.viewRect().width() == pytest.approx(fitted)
    view.zoom_to([0, 1])
    assert view._box.viewRect().width() < fitted / 5
    view.clear()
    assert view.selection() == [] and view._dots == [] and view.shown_thumbnails() == 0


def test_a_wide_map_fills_a_wide_view(qtbot, view, images):
    paths, hashes, labels = images
    rng = np.random.default_rng(1)
    layout = np.c_[rng.uniform(0, 40, len(labels)), rng.uniform(0, 10, len(labels))]  # four times wider than tall
    view.resize(1000, 500)
    view.set_points(layout, labels, paths, hashes)
    view.zoom_to_fit()
    shown = view._box.viewRect()
    spread = np.ptp(layout, axis=0)
    # The view is twice as wide as tall, so the map's width is what fits: it spans the view, with a margin.
    assert spread[0] <= shown.width() < 1.3 * spread[0]
    assert shown.height() < 1.3 * spread[0] / 2


def test_ten_thousand_points(view):
    rng = np.random.default_rng(0)
    n = 10_000
    labels = rng.integers(-1, 40, size=n)
    layout = rng.normal(size=(n, 2)) * 30
    view.set_points(layout, labels, [Path(f"/missing/{i}.png") for i in range(n)], [f"h{i}" for i in range(n)])
    view.set_labels(rng.integers(-1, 25, size=n))
    for step in range(3):
        view.update_positions(layout * (1 + step / 10))
    view.set_selection(range(0, n, 7))
    view.zoom_in()
    QApplication.processEvents()
    assert len(view._dots) == 26 and sum(len(x) for x, _ in dot_data(view)) == n


def test_showing_only_some_points_keeps_the_clusters_names_and_colours(view, images):
    paths, digests, labels = images
    identities = {0: identify(0, {0: "Wavy lines"})}
    view.set_points(clustered_layout(labels), labels, paths, digests, identities)
    view.fade.set_shown(labels == 0)
    assert view.identity(0).name == "Wavy lines"
    view.fade.set_shown(None)
    assert view.identity(0) == identities[0]
