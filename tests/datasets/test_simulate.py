import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sksmoe.datasets import (
    TISSUE_LEVELS,
    add_rician_noise,
    load_mni152,
    mni152_contrast,
    noise_sigma,
    rf_field,
)


def test_rician_background_mean_is_rayleigh_mean():
    sigma = 0.05
    noisy = add_rician_noise(np.zeros((512, 512)), sigma, random_state=0)
    assert noisy.mean() == pytest.approx(sigma * np.sqrt(np.pi / 2), rel=0.02)


def test_rician_noise_is_gaussian_at_high_snr():
    sigma = 0.01
    noisy = add_rician_noise(np.ones((512, 512)), sigma, random_state=1)
    assert noisy.std() == pytest.approx(sigma, rel=0.03)
    assert noisy.mean() == pytest.approx(1.0, abs=1e-3)


def test_rician_noise_leaves_input_untouched_and_keeps_dtype():
    clean = np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)
    before = clean.copy()
    noisy = add_rician_noise(clean, 0.1, random_state=0)
    np.testing.assert_array_equal(clean, before)
    assert noisy.dtype == np.float32
    assert not np.array_equal(noisy, clean)


def test_rician_noise_random_state_reproduces():
    clean = np.ones((3, 16, 16))
    a = add_rician_noise(clean, 0.1, random_state=7)
    b = add_rician_noise(clean, 0.1, random_state=7)
    c = add_rician_noise(clean, 0.1, random_state=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_zero_noise_returns_the_image():
    clean = np.random.default_rng(0).random((16, 16))
    np.testing.assert_allclose(add_rician_noise(clean, 0.0, random_state=0), clean)


def test_sigma_map_is_spatially_varying():
    sigma = np.zeros((64, 64))
    sigma[:, 32:] = 0.1
    noisy = add_rician_noise(np.ones((64, 64)), sigma, random_state=0)
    np.testing.assert_allclose(noisy[:, :32], 1.0)
    assert noisy[:, 32:].std() > 0.05


@pytest.mark.parametrize(
    "image, sigma, error, match",
    [
        (np.ones(10), 0.1, ValueError, "dimensions"),
        (np.ones((0, 4)), 0.1, ValueError, "empty"),
        (np.full((4, 4), np.nan), 0.1, ValueError, "NaN"),
        (np.ones((4, 4)), -0.1, ValueError, "sigma"),
        (np.ones((4, 4)), np.ones((3, 3)), ValueError, "broadcast"),
        ("image", 0.1, TypeError, "image"),
        (np.ones((4, 4)), "0.1", TypeError, "sigma"),
    ],
)
def test_rician_noise_rejects_bad_input(image, sigma, error, match):
    with pytest.raises(error, match=match):
        add_rician_noise(image, sigma)


@given(
    image=arrays(np.float32, (32, 32), elements=st.floats(0, 1, width=32)),
    percent=st.floats(0.5, 10),
    seed=st.integers(0, 2**16),
)
def test_simulator_properties(image, percent, seed):
    low = add_rician_noise(image, percent / 100, random_state=seed)
    high = add_rician_noise(image, 1.5 * percent / 100, random_state=seed)
    assert low.shape == image.shape and low.dtype == image.dtype
    assert (low >= 0).all() and (high >= 0).all()
    assert ((high - image) ** 2).mean() > ((low - image) ** 2).mean()


@pytest.mark.parametrize("percent", [20, 40])
def test_rf_field_spans_the_definition_over_the_mask(percent):
    mask = np.zeros((96, 80), dtype=bool)
    mask[20:70, 15:60] = True
    field = rf_field(mask.shape, percent, mask=mask, random_state=3)
    assert field[mask].min() == pytest.approx(1 - percent / 200, abs=1e-6)
    assert field[mask].max() == pytest.approx(1 + percent / 200, abs=1e-6)
    assert field.min() >= 1 - percent / 200 - 1e-6 and field.max() <= 1 + percent / 200 + 1e-6
    # smooth: neighbouring pixels differ by a small fraction of the span
    assert np.abs(np.diff(field, axis=0)).max() < 0.1 * percent / 100


def test_rf_field_zero_percent_and_reproducibility():
    np.testing.assert_array_equal(rf_field((8, 9), 0), np.ones((8, 9)))
    a = rf_field((16, 16, 8), 20, random_state=1)
    np.testing.assert_array_equal(a, rf_field((16, 16, 8), 20, random_state=1))
    assert not np.array_equal(a, rf_field((16, 16, 8), 20, random_state=2))


def test_rf_field_rejects_bad_input():
    with pytest.raises(ValueError, match="percent"):
        rf_field((8, 8), -5)
    with pytest.raises(ValueError, match="mask"):
        rf_field((8, 8), 20, mask=np.ones((4, 4), dtype=bool))
    with pytest.raises(ValueError, match="shape"):
        rf_field((8,), 20)


def test_mni152_is_real_and_scaled():
    mni = load_mni152()
    assert mni.t1.shape == mni.gm.shape == mni.mask.shape == (197, 233, 189)
    assert mni.t1.dtype == np.float32 and mni.t1.min() == 0 and mni.t1.max() == 1
    assert 0.15 < mni.mask.mean() < 0.3
    total = mni.gm + mni.wm + mni.csf
    assert total[mni.mask].max() <= 1 + 1e-6 and total[~mni.mask].max() == 0
    with pytest.raises(ValueError):
        mni.t1[0, 0, 0] = 1.0  # shared cache is read-only


@pytest.mark.parametrize("modality", ["T1", "T2", "PD"])
def test_contrasts_follow_tissue_levels(modality):
    mni = load_mni152()
    volume, reference = mni152_contrast(modality)
    means = {t: volume[mni[t] > 0.9].mean() for t in ("csf", "gm", "wm")}
    levels = TISSUE_LEVELS[modality]
    assert sorted(means, key=means.get) == sorted(levels, key=levels.get)
    assert reference == pytest.approx(max(levels.values()), rel=0.15)
    assert volume[~mni.mask].max() == 0


def test_noise_sigma_is_a_percentage_of_the_reference():
    assert noise_sigma(5, 0.8) == pytest.approx(0.04)
    with pytest.raises(ValueError, match="percent"):
        noise_sigma(-1, 0.8)
    with pytest.raises(ValueError, match="modality"):
        mni152_contrast("FLAIR")
