"""Overlapping square patches that cover every pixel."""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ..utils._validation import POSITIVE_INT, check_array, check_float32_range
from ._regions import Regions, as_object_array


def patch_starts(length, patch_size, stride):
    """Start offsets along one axis: every ``stride``, the last one flush with the border.

    Examples
    --------
    >>> patch_starts(100, 48, 20).tolist()
    [0, 20, 40, 52]
    """
    starts = list(range(0, length - patch_size + 1, stride))
    if starts[-1] != length - patch_size:
        starts.append(length - patch_size)
    return np.array(starts)


class PatchDecomposer(TransformerMixin, BaseEstimator):
    """Decompose images into overlapping square patches (the paper's SMoE Patch).

    Patches start every ``stride`` pixels; the last row and column of patches are aligned
    to the image border, so every pixel is covered. Images of any size with both sides
    >= ``patch_size`` are accepted.

    Parameters
    ----------
    patch_size : int, default=48
    stride : int, default=20
        At most ``patch_size``.

    Examples
    --------
    >>> import numpy as np
    >>> regions = PatchDecomposer().fit_transform(np.zeros((2, 100, 120)))
    >>> len(regions), len(regions[0])  # one region set per image, 4 x 5 patches each
    (2, 20)
    """

    _parameter_constraints = {"patch_size": POSITIVE_INT, "stride": POSITIVE_INT}

    def __init__(self, *, patch_size=48, stride=20):
        self.patch_size = patch_size
        self.stride = stride

    def _check_params(self):
        self._validate_params()
        if self.stride > self.patch_size:
            raise ValueError(f"`stride`={self.stride} must be <= `patch_size`="
                             f"{self.patch_size}, or some pixels would belong to no patch.")

    def fit(self, X, y=None):
        """Check parameters and input; nothing is learned."""
        self._check_params()
        self._check_images(X)
        self.n_features_in_ = 1
        return self

    def _check_images(self, X):
        X = check_float32_range(check_array(X, "X", ndim=3), "X")
        if min(X.shape[1:]) < self.patch_size:
            raise ValueError(f"Images of shape {X.shape[1:]} are smaller than "
                             f"`patch_size`={self.patch_size}.")
        return X

    def transform(self, X):
        """Region sets, one per image.

        Parameters
        ----------
        X : ndarray of shape (n_images, H, W)

        Returns
        -------
        regions : ndarray of shape (n_images,), dtype object, of :class:`Regions`
        """
        self._check_params()
        X = self._check_images(X)
        boxes = self._boxes(X.shape[1:])
        return as_object_array([Regions.of_image(image, boxes) for image in X])

    def _boxes(self, shape):
        """``(row0, col0, row1, col1)`` of every patch of an image of this shape."""
        p = self.patch_size
        rows = patch_starts(shape[0], p, self.stride)
        cols = patch_starts(shape[1], p, self.stride)
        return np.array([(r, c, r + p, c + p) for r in rows for c in cols])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True  # a stack of images
        return tags
