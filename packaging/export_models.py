"""Export the default model's taps to ONNX for the bundle, which runs them without torch.

    python packaging/export_models.py build/models

One file for the default layers (content and texture) and one for structure mode's, named as
``embedding/exported.py`` looks for them, and ``weights.json``, the hash of the weights they came
from, which names them; the spec ships these as the app's resources instead of the weights. Any
other model or layer choice needs torch, which the bundle leaves out, and says so.
"""

import json
import sys
from pathlib import Path

from organizer.embedding import backbones, exported, make_spec
from organizer.resources import WEIGHT_DIGESTS


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for spec in (make_spec(), make_spec(mode="structure")):
        path = exported.export_into(spec, folder)
        print(f"{'+'.join(spec.taps)}: {path} ({path.stat().st_size:,} bytes)")
    # The exports' names hash the weights file; the bundle ships the hash in place of the 21 MB file.
    digests = folder / Path(WEIGHT_DIGESTS).name
    digests.write_text(json.dumps({backbones.DEFAULT_MODEL: exported.weights_digest(backbones.lite_weights_path(backbones.DEFAULT_MODEL))}) + "\n",
                       encoding="utf-8")
    print(f"weights digest: {digests}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
