"""Train / validation / test data sets of BrainWeb-style slices of the MNI152 brain."""

import numpy as np
from sklearn.utils import Bunch

from ..utils._validation import check_non_negative
from ._mni import load_mni152
from ._simulate import (
    MODALITIES,
    add_rician_noise,
    as_generator,
    mni152_contrast,
    noise_sigma,
    rf_field,
)

SPLITS = ("train", "validation", "test")
#: Paper protocol: BrainWeb noise and RF levels, in percent.
NOISE_LEVELS = (0, 1, 3, 5)
RF_LEVELS = (0, 20, 40)
#: Noise levels never seen in training (the paper's section 4.4).
UNSEEN_NOISE_LEVELS = (7, 9)


def split_slices(indices, block_sizes=(12, 4, 8), gap=10):
    """Assign slice indices to train / validation / test in interleaved blocks.

    Blocks of ``block_sizes`` consecutive slices (train, validation, test) repeat along the
    axis, each followed by ``gap`` unused slices, so that every split samples the whole brain
    while no two slices of different splits are closer than ``gap + 1``.

    Parameters
    ----------
    indices : array-like of int
        Sorted candidate slice indices (consecutive).
    block_sizes : tuple of 3 int, default=(12, 4, 8)
        Slices per block for train, validation and test.
    gap : int, default=10
        Slices left out after every block.

    Returns
    -------
    splits : dict of str to ndarray of int

    Examples
    --------
    >>> splits = split_slices(range(60), block_sizes=(2, 1, 1), gap=10)
    >>> {name: s.tolist() for name, s in splits.items()}
    {'train': [0, 1, 34, 35], 'validation': [12, 46], 'test': [23, 57]}
    """
    indices = np.asarray(list(indices), dtype=int)
    sizes = [int(n) for n in block_sizes]
    if len(sizes) != 3 or min(sizes) < 1:
        raise ValueError(f"`block_sizes` must be 3 positive ints, got {block_sizes!r}.")
    gap = int(check_non_negative(gap, "gap"))
    period = sum(sizes) + 3 * gap
    starts = np.cumsum([0] + [size + gap for size in sizes[:-1]])
    position = np.arange(len(indices)) % period
    return {
        name: indices[(position >= start) & (position < start + size)]
        for name, start, size in zip(SPLITS, starts, sizes)
    }


def mni152_slice_splits(axis=2, block_sizes=(12, 4, 8), gap=10, min_brain_fraction=0.1):
    """Train / validation / test slice indices of the MNI152 brain along ``axis``.

    Slices whose brain area is below ``min_brain_fraction`` of the largest are skipped;
    the rest are split by :func:`split_slices`.
    """
    area = np.moveaxis(load_mni152().mask, axis, 0).sum(axis=(1, 2))
    candidates = np.flatnonzero(area >= min_brain_fraction * area.max())
    return split_slices(np.arange(candidates[0], candidates[-1] + 1), block_sizes, gap)


def _image_seed(seed, *parts):
    return np.random.SeedSequence([seed, *parts])


