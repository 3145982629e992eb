"""Image quality metrics as METHOD.md defines them, a brain mask and GridSearchCV scorers.

PSNR and SSIM follow ``skimage.metrics`` with ``data_range = clean.max() - clean.min()`` of
each slice; SSIM uses ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False``.
With a ``mask``, the squared error (PSNR) or the SSIM map (SSIM) is averaged over the mask
only; the data range is still that of the whole clean slice. Stacks of shape
(n_images, H, W) give one value per image; average them with ``.mean()``.
"""

import numpy as np

from .utils._validation import check_array, check_same_shape

__all__ = ["psnr", "ssim", "brain_mask", "psnr_scorer", "ssim_scorer",
           "brain_psnr_scorer", "brain_ssim_scorer", "SCORERS"]


def _check_pair(clean, test, mask):
    clean = check_array(clean, "clean", ndim=(2, 3))
    test = check_array(test, "test", ndim=(2, 3))
    check_same_shape(clean, test, "clean", "test")
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype != bool:
            raise TypeError(f"`mask` must be a boolean array, got dtype {mask.dtype}.")
        check_same_shape(clean, mask, "clean", "mask")
        if not mask.reshape(-1, *clean.shape[-2:]).any(axis=(1, 2)).all():
            raise ValueError("`mask` selects no pixel in at least one image.")
    return clean, test, mask


def _per_image(function, clean, test, mask):
    if clean.ndim == 2:
        return function(clean, test, mask)
    masks = [None] * len(clean) if mask is None else mask
    return np.array([function(c, t, m) for c, t, m in zip(clean, test, masks)])


def _psnr_one(clean, test, mask):
    data_range = clean.max() - clean.min()
    if data_range == 0:
        raise ValueError("`clean` is constant: PSNR needs a non-zero data range.")
    error = (clean.astype(np.float64) - test) ** 2
    mse = error[mask].mean() if mask is not None else error.mean()
    return np.inf if mse == 0 else float(10 * np.log10(data_range**2 / mse))


def _ssim_one(clean, test, mask):
    from skimage.metrics import structural_similarity

    data_range = clean.max() - clean.min()
    if data_range == 0:
        raise ValueError("`clean` is constant: SSIM needs a non-zero data range.")
    mean_ssim, ssim_map = structural_similarity(
        clean.astype(np.float64), test.astype(np.float64), data_range=data_range,
        gaussian_weights=True, sigma=1.5, use_sample_covariance=False, full=True,
    )
    if mask is None:
        return float(mean_ssim)
    return float(ssim_map[mask].mean())


def psnr(clean, test, mask=None):
    """Peak signal-to-noise ratio in dB, per image.

    Parameters
    ----------
    clean : ndarray of shape (H, W) or (n_images, H, W)
        Reference images; each image's ``max - min`` is its data range.
    test : ndarray of the same shape
        Images to score.
    mask : ndarray of bool of the same shape, optional
        Pixels to average the squared error over (e.g. a brain mask).

    Returns
    -------
    float or ndarray of shape (n_images,)

    Examples
    --------
    >>> import numpy as np
    >>> clean = np.array([[0.0, 1.0], [0.0, 1.0]])
    >>> round(psnr(clean, clean + 0.1), 6)  # 10 log10(1 / 0.01)
    20.0
    """
    clean, test, mask = _check_pair(clean, test, mask)
    return _per_image(_psnr_one, clean, test, mask)


def ssim(clean, test, mask=None):
    """Structural similarity (Gaussian window, sigma 1.5), per image.

    Parameters
    ----------
    clean : ndarray of shape (H, W) or (n_images, H, W)
        Reference images; each image's ``max - min`` is its data range. Images need
        at least 11 pixels along each side (the Gaussian window).
    test : ndarray of the same shape
        Images to score.
    mask : ndarray of bool of the same shape, optional
        Pixels to average the SSIM map over.

    Returns
    -------
    float or ndarray of shape (n_images,)

    Examples
    --------
    >>> import numpy as np
    >>> clean = np.tile(np.linspace(0, 1, 16), (16, 1))
    >>> ssim(clean, clean)
    1.0
    """
    clean, test, mask = _check_pair(clean, test, mask)
    if min(clean.shape[-2:]) < 11:
        raise ValueError(f"SSIM needs images of at least 11x11 pixels, got {clean.shape[-2:]}.")
    return _per_image(_ssim_one, clean, test, mask)


def brain_mask(image, *, smoothing=1.0, threshold=None):
    """Foreground (head or brain) mask of a magnitude image.

    The image is smoothed with a Gaussian, thresholded (half Otsu's threshold by default,
    so that dark CSF stays inside), reduced to its largest connected component and its
    holes are filled. Works on clean and on noisy images.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (n_images, H, W)
    smoothing : float, default=1.0
        Gaussian sigma in pixels applied before thresholding.
    threshold : float, optional
        Intensity threshold; by default half of Otsu's threshold on the smoothed image.

    Returns
    -------
    mask : ndarray of bool, same shape as ``image``

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((32, 32)); image[8:24, 8:24] = 1.0
    >>> int(brain_mask(image, smoothing=0).sum())
    256
    """
    from scipy import ndimage
    from skimage.filters import threshold_otsu

    image = check_array(image, "image", ndim=(2, 3))
    if image.ndim == 3:
        return np.stack([brain_mask(i, smoothing=smoothing, threshold=threshold)
                         for i in image])
    smooth = ndimage.gaussian_filter(image, smoothing) if smoothing > 0 else image
    if threshold is None:
        threshold = 0.5 * threshold_otsu(smooth) if np.ptp(smooth) > 0 else np.inf
    labels, n_labels = ndimage.label(smooth > threshold)
    if n_labels == 0:
        return np.zeros(image.shape, dtype=bool)
    largest = np.argmax(np.bincount(labels.ravel())[1:]) + 1
    return ndimage.binary_fill_holes(labels == largest)


def _mean_psnr(y_true, y_pred):
    return float(np.mean(psnr(y_true, y_pred)))


def _mean_ssim(y_true, y_pred):
    return float(np.mean(ssim(y_true, y_pred)))


def _mean_brain_psnr(y_true, y_pred):
    return float(np.mean(psnr(y_true, y_pred, mask=brain_mask(y_true))))


def _mean_brain_ssim(y_true, y_pred):
    return float(np.mean(ssim(y_true, y_pred, mask=brain_mask(y_true))))


def _make_scorers():
    from sklearn.metrics import make_scorer

    return {
        "psnr": make_scorer(_mean_psnr),
        "ssim": make_scorer(_mean_ssim),
        "brain_psnr": make_scorer(_mean_brain_psnr),
        "brain_ssim": make_scorer(_mean_brain_ssim),
    }


#: Scorers for ``GridSearchCV(scoring=...)``: mean PSNR / SSIM over the images, whole image
#: or inside :func:`brain_mask` of the clean image.
SCORERS = _make_scorers()
psnr_scorer = SCORERS["psnr"]
ssim_scorer = SCORERS["ssim"]
brain_psnr_scorer = SCORERS["brain_psnr"]
brain_ssim_scorer = SCORERS["brain_ssim"]
