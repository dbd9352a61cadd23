"""Registration of greyscale stacks by pystackreg, and the transforms it finds.

Registration is done by pystackreg (TurboReg, the ImageJ StackReg algorithm): this
module holds the array-level steps, which :mod:`.align` feeds from image files.

Matrix convention (pystackreg's, checked by the tests): each transform ``M`` maps a
pixel of the reference frame to where that content lies in the moving image, in
``(x, y)`` pixel coordinates at the working resolution (x to the right, y down, the
origin at the centre of the top-left pixel). So an image whose content sits 5 px right
of and 3 px below the reference gets ``M[0, 2] == 5`` and ``M[1, 2] == 3``; aligning
samples the moving image at ``M @ (x, y, 1)`` for every output pixel. Bilinear
transforms are pystackreg's 4×4 matrices acting on ``(x, y, x·y, 1)``; only their first
two rows carry information.
"""

from __future__ import annotations

import numpy as np

from ..jobs.tasks import Cancelled, ProgressFn, StopFn, never_stop, no_progress

MODELS = ("translation", "rigid", "scaled-rotation", "affine", "bilinear")
REFERENCES = ("first", "mean", "sequential")

# pystackreg's constants, spelled out so that this module imports without pystackreg.
STACKREG = {"translation": 2, "rigid": 3, "scaled-rotation": 4, "affine": 6, "bilinear": 8}


def describe_transform(matrix: np.ndarray) -> dict:
    """The motion a transform stands for, in terms a person reads.

    Parameters
    ----------
    matrix
        A 3×3 matrix from any model, or a 4×4 bilinear one, whose ``x·y`` term is
        ignored (it bends straight lines and has no single angle or scale).

    Returns
    -------
    dict
        ``tx``, ``ty``: where the reference's origin lies in the image, in pixels (the
        image's content is that far right and down of the reference's).
        ``rotation``: degrees, positive when the image is turned clockwise on screen
        relative to the reference. ``scale``: the image's size relative to the
        reference (above 1 when it shows the pattern larger). For affine matrices with
        shear these are the nearest rotation and the mean scale (square root of the
        determinant).
    """
    m = np.asarray(matrix, dtype=float)
    if m.shape == (4, 4):
        m = m[np.ix_([0, 1, 3], [0, 1, 3])]
    if m.shape != (3, 3):
        raise ValueError(f"expected a 3×3 or 4×4 transform matrix, got shape {m.shape}")
    a, b, c, d = m[0, 0], m[0, 1], m[1, 0], m[1, 1]
    # atan2 of the antisymmetric part gives the rotation closest to any linear map, so
    # a sheared affine still reports a meaningful angle.
    rotation = float(np.degrees(np.arctan2(c - b, a + d)))
    return {
        "tx": float(m[0, 2]),
        "ty": float(m[1, 2]),
        "rotation": rotation,
        "scale": float(np.sqrt(abs(a * d - b * c))),
    }


def align_arrays(stack: np.ndarray, model: str = "rigid", reference: str = "first",
                 progress: ProgressFn = no_progress, should_stop: StopFn = never_stop) -> np.ndarray:
    """Register a greyscale stack, image by image, so that it can be cancelled.

    Follows ``StackReg.register_stack`` exactly: "first" registers every image to
    ``stack[0]``; "mean" registers every image (the first included) to the plain mean
    of the unaligned stack, in one pass, as pystackreg does; "sequential" (pystackreg's
    "previous") registers each image to the one before and chains the matrices, so each
    still maps from the first image's frame.

    Parameters
    ----------
    stack
        ``(n, H, W)`` intensities, any real dtype.
    model
        One of ``MODELS``.
    reference
        One of ``REFERENCES``. The bilinear model cannot be chained, so it does not
        combine with "sequential".
    progress, should_stop
        Called once per image.

    Returns
    -------
    np.ndarray
        ``(n, 3, 3)`` matrices, ``(n, 4, 4)`` for bilinear; see the module docstring.

    Raises
    ------
    ValueError
        For an unknown model or reference, the bilinear/sequential pair, or a stack that
        is not 3-D.
    Cancelled
        When ``should_stop()`` turns true.
    """
    check_settings(model, reference)
    stack = np.asarray(stack, dtype=np.float64)
    if stack.ndim != 3 or stack.shape[0] == 0:
        raise ValueError(f"expected a non-empty (n, height, width) stack, got shape {stack.shape}")
    from pystackreg import StackReg

    sr = StackReg(STACKREG[model])
    n = stack.shape[0]
    dim = 4 if model == "bilinear" else 3
    transforms = np.repeat(np.identity(dim)[None], n, axis=0)
    fixed = stack[0] if reference == "first" else stack.mean(axis=0) if reference == "mean" else None
    start = 0 if reference == "mean" else 1
    if start:
        progress(1, n, "registering")  # the first image is its own reference
    for i in range(start, n):
        if should_stop():
            raise Cancelled()
        ref = stack[i - 1] if fixed is None else fixed
        matrix = sr.register(np.ascontiguousarray(ref), np.ascontiguousarray(stack[i]))
        transforms[i] = matrix @ transforms[i - 1] if reference == "sequential" else matrix
        progress(i + 1, n, "registering")
    return transforms


def transform_stack(stack: np.ndarray, transforms: np.ndarray, model: str = "rigid") -> np.ndarray:
    """Apply one transform per image, as ``StackReg.transform`` does, channel by channel.

    Parameters
    ----------
    stack
        ``(n, H, W)`` or ``(n, H, W, C)``.
    transforms
        ``(n, 3, 3)``, or ``(n, 4, 4)`` for bilinear, as from :func:`align_arrays`.
    model
        The model the transforms come from: it decides how pystackreg reads them.

    Returns
    -------
    np.ndarray
        Float64 of the input's shape. Pixels that map from outside the image are 0.
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    stack = np.asarray(stack, dtype=np.float64)
    transforms = np.asarray(transforms, dtype=np.float64)
    if stack.ndim not in (3, 4) or transforms.shape[0] != stack.shape[0]:
        raise ValueError(f"{transforms.shape[0]} transforms do not fit a stack of shape {stack.shape}")
    from pystackreg import StackReg

    sr = StackReg(STACKREG[model])
    out = np.empty_like(stack)
    for i in range(stack.shape[0]):
        out[i] = transform_one(sr, stack[i], transforms[i])
    return out


def check_settings(model: str, reference: str) -> None:
    """Raise ``ValueError`` for an unknown model or reference, or the bilinear/sequential pair."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    if reference not in REFERENCES:
        raise ValueError(f"unknown reference {reference!r}; choose one of {', '.join(REFERENCES)}")
    if model == "bilinear" and reference == "sequential":
        raise ValueError("bilinear alignment cannot be chained image to image; "
                         "use the first image or the mean as the reference")


def transform_one(sr, image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """One image (greyscale or channels last) moved by ``matrix`` with the StackReg ``sr``, as float64."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 2:
        return sr.transform(np.ascontiguousarray(image), matrix)
    return np.stack([sr.transform(np.ascontiguousarray(image[..., c]), matrix)
                     for c in range(image.shape[-1])], axis=-1)
