"""A partial map is one neutral tone until the clusters of its images exist, and the legend says when they come.

An earlier map's cluster colours on a rescan's partial map, or the unclustered images' grey,
would say something about clusters no one has computed for these images yet.
"""

from __future__ import annotations

import numpy as np

from organizer.folder import scanning
from organizer.gui import session as session_module
from organizer.gui.map.map_overlays import PENDING_NOTE
from organizer.gui.palette import tone_colour
from organizer.jobs.tasks import Cancelled

from .test_app import SCAN_TIMEOUT_MS, store, window  # noqa: F401 - the fixtures these tests share
from .test_live_scan import IMAGES, held, small_folder  # noqa: F401


def dot_colours(map_view) -> set[str]:
    """The brush of every dot drawn on the map (one item per colour)."""
    return {item.opts["brush"].color().name() for item in map_view._dots if len(item.data)}


def drawn_points(map_view) -> int:
    """How many dots are drawn: a point without a place yet (NaN) is not."""
    return sum(len(item.data) for item in map_view._dots)


def neutral(window) -> str:
    return tone_colour(window.map_view.palette(), "muted").name()


def legend_lines(window) -> list[str]:
    return [window.legend.item(row).text() for row in range(window.legend.count())]


def test_a_scans_partial_map_is_neutral_until_its_clusters_come(qtbot, window, small_folder, held, monkeypatch):
    monkeypatch.setattr(scanning, "PARTIAL_MAP_AT", (8,))
    session = window.session
    window.open_folder(small_folder)
    qtbot.waitUntil(held.holding.is_set, timeout=SCAN_TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.map_view.point_count() >= 8, timeout=SCAN_TIMEOUT_MS)
    assert session.runner.running("scan") and session.book is None
    assert dot_colours(window.map_view) == {neutral(window)}
    assert window.legend.isVisible() and PENDING_NOTE in legend_lines(window)[0]
    assert window.legend.count() == 1

    held.release()
    # The clusters, and the final layout: until it comes, the partial map's 8 points stand for the folder.
    qtbot.waitUntil(lambda: session.book is not None and session.layout is not None
                    and drawn_points(window.map_view) == IMAGES, timeout=SCAN_TIMEOUT_MS)
    identities = session.book.identities()
    assert dot_colours(window.map_view) == {identities[int(label)].colour for label in set(session.book.labels)}
    assert neutral(window) not in dot_colours(window.map_view)
    assert not any(PENDING_NOTE in line for line in legend_lines(window))
    assert window.legend.count() == len(identities)


def test_a_rescans_partial_map_drops_the_old_clusters_colours(qtbot, window, small_folder, monkeypatch):
    monkeypatch.setenv("ORGANIZER_CACHE_DIR", str(small_folder.parent / "cache"))
    session = window.session
    window.open_folder(small_folder)
    qtbot.waitUntil(lambda: session.book is not None and window.map_view.point_count() == IMAGES
                    and not session.runner.busy(), timeout=SCAN_TIMEOUT_MS)
    coloured = dot_colours(window.map_view)
    assert len(coloured) > 1
    library = session.library
    # A rescan lays out the same images again before its clusters: what the session reports then.
    layout = np.random.default_rng(0).normal(size=(IMAGES, 2))
    session.scan_layout.emit(layout, list(library.paths), list(library.hashes))
    assert dot_colours(window.map_view) == {neutral(window)}
    assert np.allclose(window.map_view._xy, layout)
    assert legend_lines(window) == [f"{IMAGES} images so far\n{PENDING_NOTE}"]
    # The same partial map again (its t-SNE's last step) moves the points and keeps them neutral.
    session.scan_layout.emit(layout * 2, list(library.paths), list(library.hashes))
    assert dot_colours(window.map_view) == {neutral(window)} and np.allclose(window.map_view._xy, layout * 2)


