"""The MNI152 2009a template and tissue maps shipped inside nilearn."""

import functools
from importlib import resources

import numpy as np
from sklearn.utils import Bunch

_FILES = {
    "t1": "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz",
    "gm": "mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz",
    "wm": "mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz",
}

MNI152_LICENSE = (
    "ICBM 2009a Nonlinear Symmetric template, Copyright (C) 1993-2009 Louis Collins, "
    "McConnell Brain Imaging Centre, Montreal Neurological Institute, McGill University. "
    "Permission to use, copy, modify and distribute this data for any purpose and without fee "
    "is granted, provided the copyright notice appears in all copies. Shipped by nilearn "
    "(BSD-3-Clause) in nilearn/datasets/data/."
)


@functools.lru_cache(maxsize=1)
def _load_volumes():
    import nibabel as nib

    data_dir = resources.files("nilearn.datasets") / "data"
    arrays = {}
    for name, filename in _FILES.items():
        img = nib.load(str(data_dir / filename))
        arrays[name] = np.asarray(img.dataobj, dtype=np.float32) / 255.0
    # nilearn's own brain mask is the template thresholded at 0.2 (after scaling to [0, 1]).
    mask = arrays["t1"] > 0.2
    gm = arrays["gm"] * mask
    wm = arrays["wm"] * mask
    csf = np.clip(mask - gm - wm, 0.0, 1.0).astype(np.float32)
    volumes = {"t1": arrays["t1"], "gm": gm, "wm": wm, "csf": csf, "mask": mask}
    for array in volumes.values():
        array.flags.writeable = False
    return volumes, img.affine


def load_mni152():
    """Load the MNI152 2009a T1 template, its tissue maps and a brain mask.

    The files ship inside nilearn's installed package: nothing is downloaded.
    Volumes are 1 mm isotropic, shape (197, 233, 189), axes in RAS order
    (axis 2 is inferior -> superior, so ``t1[:, :, z]`` is an axial slice).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``t1``, ``gm``, ``wm``, ``csf`` : read-only float32 ndarrays in [0, 1]
        (intensity and tissue probabilities; ``csf = mask - gm - wm`` clipped to [0, 1]);
        ``mask`` : read-only bool ndarray (template > 0.2, nilearn's definition);
        ``affine`` : (4, 4) ndarray; ``license`` : str.

    Examples
    --------
    >>> from sksmoe.datasets import load_mni152
    >>> mni = load_mni152()
    >>> mni.t1.shape, mni.t1.dtype.name, float(mni.t1.max())
    ((197, 233, 189), 'float32', 1.0)
    """
    volumes, affine = _load_volumes()
    return Bunch(**volumes, affine=affine.copy(), license=MNI152_LICENSE)
