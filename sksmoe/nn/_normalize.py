"""Intensity normalisation shared by training and inference (the per-image context that
uses it is :class:`sksmoe.decomposition.Regions`)."""

import numpy as np

#: Images are divided by their 99.5th intensity percentile before the network sees them.
PERCENTILE = 99.5


def intensity_scale(image):
    """Scale of one image: its 99.5th percentile (1.0 for an all-zero image)."""
    scale = float(np.percentile(image, PERCENTILE))
    return scale if scale > 0 else 1.0
