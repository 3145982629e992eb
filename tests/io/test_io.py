import gzip
import shutil

import nibabel as nib
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sksmoe.io import (Volume, check_writable, load_brainweb_folder, load_ixi_folder, read_image,
                       write_image)

RNG = np.random.default_rng(0)
# 2 mm x 2 mm x 2.5 mm voxels, a 90 degree rotation about z plus a small tilt, an offset.
_TILT = np.array([[1, 0, 0], [0, np.cos(0.2), -np.sin(0.2)], [0, np.sin(0.2), np.cos(0.2)]])
AFFINE = np.eye(4)
AFFINE[:3, :3] = _TILT @ np.array([[0, -2, 0], [2, 0, 0], [0, 0, 2.5]])
AFFINE[:3, 3] = [10.0, -5.0, 3.0]


def _int_volume(shape=(6, 5, 4)):
    return RNG.integers(-1000, 3000, shape).astype(np.int16)


def _like(shape=(6, 5, 4)):
    return Volume(np.zeros(shape), AFFINE)


# --- NIfTI -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["brain.nii", "brain.nii.gz"])
@pytest.mark.parametrize("dtype", [np.int16, np.float32])
def test_nifti_round_trip_keeps_data_dtype_and_affine(tmp_path, name, dtype):
    data = _int_volume().astype(dtype)
    out = write_image(tmp_path / name, data, like=_like())
    assert out == tmp_path / name
    volume = read_image(str(out))
    assert volume.format == "nifti"
    assert volume.path == out
    assert volume.data.dtype == dtype
    np.testing.assert_array_equal(volume.data, data)
    np.testing.assert_allclose(volume.affine, AFFINE, atol=1e-6)
    assert isinstance(volume.header, nib.Nifti1Header)


def test_nifti_without_like_has_identity_affine(tmp_path):
    volume = read_image(write_image(tmp_path / "a.nii", np.ones((3, 4), np.uint8)))
    assert volume.data.shape == (3, 4)
    np.testing.assert_array_equal(volume.affine, np.eye(4))


def test_nifti_scaled_file_reads_as_float32_and_like_reuses_header(tmp_path):
    img = nib.Nifti1Image(_int_volume(), AFFINE)
    img.header.set_slope_inter(0.5, 10.0)
    img.header["descrip"] = b"scanner T1"
    img.header.set_xyzt_units("mm", "sec")
    nib.save(img, tmp_path / "scaled.nii.gz")
    source = read_image(tmp_path / "scaled.nii.gz")
    assert source.data.dtype == np.float32
    np.testing.assert_allclose(source.data, img.get_fdata() * 0.5 + 10.0)

    denoised = source.data / 2
    out = write_image(tmp_path / "denoised.nii.gz", denoised, like=source)
    volume = read_image(out)
    np.testing.assert_array_equal(volume.data, denoised)
    np.testing.assert_allclose(volume.affine, source.affine)
    assert volume.header["descrip"] == b"scanner T1"
    assert volume.header.get_xyzt_units() == ("mm", "sec")
    assert volume.header.get_data_dtype() == np.float32


def test_nifti_4d(tmp_path):
    data = _int_volume((3, 4, 5, 1))
    nib.save(nib.Nifti1Image(data, AFFINE), tmp_path / "single.nii")
    np.testing.assert_array_equal(read_image(tmp_path / "single.nii").data, data[..., 0])
    series = _int_volume((3, 4, 5, 2))
    nib.save(nib.Nifti1Image(series, AFFINE), tmp_path / "fmri.nii")
    fmri = read_image(tmp_path / "fmri.nii")
    np.testing.assert_array_equal(fmri.data, series)
    back = read_image(write_image(tmp_path / "copy.nii.gz", series, like=fmri))
    np.testing.assert_array_equal(back.data, series)
    np.testing.assert_allclose(back.affine, AFFINE)
    for target in ["a.tif", "a.png", "a.mnc", "a.dcm", "series/"]:
        path = str(tmp_path / target) if target.endswith("/") else tmp_path / target
        with pytest.raises(ValueError, match="4-D.*only NIfTI"):
            check_writable(path, 4)
        with pytest.raises(ValueError, match="4-D.*only NIfTI"):
            write_image(path, series)
    nib.save(nib.Nifti1Image(_int_volume((3, 4, 5, 2, 2)), AFFINE), tmp_path / "5d.nii")
    with pytest.raises(ValueError, match=r"5d.nii.*\(3, 4, 5, 2, 2\)"):
        read_image(tmp_path / "5d.nii")


# --- MINC --------------------------------------------------------------------------


_FLIPPED = np.array([[-1.5, 0, 0, 7], [0, 1, 0, 7], [0, 0, -3, 7], [0, 0, 0, 1]])


