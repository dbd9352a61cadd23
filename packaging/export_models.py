"""Export the default model's taps to ONNX for the bundle, which runs them without torch.

    python packaging/export_models.py build/models

One file for the default layers (content and texture) and one for structure mode's, named as
``embedding/exported.py`` looks for them; the spec ships them as the app's resources. Any other model
or layer choice needs torch, which the bundle leaves out, and says so.
"""

import sys
from pathlib import Path

from organizer.embedding import exported, make_spec


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for spec in (make_spec(), make_spec(mode="structure")):
        path = exported.export_into(spec, folder)
        print(f"{'+'.join(spec.taps)}: {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
