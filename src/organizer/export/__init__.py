"""Exporting a sorted folder: the plan (data, before anything is written), applying it with a journal, and undo."""
