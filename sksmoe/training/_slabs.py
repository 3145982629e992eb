"""Training and validation slabs for a network that sees neighbouring slices and a noise map."""

from functools import cache

import numpy as np

from ._data import SeededSampler, mean_by_label

#: Noise protocols of the slabs (NOISE.md): one sigma; a smooth sigma map; SENSE g-factors.
PROTOCOLS = ("uniform", "smooth", "sense")
#: Validation slabs: (protocol, mean noise level %) pairs.
SLAB_VALIDATION = tuple((p, level) for p in PROTOCOLS for level in (3, 5, 9))


def neighbours(volume, index, context, spacing=1):
    """Slice ``index`` of ``volume`` (n_slices, H, W) and its ``context`` neighbours on each
    side at ``spacing`` slices, nearest first, as (1 + 2 context, H, W) (mirrored at the
    volume's ends: :func:`~sksmoe.decomposition._neighbours.neighbour_indices`)."""
    from ..decomposition._neighbours import neighbour_indices

    return volume[np.concatenate([[index], neighbour_indices(index, len(volume), context,
                                                             spacing)])]


def estimation_errors(image, head, maps, rng, n_fields=12):
    """Fields of :func:`~sksmoe.noise.estimate_noise_map`'s relative error (estimated over
    true sigma, clipped to 0.5 .. 2) on ``image`` (clean, scaled to 1) under noise of random
    protocols (``maps``, as :func:`noise_maps` gives them, and uniform) and levels."""
    from ..datasets import add_rician_noise
    from ..noise import estimate_noise_map

    relatives = [np.ones(image.shape)] + maps["smooth"] + maps["sense"]
    fields = []
    for _ in range(n_fields):
        true = relatives[rng.integers(len(relatives))] * rng.uniform(0.02, 0.12)
        noisy = add_rician_noise(image, true, random_state=rng)
        fields.append(np.clip(estimate_noise_map(noisy) / true, 0.5, 2.0).astype(np.float32))
    return fields


def noise_maps(shape, head, rng):
    """Relative sigma maps (mean 1 over ``head``) of the non-uniform protocols for images of
    ``shape``: the BM4D lattice and random smooth fields; SENSE g-factors of 8, 16 and 32
    coils at R = 2, 3, 4."""
    from ..datasets import coil_sensitivities, sense_g_factor, smooth_noise_map

    maps = {"smooth": [smooth_noise_map(shape, "bm4d", mask=head)]
            + [smooth_noise_map(shape, "random", mask=head, random_state=rng)
               for _ in range(5)], "sense": []}
    for n_coils in (8, 16, 32):
        sensitivities = coil_sensitivities(shape, n_coils)
        for acceleration in (2, 3, 4):
            g = sense_g_factor(sensitivities, acceleration)
            maps["sense"].append(g / g[head].mean())
    return maps


def real_axial_slices(source, step=None):
    """A real volume (:func:`~sksmoe.datasets._real.real_volume`) with the indices of its
    axial slices, every one between the first and last that
    :func:`~sksmoe.datasets.load_real_slices` takes (or every ``step``-th of those it
    takes), their head masks and noise references, and its licence."""
    from ..datasets._real import _SDIST_FILES, _brightest_tissue_mean, real_volume
    from ..metrics import brain_mask

    volume, license = real_volume(source)
    axial = _SDIST_FILES[source][-1]
    centres = np.arange(axial.start, axial.stop, 1 if step is None else axial.step * step)
    heads = brain_mask(volume[centres] / volume.max())
    references = [_brightest_tissue_mean(volume[z], head) for z, head in zip(centres, heads)]
    return volume, centres, heads, references, license


