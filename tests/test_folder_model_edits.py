"""Edits made in the app reach the CLI: `organizer export --plan clusters` writes the app's folders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from opened import opened_model

from organizer.cli import main
from organizer.export.flow import build_plan, run_export
from organizer.storage.settings import Settings

FAST = Settings(feature_mode="colour")


def _exported(root: Path) -> dict[str, list[str]]:
    """Each folder the export made, with the files in it."""
    folders: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.png")):
        folders.setdefault(path.parent.relative_to(root).as_posix(), []).append(path.name)
    return folders


@pytest.fixture
def edited(sample_folder, tmp_path):
    """A folder opened as the app opens it, its clusters edited and saved; its model and book."""
    folder = tmp_path / "library"
    shutil.copytree(sample_folder, folder)
    model = opened_model(folder, FAST)
    a, b, c, d = model.book.clusters()[:4]
    model.move_to_cluster([int(i) for i in model.book.members(c)[:2]], a)
    model.rename(a, "Wavy lines")
    model.merge(b, d)
    model.rename(b, "Dots & stars")
    model.new_cluster([int(model.book.members(c)[-1])])
    return model, (a, b, d)


def test_the_cli_exports_the_clusters_as_edited_in_the_app(edited, tmp_path, capsys):
    model, (a, b, _) = edited
    book, library = model.book, model.library
    app_out, cli_out = tmp_path / "app", tmp_path / "cli"
    run_export(build_plan("clusters", library, app_out, book.labels, book.names))
    assert main(["export", str(library.folder), "--out", str(cli_out), "--plan", "clusters",
                 "--feature-mode", "colour"]) == 0
    app, cli = _exported(app_out), _exported(cli_out)
    assert {f"{a + 1:02d}_Wavy lines", f"{b + 1:02d}_Dots & stars"} <= set(app)
    assert cli == app


def test_cluster_and_order_show_the_edited_clusters(edited, capsys):
    model, (a, b, _) = edited
    paths, folder = model.library.paths, str(model.library.folder)
    assert main(["cluster", folder, "--json", "--mode", "colour"]) == 0
    data = json.loads(capsys.readouterr().out)
    # By number, as the grid heads the clusters: label + 1.
    assert data["edited"] and data["names"] == {str(a + 1): "Wavy lines", str(b + 1): "Dots & stars"}
    assert data["labels"] == {str(p): int(label) + 1 for p, label in zip(paths, model.book.labels)}
    assert data["sizes"] == {str(label + 1): model.book.size(label) for label in model.book.clusters()}
    assert data["medoids"] == {str(k + 1): str(paths[i]) for k, i in model.medoids.items()}
    assert main(["order", folder, "--by", "cluster", "--json", "--mode", "colour"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {row["path"]: row["cluster"] for row in rows} == data["labels"]


def test_other_clustering_settings_do_not_take_the_edits(edited, capsys):
    model, _ = edited
    assert main(["cluster", str(model.library.folder), "--json", "--mode", "colour", "--method", "kmeans",
                 "--k", "5"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert not data["edited"] and data["names"] == {} and len(data["sizes"]) == 5
