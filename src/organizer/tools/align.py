"""Align near-identical images (scans or photos of one pattern) to a common reference.

Several scans of the same print never sit in exactly the same place: the sheet shifts,
turns and, between scanners or cameras, changes scale. Aligning them lets the app show
their mean (a cleaner picture of the pattern than any one scan) and write aligned
copies for side-by-side comparison. Registration (:mod:`.registration`, pystackreg's
TurboReg) runs on greyscale copies downscaled to a working resolution, which keeps it
to a fraction of a second per image whatever the scan size. The settings, ``MODELS`` and
``REFERENCES``, are registration's; the app and the CLI take them from here.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..export.plan import MAX_NAME_BYTES, safe_name
from ..io.images import DECODERS, LUMA_WEIGHTS, MAX_FILE_BYTES, ImageError, decode, load, read_bytes
from ..io.transfer import replace_atomically, write_new_file
from ..jobs.tasks import Cancelled, ProgressFn, StopFn, never_stop, no_progress
from .registration import MODELS, REFERENCES, STACKREG, align_arrays, check_settings, describe_transform, transform_one

#: Long side of the working copies. TurboReg's accuracy is sub-pixel, so 512 px keeps
#: alignment well within a scan's visible detail while one registration stays quick.
MAX_SIDE = 512

#: Below this TurboReg's scaled-rotation and affine fits give up (at 24 px they find no motion at all).
MIN_SIDE = 32

#: What each image keeps in memory per working pixel until the mean is made: its RGB copy
#: (3 bytes) and its normalised greyscale copy for the registration (float64, 8 bytes).
BYTES_PER_PIXEL = 3 + 8

#: The most images one alignment takes: about 1.4 GB at the default working size, which a
#: laptop holds beside the app. Scans of one pattern come in tens; a whole folder of
#: thousands would exhaust memory, and its mean would show no one pattern anyway.
MAX_IMAGES = 500

# ITU-R BT.601 luma, as PIL's "L" mode uses, but kept in floating point.
_LUMA = np.array(LUMA_WEIGHTS)


@dataclass
class AlignmentResult:
    """The outcome of :func:`align_images`.

    Attributes
    ----------
    paths
        The images that were aligned, in the order given (unreadable ones left out).
    transforms
        ``(n, 3, 3)`` matrices, or ``(n, 4, 4)`` for the bilinear model, one per entry
        of ``paths``, in working-resolution pixels; see the module docstring for the
        convention. For the "first" reference the first matrix is the identity.
    mean_image
        The mean of the aligned RGB copies at the working resolution. Each pixel
        averages only the images that cover it after alignment; pixels no image covers
        keep the unaligned mean.
    failures
        ``(path, reason)`` for each image that could not be read; the others went on.
    size
        The working ``(width, height)``.
    model, reference
        The settings the images were aligned with (members of ``MODELS``, ``REFERENCES``).
    source_size
        The original ``(width, height)`` of the first usable image, so that a caller can
        express translations in its pixels: multiply by ``source_size[0] / size[0]``.
    """

    paths: list[Path]
    transforms: np.ndarray
    mean_image: Image.Image
    failures: list[tuple[Path, str]]
    size: tuple[int, int]
    model: str = "rigid"
    reference: str = "first"
    source_size: tuple[int, int] = (0, 0)

    def to_json(self) -> dict:
        """A JSON-ready summary: settings, matrices and, for each image, its motion."""
        return {
            "paths": [str(p) for p in self.paths],
            "model": self.model,
            "reference": self.reference,
            "size": list(self.size),
            "source_size": list(self.source_size),
            "transforms": self.transforms.tolist(),
            "motions": [describe_transform(m) for m in self.transforms],
            "failures": [{"path": str(p), "reason": reason} for p, reason in self.failures],
        }


def memory_estimate(count: int, max_side: int = MAX_SIDE) -> int:
    """The bytes aligning ``count`` images holds at its peak: square working copies, the largest there are."""
    return count * max_side * max_side * BYTES_PER_PIXEL


def check_count(count: int, max_images: int = MAX_IMAGES, max_side: int = MAX_SIDE) -> None:
    """Refuse, before reading any image, an alignment of more than ``max_images`` images.

    Raises
    ------
    ValueError
        Saying how much memory the alignment would take, and the limit.
    """
    if count > max_images:
        raise ValueError(f"Aligning {count} images would take about {megabytes(memory_estimate(count, max_side))} "
                         f"of memory ({megabytes(memory_estimate(1, max_side))} each at {max_side} px); "
                         f"the limit is {max_images} images. Choose fewer images.")


def megabytes(size: int) -> str:
    """``size`` bytes as a person reads it: "1,442 MB"."""
    return f"{size / 1e6:,.0f} MB"


def align_images(paths: list[Path], model: str = "rigid", reference: str = "first",
                 max_side: int = MAX_SIDE, progress: ProgressFn = no_progress,
                 should_stop: StopFn = never_stop, max_images: int = MAX_IMAGES,
                 max_file_bytes: int = MAX_FILE_BYTES) -> AlignmentResult:
    """Align image files to one another and return the transforms and the aligned mean.

    Every file is read (unreadable ones are skipped with a reason) and resized to the
    working size: the first usable image scaled so that its long side is at most
    ``max_side`` (never enlarged). Images of another size are resized to exactly that
    size, stretching them if their shape differs, because the registration compares
    whole frames. Greyscale copies, each normalised to zero mean and unit spread so that
    exposure differences between scans do not pull the fit, are registered with
    :func:`align_arrays`; the transforms are then applied to the RGB copies to build the
    mean image.

    Parameters
    ----------
    paths
        The images, the reference first when ``reference`` is "first".
    model, reference
        Members of ``MODELS`` and ``REFERENCES``; see :func:`align_arrays`.
    max_side
        Long side of the working copies, at least ``MIN_SIDE``.
    progress
        One count per file read, per image registered and per image averaged, under a
        total fixed from the start (three per path).
    should_stop
        Checked before every image in each step.
    max_images
        The most images taken: each holds :func:`memory_estimate` bytes until the end.
    max_file_bytes
        Larger files are left out unread, as failures.

    Raises
    ------
    ValueError
        For bad settings, fewer than two readable images, or more than ``max_images``.
    Cancelled
        When ``should_stop()`` turns true.
    """
    check_settings(model, reference)
    if max_side < MIN_SIDE:
        raise ValueError(f"the working size must be at least {MIN_SIDE} px, not {max_side}")
    check_count(len(paths), max_images, max_side)
    paths = [Path(p) for p in paths]
    total = 3 * len(paths)
    usable: list[Path] = []
    failures: list[tuple[Path, str]] = []
    rgb: list[np.ndarray] = []
    size = source_size = (0, 0)
    for i, path in enumerate(paths):
        if should_stop():
            raise Cancelled()
        try:
            data = read_bytes(path, max_file_bytes)
            image = decode(data, min_side=max_side)
        except ImageError as exc:
            failures.append((path, exc.reason))
        else:
            if not rgb:
                source_size = _source_size(data, image.size)
                size = _working_size(image.size, max_side)
            rgb.append(_resized(image, size))
            usable.append(path)
        progress(i + 1, total, f"reading {path.name}")
    if len(usable) < 2:
        raise ValueError(_too_few_message(len(paths), failures))

    # The steps a skipped file would have taken count as done, so the total holds.
    done = len(paths) + 2 * len(failures)
    n = len(usable)
    grey = np.stack([_normalised_grey(a) for a in rgb])

    def registering(step: int, _total: int, note: str = "") -> None:
        progress(done + step, total, f"registering {usable[step - 1].name}")

    transforms = align_arrays(grey, model, reference, registering, should_stop)
    del grey
    done += n

    from pystackreg import StackReg

    sr = StackReg(STACKREG[model])
    height, width = size[1], size[0]
    aligned_sum = np.zeros((height, width, 3))
    plain_sum = np.zeros((height, width, 3))
    coverage = np.zeros((height, width))
    ones = np.ones((height, width))
    for i, (path, array) in enumerate(zip(usable, rgb)):
        if should_stop():
            raise Cancelled()
        aligned_sum += transform_one(sr, array, transforms[i])
        # The same transform of an all-ones frame says how much of each output pixel came
        # from inside the image; the transform is linear, so dividing by it undoes the
        # zeros blended in at the edges instead of darkening them.
        coverage += transform_one(sr, ones, transforms[i])
        plain_sum += array
        progress(done + i + 1, total, f"averaging {path.name}")
    # Where (almost) no image reaches after alignment, the unaligned mean is the best
    # picture there is.
    covered = coverage > 0.5
    mean = np.where(covered[..., None], aligned_sum / np.maximum(coverage, 0.5)[..., None], plain_sum / n)
    mean_image = Image.fromarray(np.clip(np.rint(mean), 0, 255).astype(np.uint8), "RGB")
    return AlignmentResult(usable, transforms, mean_image, failures, size, model, reference, source_size)


def save_mean_image(result: AlignmentResult, target: Path) -> Path:
    """Write the aligned mean as a PNG at ``target``, atomically: a reader never sees half an image."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # The partial's name does not end in .png: name the format.
    return replace_atomically(target, lambda partial: result.mean_image.save(partial, format="PNG"))


