"""Slices with their neighbours: the rows a 2.5-D denoiser takes."""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ..utils._validation import NON_NEGATIVE_INT, check_array


def neighbour_indices(index, n_slices, context, spacing=1):
    """Indices of slice ``index``'s ``context`` neighbours a side at ``spacing`` slices,
    nearest first (``-1, +1, -2, +2...``), mirrored at the volume's ends.

    Examples
    --------
    >>> neighbour_indices(0, 10, 2).tolist()
    [1, 1, 2, 2]
    """
    offsets = np.array([sign * k * spacing for k in range(1, context + 1) for sign in (-1, 1)],
                       dtype=int)
    last = max(n_slices - 1, 0)
    rows = np.abs(index + offsets)  # mirrored below 0
    rows = np.where(rows > last, 2 * last - rows, rows)  # and past the last slice
    return np.clip(rows, 0, last)


def split_rows(X):
    """Images (n, H, W), and their neighbours nearest first (n, c - 1, H, W) or None, of
    rows ``X``: images (n, H, W), or slabs (n, c, H, W) of c (odd) slices in order whose
    middle one is the image (a row of one slice is an image)."""
    if X.ndim == 3 or X.shape[1] == 1:
        return X.reshape(-1, *X.shape[-2:]), None
    if X.shape[1] % 2 == 0:
        raise ValueError(f"Rows of {X.shape[1]} slices have no middle slice: give an odd "
                         "number (the slice and as many neighbours on each side).")
    middle = X.shape[1] // 2
    order = [middle + sign * k for k in range(1, middle + 1) for sign in (-1, 1)]
    return X[:, middle], X[:, order]


def in_slice_order(slabs):
    """Rows in slice order (n, c, H, W) of ``slabs`` given as :func:`split_rows` splits them:
    the slice first, then its neighbours nearest first (``-1, +1, -2, +2...``)."""
    c = slabs.shape[1] // 2
    return slabs[:, [*range(2 * c - 1, 0, -2), 0, *range(2, 2 * c + 1, 2)]]


class SliceNeighbours(TransformerMixin, BaseEstimator):
    """Turn a volume's slices into rows of each slice with its neighbours (2.5-D).

    Each slice ``i`` of ``X`` (its slices stacked in order) becomes the row of slices
    ``i - context .. i + context``, mirrored at the volume's ends; decomposers denoise each
    row's middle slice and hand the others to networks that see neighbouring slices::

        make_pipeline(SliceNeighbours(context=2), PatchDecomposer(), ...)

    Rows already made (4-D ``X`` of ``1 + 2 context`` slices a row) pass through, so that a
    volume can be cut into rows once and denoised in batches of rows
    (:func:`sksmoe.denoise` does). So do rows of one slice, ``images[:, None]``: a stack of
    unrelated 2-D images, each denoised alone (networks then see the slice as its own
    neighbours).

    Parameters
    ----------
    context : int, default=2
        Neighbours on each side (0: rows of one slice, which decomposers take as images).

    Examples
    --------
    >>> import numpy as np
    >>> SliceNeighbours(context=1).fit_transform(np.zeros((6, 32, 32))).shape
    (6, 3, 32, 32)
    """

    _parameter_constraints = {"context": NON_NEGATIVE_INT}

    def __init__(self, *, context=2):
        self.context = context

    def fit(self, X, y=None):
        """Check the parameters and the volume; nothing is learned."""
        self._validate_params()
        self._check(X)
        self.n_features_in_ = 1
        return self

    def _check(self, X):
        X = check_array(X, "X", ndim=(3, 4))
        if X.ndim == 4 and X.shape[1] not in (1, 1 + 2 * self.context):
            raise ValueError(f"Rows of {X.shape[1]} slices given; context={self.context} "
                             f"makes rows of {1 + 2 * self.context} (or give rows of one "
                             "slice: unrelated images, each seen alone).")
        return X

    def transform(self, X):
        """Rows (n_slices, 1 + 2 context, H, W), slices in order, of the volume ``X`` (rows
        already made are returned as they are)."""
        self._validate_params()
        X = self._check(X)
        if X.ndim == 4:
            return X
        c, n = self.context, len(X)
        rows = np.empty((n, 1 + 2 * c, *X.shape[1:]), dtype=X.dtype)
        for i in range(n):
            near = neighbour_indices(i, n, c)
            below, above = near[0::2][::-1], near[1::2]
            rows[i] = X[np.concatenate([below, [i], above]).astype(int)]
        return rows

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags
