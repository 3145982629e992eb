import numpy as np
import pytest

from sksmoe.datasets import (
    UNSEEN_NOISE_LEVELS,
    load_real_slices,
    make_brainweb_dataset,
    make_real_dataset,
    split_slices,
)


@pytest.fixture(scope="module")
def small():
    return make_brainweb_dataset(("T1", "PD"), noise_levels=(0, 5), rf_levels=(0, 40),
                                 test_noise_levels=UNSEEN_NOISE_LEVELS, slice_step=4)


def _slices(split):
    return set(split.meta.slice_index)


@pytest.mark.parametrize("block_sizes, gap", [((12, 4, 8), 10), ((3, 2, 5), 12), ((1, 1, 1), 0)])
def test_split_slices_are_disjoint_with_gaps(block_sizes, gap):
    splits = split_slices(range(5, 200), block_sizes, gap)
    names = list(splits)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            distance = np.abs(splits[a][:, None] - splits[b][None, :]).min()
            assert distance > gap
    assert all(len(s) > 0 for s in splits.values())


def test_split_slices_rejects_bad_blocks():
    with pytest.raises(ValueError, match="block_sizes"):
        split_slices(range(10), (1, 0, 1))
    with pytest.raises(ValueError, match="gap"):
        split_slices(range(10), gap=-1)


def test_dataset_shapes_and_metadata(small):
    for name in ("train", "validation", "test"):
        split = small[name]
        n = len(split.meta)
        assert split.noisy.shape == split.clean.shape == split.mask.shape == (n, 197, 233)
        assert split.noisy.dtype == np.float32 and split.mask.dtype == bool
        assert set(split.meta.modality) == {"T1", "PD"}
        assert set(split.meta.rf_percent) == {0.0, 40.0}
        assert (split.noisy >= 0).all()
    assert set(small.train.meta.noise_percent) == {0.0, 5.0}
    assert set(small.test.meta.noise_percent) == {7.0, 9.0}
    assert "MNI152" in small.description


def test_dataset_splits_keep_the_gap(small):
    names = ("train", "validation", "test")
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            pairs = [abs(x - y) for x in _slices(small[a]) for y in _slices(small[b])]
            assert min(pairs) > 10


def test_clean_targets_and_zero_noise(small):
    train = small.train
    meta = train.meta
    zero = (meta.noise_percent == 0).to_numpy()
    np.testing.assert_array_equal(train.noisy[zero], train.clean[zero])
    # one clean target per slice and RF level, shared by the noise levels
    key = ["modality", "slice_index", "rf_percent"]
    for _, group in meta.groupby(key):
        first = train.clean[group.index[0]]
        for index in group.index[1:]:
            np.testing.assert_array_equal(train.clean[index], first)
    # brain-mask noise std of the 5% images matches sigma (high SNR in white matter)
    five = np.flatnonzero((meta.noise_percent == 5).to_numpy())
    residual = train.noisy[five] - train.clean[five]
    ratio = residual[train.mask[five]].std() / meta.sigma[five].mean()
    assert 0.9 < ratio < 1.1


def test_rf_field_modulates_clean_target(small):
    meta = small.train.meta
    sel = (meta.modality == "T1") & (meta.noise_percent == 0)
    by_rf = {rf: small.train.clean[g.index[0]] for rf, g in meta[sel].groupby("rf_percent")}
    mask = small.train.mask[meta[sel].index[0]]
    brain = by_rf[0.0][mask] > 0.2
    ratio = by_rf[40.0][mask][brain] / by_rf[0.0][mask][brain]
    assert ratio.min() >= 0.8 - 1e-5 and ratio.max() <= 1.2 + 1e-5
    assert ratio.max() - ratio.min() > 0.3


def test_dataset_is_reproducible():
    kwargs = dict(noise_levels=(3,), rf_levels=(20,), slice_step=8)
    a = make_brainweb_dataset(random_state=1, **kwargs)
    b = make_brainweb_dataset(random_state=1, **kwargs)
    c = make_brainweb_dataset(random_state=2, **kwargs)
    np.testing.assert_array_equal(a.test.noisy, b.test.noisy)
    assert not np.array_equal(a.test.noisy, c.test.noisy)


def test_images_do_not_depend_on_other_images():
    a = make_brainweb_dataset(noise_levels=(3,), rf_levels=(20,), slice_step=8)
    b = make_brainweb_dataset(noise_levels=(1, 3), rf_levels=(20,), slice_step=8)
    np.testing.assert_array_equal(a.train.noisy, b.train.noisy[b.train.meta.noise_percent == 3])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(modalities=("FLAIR",)), "modalities"),
        (dict(modalities=()), "modalities"),
        (dict(noise_levels=(-1,)), "noise_levels"),
        (dict(rf_levels=()), "rf_levels"),
        (dict(axis=0), "sagittal"),
        (dict(slice_step=0), "slice_step"),
    ],
)
def test_dataset_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_brainweb_dataset(**kwargs)


def test_real_slices():
    t1 = load_real_slices("dipy-t1")
    assert t1.images.shape == (1, 256, 256) and t1.images.max() == 1
    assert 0.1 < t1.mask.mean() < 0.5
    b0 = load_real_slices("dipy-b0")
    assert b0.images.shape == (10, 128, 128)
    with pytest.raises(ValueError, match="source"):
        load_real_slices("ixi")


def test_pydeface_t1_is_a_whole_head_with_its_own_background_noise():
    from sksmoe.noise import estimate_sigma

    head = load_real_slices("pydeface-t1")  # fetched from PyPI on first use, then cached
    assert head.images.shape == (43, 256, 192) and head.images.max() == 1
    assert "pydeface" in head.license and "ds000031" in head.license
    middle = head.images[20]
    assert 0.3 < head.mask[20].mean() < 0.8
    assert 0 < estimate_sigma(middle, "background") < 0.02  # real Rayleigh background


def test_colin27_is_a_skull_stripped_averaged_t1_with_anterior_up():
    colin = load_real_slices("colin27")  # fetched from PyPI on first use, then cached
    assert colin.images.shape == (10, 217, 181) and colin.images.max() == 1
    assert "Colin27" in colin.license and "antspyx" in colin.license
    outside = colin.images[~colin.mask]
    assert np.mean(outside == 0) > 0.99  # skull-stripped: no head around the brain
    middle = colin.images[5]
    assert 0.3 < colin.mask[5].mean() < 0.7
    rows = np.flatnonzero(colin.mask[0].any(axis=1))
    # the lowest slice cuts the cerebellum, which lies posterior: low in the image
    assert rows.mean() > middle.shape[0] / 2


def test_real_dataset_uses_the_same_rician_noise():
    data = make_real_dataset("dipy-t1", (0, 5), random_state=0)
    np.testing.assert_array_equal(data.noisy[0], data.clean[0])
    background = ~data.mask[1] & (data.clean[1] == 0)
    sigma = data.meta.sigma[1]
    assert data.noisy[1][background].mean() == pytest.approx(sigma * np.sqrt(np.pi / 2), rel=0.03)
    again = make_real_dataset("dipy-t1", (0, 5), random_state=0)
    np.testing.assert_array_equal(data.noisy, again.noisy)
