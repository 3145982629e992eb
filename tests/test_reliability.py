"""Inputs a scanner or a user produces: a right answer or a clear error, before long work."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import sksmoe


@pytest.fixture(scope="module")
def tiny_model(tiny_model_path):
    return sksmoe.load(tiny_model_path)


def test_float16_input_is_denoised_as_float32(tiny_model, small_data):
    image = small_data["X_test"][0]
    expected = sksmoe.denoise(image.astype(np.float32), tiny_model)
    out = sksmoe.denoise(image.astype(np.float16), tiny_model)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, atol=2e-3 * float(image.max()))


def test_values_beyond_float32_are_refused_not_returned_as_inf(tiny_model, small_data):
    huge = small_data["X_test"][0].astype(np.float64) * 1e300
    with pytest.raises(ValueError, match="float32's range"):
        sksmoe.denoise(huge, tiny_model)
    with pytest.raises(ValueError, match="float32's range"):
        tiny_model.predict(huge[None])


def test_cuda_without_a_gpu_warns_and_runs_on_the_cpu(tiny_model, small_data, monkeypatch):
    import torch

    from sksmoe.utils._torch import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="CUDA is not available"):
        assert resolve_device("cuda") == "cpu"
    assert resolve_device("auto") == "cpu"
    tiny_model.set_params(sparsemoedenoiser__device="cuda", embeddingpca__device="cuda")
    try:
        with pytest.warns(UserWarning, match="CUDA is not available"):
            out = tiny_model.predict(small_data["X_test"][:1])
        assert np.isfinite(out).all()
    finally:
        tiny_model.set_params(sparsemoedenoiser__device="auto", embeddingpca__device="auto")


def test_skull_stripped_slice_is_denoised_like_the_slice_with_its_background():
    from sksmoe.datasets import add_rician_noise, load_mni152, mni152_contrast, noise_sigma
    from sksmoe.metrics import psnr
    from sksmoe.noise import estimate_sigma

    volume, reference = mni152_contrast("MNI-T1")
    clean = np.ascontiguousarray(volume[:, :, 104].T[::-1])
    brain = load_mni152().mask[:, :, 104].T[::-1]
    sigma = noise_sigma(5, reference)
    noisy = add_rician_noise(clean, sigma, random_state=0)
    stripped = np.where(brain, noisy, 0)  # zeros outside the brain, as skull-stripping gives
    assert estimate_sigma(stripped) == pytest.approx(sigma, rel=0.1)
    model = sksmoe.load_pretrained(preset="fast")
    with_background = psnr(clean, model.predict(noisy[None])[0], brain)
    skull_stripped = psnr(clean, model.predict(stripped[None])[0], brain)
    assert skull_stripped > psnr(clean, noisy, brain) + 5  # dB: it is denoised
    assert skull_stripped > with_background - 0.5


def test_offset_and_negative_images_are_denoised_in_the_magnitude_domain(tiny_model,
                                                                          small_data):
    image = small_data["X_test"][0].astype(np.float64)
    plain = sksmoe.denoise(image, tiny_model)
    for offset in (-0.3, -5.0):  # part negative, and wholly negative
        shifted = sksmoe.denoise(image + offset, tiny_model) - offset
        np.testing.assert_allclose(shifted, plain, atol=0.01 * np.ptp(image))
    zscored = (image - image.mean()) / image.std()
    out = sksmoe.denoise(zscored, tiny_model)
    assert zscored.min() - 0.5 < out.min() and out.max() < zscored.max() + 0.5


def test_constant_slices_come_out_unchanged(tiny_model, small_data):
    volume = np.stack([np.full((72, 80), 0.5), small_data["X_test"][0], np.zeros((72, 80))])
    out = sksmoe.denoise(volume, tiny_model)
    np.testing.assert_array_equal(out[0], 0.5)
    np.testing.assert_array_equal(out[2], 0)
    np.testing.assert_array_equal(out[1], sksmoe.denoise(volume[1], tiny_model))


# --- any array into sksmoe.denoise: a right answer or a clear error, the input untouched ---

_DTYPES = ["bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
           "float16", "float32", "float64", ">f4", "<i2", "complex64"]


@given(data=st.data())
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_any_array_gives_a_denoised_image_or_a_clear_error(tiny_model, data):
    dtype = np.dtype(data.draw(st.sampled_from(_DTYPES)))
    ndim = data.draw(st.integers(0, 4))
    shape = tuple(data.draw(st.sampled_from([0, 1, 3, 33, 40])) for _ in range(ndim))
    if ndim in (2, 3) and data.draw(st.booleans()):  # mostly images the model can take
        shape = shape[:-2] + (data.draw(st.integers(32, 48)), data.draw(st.integers(32, 48)))
        shape = tuple(min(n, 2) for n in shape[:-2]) + shape[-2:]
    images = data.draw(arrays(dtype, shape))
    before = images.copy()
    try:
        out = sksmoe.denoise(images, tiny_model)
    except (ValueError, TypeError) as exc:
        assert "`images`" in str(exc) or "`X`" in str(exc) or "patch_size" in str(exc), exc
    else:
        assert out.shape == images.shape and out.dtype == np.float32
        assert np.isfinite(out).all()
    np.testing.assert_array_equal(images, before)


@pytest.mark.parametrize("layout", ["strided", "read-only", "memmap", "big-endian", "fortran"])
def test_array_layouts_give_the_same_denoising(tiny_model, small_data, tmp_path, layout):
    image = small_data["X_test"][0].astype(np.float32)
    expected = sksmoe.denoise(image, tiny_model)
    if layout == "strided":
        wide = np.zeros((image.shape[0], 2 * image.shape[1]), np.float32)
        wide[:, ::2] = image
        moved = wide[:, ::2]
    elif layout == "read-only":
        moved = image.copy()
        moved.flags.writeable = False
    elif layout == "memmap":
        moved = np.memmap(tmp_path / "x.dat", np.float32, "w+", shape=image.shape)
        moved[:] = image
    elif layout == "big-endian":
        moved = image.astype(">f4")
    else:
        moved = np.asfortranarray(image)
    np.testing.assert_allclose(sksmoe.denoise(moved, tiny_model), expected, rtol=1e-5,
                               atol=1e-5 * float(image.max()))


# --- files: bad inputs give exit status 2 and a message, never a traceback --------------


@pytest.mark.parametrize("fault", ["empty", "truncated", "text", "wrong suffix", "directory",
                                   "symlink to input", "5-D"])
def test_bad_files_exit_2_with_a_message(tmp_path, small_data, tiny_model_path, capsys, fault):
    import nibabel as nib

    from sksmoe.cli import main
    from sksmoe.io import write_image

    volume = (np.moveaxis(small_data["X_test"], 0, -1) * 1000).astype(np.int16)
    good = write_image(tmp_path / "good.nii.gz", volume)
    src, out = tmp_path / "in.nii.gz", tmp_path / "out.nii.gz"
    if fault == "empty":
        src.write_bytes(b"")
    elif fault == "truncated":
        src.write_bytes(good.read_bytes()[:200])
    elif fault == "text":
        src.write_text("not an image")
    elif fault == "wrong suffix":
        src = tmp_path / "in.jpg"
        src.write_bytes(good.read_bytes())
    elif fault == "directory":
        src = tmp_path / "empty-folder"
        src.mkdir()
    elif fault == "symlink to input":
        src, out = good, tmp_path / "link.nii.gz"
        out.symlink_to(good)
    else:
        nib.save(nib.Nifti1Image(np.zeros((40, 40, 3, 2, 2), np.float32), np.eye(4)), src)
    before = src.read_bytes() if src.is_file() else None
    extra = ["--overwrite"] if fault == "symlink to input" else []
    assert main(["denoise", str(src), str(out), "--model", str(tiny_model_path)] + extra) == 2
    err = capsys.readouterr().err
    assert err.startswith("sksmoe denoise: error:") and "Traceback" not in err
    if before is not None:
        assert src.read_bytes() == before
    assert not list(tmp_path.glob(".*sksmoe-tmp*"))


# --- SIGINT and SIGKILL while reading, denoising or writing ------------------------------

_DRIVER = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even when the
# tests run in a background job, which starts with SIGINT ignored
import nibabel as nib
import sksmoe.io._image as image, sksmoe.pretrained as pretrained
from sksmoe.cli import main

stage = sys.argv[1]

def pause(name, then):
    def paused(*args, **kwargs):
        if name == stage:
            if name == "writing":  # half a file first
                with open(args[1], "wb") as f:
                    f.write(b"half")
            print("AT", name, flush=True)
            time.sleep(60)
        return then(*args, **kwargs)
    return paused

image._READERS["nifti"] = pause("reading", image._READERS["nifti"])
pretrained.denoise = pause("denoising", pretrained.denoise)
nib.save = pause("writing", nib.save)
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("stage", ["reading", "denoising", "writing"])
@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGKILL"])
def test_a_killed_denoise_leaves_no_output_or_the_previous_one(tmp_path, small_data,
                                                               tiny_model_path, stage,
                                                               signal_name):
    import signal
    import subprocess
    import sys

    from sksmoe.io import write_image

    volume = (np.moveaxis(small_data["X_test"], 0, -1) * 1000).astype(np.int16)
    src = write_image(tmp_path / "in.nii.gz", volume)
    out = tmp_path / "out.nii.gz"
    previous = write_image(tmp_path / "previous.nii.gz", volume[..., :1]).read_bytes()
    out.write_bytes(previous)
    command = [sys.executable, "-c", _DRIVER, stage, "denoise", str(src), str(out),
               "--overwrite", "--model", str(tiny_model_path)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    assert process.stdout.readline().strip() == f"AT {stage}"
    process.send_signal(getattr(signal, signal_name))
    _, err = process.communicate(timeout=60)
    assert process.returncode == (130 if signal_name == "SIGINT" else -signal.SIGKILL)
    assert "Traceback" not in err
    assert out.read_bytes() == previous  # the previous OUT, intact
    assert sorted(p.name for p in tmp_path.glob("*.nii.gz")) == [
        "in.nii.gz", "out.nii.gz", "previous.nii.gz"]
    if signal_name == "SIGINT":
        assert not list(tmp_path.glob(".*"))  # cleaned up on the way out
    from sksmoe.cli import main

    assert main(["denoise", str(src), str(out), "--overwrite", "--model",
                 str(tiny_model_path)]) == 0
    assert not list(tmp_path.glob(".*"))  # a later run removes a killed run's temporaries
    assert out.read_bytes() != previous


def test_an_image_without_measurable_noise_warns(tiny_conditioned_base, small_data,
                                                 small_pipe):
    model = small_pipe(tiny_conditioned_base, n_experts=1).fit(small_data["X"],
                                                               small_data["y"])
    squares = np.zeros((1, 64, 64))
    squares[0, 8:40, 8:40], squares[0, 30:60, 20:50] = 1.0, 2.0  # no texture, no noise
    with pytest.warns(UserWarning, match="No noise could be measured"):
        model.predict(squares)
