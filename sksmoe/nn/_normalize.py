"""Intensity normalisation shared by training and inference."""

import numpy as np

#: Images are divided by their 99.5th intensity percentile before the network sees them.
PERCENTILE = 99.5


def intensity_scale(image):
    """Scale of one image: its 99.5th percentile (1.0 for an all-zero image)."""
    scale = float(np.percentile(image, PERCENTILE))
    return scale if scale > 0 else 1.0


def relative_noise(image, scale=None):
    """Estimated noise sigma of ``image`` over its :func:`intensity_scale`: the noise level
    the network sees."""
    from ..noise import estimate_sigma

    return estimate_sigma(image) / (intensity_scale(image) if scale is None else scale)


def network_input(image, noise_channel=False):
    """What a DnCNN sees of ``image``: the image divided by its scale, and its noise level.

    Returns
    -------
    x : ndarray of float32
        ``image / scale``.
    scale : float
        :func:`intensity_scale` of the image; multiply the network's output by it.
    sigma : float or None
        Noise level of ``x`` estimated by :func:`sksmoe.noise.estimate_sigma` (None unless
        ``noise_channel``).
    """
    scale = intensity_scale(image)
    sigma = relative_noise(image, scale) if noise_channel else None
    return (np.asarray(image) / scale).astype(np.float32), scale, sigma