@pytest.mark.parametrize("affine", [np.eye(4), AFFINE, _FLIPPED])
def test_minc_round_trip(tmp_path, affine):
    data = RNG.normal(size=(5, 6, 7)).astype(np.float32) * 100
    out = write_image(tmp_path / "brain.mnc", data, like=Volume(data, affine))
    volume = read_image(out)
    assert volume.format == "minc"
    assert volume.data.dtype == np.float32
    np.testing.assert_allclose(volume.data, data, rtol=1e-6)
    np.testing.assert_allclose(volume.affine, affine, atol=1e-9)
    np.testing.assert_allclose(nib.load(out).affine, affine, atol=1e-9)


def test_minc_needs_3d_data(tmp_path):
    with pytest.raises(ValueError, match=r"2-D data.*slice.mnc.*MINC holds 3-D"):
        write_image(tmp_path / "slice.mnc", np.zeros((4, 5)))


# --- DICOM -------------------------------------------------------------------------


def test_dicom_series_round_trip_integer_data(tmp_path):
    data = _int_volume()
    folder = write_image(f"{tmp_path}/series/", data)
    assert folder == tmp_path / "series"
    assert len(list(folder.iterdir())) == 4
    volume = read_image(folder)
    assert volume.format == "dicom"
    assert volume.data.dtype == np.int16
    np.testing.assert_array_equal(volume.data, data)
    assert len(volume.header) == 4
    assert volume.header[0].ImageOrientationPatient == [1, 0, 0, 0, 1, 0]
    assert volume.header[0].Modality == "MR"


def test_dicom_series_float_data_within_documented_tolerance(tmp_path):
    data = RNG.normal(size=(6, 5, 4)) * 300 + 1000
    volume = read_image(write_image(f"{tmp_path}/series/", data))
    assert volume.data.dtype == np.float32
    tolerance = np.ptp(data) / 65535 + 1e-6 * np.abs(data).max()
    assert np.abs(volume.data - data).max() <= tolerance


@given(arrays(np.float64, (3, 4), elements=st.floats(-1e6, 1e6, allow_subnormal=False)))
def test_dicom_float_slice_within_documented_tolerance(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("dcm") / "slice.dcm"
    volume = read_image(write_image(path, data))
    tolerance = np.ptp(data) / 65535 + 1e-6 * max(np.abs(data).max(), 1e-30)
    assert np.abs(volume.data - data).max() <= tolerance


def test_dicom_slice_order_does_not_depend_on_file_names(tmp_path):
    data = _int_volume((6, 5, 7))
    folder = write_image(f"{tmp_path}/series/", data, like=_like((6, 5, 7)))
    files = sorted(folder.iterdir())
    for i, j in enumerate(RNG.permutation(len(files))):
        files[i].rename(folder / f"x{j:02d}")
    (folder / "notes.txt").write_text("not DICOM")
    no_pixels = read_image(folder).header[0]
    no_pixels.SeriesInstanceUID = "1.2.3"
    no_pixels.save_as(folder / "DICOMDIR", enforce_file_format=True)
    volume = read_image(folder)
    np.testing.assert_array_equal(volume.data, data)
    np.testing.assert_allclose(volume.affine, AFFINE, atol=1e-6)


def test_dicom_single_file_and_magic_detection(tmp_path):
    data = RNG.integers(0, 60000, (6, 5)).astype(np.uint16)
    out = write_image(tmp_path / "slice.dcm", data, like=_like((6, 5)))
    volume = read_image(out)
    assert volume.data.dtype == np.uint16
    np.testing.assert_array_equal(volume.data, data)
    # A single slice has no slice direction: DICOM takes the normal of its plane.
    np.testing.assert_allclose(volume.affine[:, [0, 1, 3]], AFFINE[:, [0, 1, 3]], atol=1e-6)
    np.testing.assert_allclose(np.abs(volume.affine[:, 2]), np.abs(AFFINE[:, 2]), atol=1e-6)
    shutil.copy(out, tmp_path / "IM0001")
    np.testing.assert_array_equal(read_image(tmp_path / "IM0001").data, data)
    with pytest.raises(ValueError, match=r"3-D data.*volume.dcm.*one 2-D image"):
        write_image(tmp_path / "volume.dcm", _int_volume())


def test_dicom_like_keeps_identity_of_series_and_changes_uids(tmp_path):
    source = read_image(write_image(f"{tmp_path}/source/", _int_volume(), like=_like()))
    for ds in source.header:
        ds.PatientID = "P042"
        ds.SeriesDescription = "T1 MPRAGE"
    denoised = source.data * 0.5
    out = write_image(tmp_path / "denoised", denoised, like=source)
    volume = read_image(out)
    tolerance = np.ptp(denoised) / 65535 + 1e-6 * np.abs(denoised).max()
    assert np.abs(volume.data - denoised).max() <= tolerance
    np.testing.assert_allclose(volume.affine, source.affine, atol=1e-6)
    np.testing.assert_allclose(volume.affine, AFFINE, atol=1e-6)
    series_uids = {ds.SeriesInstanceUID for ds in volume.header}
    assert len(series_uids) == 1
    assert series_uids.isdisjoint({ds.SeriesInstanceUID for ds in source.header})
    for old, new in zip(source.header, volume.header, strict=True):
        assert new.PatientID == "P042"
        assert new.SeriesDescription == "T1 MPRAGE (sksmoe denoised)"
        assert new.StudyInstanceUID == old.StudyInstanceUID
        assert new.SOPInstanceUID != old.SOPInstanceUID
        assert new.file_meta.MediaStorageSOPInstanceUID == new.SOPInstanceUID
        for keyword in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing",
                        "SliceThickness", "InstanceNumber"):
            assert new[keyword].value == old[keyword].value


