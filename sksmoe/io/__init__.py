"""Read and write MRI volumes.

Supported formats (by suffix):

- NIfTI-1/2: ``.nii``, ``.nii.gz`` (read and write);
- MINC: ``.mnc`` (read MINC1 and MINC2, write MINC1), ``.mnc.gz`` (read MINC1);
- DICOM: ``.dcm`` single-frame files, files with the "DICM" magic, and series
  folders (one series per folder);
- PNG: ``.png``; TIFF: ``.tif``, ``.tiff``.

Data policy:

- Reading keeps the stored dtype, except that data with a scaling (NIfTI
  ``scl_slope``/``scl_inter``, integer MINC, DICOM RescaleSlope/RescaleIntercept other
  than 1/0) is returned as float32. 2-D and 3-D images are accepted, and 4-D NIfTI
  series (3-D volumes along the last axis; a trailing singleton 4th axis is dropped).
  Colour PNG/TIFF images are accepted only if their R, G and B channels are equal; the
  grey channel is returned (alpha dropped).
- Writing keeps the dtype of the data (bool is written as uint8, float16 as
  float32), except: MINC stores float64 as float64 and anything else as float32;
  PNG accepts only 2-D uint8 or uint16 data (convert explicitly); DICOM stores
  signed integers in the int16 (else uint16) range as int16 (uint16), unsigned
  integers in the uint16 range as uint16, and anything else (floats, wider integers)
  as uint16 with RescaleIntercept = min and RescaleSlope = (max - min) / 65534, so the
  values read back are within (max - min) / 65535 of the data. Only NIfTI holds 4-D
  series.
- Affines map voxel indices to RAS+ world coordinates in mm; PNG and TIFF get the
  identity. DICOM data is ``data[row, column, slice]``, slices ordered along the slice
  normal starting from the lowest InstanceNumber; a single file gives 2-D data, a
  series folder 3-D data. ``write_image`` writes a DICOM series folder when the path
  is a str ending with "/", or has no suffix and ``like`` is a DICOM volume; without
  ``like``, slices are axial (ImageOrientationPatient 1, 0, 0, 0, 1, 0) with 1 mm spacing.
- Writers refuse to replace existing paths unless ``overwrite=True`` and write
  atomically through a temporary sibling file or folder.

Examples
--------
>>> import tempfile
>>> import numpy as np
>>> from sksmoe.io import read_image, write_image
>>> with tempfile.TemporaryDirectory() as tmp:
...     out = write_image(f"{tmp}/brain.nii.gz", np.zeros((4, 4, 3), np.int16))
...     volume = read_image(out)
>>> volume.data.shape, volume.data.dtype, volume.format
((4, 4, 3), dtype('int16'), 'nifti')
"""

from ._folders import load_brainweb_folder, load_ixi_folder
from ._image import check_writable, read_image, write_image
from ._volume import Volume, axial_axis

__all__ = ["Volume", "axial_axis", "check_writable", "load_brainweb_folder", "load_ixi_folder",
           "read_image", "write_image"]
