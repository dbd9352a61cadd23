"""Classic similarity indices between two images: SSIM, CW-SSIM, MSE, SIFT matching and palette EMD.

The learned embeddings answer "which images look alike" over a whole folder; these indices
answer it for one pair, with a number a user can reason about, and are cheap enough to
re-rank a find-similar's top few. They measure different things:

* ``ssim`` (Wang et al. 2004) compares local luminance, contrast and structure, pixel by
  pixel, so a shift of a couple of pixels already costs a lot.
* ``cwssim`` (Wang & Simoncelli 2005; Sampat et al. 2009) compares the coefficients of a
  complex wavelet decomposition; a small translation turns their phase consistently over a
  window, which the index ignores, so it forgives small shifts and brightness changes
  (computed in :mod:`.cwssim`).
* ``mse`` is the mean squared pixel difference, a distance: lower is more similar.
* ``sift`` counts SIFT keypoint matches that agree on one homography, so it survives
  rotation, scaling and cropping, but needs textured, non-repetitive images to find
  keypoints at all.
* ``emd`` is the Earth Mover's Distance between the two images' dominant-colour palettes
  (see :mod:`organizer.embedding.palette`), a distance in ΔE*ab that ignores the motif.

The pixel indices (all but ``sift``) compare fixed-size greyscale versions of the images
made by :func:`prepare`, so images of any size and aspect can be compared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from ..embedding.palette import dominant_colours, palette_distance
from ..io.images import to_rgb
from ..jobs.tasks import Cancelled, ProgressFn, StopFn, never_stop, no_progress
from .compare_indices import INDEX_SPECS
from .cwssim import bands, cw_ssim_of_bands

INDICES = tuple(INDEX_SPECS)
#: Higher is more similar for every index except the distances (mse, emd).
HIGHER_IS_BETTER = {name: index.higher_is_better for name, index in INDEX_SPECS.items()}
#: The side both images are resized to for the pixel indices.
COMPARE_SIDE = 256
#: Longest side SIFT works on, to bound its time, which grows with the pixel count.
SIFT_MAX_SIDE = 1024

#: Lowe's ratio from his 2004 paper.
_RATIO = 0.75
_RANSAC_THRESHOLD = 5.0


@dataclass(frozen=True)
class Comparison:
    """One index's verdict on a pair of images."""

    index: str
    #: See :data:`HIGHER_IS_BETTER` for the direction.
    score: float
    #: Index-specific extras, JSON-serialisable.
    details: dict = field(default_factory=dict)


def prepare(image: Image.Image, side: int = COMPARE_SIDE) -> np.ndarray:
    """The greyscale array the pixel indices compare.

    The short side's centred square is cut out and resized, so that a strip and a square
    of the same pattern are compared at the same scale rather than one being squashed.

    Parameters
    ----------
    image
        Any PIL image; transparency reads as white, as in the rest of the app.
    side
        Side of the square result; at least 7, the SSIM window.

    Returns
    -------
    numpy.ndarray
        ``side`` x ``side`` float64 values in [0, 1].
    """
    if side < 7:
        raise ValueError(f"side must be at least 7 (the SSIM window), got {side}")
    grey = to_rgb(image).convert("L")
    width, height = grey.size
    short = min(width, height)
    left, top = (width - short) // 2, (height - short) // 2
    square = grey.resize((side, side), Image.Resampling.LANCZOS,
                         box=(left, top, left + short, top + short), reducing_gap=2.0)
    return np.asarray(square, dtype=np.float64) / 255.0


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Structural similarity of two same-shaped arrays in [0, 1]; 1 for identical images.

    Parameters
    ----------
    a, b
        Greyscale arrays in [0, 1], as from :func:`prepare`.

    Returns
    -------
    float
        Mean SSIM over 7x7 windows, at most 1; it can be negative for anti-correlated images.
    """
    from skimage.metrics import structural_similarity

    return float(structural_similarity(a, b, data_range=1.0))


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared difference of two same-shaped arrays; 0 for identical images.

    Parameters
    ----------
    a, b
        Greyscale arrays in [0, 1], as from :func:`prepare`.

    Returns
    -------
    float
        A distance in [0, 1]: lower is more similar.
    """
    from skimage.metrics import mean_squared_error

    return float(mean_squared_error(a, b))


