"""Non-uniform noise in magnitude MRI: smooth sigma maps, SENSE and multi-coil sum of squares.

Definitions (NOISE.md): every function returns the noisy magnitude image and its true sigma
map, the map scaled so that its mean over the head is the asked ``sigma``. Coil
sensitivities are normalised so that ``sum_l |S_l|^2 = 1`` at every pixel: the noise-free
combined image is the input image itself.
"""

import numpy as np

from ..utils._validation import check_array, check_non_negative
from ._simulate import add_rician_noise, as_generator

_KINDS = ("bm4d", "random")


def _head(image, mask):
    """The head: ``mask``, or :func:`~sksmoe.metrics.brain_mask` of the clean image."""
    if mask is None:
        from ..metrics import brain_mask

        mask = brain_mask(image)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != image.shape:
        raise ValueError(f"`mask` must have the image's shape {image.shape}, got {mask.shape}.")
    return mask if mask.any() else np.ones(image.shape, dtype=bool)


def _check_image(image, sigma):
    return check_array(image, "image", ndim=(2, 3)), check_non_negative(sigma, "sigma")


def _scaled(relative, sigma, head, dtype):
    """``relative`` (broadcast to the head's shape) scaled to mean ``sigma`` over the head."""
    relative = np.broadcast_to(relative, head.shape)
    return (sigma / relative[head].mean() * relative).astype(dtype)


def smooth_noise_map(shape, kind="bm4d", *, mask=None, gmax=None, random_state=None):
    """Smooth noise-modulation map with mean 1 over ``mask``.

    ``"bm4d"`` is the BM4D demo's map: a 3 x 3 (x 3) lattice of ones with its centre set to
    3, interpolated by cubic splines to ``shape`` (a 2-D shape gets the central slice of the
    3-D map). ``"random"`` is Gaussian-filtered white noise (filter width an eighth of each
    axis) rescaled to span ``1 .. gmax`` over ``mask``. Both are then divided by their mean
    over ``mask``.

    Parameters
    ----------
    shape : tuple of int
        2-D ``(H, W)`` or 3-D ``(n_slices, H, W)``.
    kind : {"bm4d", "random"}, default="bm4d"
    mask : ndarray of bool of shape ``shape``, optional
        The head; the whole image if None or empty.
    gmax : float, optional
        ``"random"`` only: ratio of the largest to the smallest value over ``mask``, > 1;
        drawn uniformly in 1.5 .. 4 if None.
    random_state : int, Generator, RandomState or None

    Returns
    -------
    map : ndarray of float64 of shape ``shape``

    Examples
    --------
    >>> m = smooth_noise_map((64, 64))
    >>> round(float(m.mean()), 3), round(float(m.max() / m.min()), 2)
    (1.0, 3.0)
    """
    from scipy.interpolate import CubicSpline

    if kind not in _KINDS:
        raise ValueError(f"`kind` must be one of {_KINDS}, got {kind!r}.")
    shape = tuple(int(n) for n in shape)
    if len(shape) not in (2, 3) or min(shape) < 2:
        raise ValueError(f"`shape` must be 2-D or 3-D with sizes >= 2, got {shape}.")
    head = np.ones(shape, bool) if mask is None else np.asarray(mask, dtype=bool)
    if head.shape != shape or not head.any():
        head = np.ones(shape, bool)
    rng = as_generator(random_state)
    if kind == "bm4d":
        bump = CubicSpline([-1, 0, 1], [0, 1, 0])  # the lattice is 1 + 2 * (centre bump)
        profiles = np.ix_(*[bump(np.linspace(-1, 1, n)) for n in shape])
        field = 1 + 2 * np.prod(np.broadcast_arrays(*profiles), axis=0)
    else:
        from scipy import ndimage

        gmax = rng.uniform(1.5, 4) if gmax is None else float(gmax)
        if not gmax > 1:
            raise ValueError(f"`gmax` must be > 1, got {gmax}.")
        noise = ndimage.gaussian_filter(rng.standard_normal(shape), [n / 8 for n in shape])
        low, high = noise[head].min(), noise[head].max()
        field = 1 + (gmax - 1) * np.clip((noise - low) / (high - low), 0, 1)
    return field / field[head].mean()