def test_dicom_folder_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="No DICOM image.*empty"):
        read_image(tmp_path / "empty")
    (tmp_path / "empty" / "DICOMDIR.txt").write_text("index")
    with pytest.raises(ValueError, match="No DICOM image"):
        read_image(tmp_path / "empty")


# --- PNG and TIFF ------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_png_round_trip(tmp_path, dtype):
    data = RNG.integers(0, np.iinfo(dtype).max, (7, 9), endpoint=True).astype(dtype)
    volume = read_image(write_image(tmp_path / "slice.png", data))
    assert (volume.format, volume.header, volume.data.dtype) == ("png", None, dtype)
    np.testing.assert_array_equal(volume.data, data)
    np.testing.assert_array_equal(volume.affine, np.eye(4))


def test_png_rejects_float_and_colour(tmp_path):
    with pytest.raises(ValueError, match="uint8 or uint16"):
        write_image(tmp_path / "slice.png", np.zeros((4, 4)))
    import imageio.v3 as iio

    grey = RNG.integers(0, 255, (4, 5), dtype=np.uint8)
    iio.imwrite(tmp_path / "grey_rgb.png", np.stack([grey] * 3, axis=-1))
    np.testing.assert_array_equal(read_image(tmp_path / "grey_rgb.png").data, grey)
    iio.imwrite(tmp_path / "colour.png", np.stack([grey, grey, grey // 2], axis=-1))
    with pytest.raises(ValueError, match="colour"):
        read_image(tmp_path / "colour.png")


@pytest.mark.parametrize("shape", [(7, 9), (5, 6, 3)])
def test_tiff_float32_round_trip(tmp_path, shape):
    data = RNG.normal(size=shape).astype(np.float32)
    volume = read_image(write_image(tmp_path / "stack.tiff", data))
    assert (volume.format, volume.data.dtype) == ("tiff", np.float32)
    np.testing.assert_array_equal(volume.data, data)


# --- errors ------------------------------------------------------------------------


def test_corrupt_files_raise_value_error_naming_file_and_format(tmp_path):
    path = write_image(tmp_path / "brain.nii.gz", RNG.normal(size=(20, 20, 20)))
    (tmp_path / "cut.nii.gz").write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"cut\.nii\.gz.*NIfTI"):
        read_image(tmp_path / "cut.nii.gz")
    (tmp_path / "text.dcm").write_text("hello " * 100)
    with pytest.raises(ValueError, match=r"text\.dcm.*DICOM"):
        read_image(tmp_path / "text.dcm")
    dcm = write_image(tmp_path / "slice.dcm", _int_volume((6, 5)))
    (tmp_path / "cut.dcm").write_bytes(dcm.read_bytes()[:-20])
    with pytest.raises(ValueError, match=r"cut\.dcm.*DICOM"):
        read_image(tmp_path / "cut.dcm")
    (tmp_path / "garbage.png").write_bytes(RNG.bytes(300))
    with pytest.raises(ValueError, match=r"garbage\.png.*PNG"):
        read_image(tmp_path / "garbage.png")
    (tmp_path / "garbage.mnc").write_bytes(b"CDF\x01" + RNG.bytes(300))
    with pytest.raises(ValueError, match=r"garbage\.mnc.*MINC"):
        read_image(tmp_path / "garbage.mnc")


def test_path_and_suffix_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.nii"):
        read_image(tmp_path / "nope.nii")
    with pytest.raises(TypeError, match="path"):
        read_image(42)
    (tmp_path / "image.jpg").write_bytes(b"\xff\xd8" + bytes(200))
    with pytest.raises(ValueError, match="Supported.*NIfTI"):
        read_image(tmp_path / "image.jpg")
    with pytest.raises(ValueError, match=r"\.jpg.*\.nii\.gz"):
        write_image(tmp_path / "out.jpg", np.zeros((3, 3), np.uint8))
    with pytest.raises(ValueError, match="unsupported"):
        write_image(tmp_path / "noext", np.zeros((3, 3), np.uint8))
    with pytest.raises(TypeError, match="like"):
        write_image(tmp_path / "a.nii", np.zeros((3, 3)), like=np.eye(4))


@pytest.mark.parametrize(
    "data, error, match",
    [
        (np.array([[1.0, np.nan], [0.0, 1.0]]), ValueError, "NaN"),
        (np.zeros(5), ValueError, "dimensions"),
        (np.zeros((2, 2, 2, 2, 2)), ValueError, "dimensions"),
        ("not an array", TypeError, "data"),
    ],
)
def test_invalid_data(tmp_path, data, error, match):
    with pytest.raises(error, match=match):
        write_image(tmp_path / "a.nii", data)
    assert list(tmp_path.iterdir()) == []


def test_volume_validation():
    with pytest.raises(ValueError, match="2-D, 3-D or 4-D"):
        Volume(np.zeros(3))
    with pytest.raises(ValueError, match="4x4"):
        Volume(np.zeros((2, 2)), np.eye(3))
    with pytest.raises(ValueError, match="format"):
        Volume(np.zeros((2, 2)), format="jpeg")


def test_shape_mismatch_with_like(tmp_path):
    with pytest.raises(ValueError, match=r"\(4, 4, 4\).*\(6, 5, 4\)"):
        write_image(tmp_path / "a.nii", np.zeros((4, 4, 4)), like=_like())


# --- folder loaders ----------------------------------------------------------------


def test_load_ixi_folder(tmp_path):
    names = ["IXI012-HH-1211-T1.nii.gz", "IXI002-Guys-0828-T1.nii.gz",
             "IXI002-Guys-0828-T2.nii.gz", "custom-T1.nii.gz"]
    for i, name in enumerate(names):
        write_image(tmp_path / name, np.full((2, 3, 4), i, np.int16))
    volumes = load_ixi_folder(str(tmp_path))
    assert [v.meta for v in volumes] == [
        {"subject": "IXI002", "site": "Guys", "modality": "T1"},
        {"subject": "IXI012", "site": "HH", "modality": "T1"},
        {"subject": "custom-T1"},
    ]
    assert [int(v.data[0, 0, 0]) for v in volumes] == [1, 0, 3]
    t2 = load_ixi_folder(tmp_path, pattern="*-T2.nii.gz")
    assert [v.meta["modality"] for v in t2] == ["T2"]
    with pytest.raises(ValueError, match=r"\*-PD\.nii\.gz"):
        load_ixi_folder(tmp_path, pattern="*-PD.nii.gz")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty"):
        load_ixi_folder(tmp_path / "empty")
    with pytest.raises(FileNotFoundError):
        load_ixi_folder(tmp_path / "missing")
    with pytest.raises(TypeError):
        load_ixi_folder(None)


def test_load_brainweb_folder(tmp_path):
    data = RNG.normal(size=(4, 5, 6)).astype(np.float32)
    write_image(tmp_path / "t1_icbm_normal_1mm_pn3_rf20.mnc", data)
    pd = write_image(tmp_path / "pd_icbm_msles2_3mm_pn0_rf0.mnc", data)
    with open(pd, "rb") as src, gzip.open(f"{pd}.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    pd.unlink()
    write_image(tmp_path / "phantom.mnc", data)
    write_image(tmp_path / "ignored.nii", data)
    volumes = load_brainweb_folder(tmp_path)
    assert [v.path.name for v in volumes] == [
        "pd_icbm_msles2_3mm_pn0_rf0.mnc.gz", "phantom.mnc", "t1_icbm_normal_1mm_pn3_rf20.mnc"
    ]
    assert volumes[0].meta == {"modality": "PD", "phantom": "msles2", "slice_thickness_mm": 3,
                               "noise_percent": 0.0, "rf_percent": 0.0}
    assert volumes[1].meta == {}
    assert volumes[2].meta == {"modality": "T1", "phantom": "normal", "slice_thickness_mm": 1,
                               "noise_percent": 3.0, "rf_percent": 20.0}
    for volume in volumes:
        np.testing.assert_allclose(volume.data, data, rtol=1e-6)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty"):
        load_brainweb_folder(tmp_path / "empty")
