import numpy as np
import pytest
from scipy import ndimage

from sksmoe.metrics import brain_mask
from sksmoe.moe._sure import MIN_PIXELS, SURE_SCALES, sure, sure_mask, sure_scale


def _textured_image(seed=0, size=96):
    """A smooth disc carrying fine structure of its own, and its mask."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    mask = (yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (size / 2.5) ** 2
    texture = ndimage.gaussian_filter(rng.standard_normal((size, size)), 0.7) * 0.08
    return ((0.6 + 0.3 * np.sin(xx / 9.0) + texture) * mask).astype(np.float32), mask


def _blur(image, level):
    """A family of denoisers: a Gaussian blur whose width grows with the noise level told."""
    return ndimage.gaussian_filter(image, 20 * level)


def _moved(denoise, x):
    """``denoise`` as SURE calls it: on ``x`` plus an offset (None: no offset)."""
    return lambda offset, *args: denoise(x if offset is None else x + offset, *args)


@pytest.mark.parametrize("sigma", [0.02, 0.05])
def test_sure_estimates_the_squared_error_against_the_clean_image(sigma):
    clean, mask = _textured_image()
    noisy = clean + sigma * np.random.default_rng(1).standard_normal(clean.shape).astype(
        np.float32)
    probe = (np.random.default_rng(2).standard_normal(clean.shape) * mask).astype(np.float32)
    for width in (0.5, 1.0, 2.0):
        risk, denoised = sure(_moved(lambda x: ndimage.gaussian_filter(x, width), noisy),
                              noisy, sigma, mask, probe)
        true_mse = float(((denoised - clean)[mask] ** 2).mean())
        assert risk == pytest.approx(true_mse, rel=0.15)
    # the identity's risk is sigma^2 exactly in expectation, and its output is the input
    risk, denoised = sure(_moved(lambda x: x, noisy), noisy, sigma, mask, probe)
    assert risk == pytest.approx(sigma**2, rel=0.1)
    np.testing.assert_array_equal(denoised, noisy)


def test_sure_with_a_sigma_map_estimates_the_error_of_non_uniform_noise():
    clean, mask = _textured_image()
    sigma = np.linspace(0.01, 0.06, clean.shape[1])[None, :] * np.ones_like(clean)
    noisy = clean + sigma * np.random.default_rng(1).standard_normal(clean.shape)
    noisy = noisy.astype(np.float32)
    probe = (np.random.default_rng(2).standard_normal(clean.shape) * mask).astype(np.float32)
    for width in (0.5, 1.0, 2.0):
        blur = _moved(lambda x: ndimage.gaussian_filter(x, width), noisy)
        risk, denoised = sure(blur, noisy, sigma, mask, probe)
        assert risk == pytest.approx(float(((denoised - clean)[mask] ** 2).mean()), rel=0.15)
        level = sure(blur, noisy, float(sigma[mask].mean()), mask, probe)[0]
        constant = sure(blur, noisy, np.full_like(sigma, sigma[mask].mean()), mask, probe)[0]
        assert constant == pytest.approx(level, rel=1e-6)


def test_sure_scale_picks_a_scale_about_as_good_as_the_clean_image_would():
    clean, mask = _textured_image()
    sigma = 0.03
    noisy = clean + sigma * np.random.default_rng(3).standard_normal(clean.shape).astype(
        np.float32)
    scale, denoised = sure_scale(_moved(lambda x, s: _blur(x, sigma * s), noisy), noisy,
                                 sigma, mask)
    np.testing.assert_array_equal(denoised, _blur(noisy, sigma * scale))
    errors = {s: float(((_blur(noisy, sigma * s) - clean)[mask] ** 2).mean())
              for s in SURE_SCALES}
    # this family over-smooths at the true level (the texture is signal) and under-smooths
    # at the lowest scale: the walk must stop inside the grid, where the clean image says
    assert min(errors, key=errors.get) not in (SURE_SCALES[0], SURE_SCALES[-1])
    assert scale == min(errors, key=errors.get)


def test_sure_scale_keeps_the_scale_without_noise_or_head():
    clean, mask = _textured_image()
    blur = _moved(_blur, clean)
    assert sure_scale(blur, clean, 0.0, mask) == (1.0, None)
    small = np.zeros_like(mask)
    small[:10, :10] = True
    assert small.sum() < MIN_PIXELS
    assert sure_scale(blur, clean, 0.03, small) == (1.0, None)


def test_sure_mask_leaves_out_dark_pixels_where_rician_noise_is_not_gaussian():
    # a bright disc with a dark (CSF-like) core, at a high Rician noise level
    clean, head = _textured_image(seed=4)
    yy, xx = np.mgrid[:96, :96]
    core = (yy - 48) ** 2 + (xx - 48) ** 2 < 14**2
    clean[core] = 0.02
    sigma = 0.12
    rng = np.random.default_rng(5)
    noisy = np.hypot(clean + sigma * rng.standard_normal(clean.shape),
                     sigma * rng.standard_normal(clean.shape)).astype(np.float32)
    mask = sure_mask(noisy, sigma, brain_mask(noisy))
    inner_core = (yy - 48) ** 2 + (xx - 48) ** 2 < 10**2
    assert not (mask & inner_core).any()
    assert not (mask & ~ndimage.binary_dilation(head, iterations=3)).any()
    bright = ndimage.binary_erosion(head & ~core & (clean > 5 * sigma), iterations=3)
    assert mask[bright].mean() > 0.95
    # at a low noise level the dark core is bright enough in sigmas to stay
    assert sure_mask(clean + 0.002, 0.002, brain_mask(clean + 0.002))[inner_core].all()