def make_brainweb_dataset(
    modalities=("T1",),
    noise_levels=NOISE_LEVELS,
    rf_levels=RF_LEVELS,
    *,
    test_noise_levels=None,
    axis=2,
    slice_step=1,
    block_sizes=(12, 4, 8),
    gap=10,
    min_brain_fraction=0.1,
    random_state=0,
):
    """BrainWeb-style noisy / clean slice pairs of the MNI152 brain, split by slice blocks.

    Every selected slice appears at every noise x RF level. The RF field depends on the
    slice, modality and RF level only (the clean target is shared by all noise levels);
    the noise is drawn independently for each image. Each image has its own seed, so an
    image does not change when other images are added or removed.

    Parameters
    ----------
    modalities : sequence of {"T1", "T2", "PD", "MNI-T1"}, default=("T1",)
    noise_levels : sequence of float, default=(0, 1, 3, 5)
        Rician noise in percent of the brightest tissue's mean (train and validation).
    rf_levels : sequence of float, default=(0, 20, 40)
        RF inhomogeneity in percent.
    test_noise_levels : sequence of float, optional
        Noise levels of the test split; defaults to ``noise_levels``. Use
        :data:`UNSEEN_NOISE_LEVELS` (7, 9) for the unseen-noise experiment.
    axis : {1, 2}, default=2
        Slicing axis: 2 is axial, 1 coronal. Sagittal (0) is refused: the template is
        left-right symmetric, so mirrored sagittal slices would leak across splits.
    slice_step : int, default=1
        Keep every ``slice_step``-th slice of each block.
    block_sizes, gap : see :func:`split_slices`
    min_brain_fraction : float, default=0.1
        Slices whose brain area is below this fraction of the largest are skipped.
    random_state : int, Generator, RandomState or None, default=0

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``train``, ``validation``, ``test``: Bunches with ``noisy`` and ``clean``
        (float32 ndarrays of shape (n_images, H, W)), ``mask`` (bool, brain mask) and
        ``meta`` (pandas DataFrame: source, modality, axis, slice_index, noise_percent,
        rf_percent, sigma); ``description``: str.

    Examples
    --------
    >>> data = make_brainweb_dataset(noise_levels=(3,), rf_levels=(0,), slice_step=4)
    >>> data.train.noisy.shape
    (9, 197, 233)
    >>> sorted(set(data.test.meta.noise_percent))
    [3.0]
    """
    import pandas as pd

    modalities = [modalities] if isinstance(modalities, str) else list(modalities)
    if not modalities:
        raise ValueError("`modalities` must name at least one modality.")
    for modality in modalities:
        if modality not in MODALITIES:
            raise ValueError(f"`modalities` entries must be in {MODALITIES}, got {modality!r}.")
    levels = {
        "noise_levels": noise_levels,
        "rf_levels": rf_levels,
        "test_noise_levels": noise_levels if test_noise_levels is None else test_noise_levels,
    }
    for name, values in levels.items():
        if np.ndim(values) != 1 or len(values) == 0:
            raise ValueError(f"`{name}` must be a non-empty sequence of percentages.")
        for value in values:
            check_non_negative(value, name)
    if axis not in (1, 2):
        raise ValueError(
            f"`axis` must be 1 (coronal) or 2 (axial), got {axis!r}; sagittal slices of "
            "the symmetric MNI152 template would repeat across splits."
        )
    if int(slice_step) != slice_step or slice_step < 1:
        raise ValueError(f"`slice_step` must be a positive int, got {slice_step!r}.")
    seed = int(as_generator(random_state).integers(2**31))

    mask_volume = np.moveaxis(load_mni152().mask, axis, 0)
    slices = mni152_slice_splits(axis, block_sizes, gap, min_brain_fraction)

    data = Bunch()
    for split_id, split in enumerate(SPLITS):
        noise = levels["test_noise_levels"] if split == "test" else levels["noise_levels"]
        noisy, clean, masks, rows = [], [], [], []
        for modality_id, modality in enumerate(modalities):
            volume, reference = mni152_contrast(modality)
            volume = np.moveaxis(volume, axis, 0)
            for z in slices[split][::slice_step]:
                for rf in rf_levels:
                    field_seed = _image_seed(seed, modality_id, axis, z, round(100 * rf))
                    field = rf_field(
                        volume[z].shape, rf, mask=mask_volume[z], random_state=field_seed
                    )
                    target = volume[z] * field
                    for p in noise:
                        sigma = noise_sigma(p, reference)
                        noise_seed = _image_seed(
                            seed, modality_id, axis, z, round(100 * rf), round(100 * p), 1
                        )
                        noisy.append(add_rician_noise(target, sigma, random_state=noise_seed))
                        clean.append(target)
                        masks.append(mask_volume[z])
                        rows.append(("mni152", modality, axis, z, float(p), float(rf), sigma))
        columns = ["source", "modality", "axis", "slice_index", "noise_percent",
                   "rf_percent", "sigma"]
        data[split] = Bunch(
            noisy=np.stack(noisy).astype(np.float32),
            clean=np.stack(clean).astype(np.float32),
            mask=np.stack(masks),
            meta=pd.DataFrame(rows, columns=columns),
        )
    data["description"] = (
        "BrainWeb-style simulation on the MNI152 2009a template (nilearn): "
        f"modalities {modalities}, noise {list(levels['noise_levels'])}% "
        f"(test {list(levels['test_noise_levels'])}%), RF {list(rf_levels)}%, axis {axis}, "
        f"slice blocks {tuple(block_sizes)} with gaps of {gap} slices."
    )
    return data
