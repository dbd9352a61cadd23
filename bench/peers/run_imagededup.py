"""imagededup (idealo) on one folder: encode, then find near duplicates.

Runs in imagededup's own venv, in a fresh process. Modes:

- ``cnn``: its MobileNetV3 encoder. Its ImageNet weights cannot download here, so it runs
  with random weights: the compute (and so the time) is the same, the quality is not
  reported.
- ``phash``: its perceptual hash.

Its wheel's torchvision is the CUDA build, which does not import next to the CPU torch;
the project's one fix for that (backbones.import_torchvision) is borrowed before imagededup is imported.

    python bench/peers/run_imagededup.py FOLDER OUT_DIR MODE
"""

import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

SRC = Path(__file__).resolve().parents[2] / "src"


def offline_torchvision() -> bool:
    """Make torchvision importable (imagededup imports it in every mode); True when
    MobileNetV3's pretrained weights are unavailable and random ones stand in."""
    sys.path.insert(0, str(SRC))
    from organizer.embedding.backbones import import_torchvision

    torchvision = import_torchvision()
    original = torchvision.models.mobilenet_v3_small
    checkpoints = Path.home() / ".cache/torch/hub/checkpoints"
    if any(checkpoints.glob("mobilenet_v3_small-*.pth")):
        return False
    torchvision.models.mobilenet_v3_small = lambda weights=None, **kw: original(weights=None, **kw)
    return True


def main() -> None:
    folder, out, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    started = time.perf_counter()
    random_weights = offline_torchvision() and mode == "cnn"
    from imagededup.methods import CNN, PHash

    method = CNN(verbose=False) if mode == "cnn" else PHash(verbose=False)
    encodings = method.encode_images(image_dir=str(folder), recursive=True)
    encoded = time.perf_counter()
    if mode == "cnn":
        method.find_duplicates(encoding_map=encodings, min_similarity_threshold=0.9)
    else:
        method.find_duplicates(encoding_map=encodings, max_distance_threshold=10)
    finished = time.perf_counter()
    names = sorted(encodings)
    if mode == "cnn":
        features = np.stack([encodings[n] for n in names]).astype(np.float32)
    else:  # 64-bit hashes as 0/1 bits, compared by Hamming distance
        features = np.array([[int(b) for b in bin(int(encodings[n], 16))[2:].zfill(64)] for n in names], np.uint8)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "features.npy", features)
    # Its keys are file names, or paths relative to the folder when it recursed.
    by_key = {}
    for path in folder.rglob("*"):
        by_key.setdefault(path.name, path)
        by_key[str(path.relative_to(folder))] = path
    paths = [str(by_key[n]) for n in names]
    (out / "result.json").write_text(json.dumps({
        "paths": paths, "features_s": encoded - started, "search_s": finished - encoded, "total_s": finished - started,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "metric": "cosine" if mode == "cnn" else "hamming", "quality_valid": not random_weights,
        "notes": (f"CNN (MobileNetV3-small), {'random weights: offline' if random_weights else 'ImageNet weights'}"
                  if mode == "cnn" else "PHash, near duplicates within Hamming 10")}))


if __name__ == "__main__":
    main()
