"""The library commands: tag, rate and label an image, as the app's grid does, in the same cache."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..embedding.library import Library
from ..folder import FolderModel, annotated_model
from ..io.printable import printable
from ..storage.annotations import LABELS, MAX_RATING, Annotation
from ..storage.paths import cache_db_path
from .args import add_folder, bounded_int
from .common import add_extractor_options, scan_library


def _model(args) -> tuple[FolderModel, int]:
    """The folder's model with its saved annotations, and the index of the image ``args.image`` names."""
    library = scan_library(args)
    model = annotated_model(library, cache_db_path(Path(args.folder), args.cache_beside))
    return model, _image_index(library, Path(args.folder), args.image)


def _image_index(library: Library, folder: Path, image: str) -> int:
    """The index of ``image``: a path relative to the folder, or one from here."""
    wanted = {(folder / image).resolve(), Path(image).resolve()}
    for i, path in enumerate(library.paths):
        if Path(path).resolve() in wanted:
            return i
    raise ValueError(f"{image} is not one of the images of {folder} (a path relative to the folder, or from here)")


def _report(model: FolderModel, index: int) -> int:
    note: Annotation = model.annotations[index]
    print(json.dumps({"path": printable(model.library.paths[index]), "tags": list(note.tags),
                      "rating": note.rating, "label": note.label}, ensure_ascii=False))
    return 0


def cmd_tag(args) -> int:
    if not args.add and not args.remove:
        print("nothing to do: give --add TAG or --remove TAG (the image's tags follow)", file=sys.stderr)
    model, index = _model(args)
    for tag in args.remove or ():
        model.remove_tag([index], tag)
    for tag in args.add or ():
        model.add_tag([index], tag)
    return _report(model, index)


def cmd_rate(args) -> int:
    model, index = _model(args)
    model.set_rating([index], args.stars)
    return _report(model, index)


def cmd_label(args) -> int:
    model, index = _model(args)
    model.set_label([index], args.colour)
    return _report(model, index)


def _image_command(sub, name: str, help: str):
    parser = sub.add_parser(name, help=help)
    add_folder(parser)
    parser.add_argument("image", metavar="IMAGE", help="the image: a path relative to FOLDER, or from here")
    return parser


def register(sub) -> None:
    tag = _image_command(sub, "tag", "add or remove an image's tags (the app's grid shows them); prints its annotation")
    tag.add_argument("--add", action="append", metavar="TAG", help="a tag to add (repeat for more)")
    tag.add_argument("--remove", action="append", metavar="TAG", help="a tag to remove (repeat for more)")
    add_extractor_options(tag)
    tag.set_defaults(func=cmd_tag)

    rate = _image_command(sub, "rate", "give an image 0 to 5 stars; prints its annotation")
    rate.add_argument("stars", metavar="N", type=bounded_int(0, MAX_RATING), help=f"0 to {MAX_RATING} stars")
    add_extractor_options(rate)
    rate.set_defaults(func=cmd_rate)

    label = _image_command(sub, "label", "give an image a colour label; prints its annotation")
    label.add_argument("colour", metavar="COLOUR", choices=LABELS, help=", ".join(LABELS))
    add_extractor_options(label)
    label.set_defaults(func=cmd_label)
