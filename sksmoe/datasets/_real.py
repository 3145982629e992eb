"""Real single-subject MRI shipped inside dipy, for cross-dataset tests."""

from importlib import resources

import numpy as np
from sklearn.utils import Bunch

from ..utils._validation import check_non_negative
from ._simulate import add_rician_noise, as_generator, noise_sigma

_DIPY_LICENSE = "dipy package data (dipy is BSD-3-Clause), dipy/data/files/"
#: Real sources: name -> (file inside dipy/data/files, description).
REAL_SOURCES = {
    "dipy-t1": ("t1_coronal_slice.npy", "one skull-stripped T1-weighted slice, 256x256"),
    "dipy-b0": ("S0_10slices.nii.gz", "ten b=0 (T2-weighted) diffusion slices, 128x128"),
}


def load_real_slices(source="dipy-t1"):
    """Load real single-subject MRI slices shipped inside the dipy package.

    Parameters
    ----------
    source : {"dipy-t1", "dipy-b0"}, default="dipy-t1"
        ``"dipy-t1"``: one skull-stripped T1-weighted slice (256x256);
        ``"dipy-b0"``: ten axial b=0 slices of a diffusion scan (128x128, T2-weighted).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``images``: float32 ndarray of shape (n_images, H, W) scaled to [0, 1];
        ``mask``: bool ndarray, :func:`sksmoe.metrics.brain_mask` of each image;
        ``source``, ``description``, ``license``: str.

    Examples
    --------
    >>> data = load_real_slices("dipy-b0")
    >>> data.images.shape
    (10, 128, 128)
    """
    from ..metrics import brain_mask

    if source not in REAL_SOURCES:
        raise ValueError(f"`source` must be one of {sorted(REAL_SOURCES)}, got {source!r}.")
    filename, description = REAL_SOURCES[source]
    path = resources.files("dipy.data") / "files" / filename
    if filename.endswith(".npy"):
        images = np.load(str(path), allow_pickle=False)[None]
    else:
        import nibabel as nib

        images = np.moveaxis(np.asarray(nib.load(str(path)).dataobj)[..., 0], -1, 0)
    images = images.astype(np.float32)
    images /= images.max()
    return Bunch(images=images, mask=brain_mask(images), source=source,
                 description=description, license=_DIPY_LICENSE)


def _brightest_tissue_mean(image, mask):
    from skimage.filters import threshold_multiotsu

    values = image[mask]
    top = threshold_multiotsu(values, classes=3)[-1]
    return float(values[values > top].mean())


def make_real_dataset(source="dipy-t1", noise_levels=(1, 3, 5, 7, 9), *, random_state=0):
    """Add Rician noise to real slices, BrainWeb-style, for cross-dataset tests.

    As in the paper's IXI protocol, the scan itself is the clean target. The noise reference
    is the mean of the brightest of three intensity classes (multi-Otsu) inside the brain
    mask, computed per image (white matter for T1).

    Parameters
    ----------
    source : {"dipy-t1", "dipy-b0"}, default="dipy-t1"
    noise_levels : sequence of float, default=(1, 3, 5, 7, 9)
        Noise in percent of the brightest tissue's mean.
    random_state : int, Generator, RandomState or None, default=0

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``noisy``, ``clean`` (float32, (n_images, H, W)), ``mask`` (bool) and ``meta``
        (pandas DataFrame: source, modality, slice_index, noise_percent, rf_percent, sigma).

    Examples
    --------
    >>> data = make_real_dataset(noise_levels=(3, 5))
    >>> data.noisy.shape, list(data.meta.noise_percent)
    ((2, 256, 256), [3.0, 5.0])
    """
    import pandas as pd

    if np.ndim(noise_levels) != 1 or len(noise_levels) == 0:
        raise ValueError("`noise_levels` must be a non-empty sequence of percentages.")
    for p in noise_levels:
        check_non_negative(p, "noise_levels")
    real = load_real_slices(source)
    rng = as_generator(random_state)
    modality = "T1" if source == "dipy-t1" else "T2"
    noisy, clean, masks, rows = [], [], [], []
    for index, (image, mask) in enumerate(zip(real.images, real.mask)):
        reference = _brightest_tissue_mean(image, mask)
        for p in noise_levels:
            sigma = noise_sigma(p, reference)
            noisy.append(add_rician_noise(image, sigma, random_state=rng))
            clean.append(image)
            masks.append(mask)
            rows.append((source, modality, index, float(p), 0.0, sigma))
    columns = ["source", "modality", "slice_index", "noise_percent", "rf_percent", "sigma"]
    return Bunch(noisy=np.stack(noisy), clean=np.stack(clean), mask=np.stack(masks),
                 meta=pd.DataFrame(rows, columns=columns))
