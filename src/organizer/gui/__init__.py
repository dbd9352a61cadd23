"""The desktop app: Qt widgets over :mod:`organizer.core`, joined by :mod:`.workers` alone."""