def write_aligned(result: AlignmentResult, out_dir: Path, progress: ProgressFn = no_progress,
                  should_stop: StopFn = never_stop,
                  max_file_bytes: int = MAX_FILE_BYTES) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Write each aligned image as a PNG at the working resolution.

    Files are named after their source (``scan.jpg`` becomes ``scan.png``), written to a
    temporary name and published atomically, and never replace an existing file: a
    taken name becomes ``scan (2).png`` and so on. The images are read again, so an
    image that changed since :func:`align_images` is written with the old transform.

    Parameters
    ----------
    result
        From :func:`align_images`.
    out_dir
        Created if missing. It may not be a folder that holds one of the source images,
        so that aligned copies never mix with the originals.
    max_file_bytes
        Larger files are left out unread, as failures.

    Returns
    -------
    tuple
        The files written, in the order of ``result.paths``, and ``(path, reason)`` for
        images that could no longer be read.

    Raises
    ------
    ValueError
        When ``out_dir`` holds one of the source images.
    Cancelled
        When ``should_stop()`` turns true; the files written so far stay.
    """
    out_dir = Path(out_dir)
    resolved = out_dir.resolve()
    if any(p.resolve().parent == resolved for p in result.paths):
        raise ValueError(f"{out_dir} holds the original images; choose a new folder for the aligned copies")
    out_dir.mkdir(parents=True, exist_ok=True)
    from pystackreg import StackReg

    sr = StackReg(STACKREG[result.model])
    written: list[Path] = []
    failures: list[tuple[Path, str]] = []
    n = len(result.paths)
    for i, path in enumerate(result.paths):
        if should_stop():
            raise Cancelled()
        try:
            array = _resized(load(path, max(result.size), max_file_bytes), result.size)
        except ImageError as exc:
            failures.append((path, exc.reason))
        else:
            aligned = np.clip(np.rint(transform_one(sr, array, result.transforms[i])), 0, 255)
            buffer = io.BytesIO()
            Image.fromarray(aligned.astype(np.uint8), "RGB").save(buffer, "PNG")
            # Room for the " (n)" that write_new_file may add.
            name = safe_name(f"{path.stem}.png", limit=MAX_NAME_BYTES - 8)
            written.append(write_new_file(out_dir, name, buffer.getvalue()))
        progress(i + 1, n, path.name)
    return written, failures


def _working_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    width, height = size
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _source_size(data: bytes, decoded: tuple[int, int]) -> tuple[int, int]:
    """The upright size in the file's ``data``, which a JPEG's draft decoding may have shrunk.

    From the bytes already read: opening the file again would skip the checks the read made.
    """
    try:
        with Image.open(io.BytesIO(data), formats=DECODERS) as header:
            width, height = header.size
    except (OSError, SyntaxError, ValueError):
        return decoded
    # Draft decoding keeps the aspect, so a mismatch in orientation is an EXIF turn.
    if (width > height) != (decoded[0] > decoded[1]):
        width, height = height, width
    return width, height


def _resized(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    if image.size != size:
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def _normalised_grey(rgb: np.ndarray) -> np.ndarray:
    grey = rgb.astype(np.float64) @ _LUMA
    spread = grey.std()
    return (grey - grey.mean()) / spread if spread > 0 else grey - grey.mean()


def _too_few_message(count: int, failures: list[tuple[Path, str]]) -> str:
    if not failures:
        return f"Alignment needs at least two images; {count or 'none'} given."
    shown = "; ".join(f"{p.name}: {reason}" for p, reason in failures[:3])
    more = f" (and {len(failures) - 3} more)" if len(failures) > 3 else ""
    return (f"Alignment needs at least two readable images; {count - len(failures)} of {count} could be read. "
            f"Unreadable: {shown}{more}.")
