"""CW-SSIM, the complex wavelet structural similarity, over a bank of analytic log-Gabor filters.

Its own module because the filter bank and the windowed statistics are a self-contained
piece of signal processing; :mod:`.compare` scores pairs of images with it as the
``cwssim`` index.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

#: Wavelength in pixels of the finest CW-SSIM scale; each further scale doubles it. Four
#: pixels keeps the finest band clear of the Nyquist corner, where resampling noise lives.
_MIN_WAVELENGTH = 4.0
#: Radial bandwidth of the log-Gabor filters (sigma/f0 = 0.65, about 1.6 octaves) and the
#: angular spread relative to the orientation spacing: Kovesi's usual values, which tile
#: the frequency plane evenly at one-octave scale steps.
_SIGMA_ON_F = 0.65
_THETA_SPACING_ON_SIGMA = 1.3
#: Four octave scales reach a 32-pixel wavelength, still many windows across a 256-pixel
#: image; six orientations are 30 degrees apart.
SCALES = 4
ORIENTATIONS = 6
WINDOW = 7
K = 0.01
#: Keeps flat-against-flat windows at 1 rather than 0/0 when both images have no energy.
_ENERGY_FLOOR = 1e-20


def cw_ssim(a: np.ndarray, b: np.ndarray, scales: int = SCALES, orientations: int = ORIENTATIONS,
            window: int = WINDOW, k: float = K) -> float:
    """Complex wavelet structural similarity (CW-SSIM) of two same-shaped greyscale arrays.

    For the complex coefficients ``c_x``, ``c_y`` of one band over a local window,

        S = (2 |sum c_x conj(c_y)| + K) / (sum |c_x|^2 + sum |c_y|^2 + K),

    as in Wang & Simoncelli, "Translation insensitive image similarity in complex wavelet
    domain" (ICASSP 2005) and Sampat et al., "Complex Wavelet Structural Similarity: A New
    Image Similarity Index" (IEEE TIP 2009). S is averaged over each band and the result
    is the mean over bands. A small shift multiplies a window's coefficients by nearly the
    same phase factor, which the modulus of the sum ignores; that is why the index forgives
    translations that SSIM punishes.

    The decomposition is a bank of analytic log-Gabor filters applied in the Fourier domain
    rather than Portilla & Simoncelli's complex steerable pyramid. The index is defined on
    the coefficients of any complex, multi-scale, oriented decomposition whose filters are
    one-sided in frequency, since that is what makes a coefficient's modulus locally stable
    and its phase carry the structure; the log-Gabor bank has that property, needs only an
    FFT, and has no DC response, so a uniform brightness change does not reach it. Unlike
    the pyramid it is not decimated, so the window grows with the scale (``window * 2**s``
    pixels at scale ``s``) to cover the same extent as a ``window``-sized window over a
    band subsampled ``2**s`` times. The lowpass residual is left out: it holds the local
    mean luminance, not structure.

    Parameters
    ----------
    a, b
        Greyscale arrays of the same shape, as from :func:`prepare`.
    scales
        Octave scales; the finest has a wavelength of 4 pixels.
    orientations
        Orientations evenly spaced over [0, pi).
    window
        Side of the square averaging window at the finest scale.
    k
        The stabiliser K as a fraction of the mean coefficient energy of both images over
        all bands. Relative rather than absolute, so the index does not change when both
        images' contrast is scaled alike, and K marks as low-signal the same share of
        windows at any contrast.

    Returns
    -------
    float
        In [0, 1]; 1 for identical images.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"cw_ssim needs two greyscale arrays of one shape, got {a.shape} and {b.shape}")
    return cw_ssim_of_bands(bands(a, scales, orientations), bands(b, scales, orientations), window, k)


def bands(image: np.ndarray, scales: int = SCALES, orientations: int = ORIENTATIONS) -> np.ndarray:
    """The complex log-Gabor coefficients of a greyscale array.

    Parameters
    ----------
    image
        A greyscale array, as from :func:`organizer.search.compare.prepare`.
    scales, orientations
        As for :func:`cw_ssim`.

    Returns
    -------
    np.ndarray
        Complex coefficients shaped (scales, orientations, H, W), kept so that one image
        compared with many is decomposed once.
    """
    from scipy import fft

    height, width = image.shape
    # Mirroring the borders keeps the FFT's wrap-around from inventing an edge at each side,
    # which would otherwise dominate the coarse bands of a non-periodic image.
    reach = int(_MIN_WAVELENGTH * 2 ** (scales - 1))
    pad_y, pad_x = min(reach, height - 1), min(reach, width - 1)
    # Single precision halves the time and is ample for a score read to two decimals.
    padded = np.pad(image.astype(np.float32), ((pad_y, pad_y), (pad_x, pad_x)), mode="reflect")
    filters = _log_gabor_bank(padded.shape, scales, orientations)
    coefficients = fft.ifft2(fft.fft2(padded) * filters)
    return coefficients[..., pad_y:pad_y + height, pad_x:pad_x + width]


@lru_cache(maxsize=2)
def _log_gabor_bank(shape: tuple[int, int], scales: int, orientations: int) -> np.ndarray:
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.fftfreq(shape[1])[None, :]
    radius = np.hypot(fx, fy)
    radius[0, 0] = 1.0  # the DC term is zeroed below; this only avoids log(0)
    angle = np.arctan2(-fy, fx)
    theta_sigma = np.pi / orientations / _THETA_SPACING_ON_SIGMA
    bank = np.empty((scales, orientations, *shape), dtype=np.float32)
    for s in range(scales):
        centre = 1.0 / (_MIN_WAVELENGTH * 2**s)
        radial = np.exp(-np.log(radius / centre) ** 2 / (2 * np.log(_SIGMA_ON_F) ** 2))
        radial[0, 0] = 0.0
        for o in range(orientations):
            # The angular Gaussian is centred on one direction and vanishes on the opposite
            # one, so each filter is one-sided in frequency and its output analytic.
            offset = (angle - o * np.pi / orientations + np.pi) % (2 * np.pi) - np.pi
            bank[s, o] = radial * np.exp(-offset**2 / (2 * theta_sigma**2))
    bank.flags.writeable = False
    return bank


def cw_ssim_of_bands(x: np.ndarray, y: np.ndarray, window: int = WINDOW, k: float = K) -> float:
    """CW-SSIM of two images from their :func:`bands`; ``window`` and ``k`` as for :func:`cw_ssim`.

    Returns
    -------
    float
        In [0, 1]; 1 for identical images.
    """
    energy_x = x.real**2 + x.imag**2
    energy_y = y.real**2 + y.imag**2
    cross = x * np.conj(y)
    stabiliser = k * float(energy_x.mean() + energy_y.mean()) + _ENERGY_FLOOR
    band_scores = []
    for s in range(x.shape[0]):
        size = window * 2**s
        for o in range(x.shape[1]):
            # Windowed means rather than sums: N cancels, once K is scaled to match.
            numerator = 2 * np.hypot(_local_mean(cross[s, o].real, size), _local_mean(cross[s, o].imag, size))
            denominator = _local_mean(energy_x[s, o], size) + _local_mean(energy_y[s, o], size)
            score = (numerator + stabiliser) / (denominator + stabiliser)
            band_scores.append(float(np.clip(score, 0.0, 1.0).mean()))
    return float(np.mean(band_scores))


def _local_mean(values: np.ndarray, size: int) -> np.ndarray:
    import cv2

    # cv2's box filter is several times faster than scipy's uniform_filter, with the same
    # mirrored borders.
    return cv2.blur(np.ascontiguousarray(values), (size, size), borderType=cv2.BORDER_REFLECT)
