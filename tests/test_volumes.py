"""Volumes as users have them: any storage orientation, TIFF stacks, 4-D series."""

import nibabel as nib
import numpy as np
import pytest
from nibabel.orientations import (apply_orientation, axcodes2ornt, inv_ornt_aff,
                                  io_orientation, ornt_transform)

import sksmoe
from sksmoe.cli import main
from sksmoe.io import read_image, write_image
from sksmoe.pretrained import denoise_file


class _FlipAveraged:
    """A model averaged over the 8 flips and turns of each whole image: exactly equivariant,
    so the same anatomy stored in any orientation must give the same numbers."""

    def __init__(self, model):
        self.model = model

    def predict(self, X):
        total = 0.0
        for flip in (False, True):
            for turns in range(4):
                moved = np.rot90(X[:, :, ::-1] if flip else X, turns, axes=(1, 2))
                out = np.rot90(self.model.predict(np.ascontiguousarray(moved)), -turns,
                               axes=(1, 2))
                total = total + (out[:, :, ::-1] if flip else out).astype(np.float64)
        return total / 8


@pytest.fixture(scope="module")
def ras(small_data, tiny_model_path, tmp_path_factory):
    """A RAS volume whose 3 axial slices are 72x80 noisy test images, its affine, the
    flip-averaged tiny model and that model's denoising of the volume."""
    model = _FlipAveraged(sksmoe.load(tiny_model_path))
    data = np.moveaxis(small_data["X_test"], 0, -1).astype(np.float32)
    affine = np.diag([0.9, 1.1, 3.0, 1.0])
    affine[:3, 3] = (-30, -40, 5)
    folder = tmp_path_factory.mktemp("ras")
    nib.save(nib.Nifti1Image(data, affine), folder / "ras.nii.gz")
    denoised = read_image(denoise_file(folder / "ras.nii.gz", folder / "out.nii.gz", model))
    return data, affine, model, denoised.data


def _stored(data, affine, codes):
    """``data`` (RAS) re-stored with axes ``codes``, and the matching affine."""
    transform = ornt_transform(axcodes2ornt("RAS"), axcodes2ornt(codes))
    return apply_orientation(data, transform), affine @ inv_ornt_aff(transform, data.shape)