def sift_match(a_rgb: np.ndarray, b_rgb: np.ndarray, ratio: float = _RATIO,
               ransac_threshold: float = _RANSAC_THRESHOLD) -> Comparison:
    """Match SIFT keypoints between two images and count those that fit one homography.

    Matches pass Lowe's ratio test, each keypoint of ``b`` keeps only its best match, and
    RANSAC keeps the matches consistent with a single homography (a flat pattern seen
    rotated, scaled or in perspective), which rejects chance look-alikes among repeated
    motifs.

    Parameters
    ----------
    a_rgb, b_rgb
        uint8 images, H x W x 3 (RGB) or H x W (grey); floats are read as [0, 1].
    ratio
        Lowe's ratio: a match is kept when it is this much closer than the runner-up.
    ransac_threshold
        Largest reprojection error in pixels, at the working resolution, of an inlier.

    Returns
    -------
    Comparison
        ``score`` is inliers / min(keypoints in a, keypoints in b), in [0, 1]; 0 when either
        image has no keypoints or fewer than 4 matches survive. ``details`` holds
        ``keypoints_a``, ``keypoints_b``, ``matches`` (after the ratio test) and ``inliers``.
    """
    return _sift_score(_sift_features(a_rgb), _sift_features(b_rgb), ratio, ransac_threshold)


