import numpy as np
import pytest
from scipy.special import gammaln

from sksmoe import datasets
from sksmoe.metrics import brain_mask

SIMULATORS = {
    "bm4d": datasets.add_smooth_noise,
    "random": lambda x, s, **kw: datasets.add_smooth_noise(x, s, kind="random", **kw),
    "sense": lambda x, s, **kw: datasets.add_sense_noise(x, s, n_coils=8, acceleration=3, **kw),
    "sos": datasets.add_sos_noise,
    "sos correlated": lambda x, s, **kw: datasets.add_sos_noise(
        x, s, covariance=datasets.coil_covariance(8, 0.4), **kw),
}


def disc(size=96, radius=0.7):
    rows, cols = np.mgrid[-1:1:size * 1j, -1:1:size * 1j]
    return (rows**2 + cols**2 < radius**2).astype(float)


def test_bm4d_map_is_the_lattice_interpolated():
    m = datasets.smooth_noise_map((33, 33))
    assert m.mean() == pytest.approx(1)
    assert m.max() / m.min() == pytest.approx(3)
    assert np.unravel_index(m.argmax(), m.shape) == (16, 16)
    volume = datasets.smooth_noise_map((9, 33, 33))
    np.testing.assert_allclose(volume[4] / volume[4].mean(), m)
    assert volume[0].max() / volume[0].min() == pytest.approx(1)


def test_random_map_spans_gmax_over_the_mask():
    mask = disc(64, 0.8).astype(bool)
    m = datasets.smooth_noise_map(mask.shape, "random", mask=mask, gmax=2.5, random_state=0)
    assert m[mask].mean() == pytest.approx(1)
    assert m[mask].max() / m[mask].min() == pytest.approx(2.5)
    drawn = datasets.smooth_noise_map((64, 64), "random", random_state=1)
    assert 1.5 <= drawn.max() / drawn.min() <= 4


@pytest.mark.parametrize("name", SIMULATORS)
@pytest.mark.parametrize("shape", [(96, 96), (2, 64, 64)])
def test_sigma_map_mean_over_the_head_is_the_level(name, shape):
    image = np.broadcast_to(disc(shape[-1]), shape).copy()
    noisy, sigma_map = SIMULATORS[name](image, 0.05, random_state=0)
    assert noisy.shape == sigma_map.shape == shape
    assert sigma_map[brain_mask(image)].mean() == pytest.approx(0.05, rel=1e-6)
    assert (noisy >= 0).all() and (sigma_map > 0).all()
    mask = np.zeros(shape, bool)
    mask[..., :10, :] = True
    _, sigma_map = SIMULATORS[name](image, 0.05, mask=mask, random_state=0)
    assert sigma_map[mask].mean() == pytest.approx(0.05, rel=1e-6)


@pytest.mark.parametrize("name", SIMULATORS)
def test_random_state_reproduces(name):
    image = disc(48)
    a = SIMULATORS[name](image, 0.05, random_state=3)
    b = SIMULATORS[name](image, 0.05, random_state=3)
    c = SIMULATORS[name](image, 0.05, random_state=4)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("name", ["bm4d", "random", "sense"])
def test_rician_moments_follow_the_map(name):
    # E[M^2] = A^2 + 2 sigma^2; E[M] = sigma sqrt(pi / 2) in the background (A = 0)
    tissue, sigma_map = SIMULATORS[name](np.full((256, 256), 0.2), 0.1, random_state=0)
    assert (tissue**2 - 0.04).mean() / (2 * sigma_map**2).mean() == pytest.approx(1, abs=0.03)
    background, sigma_map = SIMULATORS[name](np.zeros((256, 256)), 0.1, random_state=1)
    assert (background / sigma_map).mean() == pytest.approx(np.sqrt(np.pi / 2), rel=0.01)


