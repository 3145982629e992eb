"""Fit the SMoE pipeline on a base network: experts for several k, the best on validation."""

import time

import numpy as np

from ._data import REAL_VALIDATION, level_labels, mean_by_label, smoe_training_groups


def decompose(steps, groups):
    """Region sets of every image of ``groups`` (stacks of different sizes) by the fitted
    decomposer (and embedding) ``steps``, as one object array, and the clean images as a
    list: ``X, y`` for :meth:`~sksmoe.moe.SparseMoEDenoiser.fit`."""
    return (np.concatenate([steps.transform(group.noisy) for group in groups]),
            [image for group in groups for image in group.clean])


def scores(denoised, clean, mask, labels):
    """Mean brain-mask PSNR of ``denoised`` and its mean for each label (noise level, or
    protocol and level), rounded; with ``mask=None``, whole-image PSNR."""
    from ..metrics import psnr

    values = psnr(clean, denoised, mask)
    return (round(float(values.mean()), 3),
            {label: round(v, 3) for label, v in mean_by_label(values, labels).items()})


def training_and_validation(args):
    """The experts' training groups (:func:`decompose`'s), the validation images (a Bunch:
    ``noisy``, ``clean``, ``mask``, ``labels``) and the data's description: 2-D template
    and real slices under Rician noise, or rows of slices under every noise protocol for a
    base that sees ``args.context`` neighbours."""
    from sklearn.utils import Bunch

    from ..datasets import make_brainweb_dataset
    from ..decomposition._neighbours import in_slice_order
    from ._slabs import SLAB_VALIDATION, slab_training_groups, slab_validation_set

    if args.context:
        groups = slab_training_groups(args.context, args.modalities, args.noise_levels,
                                      args.slice_step, args.real_anatomy,
                                      args.real_slice_step, args.seed)
        noisy, clean, mask, _, labels = slab_validation_set(args.context)
        return groups, Bunch(noisy=in_slice_order(noisy), clean=clean, mask=mask,
                             labels=labels), (
            f"Rows of {1 + 2 * args.context} slices: every {args.slice_step}th train-split "
            f"slice of the MNI152 2009a template (nilearn) in {list(args.modalities)} with its "
            f"neighbours, RF 0-40%, noise {list(args.noise_levels)}% by protocol in turn "
            "(uniform, smooth map, SENSE g-factors); validation: T1 and T2 validation-split "
            f"rows at {[' '.join(map(str, key)) for key in SLAB_VALIDATION]}.")
    data = make_brainweb_dataset(args.modalities, noise_levels=args.noise_levels,
                                 slice_step=args.slice_step, random_state=args.seed)
    groups = smoe_training_groups(data.train, args.noise_levels, args.real_anatomy,
                                  args.real_slice_step, args.seed)
    val = data.validation
    return groups, Bunch(noisy=val.noisy, clean=val.clean, mask=val.mask,
                         labels=level_labels(val.meta)), data.description