def _sift_features(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Keypoint positions (N x 2) and descriptors (N x 128, or None when N is 0)."""
    import cv2

    grey = _grey_uint8(pixels)
    scale = SIFT_MAX_SIDE / max(grey.shape)
    if scale < 1:
        size = (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale)))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    keypoints, descriptors = cv2.SIFT_create().detectAndCompute(grey, None)
    points = np.array([kp.pt for kp in keypoints], dtype=np.float32).reshape(-1, 2)
    return points, descriptors


def _grey_uint8(pixels: np.ndarray) -> np.ndarray:
    import cv2

    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8:
        pixels = (np.clip(pixels, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    if pixels.ndim == 3 and pixels.shape[2] >= 3:
        return cv2.cvtColor(np.ascontiguousarray(pixels[..., :3]), cv2.COLOR_RGB2GRAY)
    return pixels if pixels.ndim == 2 else pixels[..., 0]


def _sift_score(a: tuple[np.ndarray, np.ndarray | None], b: tuple[np.ndarray, np.ndarray | None],
                ratio: float, ransac_threshold: float) -> Comparison:
    import cv2

    (points_a, descriptors_a), (points_b, descriptors_b) = a, b
    details = {"keypoints_a": len(points_a), "keypoints_b": len(points_b), "matches": 0, "inliers": 0}
    if descriptors_a is None or descriptors_b is None or not len(points_a) or not len(points_b):
        return Comparison("sift", 0.0, details)
    best: dict[int, cv2.DMatch] = {}
    for pair in cv2.BFMatcher(cv2.NORM_L2).knnMatch(descriptors_a, descriptors_b, k=2):
        # With a single keypoint in b there is no runner-up, so the ratio test cannot
        # vouch for the match.
        if len(pair) == 2 and pair[0].distance < ratio * pair[1].distance:
            match = pair[0]
            # Keeping one match per keypoint of b bounds the score by 1.
            if match.trainIdx not in best or match.distance < best[match.trainIdx].distance:
                best[match.trainIdx] = match
    matches = list(best.values())
    details["matches"] = len(matches)
    if len(matches) >= 4:
        source = points_a[[m.queryIdx for m in matches]]
        target = points_b[[m.trainIdx for m in matches]]
        _, mask = cv2.findHomography(source, target, cv2.RANSAC, ransac_threshold)
        details["inliers"] = 0 if mask is None else int(mask.sum())
    score = details["inliers"] / min(len(points_a), len(points_b))
    return Comparison("sift", float(score), details)


def compare(image_a: Image.Image, image_b: Image.Image, index: str = "ssim") -> Comparison:
    """Score how alike two images are by one classic index.

    Parameters
    ----------
    image_a, image_b
        Any PIL images; their sizes and aspects may differ.
    index
        One of :data:`INDICES`.

    Returns
    -------
    Comparison
        The score's direction is given by :data:`HIGHER_IS_BETTER`.

    Raises
    ------
    ValueError
        For an unknown index.
    """
    return _scorer(index, image_a)(image_b)


def compare_all(image_a: Image.Image, image_b: Image.Image, indices: tuple[str, ...] = INDICES,
                progress: ProgressFn = no_progress, should_stop: StopFn = never_stop) -> list[Comparison]:
    """Every index's verdict on one pair, in the order of ``indices``.

    SIFT on two large images takes seconds, so progress is reported, and a stop honoured,
    between indices.

    Raises
    ------
    ValueError
        For an unknown index.
    Cancelled
        When ``should_stop()`` turns true.
    """
    for index in indices:
        check_index(index)
    results = []
    for done, index in enumerate(indices):
        if should_stop():
            raise Cancelled()
        progress(done, len(indices), index)
        results.append(compare(image_a, image_b, index))
    progress(len(indices), len(indices), "")
    return results


def score_many(query: Image.Image, candidates: list[Image.Image], index: str) -> list[float]:
    """The scores of ``query`` against each candidate, as :func:`compare` would give them.

    The query is prepared once (and for ``cwssim`` and ``sift`` decomposed or its keypoints
    found once), so re-ranking a find-similar's top few costs one image per candidate.

    Parameters
    ----------
    query
        The image the candidates are compared with.
    candidates
        The images to score, in any order.
    index
        One of :data:`INDICES`.

    Returns
    -------
    list of float
        One score per candidate, in the candidates' order.

    Raises
    ------
    ValueError
        For an unknown index.
    """
    scorer = _scorer(index, query)
    return [scorer(image).score for image in candidates]


def check_index(index: str) -> None:
    """Raise ``ValueError`` naming the valid indices unless ``index`` is one of :data:`INDICES`."""
    if index not in INDICES:
        raise ValueError(f"unknown index {index!r}; expected one of {', '.join(INDICES)}")


def _rgb_array(image: Image.Image) -> np.ndarray:
    return np.asarray(to_rgb(image))


def _scorer(index: str, image_a: Image.Image) -> Callable[[Image.Image], Comparison]:
    """A function giving ``compare(image_a, image_b, index)`` for any ``image_b``.

    The work on ``image_a`` (its prepared array, wavelet bands, keypoints or palette) is
    done once here, so scoring many images against one costs one image each.

    Raises
    ------
    ValueError
        For an unknown index.
    """
    check_index(index)
    if index == "sift":
        features_a = _sift_features(_rgb_array(image_a))
        return lambda image_b: _sift_score(features_a, _sift_features(_rgb_array(image_b)), _RATIO,
                                           _RANSAC_THRESHOLD)
    if index == "emd":
        palette_a = dominant_colours(_rgb_array(image_a))

        def emd(image_b: Image.Image) -> Comparison:
            palette_b = dominant_colours(_rgb_array(image_b))
            return Comparison(index, palette_distance(palette_a, palette_b),
                              {"palette_a": palette_a.as_dict(), "palette_b": palette_b.as_dict()})
        return emd
    a = prepare(image_a)
    if index == "cwssim":
        bands_a = bands(a)

        def score(b: np.ndarray) -> float:
            return cw_ssim_of_bands(bands_a, bands(b))
    else:
        measure = ssim if index == "ssim" else mse

        def score(b: np.ndarray) -> float:
            return measure(a, b)
    return lambda image_b: Comparison(index, score(prepare(image_b)), {"side": int(a.shape[0])})
