"""The export dialog: choose a plan, a mode and a folder, preview the plan, write it, undo a move.

Every step runs in a worker through :mod:`.workers` and the core's
:mod:`~organizer.export.flow`, the same functions the CLI uses, so the GUI cannot
export differently from ``organizer export``. Results and errors are shown inline: an
export can fail in ways (a full disk, a name taken) that deserve a sentence, not a box.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QButtonGroup, QDialog, QFileDialog, QLabel, QLineEdit, QProgressBar, QSpinBox,
                               QVBoxLayout, QWidget)

from ...analysis.edits import ClusterBook
from ...export.apply import resume, undo
from ...export.flow import (ExportSource, PreparedExport, apply_summary, latest_move_journal, pending_journal,
                            run_export, undo_summary)
from ...export.plan import check_folders
from ...io.files import MAX_FILE_BYTES
from ..palette import tone_colour
from ..workers import Task, TaskRunner
from .export_form import SubsetOption, button, choices, indent, row
from .export_preview import (MODE_CHOICES, MOVE_WARNING, PLAN_CHOICES, fill_table, plan_headline, preview_table,
                             summary_html)

PREVIEW_ROWS = 50
#: Waits for typing to pause before checking a typed folder, which reads its journals.
TARGET_CHECK_DELAY_MS = 300


class ExportDialog(QDialog):
    exported = Signal(object)  # ApplyReport
    undone = Signal(object)  # UndoReport
    library_files_changed = Signal()  # a move or its undo ended, even in part: the library's paths are stale

    def __init__(self, runner: TaskRunner, source: ExportSource, parent: QWidget | None = None,
                 default_out: Path | None = None, max_file_bytes: int = MAX_FILE_BYTES,
                 shown: np.ndarray | None = None, filter_description: str = ""):
        """``source``: the folder model's :meth:`~organizer.folder.model.FolderModel.export_source`, a snapshot the
        owner's later edits leave alone. ``shown``: the indices the window's filter shows, described by
        ``filter_description``; None: no filter."""
        super().__init__(parent)
        self.setWindowTitle("Export")
        self._runner, self._max_file_bytes = runner, max_file_bytes  # for a grid's contact sheet
        self._source = source
        self._library = library = source.library
        self._book = None if source.labels is None else ClusterBook(source.labels, dict(source.names))
        self._prepared: PreparedExport | None = None
        self._task: Task | None = None
        self._task_slot, self._moves_files = "", False
        self._closing, self._delete_when_ended = False, False
        self._undo_journal: Path | None = None
        self._target_check = QTimer(self, singleShot=True, interval=TARGET_CHECK_DELAY_MS)
        self._target_check.timeout.connect(self._check_target)
        self.subset_option = SubsetOption(shown, filter_description, len(library))
        self._build(default_out or library.folder.parent / f"{library.folder.name} sorted")
        self._update_options()
        self._check_target()

    # layout ---------------------------------------------------------------------------------
    def _build(self, default_out: Path) -> None:
        layout = QVBoxLayout(self)
        self.heading = QLabel()
        layout.addWidget(self.heading)
        self.subset_option.toggled.connect(self._options_changed)
        layout.addWidget(self.subset_option)

        self.plan_group, plan_box = choices(self, "Arrangement", PLAN_CHOICES, self._options_changed)
        self.columns = QSpinBox(minimum=0, maximum=500, specialValueText="Automatic",
                                toolTip="Automatic: as near a square as the number of images allows")
        self.columns.valueChanged.connect(self._options_changed)
        self.columns_row = QWidget()
        row(self.columns_row, QLabel("Columns:"), self.columns, (None, 1)).setContentsMargins(indent(self), 0, 0, 0)
        plan_box.layout().insertWidget(plan_box.layout().count() - 1, self.columns_row)
        self.mode_group, mode_box = choices(self, "Mode", MODE_CHOICES, self._options_changed)
        self.mode_warning = QLabel(MOVE_WARNING, wordWrap=True)
        self.mode_warning.setStyleSheet(f"color: {tone_colour(self.palette(), 'warning').name()}; font-weight: 600;")
        mode_box.layout().insertWidget(mode_box.layout().count() - 1, self.mode_warning)
        row(layout, (plan_box, 3), (mode_box, 2))

        self.target_edit = QLineEdit(str(default_out), placeholderText="A folder outside the library folder")
        self.target_edit.textChanged.connect(self._target_changed)
        row(layout, QLabel("Export to:"), (self.target_edit, 1), button("Browse…", self._browse))
        self.preview_button = button("Preview", self.preview, default=True)
        self.plan_summary = QLabel()
        row(layout, self.preview_button, (self.plan_summary, 1))
        self.preview_table = preview_table(self.fontMetrics().height() + 8)
        layout.addWidget(self.preview_table, 1)

        self.progress = QProgressBar(visible=False)
        self.cancel_button = button("Cancel", self.cancel, visible=False)
        row(layout, (self.progress, 1), self.cancel_button)
        self.status_label = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText,
                                   textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status_label)

        self.undo_button = button("Undo last move", self.undo_last_move)
        self.open_button = button("Open export folder", self._open_target, enabled=False)
        # Not the default button: Enter in the folder field must not start a move.
        self.export_button = button("Export", self.start_export, autoDefault=False)
        row(layout, self.undo_button, self.open_button, (None, 1), self.export_button,
            button("Close", self.reject))
        self.resize(860, 640)

    # options --------------------------------------------------------------------------------
    def plan_kind(self) -> str:
        return self.plan_group.checkedButton().property("key")

    def mode(self) -> str:
        return self.mode_group.checkedButton().property("key")

    def target(self) -> Path:
        return Path(self.target_edit.text().strip()).expanduser()

    def set_plan(self, kind: str) -> None:
        self._check(self.plan_group, kind)

    def set_mode(self, mode: str) -> None:
        self._check(self.mode_group, mode)

    def set_target(self, path: Path) -> None:
        self.target_edit.setText(str(path))

    @staticmethod
    def _check(group: QButtonGroup, key: str) -> None:
        buttons = {b.property("key"): b for b in group.buttons()}
        buttons[key].setChecked(True)  # KeyError: not one of the choices

    def _browse(self) -> None:
        start = self.target() if self.target().is_dir() else self._library.folder.parent
        chosen = QFileDialog.getExistingDirectory(self, "Export to folder", str(start))
        if chosen:
            self.set_target(Path(chosen))

    def _open_target(self) -> None:
        out = self.target()  # looked for first: on Linux openUrl starts xdg-open, True for a folder that is gone
        self._runner.start("export-open", lambda ctx: out.is_dir(), on_finished=lambda found: self._open(out, found))

    def _open(self, out: Path, exists: bool) -> None:
        if not exists:
            self.open_button.setEnabled(False)
            self._say(f"{escape(str(out))} is not there any more: it was moved or deleted.", "target")
        elif not QDesktopServices.openUrl(QUrl.fromLocalFile(str(out))):
            self._say(f"Could not open {escape(str(out))}: no file manager answered.", "error")

    def _target_changed(self) -> None:
        self._options_changed()
        self._target_check.start()

    def _options_changed(self) -> None:
        """Any change makes the preview describe another export: drop it."""
        if self._task_slot == "export-plan":
            self._stop_task()
        self._prepared = None
        self.preview_table.setRowCount(0)
        self.plan_summary.setText("Preview lists what the export will write, before anything is written.")
        self._update_options()

    def _update_options(self) -> None:
        count, total = self.subset_option.count(), len(self._library)
        of = f" of {total:,}" if count != total else ""
        folder = escape(str(self._library.folder))
        self.heading.setText(f"<b>Export {count:,}{of} image{'s' * (total != 1)}</b> from {folder}")
        self.columns_row.setVisible(self.plan_kind() == "grid")
        self.mode_warning.setVisible(self.mode() == "move")
        running = self._task is not None and self._task_slot != "export-plan"
        for widget in (self.plan_group.parent(), self.mode_group.parent(), self.target_edit):
            widget.setEnabled(not running)
        self.subset_option.allow(not running)
        self.export_button.setEnabled(not running and self._has_target())
        self.preview_button.setEnabled(not running and self._has_target())
        self.undo_button.setEnabled(not running and self._undo_journal is not None)
        self.undo_button.setToolTip(f"Moves the files back as recorded in {self._undo_journal}"
                                    if self._undo_journal else "No move export to undo in this folder")

    def _check_target(self) -> None:
        """In a worker: is the folder allowed, and does it hold a move that can be undone?"""
        if not self._has_target():
            self._target_checked((None, False))
            return
        folder, out = self._library.folder, self.target()

        def job(ctx) -> tuple[Path | None, bool]:
            check_folders(folder, out)
            return latest_move_journal(out), out.is_dir()
        self._runner.start("export-target", job, on_finished=self._target_checked, on_failed=self._target_refused)

    def _target_checked(self, result: tuple[Path | None, bool]) -> None:
        self._undo_journal, exists = result
        self.open_button.setEnabled(exists)
        if self.status_label.property("tone") == "target":
            self._say("")
        self._update_options()

    def _target_refused(self, message: str) -> None:
        self._undo_journal = None
        self.open_button.setEnabled(False)
        self._say(escape(message), "target")
        self._update_options()

    # work -----------------------------------------------------------------------------------
    def _jobs(self):
        """Building the plan, and finding an interrupted export to finish, for the options as
        they stand now: captured, so that later edits cannot change a running job."""
        kind, mode, source, out = self.plan_kind(), self.mode(), self._source, self.target()
        cols, subset = self.columns.value() or None, self.subset_option.subset()

        def build(ctx) -> PreparedExport:
            return source.plan(kind, out, cols, subset=subset, progress=ctx.progress, should_stop=ctx.should_stop)
        return build, lambda: pending_journal(out, source.library.folder, kind, mode)

    def _has_target(self) -> bool:
        # Path("") would mean the working folder; the buttons are disabled meanwhile.
        return bool(self.target_edit.text().strip())

    def preview(self) -> None:
        if self._has_target():
            build, pending = self._jobs()
            self._run("export-plan", lambda ctx: (build(ctx), pending()), self._previewed, "Planning…")

    def _previewed(self, result: tuple[PreparedExport, Path | None]) -> None:
        self._prepared, pending = result
        self._show_plan(self._prepared)
        if pending is not None:
            self._say(f"This folder holds an interrupted export of the same plan; Export finishes it "
                      f"({escape(pending.name)}).")
        else:
            self._say("")

    def _show_plan(self, prepared: PreparedExport) -> None:
        fill_table(self.preview_table, prepared, self._book, PREVIEW_ROWS)
        self.plan_summary.setText(plan_headline(prepared, PREVIEW_ROWS))

    def start_export(self) -> None:
        if not self._has_target():
            return
        (build, pending), prepared, mode = self._jobs(), self._prepared, self.mode()

        def job(ctx):
            journal = pending()
            if journal is not None:  # the same export, interrupted: finish it rather than start a second
                return resume(journal, progress=ctx.progress, should_stop=ctx.should_stop), None
            plan = prepared or build(ctx)
            return run_export(plan, mode, ctx.progress, ctx.should_stop, self._max_file_bytes), plan
        self._run("export", job, self._exported, "Exporting…", moves_files=mode == "move")

    def _exported(self, result) -> None:
        report, plan = result
        if plan is not None:  # the table shows what was written, previewed or not
            self._show_plan(plan)
        self._say(summary_html(*apply_summary(report)), "error" if report.failed else "")
        self._written()
        self.exported.emit(report)

    def undo_last_move(self) -> None:
        journal = self._undo_journal
        if journal is None:
            return
        # Not cancellable: undo has no stopping point, and half an undo helps nobody.
        self._run("export", lambda ctx: undo(journal), self._undone, "Moving the files back…", cancellable=False,
                  moves_files=True)

    def _undone(self, report) -> None:
        self._say(summary_html(*undo_summary(report)), "error" if report.problems else "")
        self._written()
        self.undone.emit(report)

    def _written(self) -> None:
        """The folder changed: the plan's names are taken now, a move may be undoable. The table stays."""
        self._prepared = None
        self.plan_summary.setText("Preview again to plan another export.")
        self._check_target()

    def _run(self, slot: str, job, on_finished, note: str, cancellable: bool = True, moves_files: bool = False) -> None:
        self._stop_task()
        self._say(note)
        self.progress.setRange(0, 0)
        self.progress.setFormat("")
        self.progress.setVisible(True)
        self.cancel_button.setVisible(cancellable)
        self.cancel_button.setEnabled(True)
        self._task_slot, self._moves_files = slot, moves_files
        self._task = self._runner.start(slot, job, on_finished=self._ended(on_finished),
                                        on_progress=self._progressed, on_failed=self._ended(self._failed),
                                        on_cancelled=self._ended(lambda: self._cancelled(slot)))
        self._update_options()

    def _ended(self, handler):
        """``handler`` for the step's real end: only now may the library look at its files again."""
        def end(*args) -> None:
            moved = self._moves_files
            self._idle()
            if moved:
                self.library_files_changed.emit()
            handler(*args)
            if self._closing:
                self._closing = False
                self._runner.cancel("export-target")  # started by the handler for a dialog no one sees
                if self._delete_when_ended:
                    self.deleteLater()
        return end

    def _progressed(self, done: int, total: int, note: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"%v / %m  {note}" if note else "%v / %m")

    def _failed(self, message: str) -> None:
        self._say(escape(message), "error")
        self._check_target()

    def _cancelled(self, slot: str) -> None:
        if slot == "export":
            self._say("Stopped. What was written stays, listed in the export's journal; export again to "
                      "finish it, or Undo last move after a move.")
            self._written()
        else:
            self._say("Preview cancelled.")

    def _idle(self) -> None:
        self._task, self._task_slot, self._moves_files = None, "", False
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self._update_options()

    def cancel(self) -> None:
        """Stop the running step; it reports back once it has stopped between two files."""
        if self._task is not None:
            self._task.cancel()
            self.cancel_button.setEnabled(False)
            self._say("Stopping…")

    def _stop_task(self) -> None:
        """Drop the running step at once; its late results, and its end, are ignored."""
        if self._task is not None:
            self._runner.cancel(self._task_slot)
            self._idle()

    def _say(self, html: str, tone: str = "") -> None:
        error = tone in ("error", "target")  # "target": the folder's own error, cleared once it is fixed
        self.status_label.setStyleSheet(f"color: {tone_colour(self.palette(), 'error').name()};" if error else "")
        self.status_label.setProperty("tone", tone)
        self.status_label.setText(html)

    def done(self, result: int) -> None:
        """Closing stops whatever runs: an export left behind would keep writing unseen. A move or its
        undo keeps its place in the runner, so its end still announces the moved files: the dialog
        waits for it, hidden. One the runner dropped (the window's shutdown) ends unannounced."""
        self._target_check.stop()
        for slot in ("export-target", "export-open"):
            self._runner.cancel(slot)
        self._closing = self._moves_files and self._runner.running(self._task_slot)
        if self._closing:
            self._task.cancel()
            self._delete_when_ended = self.testAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        else:
            self._stop_task()
        super().done(result)