def add_smooth_noise(image, sigma, *, kind="bm4d", mask=None, gmax=None, random_state=None):
    """Rician noise whose sigma follows a smooth map: ``|x + sigma(x) (n1 + i n2)|``.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (n_slices, H, W)
        Noise-free magnitude image; a 3-D input is one volume (the map spans all axes).
    sigma : float
        Mean of the sigma map over the head, >= 0.
    kind, gmax : see :func:`smooth_noise_map`
    mask : ndarray of bool, optional
        The head; by default :func:`~sksmoe.metrics.brain_mask` of ``image``.
    random_state : int, Generator, RandomState or None
        Controls the map (``"random"``) and the noise.

    Returns
    -------
    noisy, sigma_map : ndarray of the shape and floating dtype of ``image``

    Examples
    --------
    >>> import numpy as np
    >>> noisy, sigma_map = add_smooth_noise(np.ones((64, 64)), 0.05, random_state=0)
    >>> round(float(sigma_map.mean()), 3), round(float(sigma_map.max() / sigma_map.min()), 2)
    (0.05, 3.0)
    """
    image, sigma = _check_image(image, sigma)
    head = _head(image, mask)
    rng = as_generator(random_state)
    relative = smooth_noise_map(image.shape, kind, mask=head, gmax=gmax, random_state=rng)
    sigma_map = _scaled(relative, sigma, head, image.dtype)
    return add_rician_noise(image, sigma_map, random_state=rng), sigma_map


def coil_sensitivities(shape, n_coils=8):
    """Complex sensitivities of ``n_coils`` loop coils on an ellipse around a 2-D image.

    Coil centres sit evenly on the ellipse inscribed in the image (one coil every
    ``360 / n_coils`` degrees); each loop's magnitude is ``(1 + (d / r)^2)^(-3/2)`` of the
    distance ``d`` to its centre (Biot-Savart on a loop's axis), its radius ``r`` half the
    spacing between neighbours, with a linear phase along the ellipse's tangent (about +-1
    rad across the head). Sensitivities are then normalised so that
    ``sum_l |S_l|^2 = 1`` at every pixel.

    Parameters
    ----------
    shape : tuple of 2 int
        ``(H, W)``.
    n_coils : int, default=8

    Returns
    -------
    sensitivities : ndarray of complex128 of shape (n_coils, H, W)

    Examples
    --------
    >>> s = coil_sensitivities((32, 40), 8)
    >>> s.shape, bool(np.allclose((abs(s) ** 2).sum(0), 1))
    ((8, 32, 40), True)
    """
    height, width = (int(n) for n in shape)
    n_coils = int(n_coils)
    if n_coils < 1 or min(height, width) < 2:
        raise ValueError(f"Need n_coils >= 1 and a 2-D shape, got {n_coils} and {shape}.")
    rows, cols = np.meshgrid(np.arange(height) - (height - 1) / 2,
                             np.arange(width) - (width - 1) / 2, indexing="ij")
    angles = 2 * np.pi * (np.arange(n_coils) + 0.5) / n_coils
    a, b = height / 2, width / 2
    radius = np.pi * np.sqrt(a * b) / n_coils
    sensitivities = np.empty((n_coils, height, width), dtype=complex)
    for coil, angle in enumerate(angles):
        dr, dc = rows - a * np.cos(angle), cols - b * np.sin(angle)
        tangent = np.array([-a * np.sin(angle), b * np.cos(angle)]) / np.hypot(a, b)
        phase = (tangent[0] * dr + tangent[1] * dc) / np.sqrt(a * b)
        sensitivities[coil] = (1 + (dr**2 + dc**2) / radius**2) ** -1.5 * np.exp(1j * phase)
    return sensitivities / np.sqrt((np.abs(sensitivities) ** 2).sum(axis=0))


def coil_covariance(n_coils, correlation):
    """Noise covariance of a ring of coils: ``correlation ** (distance along the ring)``.

    Examples
    --------
    >>> coil_covariance(4, 0.5)[0]
    array([1.  , 0.5 , 0.25, 0.5 ])
    """
    if not 0 <= correlation < 1:
        raise ValueError(f"`correlation` must be in [0, 1), got {correlation}.")
    step = np.abs(np.subtract.outer(np.arange(n_coils), np.arange(n_coils)))
    return float(correlation) ** np.minimum(step, n_coils - step)