def fit_smoe(args):
    """Fit SMoE Patch pipelines for several k on a base, keep the best on validation, score
    it with the preset's wrappers (:class:`~sksmoe.moe.SelfEnsemble`,
    :class:`~sksmoe.moe.NoiseScale`) and save the plain fitted pipeline."""
    from sklearn.pipeline import make_pipeline

    from .._persistence import save
    from ..decomposition import PatchDecomposer, SliceNeighbours
    from ..embedding import EmbeddingPCA
    from ..metrics import brain_mask
    from ..moe import NoiseScale, SelfEnsemble, SparseMoEDenoiser
    from ..nn._checkpoint import BUNDLED_BASE
    from ._cards import data_license, model_card
    from ._data import real_validation_set

    start = time.perf_counter()
    groups, val, description = training_and_validation(args)
    decomposer = PatchDecomposer().fit(groups[0].noisy)
    X, y = decompose(decomposer, groups)
    # one expert needs no gate, so no embedding
    embedding = [EmbeddingPCA()] if max(args.n_experts) > 1 else []
    X = embedding[0].fit_transform(X) if embedding else X
    fit_params = {"foreground": [brain_mask(clean) for clean in y]} if args.foreground_only else {}
    print(f"{len(X)} training and {len(val.noisy)} validation images")
    features = make_pipeline(decomposer, *embedding)
    real_noisy, real_clean, real_mask, real_meta = real_validation_set()
    real = (real_clean, real_mask, level_labels(real_meta))
    val_X, real_X = features.transform(val.noisy), features.transform(real_noisy)
    print(f"decomposition and embedding: {time.perf_counter() - start:.0f} s")
    base = "bundled" if args.base.resolve() == BUNDLED_BASE else str(args.base)
    results, models = {}, {}
    for k in args.n_experts:
        tic = time.perf_counter()
        models[k] = SparseMoEDenoiser(n_experts=k, noise_bands=args.noise_bands, base=base,
                                      fine_tune=args.fine_tune, random_state=args.seed).fit(
            X, y, **fit_params)
        denoised = models[k].predict(val_X)
        mean, by_level = scores(denoised, val.clean, val.mask, val.labels)
        whole, whole_by_level = scores(denoised, val.clean, None, val.labels)
        results[k] = {"val_brain_psnr_mean": mean, "val_brain_psnr": by_level,
                      "val_psnr_mean": whole, "val_psnr": whole_by_level,
                      "fit_seconds": round(time.perf_counter() - tic, 1)}
        print(f"k={k}: validation brain PSNR {mean:.3f} dB {by_level}, whole-slice "
              f"{whole:.3f} dB {whole_by_level} (fit {results[k]['fit_seconds']:.0f} s)")
    best = max(results, key=lambda k: results[k]["val_brain_psnr_mean"]
               + results[k]["val_psnr_mean"])  # users judge the brain and the whole head
    results[best]["val_real_brain_psnr"] = scores(models[best].predict(real_X), *real)[1]
    print(f"k={best} on real b=0: {results[best]['val_real_brain_psnr']}")

    def wrapped_scores(wrapped, **applied):
        # a wrapper of the pipeline runs its decomposer and embedding once per image, so
        # wrapping its last step on the features computed above gives the same images
        mean, by_level = scores(wrapped.predict(val_X), val.clean, val.mask, val.labels)
        real_by_level = scores(wrapped.predict(real_X), *real)[1]
        print(f"k={best} with {applied}: validation brain PSNR {mean:.3f} dB {by_level}; "
              f"real b=0 {real_by_level}")
        return {**applied, "val_brain_psnr_mean": mean, "val_brain_psnr": by_level,
                "val_real_brain_psnr": real_by_level}

    wrapped = models[best]  # k is chosen without the wrappers
    if args.self_ensemble:
        wrapped = SelfEnsemble(wrapped)
        results[best]["self_ensemble"] = wrapped_scores(wrapped, self_ensemble=True,
                                                        noise_scale=1.0)
    if args.noise_scale != 1:
        wrapped = NoiseScale(wrapped, scale=args.noise_scale)
        results[best]["noise_scale"] = wrapped_scores(
            wrapped, self_ensemble=args.self_ensemble, noise_scale=args.noise_scale)
    neighbours = [SliceNeighbours(context=args.context)] if args.context else []
    pipeline = make_pipeline(*neighbours, decomposer, *embedding, models[best])  # no wrappers
    args.out.mkdir(parents=True, exist_ok=True)
    path = save(pipeline, args.out / f"{args.name}.safetensors", overwrite=True)
    model_card(
        pipeline, args.command,
        {"validation": results,
         "validation_real": "val_real_brain_psnr: brain-mask PSNR (dB) of the chosen k on "
                            + REAL_VALIDATION},
        path, license=data_license([group.license for group in groups[1:]], verb="fitted",
                                   note="; MobileNetV2 ImageNet weights are torchvision's, "
                                        "BSD-3-Clause"),
        preset={"self_ensemble": args.self_ensemble, "noise_scale": args.noise_scale},
        foreground_only=args.foreground_only, base=args.base.name,
        data=description
             + "".join(f" Plus every {args.real_slice_step}th slice of real source {name!r} "
                       "(sksmoe.datasets.load_real_slices) at each noise level."
                       for name in args.real_anatomy)
             + f" Train {len(X)} images, validation {len(val.noisy)} images.",
        real_anatomy=args.real_anatomy, real_slice_step=args.real_slice_step,
        k_chosen_on_validation=best, modalities=args.modalities,
        noise_levels=args.noise_levels, slice_step=args.slice_step, seed=args.seed,
        context=args.context,
        wall_seconds=round(time.perf_counter() - start, 1))
    print(f"chose k={best}")
    return 0
