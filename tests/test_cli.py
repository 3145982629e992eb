import re
import subprocess
import sys

import numpy as np
import pytest

import sksmoe
from sksmoe.cli import main
from sksmoe.io import Volume


def test_import_is_lazy():
    code = ("import sys, sksmoe; "
            "print(sorted(m for m in ('torch', 'sklearn', 'nilearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_demo_denoises_and_writes_png(tmp_path, capsys, tiny_model_path):
    out = tmp_path / "demo.png"
    assert main(["demo", "--output", str(out), "--model", str(tiny_model_path)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = capsys.readouterr().out
    rows = {line.split()[0]: [float(v) for v in re.findall(r"\d+\.\d+", line)]
            for line in text.splitlines() if line.startswith(("noisy", "NL-means"))}
    assert rows["NL-means"][0] > rows["noisy"][0] + 3  # brain PSNR, dB
    assert rows["NL-means"][1] > rows["noisy"][1]  # brain SSIM


def test_demo_reports_bad_input(tmp_path, capsys):
    assert main(["demo", "--output", str(tmp_path / "x.png"), "--slice", "500"]) == 2
    assert "slice" in capsys.readouterr().err


def _volume(small_data, dtype=np.int16):
    data = np.moveaxis(small_data["X_test"], 0, -1)  # (H, W, 3 slices)
    return (data * 1000).astype(dtype)


def test_denoise_nifti_keeps_geometry_and_dtype(tmp_path, small_data, tiny_model_path):
    from sksmoe.io import read_image, write_image

    affine = np.diag([0.9, 0.9, 3.0, 1.0])
    affine[:3, 3] = (-40, 12, 7)
    src = write_image(tmp_path / "in.nii.gz", _volume(small_data),
                      like=Volume(_volume(small_data), affine=affine))
    out = tmp_path / "out.nii.gz"
    assert main(["denoise", str(src), str(out), "--model", str(tiny_model_path)]) == 0
    result = read_image(out)
    assert result.data.shape == _volume(small_data).shape and result.data.dtype == np.int16
    np.testing.assert_allclose(result.affine, affine)
    assert not np.array_equal(result.data, _volume(small_data))
    # refuses to overwrite OUT, and never writes over IN
    assert main(["denoise", str(src), str(out), "--model", str(tiny_model_path)]) == 2
    assert main(["denoise", str(src), str(src), "--model", str(tiny_model_path),
                 "--overwrite"]) == 2
    assert main(["denoise", str(src), str(out), "--model", str(tiny_model_path),
                 "--overwrite", "--axis", "2"]) == 0


def test_denoise_writes_the_estimated_noise_map_on_request(tmp_path, small_data,
                                                           tiny_model_path):
    from sksmoe.io import read_image, write_image
    from sksmoe.noise import estimate_noise_map

    affine = np.diag([0.9, 0.9, 3.0, 1.0])
    src = write_image(tmp_path / "in.nii.gz", _volume(small_data),
                      like=Volume(_volume(small_data), affine=affine))
    out, sigma = tmp_path / "out.nii.gz", tmp_path / "sigma.nii.gz"
    sigma.write_bytes(b"taken")  # checked before the work: nothing is written
    args = ["denoise", str(src), str(out), "--model", str(tiny_model_path),
            "--noise-map", str(sigma)]
    assert main(args) == 2 and not out.exists()
    sigma.unlink()
    assert main(args) == 0
    written = read_image(sigma)
    np.testing.assert_allclose(written.affine, affine)
    assert written.data.dtype == np.float32 and written.data.shape == _volume(small_data).shape
    volume = read_image(src).data.astype(np.float32)
    expected = np.moveaxis(estimate_noise_map(np.moveaxis(volume, 2, 0)), 0, 2)
    np.testing.assert_allclose(written.data, expected, rtol=1e-5)


def test_denoise_presets_and_noise_scale(tmp_path, small_data, tiny_conditioned_base,
                                      tiny_model_path, small_pipe, capsys):
    from sksmoe.io import read_image, write_image

    model = small_pipe(tiny_conditioned_base, n_experts=2).fit(small_data["X"], small_data["y"])
    plain = sksmoe.save(model, tmp_path / "plain.safetensors")
    bundled_like = sksmoe.save(sksmoe.NoiseScale(sksmoe.SelfEnsemble(model), scale="sure"),
                               tmp_path / "sure.safetensors")
    src = write_image(tmp_path / "in.nii.gz", _volume(small_data).astype(np.float32))
    outputs = {}
    for name, model_path, extra in [("plain", plain, []),
                                    ("fast", bundled_like, ["--fast"]),
                                    ("sure", bundled_like, []),
                                    ("quality", plain, ["--quality"]),
                                    ("half", bundled_like, ["--fast", "--noise-scale", "0.5"])]:
        out = tmp_path / f"{name}.nii.gz"
        assert main(["denoise", str(src), str(out), "--model", str(model_path)] + extra) == 0
        outputs[name] = read_image(out).data
    np.testing.assert_array_equal(outputs["fast"], outputs["plain"])
    np.testing.assert_array_equal(outputs["quality"], outputs["sure"])
    assert not np.allclose(outputs["sure"], outputs["plain"])
    assert not np.allclose(outputs["half"], outputs["plain"])
    with pytest.raises(SystemExit):
        main(["denoise", str(src), str(tmp_path / "x.nii.gz"), "--noise-scale", "gentle"])
    assert main(["denoise", str(src), str(tmp_path / "blind.nii.gz"), "--model",
                 str(tiny_model_path), "--noise-scale", "sure"]) == 2
    assert "blind" in capsys.readouterr().err


def test_denoise_png_and_bad_input(tmp_path, small_data, tiny_model_path, capsys):
    import nibabel as nib

    from sksmoe.io import read_image, write_image

    src = write_image(tmp_path / "slice.png", _volume(small_data, np.uint16)[:, :, 0])
    out = tmp_path / "den.png"
    assert main(["denoise", str(src), str(out), "--model", str(tiny_model_path)]) == 0
    assert read_image(out).data.dtype == np.uint16
    model = ["--model", str(tiny_model_path)]
    assert main(["denoise", str(tmp_path / "missing.nii"), str(tmp_path / "o.nii")] + model) == 2
    (tmp_path / "x.txt").write_text("hello")
    assert main(["denoise", str(tmp_path / "x.txt"), str(tmp_path / "o.nii")] + model) == 2
    nan = np.full((64, 64, 2), np.nan, np.float32)
    nib.save(nib.Nifti1Image(nan, np.eye(4)), tmp_path / "nan.nii")
    assert main(["denoise", str(tmp_path / "nan.nii"), str(tmp_path / "o.nii")] + model) == 2
    nib.save(nib.Nifti1Image(np.zeros(70, np.float32), np.eye(4)), tmp_path / "line.nii")
    assert main(["denoise", str(tmp_path / "line.nii"), str(tmp_path / "o.nii")] + model) == 2
    err = capsys.readouterr().err
    assert "missing.nii" in err and "NaN" in err


def test_output_problems_are_found_before_denoising(tmp_path, small_data, tiny_model_path,
                                                   monkeypatch, capsys):
    import os

    from sksmoe.io import write_image

    def never(*args, **kwargs):
        raise AssertionError("denoising started")

    monkeypatch.setattr("sksmoe.pretrained.denoise", never)
    src = write_image(tmp_path / "in.nii.gz", _volume(small_data))
    (tmp_path / "exists.nii.gz").write_bytes(b"x")
    os.link(src, tmp_path / "hard.nii.gz")
    model = ["--model", str(tiny_model_path)]
    for target, fix in [("exists.nii.gz", "overwrite"), ("out.xyz", "unsupported suffix"),
                        ("missing/out.nii.gz", "does not exist"), ("out.png", "2-D"),
                        ("hard.nii.gz", "differ from the input")]:
        extra = ["--overwrite"] if target == "hard.nii.gz" else []
        assert main(["denoise", str(src), str(tmp_path / target)] + model + extra) == 2
        assert fix in capsys.readouterr().err
    assert main(["demo", "--output", str(tmp_path / "missing" / "x.png")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_integer_output_keeps_the_negative_values_of_its_input(tmp_path, small_data,
                                                               tiny_model_path, monkeypatch):
    from sksmoe.io import read_image, write_image

    monkeypatch.setattr("sksmoe.pretrained.denoise",
                        lambda images, model, **kwargs: images.astype(np.float32))
    signed = _volume(small_data) - 500  # int16, about half of it negative
    assert (signed < -100).mean() > 0.05
    src = write_image(tmp_path / "signed.nii.gz", signed)
    out = tmp_path / "out.nii.gz"
    assert main(["denoise", str(src), str(out), "--model", str(tiny_model_path)]) == 0
    np.testing.assert_array_equal(read_image(out).data, signed)
    positive = write_image(tmp_path / "positive.nii.gz", _volume(small_data))
    monkeypatch.setattr("sksmoe.pretrained.denoise",
                        lambda images, model, **kwargs: images.astype(np.float32) - 1e4)
    assert main(["denoise", str(positive), str(out), "--overwrite",
                 "--model", str(tiny_model_path)]) == 0
    assert read_image(out).data.min() == 0  # a magnitude image stays non-negative


def test_denoise_dicom_series_folder(tmp_path, small_data, tiny_model_path):
    from sksmoe.io import read_image, write_image

    src = write_image(str(tmp_path / "series") + "/", _volume(small_data, np.uint16))
    out = tmp_path / "denoised"
    assert main(["denoise", str(src), str(out), "--model", str(tiny_model_path)]) == 0
    result, original = read_image(out), read_image(src)
    assert out.is_dir() and result.data.shape == original.data.shape
    np.testing.assert_allclose(result.affine, original.affine)
    assert result.header[0].PatientID == original.header[0].PatientID


def test_fetch_weights_finds_a_checked_file_without_downloading(capsys):
    from sksmoe.decomposition._sam import cache_dir

    if not (cache_dir() / "mobile_sam.pt").is_file():
        pytest.skip("no fetched mobile_sam.pt: run `sksmoe fetch-weights mobile_sam`")
    assert main(["fetch-weights", "mobile_sam", "--dir", str(cache_dir())]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {cache_dir() / 'mobile_sam.pt'}"