def _check_covariance(covariance, n_coils):
    """The covariance as an array, or the identity; raise unless Hermitian positive definite."""
    if covariance is None:
        return np.eye(n_coils)
    covariance = np.asarray(covariance)
    if covariance.shape != (n_coils, n_coils) or not np.allclose(covariance,
                                                                 covariance.conj().T):
        raise ValueError(f"`covariance` must be a Hermitian ({n_coils}, {n_coils}) matrix.")
    if np.linalg.eigvalsh(covariance).min() <= 0:
        raise ValueError("`covariance` must be positive definite.")
    return covariance


def sense_g_factor(sensitivities, acceleration, *, covariance=None):
    """SENSE g-factor map: ``g = sqrt(diag((C^H Psi^-1 C)^-1) diag(C^H Psi^-1 C))``.

    Undersampling by ``acceleration`` R along the first image axis (rows, the phase-encoding
    axis) folds each pixel onto the R - 1 pixels ``round(k H / R)`` rows away (cyclically);
    C is the ``n_coils x R`` matrix of the sensitivities at those pixels (Pruessmann et al.
    1999).

    Parameters
    ----------
    sensitivities : ndarray of complex of shape (n_coils, H, W)
    acceleration : int
        R, from 1 to ``n_coils``.
    covariance : ndarray of shape (n_coils, n_coils), optional
        Psi, the coils' noise covariance; the identity if None.

    Returns
    -------
    g : ndarray of float64 of shape (H, W)
        >= 1 everywhere (1 where R = 1).

    Examples
    --------
    >>> g = sense_g_factor(coil_sensitivities((64, 64), 8), 2)
    >>> bool(g.min() >= 1)
    True
    """
    sensitivities = np.asarray(sensitivities, dtype=complex)
    if sensitivities.ndim != 3:
        raise ValueError(f"`sensitivities` must be (n_coils, H, W), got {sensitivities.shape}.")
    n_coils, height = sensitivities.shape[:2]
    acceleration = int(acceleration)
    if not 1 <= acceleration <= min(n_coils, height):
        raise ValueError(f"`acceleration` must be in 1 .. {min(n_coils, height)}, "
                         f"got {acceleration}.")
    cholesky = np.linalg.cholesky(_check_covariance(covariance, n_coils))
    white = np.linalg.solve(cholesky, sensitivities.reshape(n_coils, -1))
    white = white.reshape(sensitivities.shape)  # C^H Psi^-1 C = (K^-1 C)^H (K^-1 C)
    folded = np.stack([np.roll(white, -round(k * height / acceleration), axis=1)
                       for k in range(acceleration)], axis=-1)
    gram = np.einsum("lhwk,lhwm->hwkm", folded.conj(), folded)
    g2 = np.linalg.inv(gram)[..., 0, 0].real * gram[..., 0, 0].real
    return np.sqrt(np.maximum(g2, 1.0))


def add_sense_noise(image, sigma, *, n_coils=8, acceleration=2, covariance=None, mask=None,
                    random_state=None):
    """Rician noise of a SENSE reconstruction: local sigma ``sigma0 * g(x) * sqrt(R)``.

    The g-factor comes from :func:`coil_sensitivities` (the same in every slice) and
    :func:`sense_g_factor`; ``sigma0`` is chosen so that the map's mean over the head is
    ``sigma``.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (n_slices, H, W)
        Noise-free magnitude image (slices stacked along the first axis).
    sigma : float
        Mean of the sigma map over the head, >= 0.
    n_coils : int, default=8
    acceleration : int, default=2
        R, along the image rows.
    covariance : ndarray of shape (n_coils, n_coils), optional
        The coils' noise covariance (identity if None); see :func:`coil_covariance`.
    mask : ndarray of bool, optional
        The head; by default :func:`~sksmoe.metrics.brain_mask` of ``image``.
    random_state : int, Generator, RandomState or None

    Returns
    -------
    noisy, sigma_map : ndarray of the shape and floating dtype of ``image``

    Examples
    --------
    >>> noisy, sigma_map = add_sense_noise(np.ones((64, 64)), 0.05, acceleration=3)
    >>> round(float(sigma_map.mean()), 3), bool(sigma_map.max() > 1.2 * sigma_map.min())
    (0.05, True)
    """
    image, sigma = _check_image(image, sigma)
    head = _head(image, mask)
    sensitivities = coil_sensitivities(image.shape[-2:], n_coils)
    g = sense_g_factor(sensitivities, acceleration, covariance=covariance)
    sigma_map = _scaled(g, sigma, head, image.dtype)  # sqrt(R) is in the scale
    return add_rician_noise(image, sigma_map, random_state=random_state), sigma_map


