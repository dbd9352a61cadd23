"""``organizer --self-test``: prove an installed or frozen app works, with no display needed.

It opens the real window offscreen, renders the sample patterns into a temporary folder,
scans them with the bundled model, runs a find-similar and checks the answer, then exits
0 (or 1 with the reason). Its log names where the model's weights were loaded from, and any
network the scan had to export, so a bundle that silently used files from outside itself, or
missed its shipped exports, is caught.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

TIMEOUT_S = 600


def _log(message: str) -> None:
    print(f"self-test: {message}", flush=True)


def run_self_test() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings

    from ..storage.paths import models_dir, user_cache_dir, user_data_dir

    _log(f"user cache dir: {user_cache_dir()}; data dir: {user_data_dir()}")
    scratch = Path(tempfile.mkdtemp(prefix="organizer-self-test-"))
    # A throwaway cache, so the test proves the scan rather than reading an old cache.
    os.environ["ORGANIZER_CACHE_DIR"] = str(scratch / "cache")

    from .. import __version__
    from ..samples import family_of, write_sample_folder
    from .app import application, create_window

    frozen = getattr(sys, "frozen", False)
    _log(f"Pattern Organizer {__version__}, {'frozen bundle at ' + sys._MEIPASS if frozen else 'not frozen'}")
    model, inside = _default_model_source(frozen)
    _log(f"pretrained model: {model}{', inside the bundle' if inside else ''}")
    if frozen and not inside:
        _log("FAIL: the default model's exports are not inside the bundle")
        return 1

    folder = scratch / "samples"
    write_sample_folder(folder, per_family=3, colourways=2, size=(128, 128))
    app = application()
    window = create_window(QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat))
    window.show()
    _log(f"settings file: {QSettings().fileName()}")
    session = window.session
    started = time.monotonic()

    def wait(condition, what: str) -> bool:
        while not condition():
            app.processEvents()
            time.sleep(0.01)
            if time.monotonic() - started > TIMEOUT_S:
                _log(f"FAIL: timed out waiting for {what}; status: {window.message.text()}")
                return False
        return True

    try:
        window.open_folder(folder)
        if not wait(lambda: session.library is not None, "the scan"):
            return 1
        library = session.library
        _log(f"scanned {len(library)} images in {library.report.seconds:.1f} s with {library.spec.id}; "
             f"{len(library.failures)} failures")
        if not wait(lambda: session.book is not None and session.layout is not None
                    and not session.runner.running("map"), "the map and clusters"):
            return 1
        _log(f"map and {len(session.book.clusters())} clusters after {time.monotonic() - started:.1f} s; "
             f"device: {session.device_description}")
        # The bundle has no torch to export with: its scan must have read the exports it ships.
        made = sorted(path.name for path in models_dir().glob("*.onnx"))
        _log(f"networks exported by this run: {', '.join(made) or 'none'}")
        if frozen and made:
            _log("FAIL: the bundle exported a network instead of reading its own")
            return 1
        query = next(i for i, p in enumerate(library.paths) if family_of(p.name) == "normal-chevron")
        session.find_similar(query)
        if not wait(lambda: bool(window.similar.results()), "find similar"):
            return 1
        top = [family_of(library.paths[i].name) for i, _ in window.similar.results()[:3]]
        _log(f"images like {library.paths[query].name}: {', '.join(top)}")
        if top.count("normal-chevron") < 2:
            _log("FAIL: find-similar did not return the query's pattern family")
            return 1
        # Clustering and the map's long steps run in a child process that a stop can end; a
        # freeze that breaks starting children (the fork server, spawn) only shows in a bundle.
        from ..jobs.subprocess_step import run_stoppable

        power = run_stoppable(pow, 6, 7, should_stop=lambda: False)
        _log(f"a stoppable step in a child process: 6**7 = {power}")
        if power != 6**7:
            _log("FAIL: the child process gave a wrong answer")
            return 1
        _log("PASS")
        return 0
    finally:
        window.close()
        shutil.rmtree(scratch, ignore_errors=True)


def _default_model_source(frozen: bool) -> tuple[str, bool]:
    """Where the default model comes from, and whether that is inside the frozen bundle: its shipped
    exports (named by the hash of the weights they came from) or, in a pip install, the weights file."""
    from ..embedding.backbones import DEFAULT_MODEL, lite_weights_path
    from ..resources import WEIGHT_DIGESTS, resource_path, shipped_weights_digest

    digest = shipped_weights_digest(DEFAULT_MODEL)
    if digest:
        path, source = resource_path(WEIGHT_DIGESTS), f"exports of the weights hashed {digest}"
    else:
        path = lite_weights_path(DEFAULT_MODEL)
        source = f"weights {path} ({path.stat().st_size:,} bytes)"
    return source, frozen and Path(sys._MEIPASS) in path.resolve().parents
