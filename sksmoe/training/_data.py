"""Training patches and validation images."""

import json
from functools import cache

import numpy as np
from sklearn.utils import Bunch

CONTRASTS = ("T1", "T2", "PD", "MNI-T1")
VALIDATION_LEVELS = (1, 3, 5, 7, 9)
#: What :func:`real_validation_set` holds, as model cards say it.
REAL_VALIDATION = "the ten real dipy b=0 slices (sksmoe.training.real_validation_set)"


class SeededSampler:
    """A sampler whose random state a checkpoint saves and restores (``self.rng``)."""

    def state(self):
        """Generator state, for checkpoints."""
        return json.dumps(self.rng.bit_generator.state)

    def set_state(self, state):
        """Restore the generator state saved by :meth:`state`."""
        self.rng.bit_generator.state = json.loads(state)


class PatchSampler(SeededSampler):
    """Random (noisy, clean) training patches from the train-split slices.

    Parameters
    ----------
    patch_size : int
    noise_range : tuple of float
        Noise level drawn uniformly in this range, percent of the brightest tissue's mean.
    rf_max : float
        RF level drawn uniformly in [0, rf_max] percent.
    seed : int
    zoom_range : tuple of float
        Each patch's anatomy is resized by a factor drawn log-uniformly in this range before
        the noise is added: 0.5 draws a window twice the patch size and shrinks it, as if the
        brain were imaged at twice the template's 1 mm pixel size. ``(1, 1)``: no resizing.
    real_anatomy : sequence of str
        Real sources of :func:`sksmoe.datasets.load_real_slices` whose slices join the
        template's as clean images (their own noise, small at 1 mm, stays in the target).
    """

    def __init__(self, patch_size=48, noise_range=(0.0, 12.0), rf_max=40.0, seed=0,
                 zoom_range=(1.0, 1.0), real_anatomy=()):
        from ..datasets import load_mni152, load_real_slices, mni152_contrast, rf_field
        from ..datasets._make import mni152_slice_splits
        from ..datasets._real import _brightest_tissue_mean
        from ..nn._normalize import intensity_scale

        if not 0 < zoom_range[0] <= zoom_range[1]:
            raise ValueError(f"`zoom_range` must be (low, high) with 0 < low <= high, "
                             f"got {zoom_range}.")
        self.patch_size, self.noise_range, self.rf_max = patch_size, noise_range, rf_max
        self.zoom_range = tuple(zoom_range)
        self.rng = np.random.default_rng(seed)
        mask = load_mni152().mask
        self.images, self.references, self.masks, self.fields = [], [], [], []

        def add(image, reference, head):
            scale = intensity_scale(image)
            self.images.append(image / scale)
            self.references.append(reference / scale)
            self.masks.append(np.argwhere(head))
            # a few 40% fields per slice; a p% field is 1 + p/40 (field40 - 1)
            self.fields.append([rf_field(head.shape, 40, mask=head, random_state=self.rng)
                                for _ in range(4)])

        for contrast in CONTRASTS:
            volume, reference = mni152_contrast(contrast)
            for z in mni152_slice_splits()["train"]:
                add(volume[:, :, z], reference, mask[:, :, z])
        self.real_licenses = []
        for source in real_anatomy:
            real = load_real_slices(source)
            self.real_licenses.append(real.license)
            for image, head in zip(real.images, real.mask):
                add(image, _brightest_tissue_mean(image, head), head)

    def sample(self, batch_size):
        """Noisy and clean patches and the noise level of each.

        Returns
        -------
        noisy, clean : ndarray of float32 of shape (batch_size, 1, patch_size, patch_size)
        sigma : ndarray of float32 of shape (batch_size,)
            Noise level times a random factor of about +/- 3% (the error of
            :func:`~sksmoe.noise.estimate_sigma`, which gives it at inference).
        """
        from skimage.transform import resize

        from ..datasets import add_rician_noise, noise_sigma

        p, rng = self.patch_size, self.rng
        noisy = np.empty((batch_size, 1, p, p), np.float32)
        clean = np.empty_like(noisy)
        sigmas = np.empty(batch_size, np.float32)
        for b in range(batch_size):
            i = rng.integers(len(self.images))
            image = self.images[i]
            h, w = image.shape
            size = p
            if self.zoom_range != (1.0, 1.0):
                zoom = np.exp(rng.uniform(*np.log(self.zoom_range)))
                size = min(round(p / zoom), h, w)
            if rng.random() < 0.8:
                cy, cx = self.masks[i][rng.integers(len(self.masks[i]))]
            else:
                cy, cx = rng.integers(h), rng.integers(w)
            y0 = int(np.clip(cy - size // 2, 0, h - size))
            x0 = int(np.clip(cx - size // 2, 0, w - size))
            window = (slice(y0, y0 + size), slice(x0, x0 + size))
            field40 = self.fields[i][rng.integers(len(self.fields[i]))][window]
            rf = rng.uniform(0, self.rf_max)
            scale = rng.uniform(0.8, 1.25)
            patch = image[window] * (1 + rf / 40 * (field40 - 1)) * scale
            if size != p:
                patch = resize(patch, (p, p), order=1, anti_aliasing=size > p)
            sigma = noise_sigma(rng.uniform(*self.noise_range), self.references[i] * scale)
            k, flip = rng.integers(4), rng.random() < 0.5
            clean[b, 0] = patch = np.rot90(patch[:, ::-1] if flip else patch, k)
            noisy[b, 0] = add_rician_noise(patch, sigma, random_state=rng)
            sigmas[b] = sigma * np.exp(0.03 * rng.standard_normal())
        return noisy, clean, sigmas


@cache
def validation_set(n_slices=4, seed=0):
    """Fixed validation images: T1 and T2 validation-split slices at 1-9% noise.

    Cached, as :func:`real_validation_set` is: every run of a recipe scores on them, and
    none may modify them.

    Returns
    -------
    noisy, clean, mask, meta
        As :func:`sksmoe.datasets.make_brainweb_dataset` gives them.
    """
    from ..datasets import make_brainweb_dataset

    data = make_brainweb_dataset(("T1", "T2"), noise_levels=VALIDATION_LEVELS, rf_levels=(20,),
                                 random_state=seed).validation
    keep = data.meta.slice_index.isin(sorted(set(data.meta.slice_index))[:: 12 // n_slices])
    return data.noisy[keep], data.clean[keep], data.mask[keep], data.meta[keep]


@cache
def real_validation_set(seed=0):
    """Real validation images: the ten dipy b=0 slices (2 mm echo-planar, T2-weighted) at
    1-9% noise, which show whether a network smooths real anatomy away."""
    from ..datasets import make_real_dataset

    data = make_real_dataset("dipy-b0", VALIDATION_LEVELS, random_state=seed)
    return data.noisy, data.clean, data.mask, data.meta


def evaluate(model, noisy, clean, mask, meta):
    """Mean brain-mask PSNR of a base network at each validation noise level."""
    import torch

    from ..decomposition import Regions
    from ..metrics import psnr

    model.eval()
    denoised = []
    with torch.inference_mode():
        for image in noisy:
            context = Regions.of_image(image, np.empty((0, 4), int))  # what a network sees
            x, sigma = context.normalized()
            x = torch.from_numpy(x)[None, None]
            denoised.append((x - model(x, sigma))[0, 0].numpy() * context.scale)
    return mean_by_level(psnr(clean, np.stack(denoised), mask), meta)


def mean_by_label(scores, labels):
    """Mean of per-image ``scores`` for each label (in order of first appearance)."""
    labels = np.asarray(labels)
    return {str(label): float(scores[labels == label].mean()) for label in dict.fromkeys(labels)}


def level_labels(meta):
    """Each image's noise level in ``meta``, as a label like ``"5"``."""
    return [f"{p:g}" for p in meta.noise_percent]


def mean_by_level(scores, meta):
    """Mean of per-image ``scores`` at each noise level of ``meta``, keyed like ``"5"``."""
    return dict(sorted(mean_by_label(scores, level_labels(meta)).items(),
                       key=lambda item: float(item[0])))


def smoe_training_groups(train, noise_levels, real_anatomy=(), real_slice_step=2, seed=0):
    """The SMoE experts' training images in groups of one image size: the template split
    ``train`` (a Bunch with ``noisy`` and ``clean``), then every ``real_slice_step``-th slice
    of each real source at each noise level (with its ``license``)."""
    from ..datasets import make_real_dataset

    groups = [train]
    for source in real_anatomy:
        real = make_real_dataset(source, noise_levels, random_state=seed)
        keep = (real.meta.slice_index % real_slice_step == 0).to_numpy()
        groups.append(Bunch(noisy=real.noisy[keep], clean=real.clean[keep],
                            license=real.license))
        print(f"{keep.sum()} training images from real source {source!r}")
    return groups
