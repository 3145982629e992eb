"""Overlapping square patches that cover every pixel."""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import StrOptions

from ..utils._validation import POSITIVE_INT, check_array, check_float32_range
from ._neighbours import split_rows
from ._regions import Regions, as_object_array

#: What a decomposer measures of each image's noise: one level, or a map too.
NOISE = [StrOptions({"level", "map"})]


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
    >= ``patch_size`` are accepted, and rows of slices (see :class:`SliceNeighbours`), whose
    middle slice is decomposed and the others kept for networks that see them.

    Parameters
    ----------
    patch_size : int, default=48
    stride : int, default=20
        At most ``patch_size``.
    noise : {"map", "level"}, default="map"
        What networks are told of each image's noise: ``"map"`` its estimated local sigma
        (:func:`sksmoe.noise.estimate_noise_map`), ``"level"`` one level per image
        (:func:`sksmoe.noise.estimate_sigma`; models saved before noise maps).

    Examples
    --------
    >>> import numpy as np
    >>> regions = PatchDecomposer().fit_transform(np.zeros((2, 100, 120)))
    >>> len(regions), len(regions[0])  # one region set per image, 4 x 5 patches each
    (2, 20)
    """

    _parameter_constraints = {"patch_size": POSITIVE_INT, "stride": POSITIVE_INT,
                              "noise": NOISE}

    def __init__(self, *, patch_size=48, stride=20, noise="map"):
        self.patch_size = patch_size
        self.stride = stride
        self.noise = noise

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
        """Images (n, H, W) and their neighbours (n, c - 1, H, W) or None, of ``X``."""
        X = check_float32_range(check_array(X, "X", ndim=(3, 4)), "X")
        if min(X.shape[-2:]) < self.patch_size:
            raise ValueError(f"Images of shape {X.shape[-2:]} are smaller than "
                             f"`patch_size`={self.patch_size}.")
        return split_rows(X)

    def _contexts(self, X, boxes):
        """The region set ``boxes`` of each image, with its context."""
        images, neighbours = X
        return [Regions.of_image(image, boxes, neighbours=None if neighbours is None
                                 else neighbours[i], noise=self.noise)
                for i, image in enumerate(images)]

    def transform(self, X):
        """Region sets, one per image.

        Parameters
        ----------
        X : ndarray of shape (n_images, H, W), or (n_images, n_slices, H, W)
            Images, or rows of an odd number of slices in order (the middle one decomposed).

        Returns
        -------
        regions : ndarray of shape (n_images,), dtype object, of :class:`Regions`
        """
        self._check_params()
        X = self._check_images(X)
        return as_object_array(self._contexts(X, self._boxes(X[0].shape[1:])))

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
