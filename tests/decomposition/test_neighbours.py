"""Rows of a slice and its neighbours, and decomposers reading them."""

import numpy as np
import pytest

from sksmoe.decomposition import PatchDecomposer, SliceNeighbours
from sksmoe.decomposition._neighbours import neighbour_indices


def test_neighbour_indices_mirror_at_the_ends():
    assert neighbour_indices(0, 10, 2).tolist() == [1, 1, 2, 2]
    assert neighbour_indices(9, 10, 2).tolist() == [8, 8, 7, 7]
    assert neighbour_indices(5, 10, 2, spacing=2).tolist() == [3, 7, 1, 9]
    assert neighbour_indices(0, 1, 1).tolist() == [0, 0]  # one slice: itself


def test_slice_neighbours_rows_are_the_slices_in_order():
    volume = np.arange(5, dtype=float)[:, None, None] * np.ones((5, 4, 3))
    rows = SliceNeighbours(context=1).fit_transform(volume)
    assert rows.shape == (5, 3, 4, 3)
    assert rows[:, :, 0, 0].tolist() == [[1, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 4],
                                         [3, 4, 3]]
    assert SliceNeighbours(context=0).fit_transform(volume).shape == (5, 1, 4, 3)


def test_decomposer_keeps_the_middle_slice_and_its_neighbours_nearest_first():
    rng = np.random.default_rng(0)
    rows = rng.random((2, 5, 40, 40))
    regions = PatchDecomposer(patch_size=32, stride=16, noise="level").fit_transform(rows)
    plain = PatchDecomposer(patch_size=32, stride=16, noise="level").fit_transform(rows[:, 2])
    for got, image, row in zip(regions, plain, rows):
        np.testing.assert_array_equal(got.image, row[2])
        np.testing.assert_array_equal(got.neighbours, row[[1, 3, 0, 4]])
        assert got.sigma == image.sigma and image.neighbours is None
        x = got.normalized()[0]
        assert got.slab(x, 1).shape == (3, 40, 40) and got.slab(x, 0).shape == (1, 40, 40)
        np.testing.assert_allclose(got.slab(x, 2)[3], row[0] / got.scale, rtol=1e-6)
        turned = got.turned(1, True)
        np.testing.assert_array_equal(turned.neighbours[0], np.rot90(row[1][:, ::-1]))
    with pytest.raises(ValueError, match="no middle slice"):
        PatchDecomposer(patch_size=32).fit_transform(rows[:, :4])


def test_rows_of_one_slice_are_unrelated_images_seen_alone():
    from sksmoe.decomposition._neighbours import in_slice_order

    rng = np.random.default_rng(0)
    images = rng.random((3, 40, 40))
    rows = SliceNeighbours(context=2).fit_transform(images[:, None])
    assert rows.shape == (3, 1, 40, 40)
    decomposer = PatchDecomposer(patch_size=32, stride=16, noise="level")
    alone, plain = decomposer.fit_transform(rows), decomposer.fit_transform(images)
    for got, image in zip(alone, plain):
        np.testing.assert_array_equal(got.image, image.image)
        assert got.neighbours is None
    with pytest.raises(ValueError, match="rows of one slice"):
        SliceNeighbours(context=2).fit_transform(rng.random((3, 3, 40, 40)))
    slabs = np.arange(5.0)[None, :, None, None] * np.ones((1, 5, 2, 2))  # slice, -1, +1, -2, +2
    assert in_slice_order(slabs)[0, :, 0, 0].tolist() == [3, 1, 0, 2, 4]


def test_noise_map_regions_carry_the_estimated_map():
    rng = np.random.default_rng(1)
    from sksmoe.noise import estimate_noise_map

    images = rng.random((2, 40, 40))
    mapped = PatchDecomposer(patch_size=32, stride=16, noise="map").fit_transform(images)
    level = PatchDecomposer(patch_size=32, stride=16, noise="level").fit_transform(images)
    np.testing.assert_allclose(mapped[0].noise_map, estimate_noise_map(images[0]))
    x, told = mapped[0].with_noise_scale(0.5).normalized()
    np.testing.assert_allclose(told, 0.5 * mapped[0].noise_map / mapped[0].scale, rtol=1e-6)
    assert np.ndim(level[0].normalized()[1]) == 0 and level[0].noise_map is None
    small = PatchDecomposer(patch_size=8, stride=4, noise="map").fit_transform(
        images[:, :12, :12])[0]
    assert np.all(small.noise_map == np.float32(small.sigma))  # too small for a map



def test_denoise_gives_a_slice_model_its_neighbours_from_the_whole_stack():
    from sklearn.base import BaseEstimator
    from sklearn.pipeline import make_pipeline

    import sksmoe

    class MiddleMinusMean(BaseEstimator):  # a "denoiser" that shows which rows it got
        def fit(self, X, y=None):
            self.fitted_ = True
            return self

        def predict(self, X):
            return X[:, X.shape[1] // 2] - X.mean(axis=1)

    volume = np.cumsum(np.random.default_rng(0).random((7, 8, 8)), axis=0)
    model = make_pipeline(SliceNeighbours(context=1), MiddleMinusMean()).fit(volume)
    expected = model.predict(volume)
    np.testing.assert_allclose(sksmoe.denoise(volume, model, batch_size=2), expected,
                               rtol=1e-5, atol=1e-5)
    rows = SliceNeighbours(context=1).transform(volume)
    np.testing.assert_array_equal(SliceNeighbours(context=1).transform(rows), rows)
    with pytest.raises(ValueError, match="rows of 3"):
        SliceNeighbours(context=1).transform(rows[:, :2])
