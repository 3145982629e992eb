"""NIfTI (read/write) and MINC (read MINC1/MINC2, write MINC1) through nibabel."""

import nibabel as nib
import numpy as np
from nibabel.externals.netcdf import netcdf_file
from nibabel.orientations import io_orientation

from ._volume import Volume, check_ndim, native, reading

_NAMES = {"nifti": "NIfTI", "minc": "MINC"}


def read_nibabel(path, fmt):
    """Read a NIfTI (``fmt="nifti"``) or MINC (``fmt="minc"``) file into a Volume.

    Scaled data (NIfTI ``scl_slope``/``scl_inter``, integer MINC) is returned as
    float32, anything else in its stored dtype. NIfTI may be 4-D (a series of 3-D volumes
    along the last axis, read whole); a trailing singleton 4th axis is dropped.
    """
    with reading(path, _NAMES[fmt]):
        img = nib.load(path)
        if fmt == "nifti":
            scaled = (img.dataobj.slope, img.dataobj.inter) != (1.0, 0.0)
        else:
            scaled = img.get_data_dtype().kind != "f"
        data = img.get_fdata(dtype=np.float32) if scaled else np.asarray(img.dataobj)
    data = native(data)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    check_ndim(data, path, (2, 3, 4) if fmt == "nifti" else (2, 3))
    return Volume(data, img.affine, img.header, fmt, path)


def write_nifti(path, data, like):
    """Write ``data`` in its own dtype; reuse ``like``'s affine, and header if NIfTI."""
    header = like.header if like is not None and like.format == "nifti" else None
    affine = np.eye(4) if like is None else like.affine
    klass = nib.Nifti2Image if isinstance(header, nib.Nifti2Header) else nib.Nifti1Image
    nib.save(klass(data, affine, header, dtype=data.dtype), path)


def write_minc(path, data, like):
    """Write 3-D ``data`` as a MINC1 (netCDF classic) file with ``like``'s affine.

    Each array axis becomes the ``xspace``/``yspace``/``zspace`` dimension it is most
    aligned with, with ``step``, ``start`` and unit ``direction_cosines`` such that
    nibabel reads back the same affine. float64 data is stored as float64, anything
    else as float32.
    """
    if data.ndim != 3:
        raise ValueError(f"MINC files hold 3-D volumes, got data of shape {data.shape}.")
    affine = np.eye(4) if like is None else like.affine
    orientation = io_orientation(affine)
    steps = np.linalg.norm(affine[:3, :3], axis=0) * orientation[:, 1]
    cosines = affine[:3, :3] / steps
    starts = np.linalg.solve(cosines, affine[:3, 3])
    names = [("xspace", "yspace", "zspace")[int(axis)] for axis in orientation[:, 0]]
    with netcdf_file(path, "w") as mnc:
        for i, name in enumerate(names):
            mnc.createDimension(name, data.shape[i])
            dim = mnc.createVariable(name, "d", ())
            dim.spacing = "regular__"
            dim.step = steps[i]
            dim.start = starts[i]
            dim.direction_cosines = cosines[:, i]
        image = mnc.createVariable(
            "image", np.float64 if data.dtype == np.float64 else np.float32, names
        )
        image[:] = data
        mnc.createVariable("image-max", "d", ())[...] = data.max()
        mnc.createVariable("image-min", "d", ())[...] = data.min()
