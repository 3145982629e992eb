"""BrainWeb-style simulation: tissue contrasts, RF inhomogeneity and Rician noise.

Definitions (BrainWeb's, see METHOD.md):

- a contrast is a weighted sum of tissue fractions, ``x = sum_t level_t * fraction_t``;
- a p% RF field is a smooth multiplicative field ``b`` spanning ``1 -/+ p/200`` over the brain
  (20% -> 0.90..1.10); the clean target is ``b * x``;
- p% Rician noise has ``sigma = p / 100 * reference``, the reference being the mean intensity
  of the brightest tissue (white matter for T1), and ``y = |b x + sigma (n1 + i n2)|``.
"""

import functools

import numpy as np
from numpy.polynomial import legendre

from ..utils._validation import check_array, check_non_negative

#: Relative tissue intensities (CSF, GM, WM) of each simulated contrast.
TISSUE_LEVELS = {
    "T1": {"csf": 0.30, "gm": 0.65, "wm": 0.85},
    "T2": {"csf": 1.00, "gm": 0.55, "wm": 0.40},
    "PD": {"csf": 1.00, "gm": 0.80, "wm": 0.65},
}
#: Modalities the simulator knows: the three tissue-fraction contrasts and the template itself.
MODALITIES = ("T1", "T2", "PD", "MNI-T1")


def as_generator(random_state):
    """Turn None, an int, a SeedSequence, a RandomState or a Generator into a Generator."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**32 - 1, dtype=np.uint64))
    if (
        random_state is None
        or isinstance(random_state, np.random.SeedSequence)
        or (isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool))
    ):
        return np.random.default_rng(random_state)
    raise TypeError(
        "`random_state` must be None, an int, a numpy RandomState or Generator, "
        f"got {type(random_state).__name__}."
    )


def _check_modality(modality):
    if modality not in MODALITIES:
        raise ValueError(f"`modality` must be one of {MODALITIES}, got {modality!r}.")


@functools.lru_cache(maxsize=len(MODALITIES))
def _contrast_volume(modality):
    from ._mni import load_mni152

    mni = load_mni152()
    if modality == "MNI-T1":
        volume = mni.t1
        brightest = "wm"
    else:
        levels = TISSUE_LEVELS[modality]
        volume = sum(level * mni[tissue] for tissue, level in levels.items()).astype(np.float32)
        brightest = max(levels, key=levels.get)
    reference = float(volume[mni[brightest] >= 0.5].mean())
    volume.flags.writeable = False
    return volume, reference


def mni152_contrast(modality="T1"):
    """Noise-free MNI152 volume of one contrast and its noise reference intensity.

    Parameters
    ----------
    modality : {"T1", "T2", "PD", "MNI-T1"}, default="T1"
        "T1", "T2" and "PD" are computed from the tissue fractions with
        :data:`TISSUE_LEVELS`; "MNI-T1" is the template's own T1 intensity.

    Returns
    -------
    volume : ndarray of shape (197, 233, 189), float32, read-only
    reference : float
        Mean intensity of the brightest tissue (voxels where its fraction >= 0.5):
        the intensity that noise percentages refer to.

    Examples
    --------
    >>> from sksmoe.datasets import mni152_contrast
    >>> volume, reference = mni152_contrast("T2")
    >>> round(reference, 2)  # CSF is the brightest tissue in T2
    0.87
    """
    _check_modality(modality)
    return _contrast_volume(modality)


def rf_field(shape, percent, *, mask=None, random_state=None):
    """Random smooth multiplicative RF inhomogeneity field.

    The field is a random polynomial of total degree 3 (Legendre basis over the image),
    rescaled so that it spans exactly ``1 - percent/200 .. 1 + percent/200`` over ``mask``
    and clipped to that range elsewhere.

    Parameters
    ----------
    shape : tuple of int
        Shape of the field (2-D or 3-D).
    percent : float
        Inhomogeneity level in percent (BrainWeb: 0, 20 or 40).
    mask : ndarray of bool, optional
        Region over which the range is exact (the brain); whole image if None or empty.
    random_state : int, Generator, RandomState or None
        Controls the field's shape.

    Returns
    -------
    field : ndarray of float32 with the given shape

    Examples
    --------
    >>> field = rf_field((64, 64), 20, random_state=0)
    >>> round(float(field.min()), 3), round(float(field.max()), 3)
    (0.9, 1.1)
    """
    percent = check_non_negative(percent, "percent")
    shape = tuple(int(n) for n in shape)
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise ValueError(f"`shape` must be 2-D or 3-D with positive sizes, got {shape}.")
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != shape:
            raise ValueError(f"`mask` must have shape {shape}, got {mask.shape}.")
    rng = as_generator(random_state)
    if percent == 0:
        return np.ones(shape, dtype=np.float32)
    degree = 3
    coords = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij")
    field = np.zeros(shape)
    for powers in np.ndindex(*(degree + 1,) * len(shape)):
        if 0 < sum(powers) <= degree:
            term = rng.normal() / sum(powers)
            for axis, power in enumerate(powers):
                term = term * legendre.legval(coords[axis], [0] * power + [1])
            field += term
    region = field[mask] if mask is not None and mask.any() else field
    low, high = region.min(), region.max()
    unit = (field - low) / (high - low) if high > low else np.full(shape, 0.5)
    field = 1.0 + percent / 100.0 * (np.clip(unit, 0.0, 1.0) - 0.5)
    return field.astype(np.float32)


def add_rician_noise(image, sigma, *, random_state=None):
    """Add Rician magnitude noise: ``sqrt((image + sigma n1)^2 + (sigma n2)^2)``.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (n_images, H, W)
        Noise-free magnitude image(s). It is not modified.
    sigma : float or ndarray broadcastable to ``image.shape``
        Standard deviation of the Gaussian noise in each of the two channels, >= 0.
    random_state : int, Generator, RandomState or None
        Controls the noise.

    Returns
    -------
    noisy : ndarray of the same shape and floating dtype as ``image``

    Examples
    --------
    >>> import numpy as np
    >>> noisy = add_rician_noise(np.zeros((256, 256)), 0.1, random_state=0)
    >>> round(float(noisy.mean() / 0.1), 2)  # Rayleigh mean: sqrt(pi / 2) = 1.25
    1.25
    """
    image = check_array(image, "image", ndim=(2, 3))
    if np.ndim(sigma) == 0:
        sigma = check_non_negative(sigma, "sigma")
    else:
        sigma = check_array(sigma, "sigma")
        if np.any(sigma < 0):
            raise ValueError("`sigma` must be >= 0 everywhere.")
        try:
            np.broadcast_shapes(sigma.shape, image.shape)
        except ValueError:
            raise ValueError(
                f"`sigma` of shape {sigma.shape} does not broadcast to the image "
                f"shape {image.shape}."
            ) from None
    rng = as_generator(random_state)
    real = image + sigma * rng.standard_normal(image.shape)
    imag = sigma * rng.standard_normal(image.shape)
    return np.hypot(real, imag).astype(image.dtype, copy=False)


def noise_sigma(percent, reference):
    """Noise standard deviation for a BrainWeb noise level: ``percent / 100 * reference``."""
    return check_non_negative(percent, "percent") / 100.0 * check_non_negative(
        reference, "reference"
    )
