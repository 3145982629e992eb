"""The :class:`Volume` container and the checks shared by readers and writers."""

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FORMATS = ("nifti", "minc", "dicom", "png", "tiff")


@dataclass(eq=False)
class Volume:
    """A 2-D or 3-D image, or a 4-D series of 3-D volumes, with its voxel-to-world geometry.

    Parameters
    ----------
    data : ndarray
        Voxel values, 2-D, 3-D or 4-D (3-D volumes along the last axis: an fMRI or
        diffusion series), in the dtype stored on disk (see :mod:`sksmoe.io`).
    affine : ndarray of shape (4, 4), default=identity
        Voxel index to world (RAS+, mm) transform.
    header : object, optional
        Format-specific header: a nibabel header (NIfTI, MINC), a list of
        pydicom Datasets in slice order without their pixel data (DICOM), or None.
    format : {"nifti", "minc", "dicom", "png", "tiff"}, optional
        Format the volume was read from; None for volumes built in memory.
    path : Path, optional
        File or folder the volume was read from.
    meta : dict, optional
        Free-form metadata, e.g. what the folder loaders parse from file names.
    """

    data: np.ndarray
    affine: np.ndarray = field(default_factory=lambda: np.eye(4))
    header: object = None
    format: str | None = None
    path: Path | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.data = np.asarray(self.data)
        if self.data.ndim not in (2, 3, 4):
            raise ValueError(
                f"Volume data must be 2-D, 3-D or 4-D, got shape {self.data.shape}."
            )
        self.affine = np.asarray(self.affine, dtype=float)
        if (
            self.affine.shape != (4, 4)
            or not np.all(np.isfinite(self.affine))
            or np.any(self.affine[3] != (0, 0, 0, 1))
        ):
            raise ValueError("Volume affine must be a finite 4x4 array ending with 0, 0, 0, 1.")
        if self.format is not None and self.format not in FORMATS:
            raise ValueError(
                f"Volume format must be one of {FORMATS} or None, got {self.format!r}."
            )

    def __repr__(self):
        return (
            f"Volume(shape={self.data.shape}, dtype={self.data.dtype}, "
            f"format={self.format!r}, path={self.path!r})"
        )


def axial_axis(volume):
    """The array axis along which a 3-D (or 4-D) ``volume`` has axial slices.

    That is the axis whose direction in ``volume.affine`` is closest to the head's
    inferior-superior (world z) direction, whatever the storage order (RAS, LIA, LPS, ...)
    or obliquity; axis 0, the pages of a stack, for PNG and TIFF, which carry no geometry.

    Parameters
    ----------
    volume : Volume

    Returns
    -------
    int

    Examples
    --------
    >>> import numpy as np
    >>> lia = np.array([[-1, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 0], [0, 0, 0, 1]])
    >>> axial_axis(Volume(np.zeros((4, 5, 6)), lia))
    1
    """
    if volume.format in ("png", "tiff"):
        return 0
    columns = volume.affine[:3, :3]
    lengths = np.linalg.norm(columns, axis=0)
    cosines = np.abs(columns[2]) / np.where(lengths > 0, lengths, np.inf)
    return int(np.argmax(cosines))


def native(data):
    """Return ``data`` in native byte order, with a plain dtype such as ``int16``."""
    dtype = data.dtype.newbyteorder("=")
    return data.astype(dtype, copy=False).view(dtype)


def check_ndim(data, path, ndims=(2, 3)):
    """Raise ``ValueError`` naming the file unless ``data.ndim`` is in ``ndims``."""
    if data.ndim not in ndims:
        kinds = "2-D and 3-D images" + (" and 4-D series" if 4 in ndims else "")
        raise ValueError(
            f"'{path}' holds an image of shape {data.shape}; only {kinds} are supported "
            "in this format."
        )


def check_path(path, name="path"):
    """Return ``path`` as a :class:`~pathlib.Path`, or raise ``TypeError``."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`{name}` must be a str or os.PathLike, got {type(path).__name__}.")
    return Path(path)


def check_exists(path):
    """Raise ``FileNotFoundError`` naming ``path`` unless it exists."""
    if not path.exists():
        raise FileNotFoundError(f"No such file or directory: '{path}'.")


@contextmanager
def reading(path, fmt):
    """Turn any error raised inside the block into a ``ValueError`` naming the file."""
    try:
        yield
    except Exception as exc:  # the libraries raise many types for corrupt files
        raise ValueError(f"Cannot read '{path}' as {fmt}: {exc}") from exc