def test_a_scanned_folder_waiting_for_its_clusters_is_neutral_and_says_so(qtbot, window, small_folder, monkeypatch):
    monkeypatch.setenv("ORGANIZER_CACHE_DIR", str(small_folder.parent / "cache"))
    session = window.session
    monkeypatch.setattr(session, "recluster", lambda: None)  # the clusters never come
    window.open_folder(small_folder)
    qtbot.waitUntil(lambda: session.library is not None and window.map_view.point_count() == IMAGES
                    and not session.runner.busy(), timeout=SCAN_TIMEOUT_MS)
    assert session.book is None
    assert dot_colours(window.map_view) == {neutral(window)}
    assert legend_lines(window) == [f"{IMAGES} images\nFinding their clusters…"]



def test_at_the_scans_end_the_partial_map_stays_until_the_final_layout_comes(qtbot, window, small_folder, held,
                                                                            monkeypatch):
    monkeypatch.setattr(scanning, "PARTIAL_MAP_AT", (8,))
    session = window.session
    starts = []  # the final layout never comes here, but where it would start from is kept
    laid_out = session_module.cached_map

    def final_map_stopped(*args, start=None, **kwargs):
        if start is None:  # a partial map
            return laid_out(*args, **kwargs)
        starts.append(start)
        raise Cancelled()
    monkeypatch.setattr(session_module, "cached_map", final_map_stopped)
    monkeypatch.setattr(session, "recluster", lambda: None)
    window.open_folder(small_folder)
    qtbot.waitUntil(held.holding.is_set, timeout=SCAN_TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.map_view.point_count() >= 8 and not session.runner.running("map"),
                    timeout=SCAN_TIMEOUT_MS)
    partial = dict(zip(window.map_view._paths, window.map_view._xy.copy()))

    held.release()
    qtbot.waitUntil(lambda: session.library is not None, timeout=SCAN_TIMEOUT_MS)
    library = session.library
    map_view = window.map_view
    # Every image in the library's order: those the partial map placed where it placed them, the rest hidden.
    assert map_view.point_count() == len(library) == IMAGES
    assert map_view._paths == list(library.paths)
    for path, xy in zip(library.paths, map_view._xy):
        assert np.allclose(xy, partial[path]) if path in partial else np.isnan(xy).all()
    assert drawn_points(map_view) == len(partial) >= 8
    assert dot_colours(map_view) == {neutral(window)}
    # The final layout goes on from the partial map: its places for the images it holds, none for the rest.
    qtbot.waitUntil(lambda: bool(starts), timeout=SCAN_TIMEOUT_MS)  # its job asks for it in a worker
    (start,) = starts
    for path, xy in zip(library.paths, start):
        assert np.allclose(xy, partial[path]) if path in partial else np.isnan(xy).all()

    final = np.random.default_rng(3).normal(size=(IMAGES, 2))
    session.model.set_layout(final)
    assert np.allclose(map_view._xy, final) and drawn_points(map_view) == IMAGES


def test_a_settings_change_starts_the_new_map_from_the_one_on_view(qtbot, window, small_folder, monkeypatch):
    from dataclasses import replace

    monkeypatch.setenv("ORGANIZER_CACHE_DIR", str(small_folder.parent / "settings-cache"))
    session = window.session
    window.open_folder(small_folder)
    qtbot.waitUntil(lambda: session.book is not None and session.layout is not None and not session.runner.busy(),
                    timeout=SCAN_TIMEOUT_MS)
    on_view, hashes = session.layout.copy(), list(session.library.hashes)
    starts = []
    laid_out = session_module.cached_map

    def recording(*args, start=None, **kwargs):
        starts.append(start)
        return laid_out(*args, start=start, **kwargs)
    monkeypatch.setattr(session_module, "cached_map", recording)
    # New vectors, so a new scan and a new map: it starts where the map on view has each image.
    session.apply_settings(replace(session.settings, adapt=not session.settings.adapt))
    qtbot.waitUntil(lambda: bool(starts) and session.layout is not None and not session.runner.busy(),
                    timeout=SCAN_TIMEOUT_MS)
    assert session.library.hashes == hashes
    assert np.allclose(starts[-1], on_view)
