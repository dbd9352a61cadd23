"""Pattern Organizer: sort pattern images by visual similarity."""

__version__ = "0.1.0"
