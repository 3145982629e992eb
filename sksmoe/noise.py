"""Noise level estimation for magnitude MR images: one sigma, or a sigma map."""

import functools
import math

import numpy as np

from .utils._validation import check_array

_METHODS = ("auto", "background", "wavelet")
#: Fewest background pixels the Rayleigh estimate is trusted with.
_MIN_BACKGROUND = 500
_RAYLEIGH_MEDIAN = np.sqrt(2 * np.log(2))
_GAUSS_MAD = 0.6744897501960817


def _haar_diagonal(image):
    """Finest Haar diagonal detail coefficients (std = sigma for white noise)."""
    h, w = (image.shape[0] // 2) * 2, (image.shape[1] // 2) * 2
    x = image[:h, :w]
    return (x[0::2, 0::2] - x[0::2, 1::2] - x[1::2, 0::2] + x[1::2, 1::2]) / 2


def _background(image):
    """Pixels well outside the head, leaving out exact zeros (a scanner's or a
    skull-stripping mask: no noise to measure there)."""
    from scipy import ndimage

    from .metrics import brain_mask

    head = ndimage.binary_dilation(brain_mask(image, smoothing=2.0), iterations=5)
    return image[~head & (image != 0)]


def _sigma_background(background):
    """Rayleigh background: the median of Rayleigh(sigma) is sigma * sqrt(2 ln 2)."""
    return float(np.median(background) / _RAYLEIGH_MEDIAN)


def _sigma_wavelet(image):
    """Median absolute Haar diagonal coefficient inside the head, over 0.6745."""
    from scipy import ndimage

    from .metrics import brain_mask

    inside = ndimage.binary_erosion(brain_mask(image, smoothing=2.0), iterations=3)
    detail = _haar_diagonal(image)
    inside = inside[: 2 * detail.shape[0]: 2, : 2 * detail.shape[1]: 2]
    values = detail[inside] if inside.sum() >= _MIN_BACKGROUND // 4 else detail.ravel()
    return float(np.median(np.abs(values)) / _GAUSS_MAD)


def estimate_sigma(image, method="auto"):
    """Estimate the Rician noise sigma of a magnitude image.

    Two estimators are available. ``"background"`` uses pixels well outside the head,
    where the magnitude of pure noise is Rayleigh distributed: ``sigma = median /
    sqrt(2 ln 2)``. ``"wavelet"`` uses the median absolute finest-scale Haar diagonal
    coefficient inside the head, where Rician noise is close to Gaussian. ``"auto"`` takes
    the background estimate when there are at least 500 background pixels, else the wavelet
    estimate.

    Relative error, percent (mean signed / worst absolute), on the BrainWeb-style MNI152
    test split, 16 axial slices x RF 0/20/40% (48 images a level), measured by
    ``python -m benchmarks.noise_estimation``:

    ================  =============  =============  =============  =============  ============
    data, method      1%             3%             5%             7%             9%
    ================  =============  =============  =============  =============  ============
    T1, auto          +0.1 / 1.5     +0.0 / 1.1     -0.0 / 1.2     -0.2 / 1.2     -0.1 / 1.1
    T2, auto          +0.1 / 1.7     +0.0 / 1.1     -0.0 / 1.3     -0.2 / 1.3     -0.1 / 1.2
    PD, auto          +0.1 / 1.6     +0.0 / 1.1     -0.0 / 1.3     -0.1 / 1.2     -0.1 / 1.2
    T1, wavelet       +17.1 / 28.8   +3.0 / 6.7     +1.3 / 5.7     +0.3 / 3.7     +0.0 / 4.0
    PD, wavelet       +7.6 / 15.4    +1.5 / 6.4     +1.1 / 3.7     +0.2 / 4.4     +0.7 / 4.4
    ================  =============  =============  =============  =============  ============

    The wavelet estimate reads anatomy as noise at low noise levels: prefer images with
    some background.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (n_images, H, W)
        Magnitude image(s).
    method : {"auto", "background", "wavelet"}, default="auto"

    Returns
    -------
    sigma : float or ndarray of shape (n_images,)

    Examples
    --------
    >>> import numpy as np
    >>> from sksmoe.datasets import add_rician_noise
    >>> image = np.zeros((128, 128)); image[32:96, 32:96] = 1.0
    >>> noisy = add_rician_noise(image, 0.05, random_state=0)
    >>> round(estimate_sigma(noisy), 2)
    0.05
    """
    if method not in _METHODS:
        raise ValueError(f"`method` must be one of {_METHODS}, got {method!r}.")
    image = check_array(image, "image", ndim=(2, 3))
    if image.ndim == 3:
        return np.array([estimate_sigma(i, method) for i in image])
    if min(image.shape) < 8:
        raise ValueError(f"`image` must be at least 8x8 pixels, got {image.shape}.")
    if method == "wavelet":
        return _sigma_wavelet(image)
    background = _background(image)
    if method == "auto" and background.size < _MIN_BACKGROUND:
        return _sigma_wavelet(image)
    return _sigma_background(background)


#: Immerkaer's (1996) filter, the difference of two Laplacians: std sigma on white noise,
#: zero on anything linear along either axis.
_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]]) / 6.0
#: Filter coefficients beyond this many local sigmas are taken for anatomy and left out.
_CUT = 3.0
#: The local mean / std ratio is read this much lower before it gives the SNR: the ratio
#: hardly grows with the SNR below 1, so the noise in it would read a background (SNR 0)
#: as SNR ~ 1 and its sigma 10% low. The price: pixels at SNR ~ 1 read up to 15% high.
_RATIO_MARGIN = 0.08
#: E|d| / sigma for a Gaussian d, and the same given |d| < _CUT sigma.
_ABS_MEAN = math.sqrt(2 / math.pi)
_ABS_MEAN_CUT = _ABS_MEAN * (1 - math.exp(-_CUT**2 / 2)) / math.erf(_CUT / math.sqrt(2))