@pytest.mark.parametrize("coils", [1, 4, 8])
def test_sum_of_squares_is_noncentral_chi(coils):
    sigma = 0.1
    background, sigma_map = datasets.add_sos_noise(np.zeros((192, 192)), sigma, n_coils=coils,
                                          random_state=0)
    np.testing.assert_allclose(sigma_map, sigma)
    chi_mean = sigma * np.sqrt(2) * np.exp(gammaln(coils + 0.5) - gammaln(coils))
    assert background.mean() == pytest.approx(chi_mean, rel=0.01)
    tissue, _ = datasets.add_sos_noise(np.full((192, 192), 0.2), sigma, n_coils=coils,
                                       random_state=1)
    assert (tissue**2 - 0.04).mean() / (2 * coils * sigma**2) == pytest.approx(1, abs=0.04)


def test_correlated_coils_have_fewer_effective_coils():
    covariance = datasets.coil_covariance(8, 0.5)
    noisy, sigma_map = datasets.add_sos_noise(np.zeros((192, 192)), 0.1, covariance=covariance,
                                     random_state=0)
    # background: E[m^2] = 2 tr(Sigma) = 2 L_eff sigma_eff^2, L_eff = tr(C)^2 / tr(C^2)
    l_eff = np.trace(covariance) ** 2 / np.trace(covariance @ covariance)
    assert l_eff < 8
    np.testing.assert_allclose(sigma_map, 0.1, rtol=1e-6)
    assert (noisy**2).mean() / (2 * 0.1**2) == pytest.approx(l_eff, rel=0.02)


def test_g_factor_is_one_without_acceleration_and_grows_with_it():
    sensitivities = datasets.coil_sensitivities((64, 56), 8)
    np.testing.assert_allclose((np.abs(sensitivities) ** 2).sum(0), 1)
    np.testing.assert_allclose(datasets.sense_g_factor(sensitivities, 1), 1, atol=1e-12)
    means = []
    for r in (2, 3, 4):
        g = datasets.sense_g_factor(sensitivities, r)
        assert g.shape == (64, 56) and g.min() >= 1
        means.append(g.mean())
    assert means == sorted(means) and means[-1] > 1.2
    more_coils = datasets.sense_g_factor(datasets.coil_sensitivities((64, 56), 16), 4)
    assert more_coils.mean() < means[-1]


def test_g_factor_matches_the_unfolding_formula():
    sensitivities = datasets.coil_sensitivities((30, 20), 6)
    psi = datasets.coil_covariance(6, 0.3) + 0.1j * np.triu(np.ones((6, 6)), 1)
    psi = (psi + psi.conj().T) / 2
    g = datasets.sense_g_factor(sensitivities, 3, covariance=psi)
    inverse = np.linalg.inv(psi)
    for row, col in [(0, 0), (7, 11), (29, 19)]:
        c = sensitivities[:, [row, (row + 10) % 30, (row + 20) % 30], col]
        gram = c.conj().T @ inverse @ c
        expected = np.sqrt((np.linalg.inv(gram)[0, 0] * gram[0, 0]).real)
        assert g[row, col] == pytest.approx(expected)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="kind"):
        datasets.smooth_noise_map((8, 8), "polynomial")
    with pytest.raises(ValueError, match="gmax"):
        datasets.smooth_noise_map((8, 8), "random", gmax=1)
    with pytest.raises(ValueError, match="acceleration"):
        datasets.sense_g_factor(datasets.coil_sensitivities((16, 16), 4), 5)
    with pytest.raises(ValueError, match="positive definite"):
        datasets.add_sos_noise(np.ones((16, 16)), 0.1, n_coils=2, covariance=[[1, 2], [2, 1]])
    with pytest.raises(ValueError, match="Hermitian"):
        datasets.add_sense_noise(np.ones((16, 16)), 0.1, covariance=np.eye(3))
    with pytest.raises(ValueError, match="mask"):
        datasets.add_smooth_noise(np.ones((16, 16)), 0.1, mask=np.ones((8, 8), bool))
    with pytest.raises(ValueError, match="sigma"):
        datasets.add_sense_noise(np.ones((16, 16)), -0.1)
