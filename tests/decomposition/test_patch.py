import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from sksmoe.decomposition import PatchDecomposer, patch_starts


@given(length=st.integers(1, 300), patch=st.integers(1, 64), stride=st.integers(1, 64))
def test_patch_starts_cover_the_axis(length, patch, stride):
    assume(patch <= length and stride <= patch)
    starts = patch_starts(length, patch, stride)
    assert starts[0] == 0 and starts[-1] == length - patch
    assert np.all(np.diff(starts) <= stride)


@given(h=st.integers(8, 70), w=st.integers(8, 70), patch=st.integers(1, 8),
       stride=st.integers(1, 10), seed=st.integers(0, 1000))
def test_merge_of_decomposition_is_exact(h, w, patch, stride, seed):
    assume(stride <= patch)
    image = np.random.default_rng(seed).random((1, h, w)).astype(np.float32)
    regions = PatchDecomposer(patch_size=patch, stride=stride).fit_transform(image)[0]
    np.testing.assert_array_equal(regions.merge(regions.crops()), image[0])
    labels = np.random.default_rng(seed).integers(3, size=len(regions))
    coverage = regions.coverage(labels, 3)
    assert coverage.sum(axis=0).min() >= 1  # every pixel covered
    weights = coverage / coverage.sum(axis=0)
    np.testing.assert_allclose(weights.sum(axis=0), 1.0, rtol=1e-6)


def test_one_region_set_per_image_non_square():
    X = np.zeros((3, 100, 61))
    regions = PatchDecomposer(patch_size=48, stride=20).fit_transform(X)
    assert regions.shape == (3,) and regions.dtype == object
    assert len(regions[0]) == len(patch_starts(100, 48, 20)) * len(patch_starts(61, 48, 20))
    assert regions[0].crops().shape == (len(regions[0]), 48, 48)


@pytest.mark.parametrize("params, X, match", [
    (dict(patch_size=0), np.zeros((1, 50, 50)), "patch_size"),
    (dict(stride=2.5), np.zeros((1, 50, 50)), "stride"),
    (dict(patch_size=8, stride=9), np.zeros((1, 50, 50)), "no patch"),
    (dict(), np.zeros((1, 40, 50)), "smaller"),
    (dict(), np.zeros((50, 50)), "dimensions"),
    (dict(), np.full((1, 50, 50), np.nan), "NaN"),
])
def test_bad_input(params, X, match):
    with pytest.raises(ValueError, match=match):
        PatchDecomposer(**params).fit_transform(X)
