import numpy as np
import pytest

from sksmoe.datasets import make_brainweb_dataset, make_real_dataset
from sksmoe.noise import estimate_sigma


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


def test_estimate_on_real_slice_and_noise_free_image():
    real = make_real_dataset("dipy-t1", (0, 3, 9))
    estimate = estimate_sigma(real.noisy)
    assert estimate[0] == 0
    np.testing.assert_allclose(estimate[1:], real.meta.sigma[1:], rtol=0.15)


def test_estimate_rejects_bad_input():
    with pytest.raises(ValueError, match="method"):
        estimate_sigma(np.ones((16, 16)), "mad")
    with pytest.raises(ValueError, match="8x8"):
        estimate_sigma(np.ones((4, 4)))
    with pytest.raises(ValueError, match="NaN"):
        estimate_sigma(np.full((16, 16), np.nan))
