import numpy as np
import pytest

from sksmoe.datasets import (
    add_rician_noise,
    add_sense_noise,
    add_smooth_noise,
    add_sos_noise,
    make_brainweb_dataset,
    make_real_dataset,
)
from sksmoe.noise import estimate_noise_map, estimate_sigma


@pytest.fixture(scope="module")
def slices():
    return make_brainweb_dataset(("T1", "T2"), noise_levels=(1, 3, 5, 7, 9), rf_levels=(40,),
                                 slice_step=4).test


def test_estimate_within_15_percent_at_1_to_9_percent(slices):
    error = estimate_sigma(slices.noisy) / slices.meta.sigma.to_numpy() - 1
    assert np.abs(error).max() < 0.15


def test_wavelet_estimate_within_15_percent_at_3_to_9_percent(slices):
    keep = (slices.meta.noise_percent >= 3).to_numpy()
    error = estimate_sigma(slices.noisy[keep], "wavelet") / slices.meta.sigma[keep] - 1
    assert np.abs(error).max() < 0.15


def test_estimate_on_a_real_skull_stripped_slice():
    real = make_real_dataset("dipy-t1", (0, 3, 9))
    estimate = estimate_sigma(real.noisy)
    # skull-stripped: the zero background is left out, and with no noise added the slice's
    # own noise and fine structure are measured inside the brain, about a third of 3%
    assert 0 < estimate[0] < 0.5 * real.meta.sigma[1]
    np.testing.assert_allclose(estimate[1:], real.meta.sigma[1:], rtol=0.15)


def test_estimate_rejects_bad_input():
    with pytest.raises(ValueError, match="method"):
        estimate_sigma(np.ones((16, 16)), "mad")
    with pytest.raises(ValueError, match="8x8"):
        estimate_sigma(np.ones((4, 4)))
    with pytest.raises(ValueError, match="NaN"):
        estimate_sigma(np.full((16, 16), np.nan))


@pytest.fixture(scope="module")
def mni_slice():
    from sksmoe.datasets import mni152_contrast
    from sksmoe.metrics import brain_mask

    volume, reference = mni152_contrast("MNI-T1")
    clean = np.ascontiguousarray(volume[:, :, 90].T[::-1], dtype=np.float64)
    return clean, reference, brain_mask(clean)


def median_error(estimate, truth, inside):
    return np.median(np.abs(estimate[inside] / truth[inside] - 1))


@pytest.mark.parametrize("kind", ["bm4d", "random"])
def test_noise_map_recovers_a_smooth_map(mni_slice, kind):
    clean, reference, head = mni_slice
    noisy, truth = add_smooth_noise(clean, 0.05 * reference, kind=kind, random_state=0)
    estimate = estimate_noise_map(noisy)
    assert estimate.shape == clean.shape
    assert median_error(estimate, truth, head) < 0.08
    # a constant (today's estimate_sigma) cannot follow the map
    assert median_error(np.full(clean.shape, estimate_sigma(noisy)), truth, head) > 0.15


def test_noise_map_on_sense_noise(mni_slice):
    clean, reference, head = mni_slice
    noisy, truth = add_sense_noise(clean, 0.03 * reference, n_coils=16, acceleration=4,
                                   random_state=0)
    assert median_error(estimate_noise_map(noisy), truth, head) < 0.08


def test_noise_map_on_a_skull_stripped_image(mni_slice):
    clean, reference, head = mni_slice
    sigma = 0.05 * reference
    noisy = add_rician_noise(clean, sigma, random_state=0) * (clean > 0.2)
    estimate = estimate_noise_map(noisy)
    assert np.isfinite(estimate).all() and (estimate > 0).all()
    inside = head & (noisy != 0)
    assert median_error(estimate, np.full(clean.shape, sigma), inside) < 0.08


def test_noise_map_corrects_the_rician_floor():
    # pure background: Rayleigh magnitude, whose standard deviation is 0.66 sigma
    noisy = add_rician_noise(np.zeros((128, 128)), 0.1, random_state=0)
    assert np.median(estimate_noise_map(noisy)) == pytest.approx(0.1, rel=0.05)


def test_noise_map_of_sum_of_squares_with_its_coil_count():
    noisy, _ = add_sos_noise(np.zeros((128, 128)), 0.1, n_coils=8, random_state=0)
    blind = np.median(estimate_noise_map(noisy))
    told = np.median(estimate_noise_map(noisy, n_coils=8))
    assert told == pytest.approx(0.1, rel=0.05)
    assert blind < 0.8 * told


def test_noise_map_stack_dtype_and_degenerate_images():
    noisy = add_rician_noise(np.ones((2, 32, 32), np.float32), 0.1, random_state=0)
    estimate = estimate_noise_map(noisy)
    assert estimate.shape == (2, 32, 32) and estimate.dtype == np.float32
    np.testing.assert_allclose(estimate[1], estimate_noise_map(noisy[1]))
    np.testing.assert_array_equal(estimate_noise_map(np.full((32, 32), 3.0)), 0)
    np.testing.assert_array_equal(estimate_noise_map(np.zeros((32, 32))), 0)


def test_noise_map_rejects_bad_input():
    with pytest.raises(ValueError, match="16x16"):
        estimate_noise_map(np.ones((8, 64)))
    with pytest.raises(ValueError, match="n_coils"):
        estimate_noise_map(np.ones((32, 32)), n_coils=0)
    with pytest.raises(ValueError, match="dimensions"):
        estimate_noise_map(np.ones(64))
