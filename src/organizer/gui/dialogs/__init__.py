"""The dialogs: settings, export with its preview, align, levels, compare, and the shared worker dialog."""