def _effective_sigma(power, coil_power, scale, covariance):
    """Noncentral-chi sigma_eff of the sum of squares (Aja-Fernandez and Tristan-Vega 2012).

    ``sigma_eff^2 = (s^H Sigma s + tr(Sigma^2)) / (|s|^2 + tr(Sigma))`` with Sigma =
    ``scale^2 * covariance``, ``|s|^2 = power`` and ``s^H covariance s = power *
    coil_power``.
    """
    trace, trace2 = np.trace(covariance).real, np.trace(covariance @ covariance).real
    s2 = scale**2
    return np.sqrt((s2 * power * coil_power + s2**2 * trace2) / (power + s2 * trace))


def add_sos_noise(image, sigma, *, n_coils=8, covariance=None, mask=None, random_state=None):
    """Root sum of squares of ``n_coils`` noisy coil images: noncentral chi magnitude.

    Each coil sees ``S_l x + n_l``, the ``n_l`` complex Gaussian with covariance ``Sigma``
    (real and imaginary parts each), ``Sigma`` proportional to ``covariance``; the image is
    ``sqrt(sum_l |S_l x + n_l|^2)``. The returned map is the effective sigma of the
    noncentral chi model (NOISE.md, Aja-Fernandez et al.):
    ``sigma_eff^2 = (s^H Sigma s + tr(Sigma^2)) / (|s|^2 + tr(Sigma))``, ``s = S x``, with
    ``L_eff = tr(Sigma) / sigma_eff^2`` coils; uncorrelated coils give ``sigma_eff = sigma``
    and ``L_eff = n_coils`` everywhere. ``Sigma`` is scaled so that the map's mean over the
    head is ``sigma``.

    Parameters
    ----------
    image, sigma, n_coils, mask, random_state
        As for :func:`add_sense_noise`.
    covariance : ndarray of shape (n_coils, n_coils), optional
        Shape of the coils' noise covariance (identity if None); see :func:`coil_covariance`.

    Returns
    -------
    noisy, sigma_map : ndarray of the shape and floating dtype of ``image``

    Examples
    --------
    >>> noisy, sigma_map = add_sos_noise(np.zeros((128, 128)), 0.1, n_coils=4,
    ...                                  random_state=0)
    >>> round(float(noisy.mean() / 0.1), 2)  # sqrt(2) Gamma(4.5) / Gamma(4) = 2.742
    2.74
    """
    image, sigma = _check_image(image, sigma)
    head = _head(image, mask)
    sensitivities = coil_sensitivities(image.shape[-2:], n_coils)
    covariance = _check_covariance(covariance, len(sensitivities))
    covariance = covariance / np.trace(covariance).real * len(covariance)
    rng = as_generator(random_state)
    if sigma == 0:
        return image.copy(), np.zeros_like(image)
    coil_power = np.einsum("lhw,lk,khw->hw", sensitivities.conj(), covariance,
                           sensitivities).real
    power = image**2
    scale = sigma
    for _ in range(50):  # sigma_eff grows with the scale: fixed point on the head's mean
        sigma_map = _effective_sigma(power, coil_power, scale, covariance)
        mean = sigma_map[head].mean()
        if mean == 0 or abs(mean / sigma - 1) < 1e-9:
            break
        scale *= sigma / mean
    cholesky = scale * np.linalg.cholesky(covariance)
    noisy = np.empty_like(image)
    for index in np.ndindex(image.shape[:-2]):
        white = rng.standard_normal((2, len(covariance), *image.shape[-2:]))
        noise = np.tensordot(cholesky, white[0] + 1j * white[1], axes=1)
        noisy[index] = np.sqrt((np.abs(sensitivities * image[index] + noise) ** 2).sum(0))
    return noisy, sigma_map.astype(image.dtype)