def _tilted(affine, degrees):
    """``affine`` rotated by ``degrees`` about the world's left-right axis."""
    a = np.deg2rad(degrees)
    rotation = np.eye(4)
    rotation[1:3, 1:3] = [[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]
    return rotation @ affine


@pytest.mark.parametrize("codes, degrees, axis", [("LIA", 0, 1), ("LPS", 0, 2), ("PIR", 0, 1),
                                                  ("LIA", 15, 1), ("RAS", -20, 2)])
def test_any_orientation_gives_the_same_denoising_of_the_same_anatomy(tmp_path, ras, capsys,
                                                                     codes, degrees, axis):
    ras, ras_affine, model, expected = ras
    data, affine = _stored(ras, ras_affine, codes)
    nib.save(nib.Nifti1Image(data, _tilted(affine, degrees)), tmp_path / "in.nii.gz")
    out = denoise_file(tmp_path / "in.nii.gz", tmp_path / "out.nii.gz", model, progress=True)
    message = f"slicing along array axis {axis} (axial; orientation {codes}), 3 slices"
    assert message in capsys.readouterr().err
    result = read_image(out)
    assert result.data.shape == data.shape  # the input's array layout, and its affine
    np.testing.assert_allclose(result.affine, _tilted(affine, degrees), atol=1e-6)
    back = apply_orientation(result.data, io_orientation(result.affine))
    np.testing.assert_allclose(back, expected, rtol=1e-6, atol=1e-6)
    assert not np.allclose(expected, ras, atol=1e-3)


def test_tiff_stack_is_sliced_by_page(tmp_path, small_data, tiny_model_path, capsys):
    pages = (small_data["X_test"] * 1000).astype(np.uint16)  # (3 pages, 72, 80)
    src = write_image(tmp_path / "stack.tif", pages)
    model = ["--model", str(tiny_model_path)]
    assert main(["denoise", str(src), str(tmp_path / "out.tif")] + model) == 0
    assert "slicing along array axis 0 (the pages" in capsys.readouterr().err
    nifti = write_image(tmp_path / "axial.nii", np.moveaxis(pages, 0, -1))
    assert main(["denoise", str(nifti), str(tmp_path / "axial_out.nii")] + model) == 0
    result = read_image(tmp_path / "out.tif").data
    assert result.shape == pages.shape and result.dtype == np.uint16
    np.testing.assert_array_equal(result,
                                  np.moveaxis(read_image(tmp_path / "axial_out.nii").data, -1, 0))


def test_4d_series_is_denoised_one_volume_at_a_time(tmp_path, small_data, tiny_model_path,
                                                    capsys):
    volume = (np.moveaxis(small_data["X_test"], 0, -1) * 1000).astype(np.int16)
    series = np.stack([volume, volume[::-1] // 2 + 100], axis=-1)  # (72, 80, 3, 2 volumes)
    image = nib.Nifti1Image(series, np.diag([2.0, 2.0, 3.0, 1.0]))
    image.header.set_zooms((2.0, 2.0, 3.0, 2.5))  # TR 2.5 s
    nib.save(image, tmp_path / "bold.nii.gz")
    model = ["--model", str(tiny_model_path)]
    assert main(["denoise", str(tmp_path / "bold.nii.gz"), str(tmp_path / "out.nii.gz")]
                + model) == 0
    assert "3 slices, in each of 2 volumes" in capsys.readouterr().err
    result = read_image(tmp_path / "out.nii.gz")
    assert result.data.shape == series.shape and result.data.dtype == np.int16
    assert result.header.get_zooms() == (2.0, 2.0, 3.0, 2.5)
    for t in range(2):
        alone = write_image(tmp_path / f"vol{t}.nii.gz", series[..., t],
                            like=sksmoe.io.Volume(series[..., t], image.affine))
        assert main(["denoise", str(alone), str(tmp_path / f"vol{t}_out.nii.gz")] + model) == 0
        np.testing.assert_array_equal(result.data[..., t],
                                      read_image(tmp_path / f"vol{t}_out.nii.gz").data)
    assert not np.array_equal(result.data, series)
    assert main(["denoise", str(tmp_path / "bold.nii.gz"), str(tmp_path / "out.tif")]
                + model) == 2
    assert "only NIfTI" in capsys.readouterr().err


def test_axis_overrides_the_axial_axis(tmp_path, tiny_model_path, monkeypatch, capsys):
    stacks = []

    def record(images, model, **kwargs):
        stacks.append(images.shape)
        return images.astype(np.float32)

    monkeypatch.setattr("sksmoe.pretrained.denoise", record)
    data = np.arange(40 * 36 * 34, dtype=np.float32).reshape(40, 36, 34)
    lia = np.array([[-1.0, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 0], [0, 0, 0, 1]])
    nib.save(nib.Nifti1Image(data, lia), tmp_path / "lia.nii")
    for extra, shape in [([], (36, 40, 34)), (["--axis", "0"], (40, 36, 34)),
                         (["--axis", "2"], (34, 40, 36))]:
        out = tmp_path / f"out{len(stacks)}.nii"
        assert main(["denoise", str(tmp_path / "lia.nii"), str(out),
                     "--model", str(tiny_model_path)] + extra) == 0
        assert stacks[-1] == shape
        np.testing.assert_array_equal(read_image(out).data, data)
    assert "axis 2 (as asked)" in capsys.readouterr().err
    with pytest.raises(ValueError, match="axis"):
        denoise_file(tmp_path / "lia.nii", tmp_path / "x.nii", axis=3)
