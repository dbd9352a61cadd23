"""The opened folder as a Qt-free model, shared by the app and the CLI.

It sits above the core and storage and below the GUI and the CLI: the GUI wraps a
:class:`FolderModel` and turns its events into signals, the CLI loads one with
:func:`load_folder_state`, so both see the same clusters and the same edits.
"""

from .annotations import load_annotations
from .clustering import ClusterResult, cluster_library, cluster_spec, updated_medoids
from .filtering import LibraryFilter, filter_indices
from .history import Edit, EditHistory
from .loading import annotated_model, load_folder_state
from .model import FolderModel, write_now

__all__ = ["ClusterResult", "Edit", "EditHistory", "FolderModel", "LibraryFilter", "annotated_model",
           "cluster_library", "cluster_spec", "filter_indices", "load_annotations", "load_folder_state",
           "updated_medoids", "write_now"]
