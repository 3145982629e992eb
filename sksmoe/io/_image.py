"""``read_image`` and ``write_image``: dispatch on the path suffix."""

import functools
import os

import numpy as np

from ..utils._validation import check_array
from ._atomic import atomic_path, check_target
from ._dicom import is_dicom, read_dicom, write_dicom
from ._nifti import read_nibabel, write_minc, write_nifti
from ._raster import read_png, read_tiff, write_png, write_tiff
from ._volume import Volume, check_exists, check_path

_READ_SUFFIXES = {
    ".nii": "nifti", ".nii.gz": "nifti", ".mnc": "minc", ".mnc.gz": "minc",
    ".dcm": "dicom", ".png": "png", ".tif": "tiff", ".tiff": "tiff",
}
_READERS = {
    "nifti": functools.partial(read_nibabel, fmt="nifti"),
    "minc": functools.partial(read_nibabel, fmt="minc"),
    "dicom": read_dicom,
    "png": read_png,
    "tiff": read_tiff,
}
_WRITERS = {
    ".nii": write_nifti, ".nii.gz": write_nifti, ".mnc": write_minc,
    ".dcm": functools.partial(write_dicom, series=False), ".png": write_png,
    ".tif": write_tiff, ".tiff": write_tiff,
}


def read_image(path):
    """Read a 2-D or 3-D image (or a 4-D NIfTI series) from a file or a DICOM series folder.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.nii``, ``.nii.gz``, ``.mnc``, ``.mnc.gz`` (MINC1 only), ``.dcm``, ``.png``,
        ``.tif`` or ``.tiff`` file, a folder holding one DICOM series, or a DICOM file
        with any other name (recognised by its "DICM" magic).

    Returns
    -------
    Volume
        The data in its stored dtype (float32 if the file applies a scaling), the RAS+
        affine and the format-specific header.

    Raises
    ------
    TypeError
        If ``path`` is not a str or os.PathLike.
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the format is not supported, or the file is corrupt or not 2-D/3-D (4-D for
        NIfTI).
    """
    path = check_path(path)
    check_exists(path)
    if path.is_dir():
        return read_dicom(path)
    fmt = _READ_SUFFIXES.get(_suffix(path))
    if fmt is None and is_dicom(path):
        fmt = "dicom"
    if fmt is None:
        raise ValueError(
            f"Cannot read '{path}': unsupported format. Supported: NIfTI (.nii, .nii.gz), "
            "MINC (.mnc, .mnc.gz), DICOM (.dcm, DICM magic, series folder), PNG (.png), "
            "TIFF (.tif, .tiff)."
        )
    return _READERS[fmt](path)


def write_image(path, data, like=None, *, overwrite=False):
    """Write a 2-D or 3-D array (or a 4-D series, as NIfTI) atomically in the format given by
    ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        Output ``.nii``, ``.nii.gz``, ``.mnc``, ``.dcm`` (one 2-D slice), ``.png``,
        ``.tif`` or ``.tiff`` file. A DICOM series folder is written when ``path`` is a
        str ending with "/", or has no suffix and ``like`` is a DICOM volume.
    data : array-like
        Finite 2-D, 3-D or 4-D (NIfTI only) numeric array, written in its dtype (bool as
        uint8, float16 as float32) except where the format needs otherwise (see
        :mod:`sksmoe.io`).
    like : Volume, optional
        Volume of the same shape whose geometry is reused: affine and header for
        NIfTI, affine for MINC, per-slice datasets for DICOM (new SOPInstanceUID and
        SeriesInstanceUID, SeriesDescription suffixed " (sksmoe denoised)"; a
        non-DICOM ``like`` gives its affine). Ignored by PNG and TIFF.
    overwrite : bool, default=False
        Whether an existing file or folder may be replaced.

    Returns
    -------
    Path
        The written path.

    Raises
    ------
    TypeError
        If ``path``, ``data`` or ``like`` has the wrong type.
    FileNotFoundError
        If the folder of ``path`` does not exist.
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    ValueError
        If ``data`` is invalid, its shape differs from ``like.data``, or the format
        is not supported or cannot hold ``data``.
    """
    series = isinstance(path, str) and path.endswith(("/", os.sep))
    path = check_path(path)
    if like is not None and not isinstance(like, Volume):
        raise TypeError(f"`like` must be a Volume or None, got {type(like).__name__}.")
    check_array(data, "data", ndim=(2, 3, 4))
    data = np.asarray(data)
    if data.dtype == bool or data.dtype == np.float16:
        data = data.astype(np.uint8 if data.dtype == bool else np.float32)
    if like is not None and like.data.shape != data.shape:
        raise ValueError(
            f"`data` has shape {data.shape} but `like.data` has shape {like.data.shape}."
        )
    writer, series = _writer(path, data.ndim, like, series)
    with atomic_path(path, overwrite, directory=series) as tmp:
        writer(tmp, data, like)
    return path


def check_writable(path, ndim, like=None, *, overwrite=False):
    """Raise now, before any long work, if :func:`write_image` could not write ``ndim``-D
    data (with ``like``) to ``path``: an unknown suffix, a format that cannot hold that
    many dimensions, a missing or read-only folder, or an existing ``path`` without
    ``overwrite``.

    Returns
    -------
    Path
    """
    series = isinstance(path, str) and path.endswith(("/", os.sep))
    path = check_path(path)
    _writer(path, ndim, like, series)
    check_target(path, overwrite)
    return path


def _writer(path, ndim, like, series):
    """The writer of ``ndim``-D data to ``path``, and whether it writes a series folder."""
    suffix = _suffix(path)
    if ndim == 4 and (series or suffix not in (".nii", ".nii.gz")):
        raise ValueError(f"Cannot write 4-D data to '{path}': only NIfTI holds a series of "
                         "volumes; write .nii or .nii.gz.")
    if series or (not suffix and like is not None and like.format == "dicom"):
        return functools.partial(write_dicom, series=True), True
    if suffix not in _WRITERS:
        raise ValueError(
            f"Cannot write '{path}': unsupported suffix {suffix!r}. Supported: "
            f"{', '.join(_WRITERS)}, or a DICOM series folder (a path ending with '/')."
        )
    if ndim == 3 and suffix in (".png", ".dcm"):
        raise ValueError(f"Cannot write 3-D data to '{path}': {suffix} holds one 2-D image; "
                         "write .nii.gz, .tif or a DICOM series folder (a path ending "
                         "with '/').")
    if ndim == 2 and suffix == ".mnc":
        raise ValueError(f"Cannot write 2-D data to '{path}': MINC holds 3-D volumes; "
                         "write .nii.gz, .png or .tif.")
    return _WRITERS[suffix], False


def _suffix(path):
    """Lower-case final suffix, counting ``.nii.gz`` and ``.mnc.gz`` as one."""
    if path.suffix.lower() == ".gz":
        return "".join(path.suffixes[-2:]).lower()
    return path.suffix.lower()
