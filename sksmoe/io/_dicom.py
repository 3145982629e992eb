"""DICOM single files and series folders through pydicom."""

import copy

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid
from pydicom.valuerep import DSfloat

from ._volume import Volume, reading

# Flips x and y: DICOM patient coordinates are LPS+, affines are RAS+ (self-inverse).
_LPS_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
# Geometry of series written without `like`: axial slices (ImageOrientationPatient
# 1\0\0\0\1\0), 1 mm pixels and slice spacing, first voxel at the origin.
_DEFAULT_AFFINE = _LPS_RAS @ np.array(
    [[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=float
)
_SUFFIX = " (sksmoe denoised)"
# Elements of a `like` dataset that may not match the new pixel data.
_STALE = (
    "SmallestImagePixelValue", "LargestImagePixelValue", "PixelPaddingValue",
    "PixelPaddingRangeLimit", "RescaleSlope", "RescaleIntercept", "RescaleType",
)
# Type 2 elements of the MR image IOD that a new dataset leaves empty.
_EMPTY = (
    "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime", "ReferringPhysicianName",
    "StudyID", "AccessionNumber", "PositionReferenceIndicator", "Manufacturer",
    "ScanOptions", "MRAcquisitionType", "EchoTime", "EchoTrainLength",
)


def is_dicom(path):
    """Whether the file at ``path`` has the DICOM preamble and "DICM" magic."""
    with open(path, "rb") as f:
        return f.read(132)[128:] == b"DICM"


def read_dicom(path):
    """Read one single-frame DICOM file (2-D) or a series folder (3-D) into a Volume.

    In a folder, files pydicom cannot parse and datasets without pixel data (such as
    DICOMDIR) are ignored. The data is ``data[row, column, slice]``: slices are ordered
    by position along the slice normal, the first being the one with the lowest
    InstanceNumber. RescaleSlope/RescaleIntercept other than 1/0 are applied and give
    float32; otherwise the stored integer dtype is kept. The slices of a folder must
    have distinct ImagePositionPatient. The header is the list of datasets in slice
    order, without their pixel data.
    """
    folder = path.is_dir()
    files = sorted(p for p in path.iterdir() if p.is_file()) if folder else [path]
    slices = []
    for file in files:
        with reading(file, "DICOM"):
            try:
                ds = pydicom.dcmread(file)
            except InvalidDicomError:
                if folder:
                    continue
                raise
            if "PixelData" in ds:
                if int(ds.get("NumberOfFrames") or 1) > 1 or ds.get("SamplesPerPixel", 1) > 1:
                    raise ValueError("only single-frame greyscale images are supported")
                slices.append((ds, ds.pixel_array))
    if not slices:
        raise ValueError(f"No DICOM image found in '{path}'.")
    if len({ds.get("SeriesInstanceUID") for ds, _ in slices}) > 1:
        raise ValueError(f"'{path}' holds several DICOM series; put each in its own folder.")
    slices = _sort_slices(slices, path)
    with reading(path, "DICOM"):
        data = np.stack([pixels for _, pixels in slices], axis=-1)
    header = [ds for ds, _ in slices]
    scales = np.array(
        [(float(ds.get("RescaleSlope", 1)), float(ds.get("RescaleIntercept", 0))) for ds in header]
    )
    if np.any(scales != (1.0, 0.0)):
        data = (data * scales[:, 0] + scales[:, 1]).astype(np.float32)
    for ds in header:
        del ds.PixelData
    if not folder:
        data = data[..., 0]
    return Volume(data, _affine(header), header, "dicom", path)


def write_dicom(path, data, like, *, series):
    """Write 2-D ``data`` to one DICOM file, or 2-D/3-D data to a series folder.

    Signed integers in the int16 (else uint16) range and unsigned integers in the
    uint16 range are stored as int16 or uint16. Anything else is stored as uint16 with
    RescaleIntercept = min and RescaleSlope = (max - min) / 65534, so the error after
    reading is at most half a step, below (max - min) / 65535. With a DICOM
    ``like``, slice ``k`` starts from ``like.header[k]``; otherwise from a minimal MR
    dataset with the geometry of ``like.affine`` (or ``_DEFAULT_AFFINE``).
    """
    if not series and data.ndim != 2:
        raise ValueError(
            f"A .dcm file holds one 2-D slice, got data of shape {data.shape}; "
            "write 3-D data to a folder (a path ending with '/')."
        )
    stored, rescale = _to_stored(data if data.ndim == 3 else data[..., np.newaxis])
    from_like = like is not None and like.format == "dicom"
    if from_like:
        templates = like.header
    else:
        affine = _DEFAULT_AFFINE if like is None else like.affine
        study_uid, frame_uid = generate_uid(), generate_uid()
        templates = [
            _new_dataset(affine, k, study_uid, frame_uid) for k in range(stored.shape[2])
        ]
    series_uid = generate_uid()
    pixels = np.moveaxis(stored, -1, 0)
    for k, (template, slice_pixels) in enumerate(zip(templates, pixels, strict=True)):
        ds = copy.deepcopy(template)
        if from_like:
            description = ds.get("SeriesDescription") or ""
            ds.SeriesDescription = description[: 64 - len(_SUFFIX)] + _SUFFIX
        ds.SeriesInstanceUID = series_uid
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
        photometric = ds.get("PhotometricInterpretation")
        photometric = "MONOCHROME1" if photometric == "MONOCHROME1" else "MONOCHROME2"
        ds.set_pixel_data(slice_pixels, photometric, 16)  # also sets a new SOPInstanceUID
        for keyword in _STALE:
            ds.pop(keyword, None)
        if rescale is not None:
            ds.RescaleSlope, ds.RescaleIntercept = rescale
        ds.save_as(path / f"{k + 1:04d}.dcm" if series else path, enforce_file_format=True)


def _to_stored(data):
    """Return ``(uint16 or int16 array, None or (slope, intercept))`` for ``data``."""
    lo, hi = data.min(), data.max()
    candidates = {"i": (np.int16, np.uint16), "u": (np.uint16,)}.get(data.dtype.kind, ())
    for dtype in candidates:
        if np.iinfo(dtype).min <= lo and hi <= np.iinfo(dtype).max:
            return data.astype(dtype), None
    lo, hi = float(lo), float(hi)
    slope = DSfloat((hi - lo) / 65534 if hi > lo else 1.0, auto_format=True)
    intercept = DSfloat(lo, auto_format=True)
    stored = np.rint((data - float(intercept)) / float(slope))
    return np.clip(stored, 0, 65535).astype(np.uint16), (slope, intercept)


def _new_dataset(affine, k, study_uid, frame_uid):
    """Minimal MR image dataset for slice ``k`` of a volume with ``affine``."""
    lps = _LPS_RAS @ affine
    spacing = np.linalg.norm(lps[:3, :3], axis=0)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.SOPClassUID = MRImageStorage
    ds.StudyInstanceUID = study_uid
    ds.FrameOfReferenceUID = frame_uid
    ds.Modality = "MR"
    ds.PatientName = "Anonymous"
    ds.PatientID = "sksmoe"
    ds.SeriesDescription = "sksmoe"
    ds.SeriesNumber = 1
    ds.InstanceNumber = k + 1
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.ScanningSequence = "RM"
    ds.SequenceVariant = "NONE"
    for keyword in _EMPTY:
        setattr(ds, keyword, None)
    ds.ImageOrientationPatient = _ds(
        np.concatenate([lps[:3, 1] / spacing[1], lps[:3, 0] / spacing[0]])
    )
    ds.ImagePositionPatient = _ds(lps[:3, 3] + k * lps[:3, 2])
    ds.PixelSpacing = _ds(spacing[:2])
    ds.SliceThickness = _ds(spacing[2:])[0]
    return ds


def _ds(values):
    """Values as DICOM decimal strings (at most 16 characters each)."""
    return [DSfloat(float(v), auto_format=True) for v in values]


def _position(ds):
    return np.array(ds.get("ImagePositionPatient") or (0, 0, 0), dtype=float)


def _orientation(ds):
    return np.array(ds.get("ImageOrientationPatient") or (1, 0, 0, 0, 1, 0), dtype=float)


def _sort_slices(slices, path):
    """Order ``(dataset, pixels)`` pairs along the slice normal, lowest InstanceNumber first."""
    orientation = _orientation(slices[0][0])
    normal = np.cross(orientation[:3], orientation[3:])
    depth = np.array([normal @ _position(ds) for ds, _ in slices])
    if len(np.unique(depth)) < len(depth):
        raise ValueError(f"Several slices of '{path}' have the same position.")
    slices = [slices[i] for i in np.argsort(depth)]
    first, last = (int(ds.get("InstanceNumber") or 0) for ds in (slices[0][0], slices[-1][0]))
    return slices[::-1] if first > last else slices


def _affine(header):
    """RAS+ affine of ``data[row, column, slice]`` for datasets in slice order."""
    first = header[0]
    orientation = _orientation(first)
    row_spacing, column_spacing = (float(v) for v in first.get("PixelSpacing") or (1, 1))
    if len(header) > 1:
        step = (_position(header[-1]) - _position(first)) / (len(header) - 1)
    else:
        thickness = first.get("SpacingBetweenSlices") or first.get("SliceThickness") or 1
        step = np.cross(orientation[:3], orientation[3:]) * float(thickness)
    lps = np.eye(4)
    lps[:3, 0] = orientation[3:] * row_spacing
    lps[:3, 1] = orientation[:3] * column_spacing
    lps[:3, 2] = step
    lps[:3, 3] = _position(first)
    return _LPS_RAS @ lps