@functools.lru_cache(maxsize=8)
def _magnitude_tables(n_coils):
    """SNR ``A / sigma`` on a grid, with ``E[M] / sigma`` and ``Var[M] / sigma^2`` of the
    noncentral chi magnitude of ``n_coils`` coils (Rician for one; Koay and Basser 2006)."""
    from scipy.special import gammaln, hyp1f1

    snr = np.linspace(0, 100, 10001)
    mean = (math.sqrt(2) * math.exp(gammaln(n_coils + 0.5) - gammaln(n_coils))
            * hyp1f1(-0.5, n_coils, -(snr**2) / 2))
    return snr, mean, 2 * n_coils + snr**2 - mean**2


def _local_mean(values, keep):
    """Local mean of ``values`` where ``keep`` (Gaussian weights of 2.5 pixels), then the
    median over 21 x 21 pixels (taken on every other pixel), smoothed."""
    from scipy import ndimage

    numerator = ndimage.gaussian_filter(np.where(keep, values, 0.0), 2.5)
    weight = ndimage.gaussian_filter(keep.astype(float), 2.5)
    known = weight > 0.2
    if not known.any():
        return np.zeros(values.shape)
    local = numerator / np.where(known, weight, 1.0)
    nearest = ndimage.distance_transform_edt(~known, return_distances=False,
                                             return_indices=True)
    coarse = ndimage.median_filter(local[tuple(nearest)][::2, ::2], 11)
    local = ndimage.map_coordinates(coarse, np.indices(values.shape) / 2, order=1,
                                    mode="nearest")
    return ndimage.gaussian_filter(local, 1.5)


def estimate_noise_map(image, *, n_coils=1):
    """Estimate the local noise sigma of a magnitude image, pixel by pixel.

    Blind and classical: no background, no network. The image is filtered by Immerkaer's
    3 x 3 noise filter; the absolute coefficients are averaged locally (Gaussian weights of
    2.5 pixels), median-filtered over 21 x 21 pixels against anatomy and smoothed: the
    magnitude's local standard deviation. In dark regions it is narrower than sigma (0.66
    sigma in a Rician background): the ratio of the local mean (averaged the same way) to
    that standard deviation gives each pixel's SNR, and the magnitude's standard deviation
    at that SNR the correction (Koay and Basser 2006): a pure background reads about 3%
    low, pixels at SNR ~ 1 (where mean and spread hardly tell signal from noise) up to 15%
    high. The corrected coefficients are averaged the same way, twice more with those
    beyond 3 local sigmas left out as anatomy. Coefficients that touch a pixel exactly 0
    (skull-stripped or scanner-masked background) are never used; the map is continued
    there from the nearest measured pixels.

    Its median relative error inside the head, on uniform, smooth, SENSE and multi-coil
    noise, is measured by ``python -m benchmarks run noise_maps``.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (n_images, H, W)
        Magnitude image(s), at least 16 x 16; a 3-D input is estimated slice by slice.
    n_coils : int, default=1
        Coils of a sum-of-squares magnitude (noncentral chi, see
        :func:`~sksmoe.datasets.add_sos_noise`); 1 is Rician. Told too few, the map reads
        low where the signal is weak against the noise floor ``sigma sqrt(2 n_coils)``.

    Returns
    -------
    sigma_map : ndarray of the shape and floating dtype of ``image``
        Zero everywhere for a noise-free (constant) image or one without nonzero pixels.

    Examples
    --------
    >>> import numpy as np
    >>> from sksmoe.datasets import add_smooth_noise
    >>> image = np.zeros((128, 128)); image[16:112, 16:112] = 1.0
    >>> noisy, sigma_map = add_smooth_noise(image, 0.05, random_state=0)
    >>> error = estimate_noise_map(noisy) / sigma_map - 1
    >>> bool(np.median(np.abs(error)) < 0.1)
    True
    """
    from scipy import ndimage

    image = check_array(image, "image", ndim=(2, 3))
    if isinstance(n_coils, bool) or not isinstance(n_coils, (int, np.integer)) or n_coils < 1:
        raise ValueError(f"`n_coils` must be an int >= 1, got {n_coils!r}.")
    if image.ndim == 3:
        return np.stack([estimate_noise_map(i, n_coils=n_coils) for i in image])
    if min(image.shape) < 16:
        raise ValueError(f"`image` must be at least 16x16 pixels, got {image.shape}.")
    unit = float(np.abs(image).max()) or 1.0  # computed in [-1, 1]: no overflow
    x = image.astype(np.float64) / unit
    keep = ndimage.binary_erosion(x != 0, np.ones((3, 3)), border_value=0)
    detail = np.abs(ndimage.convolve(x, _IMMERKAER, mode="reflect"))
    spread = _local_mean(detail, keep) / _ABS_MEAN  # the magnitude's standard deviation
    if not spread.any():
        return np.zeros_like(image)
    snr, magnitude_mean, magnitude_var = _magnitude_tables(int(n_coils))
    ratio = _local_mean(x, keep) / np.maximum(spread, 1e-300) / (1 + _RATIO_MARGIN)
    pixel_snr = np.interp(ratio, magnitude_mean / np.sqrt(magnitude_var), snr)
    scale = np.sqrt(np.interp(pixel_snr, snr, magnitude_var))
    z, sigma = detail / scale, spread / scale  # standard deviation sigma, not less
    for _ in range(2):
        sigma = _local_mean(z, keep & (z < _CUT * sigma)) / _ABS_MEAN_CUT
    return (sigma * unit).astype(image.dtype, copy=False)
