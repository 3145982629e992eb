"""Real single-subject MRI shipped inside PyPI packages (dipy; the source archives of pydeface
and antspyx), for cross-dataset tests and as real training anatomy."""

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
    "pydeface-t1": ("ds000031_sub-01_ses-006_run-001_T1w.nii.gz",
                    "43 axial slices (every fourth, skull base to vertex) of one "
                    "whole-head T1-weighted MPRAGE, 0.9 x 0.94 x 0.94 mm, 256x192"),
    "colin27": ("ch2.nii.gz", "10 axial slices (every tenth, z = 40-130) of Colin27, one "
                "subject's 27 T1-weighted scans averaged, skull-stripped, 1 mm, 217x181"),
    "ants-slices": ("r*slice.jpg", "6 axial T1-weighted slices of six subjects (ANTs' example "
                    "images r16 ... r85), skull-stripped, 256x256, 8-bit JPEG"),
}
#: The ANTs example slices: (member of the antspyx 0.6.3 source archive, sha256).
_ANTS_SLICES = tuple((f"antspyx-0.6.3/data/r{k}slice.jpg", sha) for k, sha in (
    (16, "f3f77d4118ccef62a378dc62de561e5d752eabe4247f14467ab43268778ddb0f"),
    (27, "58ea0334a62760ce2e003b2df60485e8cfcde097ea200f6cf4da38fb03aaf8a8"),
    (30, "674ea6502418c63eb460bb7c40ff6dec21a05513cbc7218fa80e13e176ec946a"),
    (62, "acec668caf244f17ba3d35b0ec36b03a8bc32eb8e51d44f970408a16f399dce8"),
    (64, "3971218c84734fa1e65ec4472cc8d5cd81eeaa2a904fa7e50c74e9fe07f59d59"),
    (85, "d7d396b89e83cb9db4e36627c36965c3aaf149387b38233ffccc5e88006d252d")))
_ANTS_LICENSE = ("ANTs example data (ANTsR / ANTsPy test images), as shipped in the antspyx "
                 "0.6.3 source archive (Apache-2.0) on PyPI")
#: Volumes inside PyPI source archives: name -> (pip requirement, member, sha256, licence,
#: the axial slices taken).
_SDIST_FILES = {
    "pydeface-t1": (
        "pydeface==2.1.0",
        "pydeface-2.1.0/tests/data/ds000031_sub-01_ses-006_run-001_T1w.nii.gz",
        "577d1484b5376b3925e9a4141d9f4534b0f29e1df7feeea3427525a19b91c5d2",
        "OpenNeuro ds000031 (MyConnectome, one subject; OpenNeuro shares public datasets "
        "under a public-domain dedication), as shipped in the pydeface 2.1.0 source archive "
        "(MIT) on PyPI", slice(60, 230, 4)),
    "colin27": (
        "antspyx==0.6.3", "antspyx-0.6.3/data/ch2.nii.gz",
        "52a989c2f85f67550dae601ae4eb9c79db9e92510e84a6f2f9dde56f150df8ce",
        "Colin27 (Holmes et al. 1998, J Comput Assist Tomogr 22:324; McConnell Brain Imaging "
        "Centre, Montreal Neurological Institute, which makes it publicly available), as "
        "shipped in the antspyx 0.6.3 source archive (Apache-2.0) on PyPI", slice(40, 131, 10)),
}


def load_real_slices(source="dipy-t1"):
    """Load real single-subject MRI slices shipped inside PyPI packages.

    Parameters
    ----------
    source : {"dipy-t1", "dipy-b0", "pydeface-t1", "colin27", "ants-slices"}, default="dipy-t1"
        ``"dipy-t1"``: one skull-stripped T1-weighted slice (256x256);
        ``"dipy-b0"``: ten axial b=0 slices of a diffusion scan (128x128, T2-weighted);
        ``"pydeface-t1"``: 43 axial slices of a whole-head 1 mm T1-weighted scan (256x192),
        a training source of ``python -m sksmoe.training base --real-anatomy``, not a test
        source; ``"colin27"``: 10 axial slices of Colin27, one subject scanned 27 times and
        averaged (T1-weighted, skull-stripped, 1 mm, 217x181, stored with 8-bit grey levels),
        a test source; ``"ants-slices"``: one skull-stripped T1-weighted axial slice of each
        of six subjects (256x256, JPEG-compressed 8-bit), a test source. The last three are
        extracted from the source archives of pydeface (20 MB) and antspyx (7 MB),
        downloaded from PyPI with pip on first use and cached
        (:func:`sksmoe.utils._fetch.cache_dir`).

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
    if source in _SDIST_FILES:
        volume, data_license = real_volume(source)
        images = volume[_SDIST_FILES[source][-1]]
    elif source == "ants-slices":
        from PIL import Image

        from ..utils._fetch import fetch_from_sdist

        images = np.stack([np.asarray(Image.open(fetch_from_sdist("antspyx==0.6.3", *member)))
                           for member in _ANTS_SLICES])
        data_license = _ANTS_LICENSE
    elif filename.endswith(".npy"):
        path, data_license = resources.files("dipy.data") / "files" / filename, _DIPY_LICENSE
        images = np.load(str(path), allow_pickle=False)[None]
    else:
        import nibabel as nib

        path, data_license = resources.files("dipy.data") / "files" / filename, _DIPY_LICENSE
        images = np.moveaxis(np.asarray(nib.load(str(path)).dataobj)[..., 0], -1, 0)
    images = np.ascontiguousarray(images, dtype=np.float32)
    images /= images.max()
    return Bunch(images=images, mask=brain_mask(images), source=source,
                 description=description, license=data_license)


def real_volume(source):
    """The whole volume of a real source kept in a PyPI source archive (``"pydeface-t1"``,
    ``"colin27"``) as axial slices (n_slices, H, W), float32 in the file's units, turned as
    :func:`load_real_slices` turns them; and its licence."""
    import nibabel as nib

    from ..utils._fetch import fetch_from_sdist

    if source not in _SDIST_FILES:
        raise ValueError(f"`source` must be one of {sorted(_SDIST_FILES)}, got {source!r}.")
    *archive_file, data_license, _ = _SDIST_FILES[source]
    volume = np.asarray(nib.load(str(fetch_from_sdist(*archive_file))).dataobj)
    # LAS+ / RAS+ voxels: axial slices along the last axis, turned so anterior is up
    volume = np.rot90(volume, axes=(0, 1)).transpose(2, 0, 1)
    return np.ascontiguousarray(volume, dtype=np.float32), data_license


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
    source : {"dipy-t1", "dipy-b0", "pydeface-t1", "colin27"}, default="dipy-t1"
        See :func:`load_real_slices`.
    noise_levels : sequence of float, default=(1, 3, 5, 7, 9)
        Noise in percent of the brightest tissue's mean.
    random_state : int, Generator, RandomState or None, default=0

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``noisy``, ``clean`` (float32, (n_images, H, W)), ``mask`` (bool), ``meta``
        (pandas DataFrame: source, modality, slice_index, noise_percent, rf_percent, sigma)
        and ``license`` (str, of the slices).

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
    modality = "T2" if source == "dipy-b0" else "T1"
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
                 meta=pd.DataFrame(rows, columns=columns), license=real.license)
