"""Input validation shared by every public function."""

import numbers

import numpy as np
from sklearn.utils._param_validation import HasMethods, Interval


def check_array(x, name, *, ndim=None, allow_empty=False, dtype=np.floating):
    """Return ``x`` as a finite numeric ndarray, or raise a clear error.

    Parameters
    ----------
    x : array-like
        The value to check.
    name : str
        Argument name used in error messages.
    ndim : int or tuple of int, optional
        Accepted numbers of dimensions.
    allow_empty : bool, default=False
        Whether an array with no elements is accepted.
    dtype : numpy dtype class, default=np.floating
        Kind of floating dtype to convert integer input to; floating input keeps its dtype
        (float16 becomes float32).

    Returns
    -------
    ndarray
        Floating-point view or copy of ``x``.
    """
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"`{name}` must be a numeric array, got {type(x).__name__}.")
    arr = np.asarray(x)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == bool
    ):
        raise TypeError(f"`{name}` must be a numeric array, got dtype {arr.dtype}.")
    if np.iscomplexobj(arr):
        raise TypeError(f"`{name}` must be real-valued, got complex dtype {arr.dtype}.")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(n) for n in allowed)
            raise ValueError(
                f"`{name}` must have {want} dimensions, got an array of shape {arr.shape}."
            )
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"`{name}` is empty (shape {arr.shape}).")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64 if dtype is np.floating else dtype)
    elif arr.dtype == np.float16:  # too narrow for scipy's filters
        arr = arr.astype(np.float32)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`{name}` contains NaN or infinite values.")
    return arr


def check_float32_range(arr, name):
    """Raise ``ValueError`` if ``arr`` holds values a float32 result cannot represent."""
    limit = float(np.finfo(np.float32).max) / 2
    if arr.size and float(np.abs(arr).max()) > limit:
        raise ValueError(f"`{name}` holds values up to {float(np.abs(arr).max()):.3g}, beyond "
                         f"float32's range (the denoised output's dtype): divide it by a "
                         "constant first.")
    return arr


def check_same_shape(a, b, name_a, name_b):
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same shape."""
    if a.shape != b.shape:
        raise ValueError(
            f"`{name_a}` and `{name_b}` must have the same shape, got {a.shape} and {b.shape}."
        )


#: Declarative parameter constraints (scikit-learn's ``_parameter_constraints`` vocabulary):
#: every estimator lists its parameters with these and ``fit`` calls ``_validate_params``.
POSITIVE_INT = [Interval(numbers.Integral, 1, None, closed="left")]
NON_NEGATIVE_INT = [Interval(numbers.Integral, 0, None, closed="left")]
NON_NEGATIVE = [Interval(numbers.Real, 0, None, closed="left")]
DEVICE = [str]  # "auto", "cpu", "cuda", "cuda:N": resolve_device checks which
MEMORY = [None, str, HasMethods(["cache"])]


def check_non_negative(value, name):
    """Return ``value`` as float if it is a finite number >= 0, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number, got {type(value).__name__}.")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"`{name}` must be a finite number >= 0, got {value}.")
    return value


def noise_scale_argument(text):
    """Type of a ``--noise-scale`` command-line option: 'sure' or a number > 0."""
    import argparse

    if text == "sure":
        return text
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not value > 0:
        raise argparse.ArgumentTypeError(f"expected 'sure' or a number > 0, got {text!r}")
    return value