class SlabSampler(SeededSampler):
    """Random patches of slabs (a slice and its neighbours), their clean slice and the sigma
    map told to the network, from the train-split slices of the template's contrasts (and
    real training volumes).

    Each patch takes the neighbours at a spacing of one slice (70%), two (20%, as in thicker
    slices), or none (10%: the noisy slice repeated, as a 2-D image is given); its anatomy
    goes under a random RF field and intensity scale, and is turned and flipped, the slab
    alike (and mirrored along the slices half the time). Its noise follows one of
    ``protocols`` at a mean level drawn uniformly in ``noise_range``, independent in every
    slice; the map told to the network is the true one times a field of the estimator's
    error (:func:`estimation_errors`, measured on the same anatomy) and a factor of about
    +/- ``map_error``, as an estimated map would be.

    Parameters
    ----------
    context : int
        Neighbours on each side.
    patch_size : int
    noise_range : tuple of float
        Mean noise level, percent of the brightest tissue's mean.
    protocols : sequence of str
        Among :data:`PROTOCOLS`, drawn with equal chance.
    rf_max : float
    seed : int
    real_anatomy : sequence of str
        Real sources with a whole volume (:func:`sksmoe.datasets._real.real_volume`) whose
        axial slices join the template's.
    map_error : float
    """

    def __init__(self, context=2, patch_size=48, noise_range=(0.0, 15.0), protocols=PROTOCOLS,
                 rf_max=40.0, seed=0, real_anatomy=(), map_error=0.03):
        from ..datasets import load_mni152, mni152_contrast, rf_field
        from ..datasets._make import mni152_slice_splits
        from ..nn._normalize import intensity_scale

        unknown = set(protocols) - set(PROTOCOLS)
        if unknown or not protocols:
            raise ValueError(f"`protocols` must be among {PROTOCOLS}, got {protocols}.")
        self.context, self.patch_size, self.noise_range = context, patch_size, noise_range
        self.protocols, self.rf_max, self.map_error = tuple(protocols), rf_max, map_error
        self.rng = np.random.default_rng(seed)
        self.sources, self.real_licenses = [], []

        def add(volume, centres, heads, references, maps=None):
            middle = heads[len(heads) // 2]
            scale = intensity_scale(volume[centres[len(centres) // 2]])
            maps = maps or noise_maps(middle.shape, middle, self.rng)
            image = volume[centres[len(centres) // 2]] / scale
            self.sources.append({
                "errors": estimation_errors(image, middle, maps, self.rng),
                "volume": volume / scale, "centres": np.asarray(centres),
                "pixels": [np.argwhere(head) for head in heads],
                "references": np.asarray(references) / scale,
                "fields": [rf_field(middle.shape, 40, mask=middle, random_state=self.rng)
                           for _ in range(4)],
                "maps": maps})

        mask = np.moveaxis(load_mni152().mask, 2, 0)
        train = mni152_slice_splits()["train"]
        for contrast in ("T1", "T2", "PD", "MNI-T1"):  # one anatomy: one set of maps
            volume, reference = mni152_contrast(contrast)
            add(np.moveaxis(volume, 2, 0), train, mask[train], [reference] * len(train),
                self.sources[0]["maps"] if self.sources else None)
        for source in real_anatomy:
            volume, centres, heads, references, license = real_axial_slices(source)
            self.real_licenses.append(license)
            add(volume, centres, heads, references)

    def sample(self, batch_size):
        """Noisy slabs, clean slices and told sigma maps.

        Returns
        -------
        noisy : ndarray of float32 of shape (batch_size, 1 + 2 context, p, p)
        clean, sigma : ndarray of float32 of shape (batch_size, 1, p, p)
        """
        from ..datasets import add_rician_noise

        p, rng, c = self.patch_size, self.rng, self.context
        noisy = np.empty((batch_size, 1 + 2 * c, p, p), np.float32)
        clean = np.empty((batch_size, 1, p, p), np.float32)
        told = np.empty_like(clean)
        for b in range(batch_size):
            source = self.sources[rng.integers(len(self.sources))]
            i = rng.integers(len(source["centres"]))
            volume, h, w = source["volume"], *source["volume"].shape[1:]
            if rng.random() < 0.8:
                cy, cx = source["pixels"][i][rng.integers(len(source["pixels"][i]))]
            else:
                cy, cx = rng.integers(h), rng.integers(w)
            y0, x0 = int(np.clip(cy - p // 2, 0, h - p)), int(np.clip(cx - p // 2, 0, w - p))
            window = (slice(y0, y0 + p), slice(x0, x0 + p))
            draw = rng.random()
            repeated = draw < 0.1
            slab = neighbours(volume, source["centres"][i], c, 2 if draw < 0.3 else 1)
            if rng.random() < 0.5:  # mirrored along the slices
                slab = slab[[0] + [k + (1 if k % 2 else -1) for k in range(1, 1 + 2 * c)]]
            field = source["fields"][rng.integers(4)][window]
            scale = rng.uniform(0.8, 1.25)
            slab = slab[:, window[0], window[1]] * (1 + rng.uniform(0, self.rf_max) / 40
                                                    * (field - 1)) * scale
            protocol = self.protocols[rng.integers(len(self.protocols))]
            relative = np.ones((p, p)) if protocol == "uniform" else (
                source["maps"][protocol][rng.integers(len(source["maps"][protocol]))][window])
            level = rng.uniform(*self.noise_range) / 100 * source["references"][i] * scale
            k, flip = rng.integers(4), rng.random() < 0.5
            slab = np.rot90(slab[..., ::-1] if flip else slab, k, axes=(1, 2))
            sigma = np.rot90(relative[:, ::-1] if flip else relative, k) * level
            noise_slices = slab[:1] if repeated else slab
            noisy[b] = add_rician_noise(noise_slices, np.broadcast_to(sigma, noise_slices.shape),
                                        random_state=rng)
            clean[b, 0] = slab[0]
            error = source["errors"][rng.integers(len(source["errors"]))][window]
            error = np.rot90(error[:, ::-1] if flip else error, k)
            told[b, 0] = sigma * error * np.exp(self.map_error * rng.standard_normal())
        return noisy, clean, told


def slab_training_groups(context, modalities, noise_levels, slice_step=6, real_anatomy=(),
                         real_slice_step=2, seed=0):
    """The SMoE experts' training rows for a base that sees neighbours, in groups of one
    image size (as :func:`~sksmoe.training.smoe_training_groups` gives 2-D images): every
    ``slice_step``-th train-split slice of the template's ``modalities`` and every
    ``real_slice_step``-th of each real volume's axial slices (those of
    :func:`~sksmoe.datasets.load_real_slices`), at each noise level, as rows in
    slice order (n, 1 + 2 context, H, W) under a random RF field (0-40%) and noise of the
    protocols in turn (uniform, a smooth map, SENSE g-factors; independent in each slice).

    Returns
    -------
    groups : list of Bunch
        ``noisy`` rows, ``clean`` slices (n, H, W), and ``license`` for the real sources.
    """
    from sklearn.utils import Bunch

    from ..datasets import add_rician_noise, load_mni152, mni152_contrast, rf_field
    from ..datasets._make import mni152_slice_splits
    from ..decomposition._neighbours import in_slice_order

    rng = np.random.default_rng(seed)

    def rows(volume, centres, heads, references, maps):
        noisy, clean = [], []
        for i, (z, head, reference) in enumerate(zip(centres, heads, references)):
            slab = neighbours(volume, z, context)
            field = rf_field(head.shape, 40, mask=head, random_state=rng)
            slab = slab * (1 + rng.uniform(0, 1) * (field - 1))
            for j, level in enumerate(noise_levels):
                protocol = PROTOCOLS[(i + j) % len(PROTOCOLS)]
                relative = (np.ones(head.shape) if protocol == "uniform" else
                            maps[protocol][rng.integers(len(maps[protocol]))])
                sigma = np.broadcast_to(level / 100 * reference * relative, slab.shape)
                noisy.append(add_rician_noise(slab, sigma, random_state=rng))
                clean.append(slab[0])
        return Bunch(noisy=in_slice_order(np.stack(noisy)).astype(np.float32),
                     clean=np.stack(clean).astype(np.float32))

    mask = np.moveaxis(load_mni152().mask, 2, 0)
    train = mni152_slice_splits()["train"][::slice_step]
    maps = noise_maps(mask[train[len(train) // 2]].shape, mask[train[len(train) // 2]], rng)
    template = [rows(np.moveaxis(volume, 2, 0), train, mask[train], [reference] * len(train),
                     maps) for volume, reference in map(mni152_contrast, modalities)]
    groups = [Bunch(noisy=np.concatenate([g.noisy for g in template]),
                    clean=np.concatenate([g.clean for g in template]))]
    for source in real_anatomy:
        volume, centres, heads, references, license = real_axial_slices(
            source, real_slice_step)
        group = rows(volume, centres, heads, references, noise_maps(heads[0].shape,
                                                                    heads[len(heads) // 2], rng))
        groups.append(Bunch(**group, license=license))
        print(f"{len(group.noisy)} training rows from real source {source!r}")
    return groups


@cache
def slab_validation_set(context, n_slices=4, seed=0):
    """Validation slabs: T1 and T2 validation-split slices with their neighbours, under each
    protocol and level of :data:`SLAB_VALIDATION` (SENSE: 8 coils, R = 3; smooth: the BM4D
    lattice; the same map in every slice), with the sigma map estimated from the noisy slice
    (:func:`~sksmoe.noise.estimate_noise_map`), as at inference.

    Returns
    -------
    noisy : ndarray (n, 1 + 2 context, H, W)
    clean, mask, estimated_map : ndarray (n, H, W)
    keys : list of str
        ``"protocol level"`` of each slab.
    """
    from ..datasets import (add_rician_noise, coil_sensitivities, load_mni152,
                            mni152_contrast, sense_g_factor, smooth_noise_map)
    from ..datasets._make import mni152_slice_splits
    from ..metrics import brain_mask
    from ..noise import estimate_noise_map

    rng = np.random.default_rng(seed)
    indices = mni152_slice_splits()["validation"]
    indices = indices[:: max(1, len(indices) // n_slices)][:n_slices]
    mask = np.moveaxis(load_mni152().mask, 2, 0)
    noisy, clean, masks, maps, keys = [], [], [], [], []
    for contrast in ("T1", "T2"):
        volume, reference = mni152_contrast(contrast)
        volume = np.moveaxis(volume, 2, 0)
        for z in indices:
            slab, head = neighbours(volume, z, context), mask[z]
            g = sense_g_factor(coil_sensitivities(head.shape, 8), 3)
            relative = {"uniform": np.ones(head.shape), "sense": g / g[head].mean(),
                        "smooth": smooth_noise_map(head.shape, "bm4d", mask=head)}
            for protocol, level in SLAB_VALIDATION:
                sigma = level / 100 * reference * relative[protocol]
                image = add_rician_noise(slab, np.broadcast_to(sigma, slab.shape),
                                         random_state=rng)
                noisy.append(image.astype(np.float32))
                clean.append(slab[0])
                masks.append(brain_mask(slab[0]))
                maps.append(estimate_noise_map(image[0]))
                keys.append(f"{protocol} {level}")
    return np.stack(noisy), np.stack(clean), np.stack(masks), np.stack(maps), keys


def evaluate_slabs(model, noisy, clean, mask, sigma_map, keys):
    """Mean brain-mask PSNR of a base network on slabs told their sigma maps, by key."""
    import torch

    from ..metrics import psnr
    from ..nn._normalize import intensity_scale

    model.eval()
    denoised = []
    with torch.inference_mode():
        for slab, told in zip(noisy, sigma_map):
            scale = intensity_scale(slab[0])
            x = torch.from_numpy(slab / scale)[None]
            sigma = torch.from_numpy(told / scale)[None, None]
            denoised.append((x[:, :1] - model(x, sigma))[0, 0].numpy() * scale)
    return mean_by_label(psnr(clean, np.stack(denoised), mask), keys)
