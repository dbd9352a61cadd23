"""The cluster grid (sections of thumbnails, lazy loading, selection, drag to move) and the dendrogram view."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QContextMenuEvent, QDragEnterEvent, QDragMoveEvent, QDropEvent, QPixmap
from PySide6.QtWidgets import QApplication
from scipy.cluster.hierarchy import fcluster, linkage

from organizer.analysis.dendrogram import dendrogram_segments
from organizer.analysis.edits import ClusterBook
from organizer.gui.clusters.cluster_grid import IMAGE_ROLE, ClusterGrid
from organizer.gui.clusters.dendrogram import MESSAGE, DendrogramView
from organizer.io.scan import hash_file

LEFT = Qt.MouseButton.LeftButton
DECORATION = Qt.ItemDataRole.DecorationRole


@pytest.fixture(scope="module")
def images(sample_folder) -> tuple[list[Path], list[str]]:
    paths = sorted(sample_folder.glob("*.png"))
    assert len(paths) == 36
    return paths, [hash_file(p) for p in paths]


@pytest.fixture
def book() -> ClusterBook:
    """Three clusters of twelve, interleaved, so members are not contiguous indices."""
    return ClusterBook(np.arange(36) % 3, {1: "Stripes"})


@pytest.fixture
def grid(qtbot, loader, images, book):
    grid = ClusterGrid(loader)
    qtbot.addWidget(grid)
    grid.resize(800, 600)
    grid.set_columns(6)
    grid.set_data(book, {0: 9}, *images)
    yield grid
    grid.close()


def shown(qtbot, grid: ClusterGrid) -> ClusterGrid:
    grid.show()
    qtbot.waitExposed(grid)
    return grid


def centre(grid: ClusterGrid, row: int) -> QPoint:
    return grid.view().visualRect(grid.model.index(row)).center()


def test_sections_are_a_header_then_the_members(grid, book):
    model = grid.model
    assert model.rowCount() == 36 + 3
    assert [r for r in range(39) if model.is_header(r)] == [0, 13, 26]
    assert [model.image_at(r) for r in range(1, 13)] == list(range(0, 36, 3))
    assert model.index(0).data() == "Cluster 1 · 12 images"
    assert model.index(13).data() == "Stripes · 12 images"
    assert grid.summary.text() == "3 clusters · 36 images"


def test_noise_comes_last_and_sizes_are_counted(grid, images):
    labels = np.array([0] * 20 + [-1] * 5 + [4] * 11)
    grid.set_data(ClusterBook(labels), {}, *images)
    model = grid.model
    headers = [r for r in range(model.rowCount()) if model.is_header(r)]
    assert [model.label_at(r) for r in headers] == [0, 4, -1]
    assert [model.index(r).data() for r in headers] == ["Cluster 1 · 20 images", "Cluster 5 · 11 images",
                                                        "Unclustered · 5 images"]


def test_headers_span_the_width_and_cells_are_square(qtbot, grid):
    shown(qtbot, grid)
    view = grid.view()
    header = view.visualRect(grid.model.index(13))
    cells = [view.visualRect(grid.model.index(r)) for r in range(1, 13)]
    line = view.viewport().width() - 1
    assert header.width() == line
    assert all(c.width() == c.height() == line // 6 for c in cells)
    assert len({c.top() for c in cells}) == 2  # twelve images in two lines of six
    assert cells[0].left() == 0 and cells[0].top() == view.visualRect(grid.model.index(0)).bottom() + 1
    assert view.visualRect(grid.model.index(14)).top() >= header.bottom()


def test_thumbnails_load_only_for_painted_rows(qtbot, grid, loader, images, tmp_path):
    paths, hashes = images
    changed: list[int] = []
    grid.model.dataChanged.connect(lambda top, bottom, roles: changed.append(top.row()))
    assert not list((tmp_path / "thumbs").rglob("*.jpg")), "nothing is loaded before it is painted"
    shown(qtbot, grid)
    first, last = grid.view().visible_range()
    visible_images = [r for r in range(first, last + 1) if not grid.model.is_header(r)]
    qtbot.waitUntil(lambda: any(r in changed for r in visible_images), timeout=10_000)
    row = next(r for r in visible_images if r in changed)
    pixmap = grid.model.index(row).data(DECORATION)
    assert isinstance(pixmap, QPixmap) and not pixmap.isNull()
    # The third cluster lies below the fold at 800 x 600: its thumbnails were never asked for.
    assert last < 26
    below = {hashes[grid.model.image_at(r)] for r in range(27, 39)}
    qtbot.wait(300)
    made = {p.stem for p in (tmp_path / "thumbs").rglob("*.jpg")}
    assert made and not made & below


def test_header_shows_the_medoid_thumbnail(qtbot, grid, images, loader):
    paths, hashes = images
    shown(qtbot, grid)
    qtbot.waitUntil(lambda: loader.pixmap(paths[9], hashes[9]) is not None, timeout=10_000)
    assert grid.model.index(0).data(DECORATION).cacheKey() == loader.pixmap(paths[9], hashes[9]).cacheKey()


def test_column_slider_sets_the_cell_size(qtbot, grid):
    shown(qtbot, grid)
    view, width = grid.view(), grid.view().viewport().width() - 1
    with qtbot.waitSignal(grid.columns_changed) as signal:
        grid.set_columns(4)
    assert signal.args == [4] and grid.columns() == 4 and grid.slider.value() == 4
    assert view.visualRect(grid.model.index(1)).width() == width // 4
    grid.set_columns(10)
    assert view.visualRect(grid.model.index(1)).width() == width // 10
    grid.set_columns(99)
    assert grid.columns() == 16
    grid.set_columns(0)
    assert grid.columns() == 2


def test_the_column_slider_leaves_the_arrow_keys_to_the_grid(qtbot, grid):
    shown(qtbot, grid)
    grid.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is grid, timeout=2000)
    qtbot.mouseClick(grid.slider, LEFT, pos=grid.slider.rect().center())
    assert not grid.slider.hasFocus()
    grid.setFocus()  # focus given to the grid lands in its view
    assert grid.view().hasFocus()
    columns = grid.columns()
    grid.view().setCurrentIndex(grid.model.index(1))
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Right)
    assert grid.view().currentIndex().row() == 2 and grid.columns() == columns


def test_selection_reports_image_indices_never_headers(qtbot, grid):
    with qtbot.waitSignal(grid.selection_changed) as signal:
        grid.view().selectAll()
    assert signal.args[0] == list(range(36))
    assert not grid.view().selectionModel().isSelected(grid.model.index(0))
    with qtbot.assertNotEmitted(grid.selection_changed):
        grid.set_selection([7, 5, 30])
    assert grid.selection() == [5, 7, 30]
    grid.set_selection(list(range(0, 36, 3)))  # a whole cluster: one run of rows
    assert len(grid.view().selectionModel().selection()) == 1
    assert grid.selection() == list(range(0, 36, 3))


def test_clicks_select_images(qtbot, grid):
    shown(qtbot, grid)
    view = grid.view()
    with qtbot.waitSignal(grid.selection_changed) as signal:
        qtbot.mouseClick(view.viewport(), LEFT, pos=centre(grid, 2))
    assert signal.args[0] == [3]
    qtbot.mouseClick(view.viewport(), LEFT, Qt.KeyboardModifier.ControlModifier, centre(grid, 14))
    assert grid.selection() == [1, 3]


def test_dropping_on_another_cluster_requests_a_move(qtbot, grid):
    model = grid.model
    dragged = [model.index(1), model.index(2), model.index(0)]  # images 0 and 3, and a header
    mime = model.mimeData(dragged)
    with qtbot.waitSignal(grid.move_requested) as signal:
        assert model.dropMimeData(mime, Qt.DropAction.MoveAction, -1, -1, model.index(26))
    assert signal.args == [[0, 3], 2]
    # Dropping on an image counts as its cluster; dropping home does nothing.
    with qtbot.waitSignal(grid.move_requested) as signal:
        model.dropMimeData(mime, Qt.DropAction.MoveAction, -1, -1, model.index(20))
    assert signal.args == [[0, 3], 1]
    assert not model.canDropMimeData(mime, Qt.DropAction.MoveAction, -1, -1, model.index(5))
    with qtbot.assertNotEmitted(grid.move_requested):
        assert not model.dropMimeData(mime, Qt.DropAction.MoveAction, -1, -1, model.index(5))
    assert model.rowCount() == 39 and model.image_at(1) == 0, "the model never edits itself"


def test_a_drop_on_the_view_targets_the_cluster_under_the_cursor(qtbot, grid):
    shown(qtbot, grid)
    view, model = grid.view(), grid.model
    mime = model.mimeData([model.index(14)])  # image 1, in cluster 1
    drop = QDropEvent(QPointF(centre(grid, 0)), Qt.DropAction.MoveAction, mime, LEFT, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(grid.move_requested) as signal:
        view.dropEvent(drop)
    assert signal.args == [[1], 0] and drop.isAccepted()
    # The empty end of a section's last line belongs to that section.
    gap = QPointF(view.viewport().width() - 5, view.visualRect(model.index(12)).center().y())
    assert not view.indexAt(gap.toPoint()).isValid() and view.row_near(gap.toPoint()) == 12
    drop = QDropEvent(gap, Qt.DropAction.MoveAction, mime, LEFT, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(grid.move_requested) as signal:
        view.dropEvent(drop)
    assert signal.args == [[1], 0]
    # Over the dragged image's own cluster nothing happens, and the drop is refused.
    drop = QDropEvent(QPointF(centre(grid, 15)), Qt.DropAction.MoveAction, mime, LEFT, Qt.KeyboardModifier.NoModifier)
    with qtbot.assertNotEmitted(grid.move_requested):
        view.dropEvent(drop)
    assert not drop.isAccepted()


def test_dragging_over_a_cluster_highlights_it_and_outside_files_pass_through(qtbot, grid):
    shown(qtbot, grid)
    view, model = grid.view(), grid.model
    mime, move = model.mimeData([model.index(1)]), Qt.DropAction.MoveAction  # image 0, cluster 0
    enter = QDragEnterEvent(centre(grid, 2), move, mime, LEFT, Qt.KeyboardModifier.NoModifier)
    view.dragEnterEvent(enter)
    assert enter.isAccepted(), "accepted even over its own cluster, or no move events would follow"
    over = QDragMoveEvent(centre(grid, 13), move, mime, LEFT, Qt.KeyboardModifier.NoModifier)
    view.dragMoveEvent(over)
    assert over.isAccepted() and view.drop_label == 1
    home = QDragMoveEvent(centre(grid, 5), move, mime, LEFT, Qt.KeyboardModifier.NoModifier)
    view.dragMoveEvent(home)
    assert not home.isAccepted() and view.drop_label is None
    files = QMimeData()
    files.setUrls([QUrl.fromLocalFile("/tmp/x.png")])
    outside = QDragEnterEvent(centre(grid, 2), Qt.DropAction.CopyAction, files, LEFT, Qt.KeyboardModifier.NoModifier)
    view.dragEnterEvent(outside)
    assert not outside.isAccepted()


def test_right_click_asks_for_image_and_cluster_menus(qtbot, grid):
    shown(qtbot, grid)
    viewport = grid.view().viewport()

    def right_click(row: int) -> QPoint:
        pos = centre(grid, row)
        QApplication.sendEvent(viewport, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos,
                                                           viewport.mapToGlobal(pos)))
        return viewport.mapToGlobal(pos)

    with qtbot.waitSignal(grid.context_requested) as signal:
        where = right_click(3)
    assert signal.args == [6, where]
    with qtbot.waitSignal(grid.header_context_requested) as signal:
        where = right_click(13)
    assert signal.args == [1, where]


def test_double_click_opens_an_image_or_renames_a_cluster(qtbot, grid):
    shown(qtbot, grid)
    viewport = grid.view().viewport()

    def double_click(row: int) -> None:
        # A real double click starts with a press; QTest's sends the double-click event alone.
        qtbot.mouseClick(viewport, LEFT, pos=centre(grid, row))
        qtbot.mouseDClick(viewport, LEFT, pos=centre(grid, row))

    with qtbot.waitSignal(grid.activated) as signal, qtbot.assertNotEmitted(grid.rename_requested):
        double_click(14)
    assert signal.args == [1]
    with qtbot.waitSignal(grid.rename_requested) as signal, qtbot.assertNotEmitted(grid.activated):
        double_click(13)
    assert signal.args == [1]


def test_ten_thousand_images(qtbot, grid, tmp_path, loader):
    n = 10_000
    labels = np.random.default_rng(0).integers(-1, 40, n)
    paths = [tmp_path / f"missing{i}.png" for i in range(n)]  # unreadable: drawn as broken
    hashes = [f"{i:064x}" for i in range(n)]
    book = ClusterBook(labels)
    grid.set_data(book, {}, paths, hashes)
    assert grid.model.rowCount() == n + len(book.clusters())
    shown(qtbot, grid)
    view = grid.view()
    view.verticalScrollBar().setValue(view.verticalScrollBar().maximum() // 2)
    first, last = view.visible_range()
    assert 0 < grid.visible_rows() < 200 and first > 1000
    row = next(r for r in range(first, last + 1) if not grid.model.is_header(r))
    qtbot.waitUntil(lambda: loader.is_broken(hashes[grid.model.image_at(row)]), timeout=10_000)
    grid.view().grab()  # paints the broken placeholders
    grid.scroll_to(9_999)
    first, last = view.visible_range()
    assert first <= grid.model.rows_of_images([9_999])[0] <= last
    grid.scroll_to_cluster(-1)
    assert view.visible_range()[0] == grid.model.header_row(-1)
    members = book.members(7).tolist()
    grid.set_selection(members)
    assert grid.selection() == members
    grid.set_data(book, {}, paths, hashes)  # a rebuild keeps the scroll position
    assert view.visible_range()[0] == grid.model.header_row(-1)


def test_clear_empties_the_grid(qtbot, grid):
    shown(qtbot, grid)
    grid.set_selection([1, 2])
    grid.clear()
    assert grid.model.rowCount() == 0 and grid.selection() == [] and grid.summary.text() == ""
    assert grid.visible_rows() == 0
    grid.view().grab()  # paints the empty-state message


def test_image_role_marks_headers(grid):
    assert grid.model.index(0).data(IMAGE_ROLE) == -1
    assert grid.model.index(1).data(IMAGE_ROLE) == 0


# the dendrogram view ---------------------------------------------------------------------

@pytest.fixture
def tree():
    rng = np.random.default_rng(3)
    points = np.concatenate([rng.normal(c, 0.5, (40, 3)) for c in ((0, 0, 0), (6, 0, 0), (0, 6, 0), (0, 0, 6))])
    z = linkage(points, "ward")
    return dendrogram_segments(z, fcluster(z, 4, "maxclust") - 1, max_leaves=30)


def test_dendrogram_draws_one_item_per_colour(qtbot, tree):
    view = DendrogramView()
    qtbot.addWidget(view)
    view.resize(700, 500)
    view.set_dendrogram(tree)
    view.show()
    qtbot.waitExposed(view)
    assert not view.message.isVisible() and view.plot.isVisible()
    lines = [i for i in view.plot.getPlotItem().items if isinstance(i, pg.PlotDataItem)]
    assert len(lines) == len(np.unique(tree.colours)) == 5  # four clusters and the mixed links above them
    assert sum(len(i.getData()[0]) for i in lines) == 6 * tree.segment_count
    ticks = [t for _, t in view.plot.getPlotItem().getAxis("left")._tickLevels[0]]
    # Each cluster's name beside its first leaf, as the grid heads it; every leaf's size.
    firsts = [i for i, label in enumerate(tree.leaf_colours) if i == 0 or label != tree.leaf_colours[i - 1]]
    assert [ticks[i].removesuffix(tree.leaf_text[i]).strip() for i in firsts] == \
        [f"Cluster {tree.leaf_colours[i] + 1}" for i in firsts]
    assert all(tick == size for i, (tick, size) in enumerate(zip(ticks, tree.leaf_text)) if i not in firsts)
    assert not view.grab().isNull()
    assert view.dendrogram() is tree


def test_a_cluster_of_one_leaf_under_a_mixed_link_is_drawn_in_its_colour(qtbot):
    rng = np.random.default_rng(3)
    points = np.concatenate([rng.normal(c, 0.5, (20, 3)) for c in ((0, 0, 0), (6, 0, 0))])
    z = linkage(points, "ward")
    labels = fcluster(z, 2, "maxclust") - 1
    labels[7] = 5  # one image is a cluster of its own: its link up joins it to another cluster's images
    d = dendrogram_segments(z, labels, max_leaves=100)
    view = DendrogramView()
    qtbot.addWidget(view)
    view.set_dendrogram(d)
    own = view._colour(5).name()
    lines = [i for i in view.plot.getPlotItem().items
             if isinstance(i, pg.PlotDataItem) and i.opts["pen"].color().name() == own]
    assert len(lines) == 1
    heights, across = lines[0].getData()
    leaf = d.leaf_positions[list(d.leaf_colours).index(5)]
    # Its stem: from the leaf (height 0) up to the link that joins it.
    assert len(heights) == 2 and heights.min() == 0 and np.allclose(across, leaf)


def test_dendrogram_without_a_tree_explains_why(qtbot, tree):
    view = DendrogramView()
    qtbot.addWidget(view)
    view.set_dendrogram(tree)
    view.show()
    view.set_dendrogram(None)
    assert view.message.isVisible() and view.message.text() == MESSAGE
    assert not view.plot.getPlotItem().items
    view.set_dendrogram(tree)
    view.clear()
    assert view.message.isVisible() and view.dendrogram() is None
