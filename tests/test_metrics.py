import numpy as np
import pytest
from scipy import ndimage
from sklearn.base import BaseEstimator
from sklearn.model_selection import GridSearchCV

from sksmoe.datasets import add_rician_noise, make_brainweb_dataset
from sksmoe.metrics import SCORERS, brain_mask, psnr, ssim


def _ssim_by_hand(x, y, data_range):
    """SSIM from its definition: Gaussian window sigma 1.5 truncated at 3.5 sigma."""
    def blur(a):
        return ndimage.gaussian_filter(a, 1.5, truncate=3.5)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    return ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))


def test_psnr_hand_computed():
    clean = np.array([[0.0, 2.0], [0.0, 2.0]])
    assert psnr(clean, clean + 0.2) == pytest.approx(10 * np.log10(4 / 0.04))
    test = clean.copy()
    test[0, 0] = 1.0  # squared error 1 in one of four pixels
    assert psnr(clean, test) == pytest.approx(10 * np.log10(4 / 0.25))
    mask = np.array([[True, False], [False, False]])
    assert psnr(clean, test, mask) == pytest.approx(10 * np.log10(4 / 1.0))
    assert psnr(clean, clean) == np.inf


def test_psnr_per_image_and_data_range_per_slice():
    clean = np.stack([np.eye(4), 3 * np.eye(4)])
    scores = psnr(clean, clean + 0.1)
    assert scores.shape == (2,)
    assert scores[1] - scores[0] == pytest.approx(20 * np.log10(3))


def test_ssim_matches_its_definition():
    rng = np.random.default_rng(0)
    clean = ndimage.gaussian_filter(rng.random((40, 48)), 2)
    test = clean + 0.05 * rng.standard_normal(clean.shape)
    data_range = clean.max() - clean.min()
    expected_map = _ssim_by_hand(clean, test, data_range)
    crop = (slice(5, -5), slice(5, -5))  # skimage drops the 11-pixel window half-width
    assert ssim(clean, test) == pytest.approx(expected_map[crop].mean(), rel=1e-9)
    mask = np.zeros(clean.shape, dtype=bool)
    mask[10:30, 12:20] = True
    assert ssim(clean, test, mask) == pytest.approx(expected_map[mask].mean(), rel=1e-9)
    assert ssim(clean, clean) == pytest.approx(1.0)
    assert ssim(np.stack([clean, clean]), np.stack([test, clean])).shape == (2,)


@pytest.mark.parametrize("metric", [psnr, ssim])
def test_metrics_reject_bad_input(metric):
    good = np.random.default_rng(0).random((16, 16))
    with pytest.raises(ValueError, match="same shape"):
        metric(good, good[:8])
    with pytest.raises(ValueError, match="NaN"):
        metric(good, np.full_like(good, np.nan))
    with pytest.raises(ValueError, match="constant"):
        metric(np.ones((16, 16)), good)
    with pytest.raises(TypeError, match="boolean"):
        metric(good, good, mask=np.ones((16, 16)))
    with pytest.raises(ValueError, match="no pixel"):
        metric(good, good, mask=np.zeros((16, 16), dtype=bool))
    with pytest.raises(ValueError, match="dimensions"):
        metric(good.ravel(), good.ravel())


@pytest.fixture(scope="module")
def slices():
    return make_brainweb_dataset(noise_levels=(9,), rf_levels=(40,), slice_step=4).test


def test_brain_mask_on_clean_and_noisy_slices(slices):
    for images in (slices.clean, slices.noisy):
        agreement = (brain_mask(images) == slices.mask).mean(axis=(1, 2))
        assert agreement.min() > 0.97
    assert not brain_mask(np.zeros((16, 16))).any()


class _Blur(BaseEstimator):
    def __init__(self, sigma=0.0):
        self.sigma = sigma

    def fit(self, X, y=None):
        return self

    def predict(self, X):
        return np.stack([ndimage.gaussian_filter(x, self.sigma) for x in X])


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_scorers_drive_grid_search(name, slices):
    clean = slices.clean[:6]
    noisy = add_rician_noise(clean, 0.08, random_state=0)
    search = GridSearchCV(_Blur(), {"sigma": [0.0, 1.0, 8.0]}, cv=2, scoring=SCORERS[name])
    search.fit(noisy, clean)
    assert search.best_params_ == {"sigma": 1.0}
    scorer_value = SCORERS[name](search.best_estimator_, noisy, clean)
    metric = psnr if "psnr" in name else ssim
    mask = brain_mask(clean) if name.startswith("brain") else None
    blurred = _Blur(1.0).predict(noisy)
    assert scorer_value == pytest.approx(np.mean(metric(clean, blurred, mask)))
