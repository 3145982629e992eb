"""Pretrain base networks, stack them, then fit the bundled SMoE on the training split.

Run ``python -m sksmoe.training --help`` (a base DnCNN or U-Net),
``python -m sksmoe.training stack --help`` (bases side by side, one last layer) and
``python -m sksmoe.training smoe --help`` (SMoE experts on a base, k chosen on validation).
Training is resumable: the state is saved to ``--workdir`` every ``--checkpoint-every`` steps
and picked up again when the same command is re-run. At the end the weights are written as
float16 safetensors plus a JSON model card (the exact command, data, steps, CPU-hours and
validation PSNR).

Training data (never the validation or test slices): axial slices of the train split, in
every simulated contrast, with an RF field of a random level in 0-40%, Rician noise of a
random level drawn uniformly in ``--noise-range`` percent, random flips, rotations and
intensity scaling, patches centred on the brain 80% of the time, and optionally (``--zoom-range``)
anatomy shrunk or enlarged by a random factor, as if imaged at another pixel size.

The learning-curve log (``<workdir>/<name>.log.jsonl``) and the model card report
``cpu_hours``: the process's CPU time in training steps divided by the number of torch
threads (hours of a dedicated 2-core machine at ``--threads 2``, so that other work on the
machine does not inflate it), validation excluded, summed over resumed runs.
"""

import argparse
import hashlib
import json
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

CONTRASTS = ("T1", "T2", "PD", "MNI-T1")
VALIDATION_LEVELS = (1, 3, 5, 7, 9)


class PatchSampler:
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
        from .datasets import load_mni152, load_real_slices, mni152_contrast, rf_field
        from .datasets._real import _brightest_tissue_mean
        from .datasets._make import mni152_slice_splits
        from .nn._normalize import intensity_scale

        if not 0 < zoom_range[0] <= zoom_range[1]:
            raise ValueError(f"`zoom_range` must be (low, high) with 0 < low <= high, "
                             f"got {zoom_range}.")
        self.patch_size, self.noise_range, self.rf_max = patch_size, noise_range, rf_max
        self.zoom_range = tuple(zoom_range)
        self.rng = np.random.default_rng(seed)
        mask = load_mni152().mask
        slices = mni152_slice_splits()["train"]
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
            for z in slices:
                add(volume[:, :, z], reference, mask[:, :, z])
        self.real_licenses = []
        for source in real_anatomy:
            real = load_real_slices(source)
            self.real_licenses.append(real.license)
            for image, head in zip(real.images, real.mask):
                add(image, _brightest_tissue_mean(image, head), head)

    def state(self):
        """Generator state, for checkpoints."""
        return json.dumps(self.rng.bit_generator.state)

    def set_state(self, state):
        """Restore the generator state saved by :meth:`state`."""
        self.rng.bit_generator.state = json.loads(state)

    def sample(self, batch_size):
        """Return noisy and clean patches, float32 arrays of shape (batch, 1, p, p), and the
        noise level of each patch, shape (batch,), multiplied by a random factor of about
        +/- 3% (the error of :func:`~sksmoe.noise.estimate_sigma`, which gives it at
        inference)."""
        from skimage.transform import resize

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
            sigma = rng.uniform(*self.noise_range) / 100 * self.references[i] * scale
            k, flip = rng.integers(4), rng.random() < 0.5
            patch = np.rot90(patch[:, ::-1] if flip else patch, k)
            clean[b, 0] = patch
            noisy[b, 0] = np.hypot(patch + sigma * rng.standard_normal(patch.shape),
                                   sigma * rng.standard_normal(patch.shape))
            sigmas[b] = sigma * np.exp(0.03 * rng.standard_normal())
        return noisy, clean, sigmas


def validation_set(n_slices=4, seed=0):
    """Fixed validation images: T1 and T2 validation-split slices at 1-9% noise."""
    from .datasets import make_brainweb_dataset

    data = make_brainweb_dataset(("T1", "T2"), noise_levels=VALIDATION_LEVELS, rf_levels=(20,),
                                 random_state=seed).validation
    keep = data.meta.slice_index.isin(sorted(set(data.meta.slice_index))[:: 12 // n_slices])
    return data.noisy[keep], data.clean[keep], data.mask[keep], data.meta[keep]


def real_validation_set(seed=0):
    """Real validation images: the ten dipy b=0 slices (2 mm echo-planar, T2-weighted) at
    1-9% noise, which show whether a network smooths real anatomy away."""
    from .datasets import make_real_dataset

    data = make_real_dataset("dipy-b0", VALIDATION_LEVELS, random_state=seed)
    return data.noisy, data.clean, data.mask, data.meta


#: What :func:`real_validation_set` holds, as model cards say it.
REAL_VALIDATION = "the ten real dipy b=0 slices (sksmoe.training.real_validation_set)"


def evaluate(model, noisy, clean, mask, meta):
    """Mean brain-mask PSNR of the model at each validation noise level."""
    import torch

    from .metrics import psnr
    from .nn._normalize import network_input

    model.eval()
    denoised = []
    with torch.inference_mode():
        for image in noisy:
            x, scale, sigma = network_input(image, model.noise_channel)
            x = torch.from_numpy(x)[None, None]
            denoised.append((x - model(x, sigma))[0, 0].numpy() * scale)
    return mean_by_level(psnr(clean, np.stack(denoised), mask), meta)


def mean_by_level(scores, meta):
    """Mean of per-image ``scores`` at each noise level of ``meta``, keyed like ``"5"``."""
    levels = meta.noise_percent.to_numpy()
    return {f"{p:g}": float(scores[levels == p].mean()) for p in np.unique(levels)}


def validation_entries(scores, real_scores):
    """Model-card entries for the scores of :func:`evaluate` on :func:`validation_set` and
    :func:`real_validation_set`."""
    return {"validation": "brain-mask PSNR (dB), T1+T2 validation-split slices, RF 20%",
            "validation_brain_psnr": {p: round(v, 2) for p, v in scores.items()},
            "validation_real": f"brain-mask PSNR (dB), {REAL_VALIDATION}",
            "validation_real_brain_psnr": {p: round(v, 2) for p, v in real_scores.items()}}


def learning_rate(step, steps, peak):
    """Linear warm-up over the first 2% of the steps, then cosine decay to 1% of ``peak``.

    A function of the step alone, so a resumed run with more ``steps`` continues smoothly.
    """
    warmup = max(1, steps // 50)
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, steps - warmup))
    return float(peak * (0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * progress))))


def patch_weights(sigma, floor):
    """Loss weight of each patch, ``1 / (sigma**2 + floor**2)`` normalised to mean 1.

    A patch's squared error grows with its noise level, so an unweighted mean is ruled by
    the noisiest patches; this weighting gives the low-noise ones their share.
    """
    weights = 1 / (sigma**2 + floor**2)
    return weights / weights.mean()


def save_weights(model, path):
    """Write the model's weights as float16 safetensors; returns the sha256."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().to("cpu").half().contiguous()
               if v.is_floating_point() else v.detach().cpu().contiguous()
               for k, v in model.state_dict().items()}
    metadata = {name: str(getattr(model, name)) for name in
                ("depth", "width", "bias", "noise_channel", "downsample") if hasattr(model, name)}
    save_file(tensors, str(path), metadata={"architecture": type(model).__name__, **metadata})
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def widen(model, width, noise=0.01, seed=0):
    """The state dict of a DnCNN with ``width`` hidden channels that computes what the
    narrower DnCNN ``model`` computes: Net2WiderNet (Chen et al. 2016).

    Each new channel copies a random old one (its incoming weights, bias and batch-norm
    statistics); the next layer's weights from a copied channel are shared between its
    copies. Gaussian noise of ``noise`` times each layer's weight spread on the copies'
    incoming weights lets them learn apart.
    """
    import torch

    convs, norms = [], []  # each conv layer, and the batch norm after it if any
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Conv2d):
            convs.append(name)
            norms.append(None)
        elif isinstance(module, torch.nn.BatchNorm2d):
            norms[-1] = name
    generator = torch.Generator().manual_seed(seed)
    state = dict(model.state_dict())
    for layer, norm, following in zip(convs, norms, convs[1:]):
        old = state[f"{layer}.weight"].shape[0]
        source = torch.cat([torch.arange(old),
                            torch.randint(old, (width - old,), generator=generator)])
        copies = torch.bincount(source, minlength=old).to(state[f"{layer}.weight"].dtype)
        weight = state[f"{layer}.weight"][source].clone()
        weight[old:] += noise * weight.std() * torch.randn(weight[old:].shape,
                                                           generator=generator)
        state[f"{layer}.weight"] = weight
        keys = [f"{layer}.bias"] + ([f"{norm}.{name}" for name in
                                     ("weight", "bias", "running_mean", "running_var")]
                                    if norm else [])
        for key in keys:
            if key in state:
                state[key] = state[key][source].clone()
        state[f"{following}.weight"] = (state[f"{following}.weight"][:, source]
                                        / copies[source][None, :, None, None])
    return state


def deepen(model, blocks):
    """The state dict of a U-Net with ``blocks`` residual blocks a stage that computes what
    the shallower U-Net ``model`` computes: each stage's new blocks come after its old ones,
    their second conv at zero, so that each starts as the identity and its first conv
    (randomly initialised) can learn from the first step."""
    import torch

    from .nn._unet import UNet, _ResBlock

    deeper = UNet(model.depth, model.width, blocks, model.noise_channel)
    state = deeper.state_dict()
    state.update(model.state_dict())
    for name, module in deeper.named_modules():
        if isinstance(module, _ResBlock) and int(name.rsplit(".", 1)[1]) >= model.blocks:
            for key in (f"{name}.conv2.weight", f"{name}.conv2.bias"):
                state[key] = torch.zeros_like(state[key])
    return state


def initialise(model, path):
    """Copy the weights of the network at ``path`` into ``model`` (the same architecture);
    returns their CPU-seconds.

    A blind model can start a noise-conditioned one: the weights of the noise channel start
    at zero, so training starts from the blind model's function. A narrower DnCNN can start
    a wider one of the same depth (:func:`widen`), a U-Net with fewer blocks a deeper one
    (:func:`deepen`).
    """
    import torch

    from .nn._checkpoint import load_base
    from .nn._dncnn import DnCNN
    from .nn._unet import UNet

    narrow = load_base(path)
    if type(narrow) is not type(model):
        raise ValueError(f"--init: '{path}' holds a {type(narrow).__name__}, this run trains a "
                         f"{type(model).__name__}.")
    source = narrow.state_dict()
    if isinstance(model, DnCNN) and narrow.width < model.width:
        source = widen(narrow, model.width)
    elif isinstance(model, UNet) and narrow.blocks < model.blocks:
        source = deepen(narrow, model.blocks)
    first = "first.weight" if "first.weight" in source else "trunk.0.weight"
    if model.noise_channel and source[first].shape[1] == 1:
        source[first] = torch.cat([source[first], torch.zeros_like(source[first])], dim=1)
    model.load_state_dict(source)
    seconds = 0.0
    if path.suffix == ".ckpt":
        seconds = float(torch.load(path, weights_only=True).get("seconds", 0.0))
    return seconds


def smoe_training_groups(train, noise_levels, real_anatomy=(), real_slice_step=2, seed=0):
    """The SMoE experts' training images in groups of one image size: the template split
    ``train`` (a Bunch with ``noisy`` and ``clean``), then every ``real_slice_step``-th slice
    of each real source at each noise level (with its ``license``)."""
    from .datasets import make_real_dataset

    groups = [train]
    for source in real_anatomy:
        real = make_real_dataset(source, noise_levels, random_state=seed)
        keep = (real.meta.slice_index % real_slice_step == 0).to_numpy()
        groups.append(Bunch(noisy=real.noisy[keep], clean=real.clean[keep],
                            license=real.license))
        print(f"{keep.sum()} training images from real source {source!r}")
    return groups


def decompose(steps, groups):
    """Region sets of every image of ``groups`` (stacks of different sizes) by the fitted
    decomposer (and embedding) ``steps``, as one object array, and the clean images as a
    list: ``X, y`` for :meth:`~sksmoe.moe.SparseMoEDenoiser.fit`."""
    return (np.concatenate([steps.transform(group.noisy) for group in groups]),
            [image for group in groups for image in group.clean])


def fit_smoe(argv):
    """Fit SMoE Patch pipelines for several k on a base, keep the best on validation."""
    from sklearn.pipeline import make_pipeline

    from ._persistence import save
    from .cli import noise_scale_argument
    from .datasets import make_brainweb_dataset
    from .decomposition import PatchDecomposer
    from .embedding import EmbeddingPCA
    from .metrics import psnr
    from .moe import SparseMoEDenoiser

    parser = argparse.ArgumentParser(prog="python -m sksmoe.training smoe",
                                     description=fit_smoe.__doc__)
    parser.add_argument("--base", type=Path, required=True,
                        help="base network checkpoint (DnCNN or U-Net)")
    parser.add_argument("--n-experts", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--noise-bands", type=int, default=1,
                        help="noise bands per expert (SparseMoEDenoiser(noise_bands=...))")
    parser.add_argument("--noise-levels", type=float, nargs="+", default=[0, 1, 3, 5],
                        help="Rician noise levels of the training and validation images (%%)")
    parser.add_argument("--foreground-only", action="store_true",
                        help="fit the last layers on the head only "
                             "(SparseMoEDenoiser(foreground_only=True))")
    parser.add_argument("--self-ensemble", action="store_true",
                        help="average over flips and rotations at inference "
                             "(SparseMoEDenoiser(self_ensemble=True)); k is chosen without it")
    parser.add_argument("--noise-scale", type=noise_scale_argument, default=1.0,
                        help="scale of the estimated noise level told the base, or 'sure' "
                             "to choose it per image (SparseMoEDenoiser(noise_scale=...)); "
                             "k is chosen without it")
    parser.add_argument("--modalities", nargs="+", default=list(CONTRASTS))
    parser.add_argument("--slice-step", type=int, default=3)
    parser.add_argument("--real-anatomy", nargs="+", default=[], metavar="SOURCE",
                        help="add every --real-slice-step-th slice of these real sources of "
                             "sksmoe.datasets.load_real_slices (e.g. pydeface-t1), at each "
                             "noise level, to the training images")
    parser.add_argument("--real-slice-step", type=int, default=2)
    parser.add_argument("--name", default="smoe_patch")
    parser.add_argument("--out", type=Path, default=Path("sksmoe/pretrained"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    data = make_brainweb_dataset(args.modalities, noise_levels=args.noise_levels,
                                 slice_step=args.slice_step, random_state=args.seed)
    train, val = data.train, data.validation
    groups = smoe_training_groups(train, args.noise_levels, args.real_anatomy,
                                  args.real_slice_step, args.seed)
    decomposer, embedding = PatchDecomposer().fit(train.noisy), EmbeddingPCA()
    train_regions, train_clean = decompose(decomposer, groups)
    train_regions = embedding.fit_transform(train_regions)
    print(f"{len(train_regions)} training and {len(val.noisy)} validation images")
    features = make_pipeline(decomposer, embedding)
    val_regions = features.transform(val.noisy)
    real_noisy, real_clean, real_mask, real_meta = real_validation_set()
    real_regions = features.transform(real_noisy)
    print(f"decomposition and embedding: {time.perf_counter() - start:.0f} s")
    results, models = {}, {}

    def scores(denoiser, regions, clean, mask, meta):
        values = psnr(clean, denoiser.predict(regions), mask)
        return values.mean(), {p: round(v, 3) for p, v in mean_by_level(values, meta).items()}

    def validation_scores(denoiser):
        return scores(denoiser, val_regions, val.clean, val.mask, val.meta)

    def real_scores(denoiser):
        return scores(denoiser, real_regions, real_clean, real_mask, real_meta)[1]

    for k in args.n_experts:
        tic = time.perf_counter()
        from .nn._checkpoint import BUNDLED_BASE

        base = "bundled" if args.base.resolve() == BUNDLED_BASE else str(args.base)
        denoiser = SparseMoEDenoiser(n_experts=k, noise_bands=args.noise_bands, base=base,
                                     foreground_only=args.foreground_only,
                                     random_state=args.seed)
        denoiser.fit(train_regions, train_clean)
        fit_seconds = time.perf_counter() - tic
        mean, by_level = validation_scores(denoiser)
        results[k] = {"val_brain_psnr_mean": round(float(mean), 3),
                      "val_brain_psnr": by_level, "fit_seconds": round(fit_seconds, 1)}
        models[k] = denoiser
        print(f"k={k}: validation brain PSNR {mean:.3f} dB {by_level} "
              f"(fit {fit_seconds:.0f} s)")
    best = max(results, key=lambda k: results[k]["val_brain_psnr_mean"])
    results[best]["val_real_brain_psnr"] = real_scores(models[best])
    print(f"k={best} on real b=0: {results[best]['val_real_brain_psnr']}")
    if args.self_ensemble:
        mean, by_level = validation_scores(models[best].set_params(self_ensemble=True))
        results[best]["self_ensemble"] = {"val_brain_psnr_mean": round(float(mean), 3),
                                          "val_brain_psnr": by_level,
                                          "val_real_brain_psnr": real_scores(models[best])}
        print(f"k={best} with self-ensemble: validation brain PSNR {mean:.3f} dB {by_level}; "
              f"real b=0 {results[best]['self_ensemble']['val_real_brain_psnr']}")
    if args.noise_scale != 1:
        models[best].set_params(noise_scale=args.noise_scale)
        mean, by_level = validation_scores(models[best])
        results[best]["noise_scale"] = {"noise_scale": args.noise_scale,
                                        "self_ensemble": args.self_ensemble,
                                        "val_brain_psnr_mean": round(float(mean), 3),
                                        "val_brain_psnr": by_level,
                                        "val_real_brain_psnr": real_scores(models[best])}
        print(f"k={best} with noise_scale={args.noise_scale!r}: validation brain PSNR "
              f"{mean:.3f} dB {by_level}; real b=0 "
              f"{results[best]['noise_scale']['val_real_brain_psnr']}")
    pipeline = make_pipeline(*[step for _, step in features.steps], models[best])
    args.out.mkdir(parents=True, exist_ok=True)
    path = save(pipeline, args.out / f"{args.name}.safetensors", overwrite=True)
    card = {
        "model": "SMoE Patch: PatchDecomposer(48, 20) -> EmbeddingPCA(mobilenet_v2, 256, "
                 f"mode='image') -> SparseMoEDenoiser(k={best}, noise_bands={args.noise_bands}, "
                 f"self_ensemble={args.self_ensemble}, noise_scale={args.noise_scale!r}, "
                 f"foreground_only={args.foreground_only}, fine_tune='last')",
        "command": "python -m sksmoe.training smoe " + " ".join(shlex.quote(a) for a in argv),
        "base": args.base.name,
        "data": f"{data.description}"
                + "".join(f" Plus every {args.real_slice_step}th slice of real source {name!r} "
                          "(sksmoe.datasets.load_real_slices) at each noise level."
                          for name in args.real_anatomy)
                + f" Train {len(train_regions)} images, validation {len(val.noisy)} images.",
        "real_anatomy": args.real_anatomy, "real_slice_step": args.real_slice_step,
        "k_chosen_on_validation": best,
        "modalities": args.modalities, "noise_levels": args.noise_levels,
        "slice_step": args.slice_step, "seed": args.seed,
        "validation": results,
        "validation_real": "val_real_brain_psnr: brain-mask PSNR (dB) of the chosen k on "
                           + REAL_VALIDATION,
        "wall_seconds": round(time.perf_counter() - start, 1),
        "machine": platform.machine(),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "license": "BSD-3-Clause (fitted by sksmoe on data derived from the MNI152 template"
                   + "".join(f"; and on {group.license}" for group in groups[1:])
                   + "; MobileNetV2 ImageNet weights are torchvision's, BSD-3-Clause)",
    }
    (args.out / f"{args.name}.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"chose k={best}; wrote {path}")
    return 0


def stack_bases(argv):
    """Stack trained base networks into one base (sksmoe.nn._stack.Stack) whose last layer
    starts as the weighted average of theirs; the SMoE experts then refit it."""
    from .nn._checkpoint import load_base
    from .nn._stack import Stack

    parser = argparse.ArgumentParser(prog="python -m sksmoe.training stack",
                                     description=stack_bases.__doc__)
    parser.add_argument("members", type=Path, nargs="+",
                        help="base weights (.safetensors), each with its model card (.json) "
                             "beside it")
    parser.add_argument("--weights", type=float, nargs="+",
                        help="weight of each member's output (default: equal)")
    parser.add_argument("--name", default="stack_base")
    parser.add_argument("--out", type=Path, default=Path("sksmoe/pretrained"))
    args = parser.parse_args(argv)
    cards = []
    for path in args.members:
        card_path = path.with_suffix(".json")
        if not card_path.is_file():
            parser.error(f"no model card '{card_path}' beside '{path}': its data and licence "
                         "are unknown")
        cards.append(json.loads(card_path.read_text()))
    model = Stack([load_base(path) for path in args.members], args.weights)
    scores = evaluate(model, *validation_set())
    real_scores = evaluate(model, *real_validation_set())
    args.out.mkdir(parents=True, exist_ok=True)
    weights = args.out / f"{args.name}.safetensors"
    digest = save_weights(model, weights)
    card = {
        "model": "Stack of " + "; ".join(card["model"] for card in cards)
                 + ": trunk features concatenated, one last layer over all of them",
        "command": "python -m sksmoe.training stack " + " ".join(shlex.quote(a) for a in argv),
        "members": [{"weights": path.name, "sha256": card.get("sha256"),
                     "command": card.get("command"), "cpu_hours": card.get("cpu_hours")}
                    for path, card in zip(args.members, cards)],
        "output_weights": args.weights or "equal",
        "cpu_hours": round(sum(card.get("cpu_hours") or 0 for card in cards), 3),
        **validation_entries(scores, real_scores),
        "weights": weights.name, "sha256": digest,
        "license": "; ".join(dict.fromkeys(card["license"] for card in cards)),
    }
    (args.out / f"{args.name}.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"validation {card['validation_brain_psnr']}; real b=0 "
          f"{card['validation_real_brain_psnr']}; wrote {weights}")
    return 0


def _lost_second_moments(optimizer_state):
    """Whether most of Adam's second moments are zero, as in the float16 checkpoints
    compacted before session 14: resuming with them takes steps up to 1 / eps too large."""
    moments = [s["exp_avg_sq"] for s in optimizer_state["state"].values()]
    zeros = sum(int((m == 0).sum()) for m in moments)
    return zeros > 0.5 * sum(m.numel() for m in moments)


def compact_checkpoint(argv):
    """Copy a training checkpoint with its floating-point tensors in 16 bits, to commit it
    (about half the size; a resumed run casts them back to float32): the weights in float16,
    Adam's moments in bfloat16, whose range is float32's (its second moments, about 1e-10,
    underflow to 0 in float16)."""
    import torch

    parser = argparse.ArgumentParser(prog="python -m sksmoe.training compact",
                                     description=compact_checkpoint.__doc__)
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--drop-optimizer", action="store_true",
                        help="leave out the Adam state (a finished run)")
    args = parser.parse_args(argv)

    def half(value, dtype):  # Adam's step counts stay exact
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            return value.to(dtype)
        if isinstance(value, dict):
            return {k: v if k == "step" else half(v, dtype) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(half(v, dtype) for v in value)
        return value

    state = torch.load(args.source, weights_only=True)
    optimizer = state.pop("optimizer", None)
    state = half(state, torch.float16)
    if optimizer is not None and not args.drop_optimizer:
        state["optimizer"] = half(optimizer, torch.bfloat16)
    torch.save(state, args.target)
    print(f"wrote {args.target}: {args.target.stat().st_size / 1e6:.1f} MB "
          f"(was {args.source.stat().st_size / 1e6:.1f} MB)")
    return 0


def main(argv=None):
    """Train (or resume training) the base network; ``smoe`` as first argument fits the
    SMoE, ``stack`` stacks trained bases, ``compact`` halves a checkpoint for committing."""
    import torch

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["smoe"]:
        return fit_smoe(argv[1:])
    if argv[:1] == ["stack"]:
        return stack_bases(argv[1:])
    if argv[:1] == ["compact"]:
        return compact_checkpoint(argv[1:])
    from tqdm import tqdm

    from .nn._dncnn import DnCNN
    from .nn._unet import UNet

    parser = argparse.ArgumentParser(prog="python -m sksmoe.training", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", default="dncnn_base", help="output file stem")
    parser.add_argument("--out", type=Path, default=Path("sksmoe/pretrained"),
                        help="folder for the final weights and model card")
    parser.add_argument("--workdir", type=Path, default=Path("outputs/training"),
                        help="folder for resumable checkpoints and the learning-curve log")
    parser.add_argument("--arch", choices=("dncnn", "unet"), default="dncnn",
                        help="dncnn: the paper's DnCNN; unet: a small residual U-Net "
                             "(sksmoe.nn._unet.UNet)")
    parser.add_argument("--depth", type=int, default=17, help="DnCNN conv layers")
    parser.add_argument("--width", type=int, default=64,
                        help="DnCNN hidden channels; U-Net channels at full resolution")
    parser.add_argument("--scales", type=int, default=3, help="U-Net resolutions")
    parser.add_argument("--blocks", type=int, default=2, help="U-Net residual blocks a scale")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--patch-size", type=int, default=48)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--noise-range", type=float, nargs=2, default=(0.0, 12.0))
    parser.add_argument("--noise-weighted-loss", type=float, metavar="FLOOR",
                        help="weight each patch's squared error by 1 / (sigma^2 + FLOOR^2), "
                             "sigma and FLOOR as fractions of the image scale (e.g. 0.02), "
                             "so low-noise patches count more; default: plain mean")
    parser.add_argument("--zoom-range", type=float, nargs=2, default=(1.0, 1.0),
                        metavar=("LOW", "HIGH"),
                        help="resize each patch's anatomy by a factor drawn log-uniformly in "
                             "[LOW, HIGH] (0.5: as if imaged at 2 mm pixels); default: none")
    parser.add_argument("--real-anatomy", nargs="+", default=[], metavar="SOURCE",
                        help="add the slices of these real sources of "
                             "sksmoe.datasets.load_real_slices (e.g. pydeface-t1) to the "
                             "training images")
    parser.add_argument("--downsample", type=int, default=1,
                        help="2: the trunk works on the 4 half-resolution sub-images (FFDNet)")
    parser.add_argument("--noise-channel", action="store_true",
                        help="condition the network on the estimated noise level (FFDNet-style)")
    parser.add_argument("--init", type=Path,
                        help="start from these weights (a run's .ckpt or .safetensors; a blind or "
                             "narrower DnCNN of the same depth is converted, keeping its "
                             "function); its CPU-hours count towards this run's")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--validate-every", type=int, default=250)
    parser.add_argument("--checkpoint-every", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--export", action="store_true",
                        help="write the weights and model card of the checkpoint as it stands "
                             "(a run in progress), without training")
    args = parser.parse_args(argv)
    if args.noise_weighted_loss is not None and not args.noise_weighted_loss > 0:
        parser.error("--noise-weighted-loss FLOOR must be positive (noise-free patches would "
                     "get an infinite weight)")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # initial weights of this script's own model only
    args.workdir.mkdir(parents=True, exist_ok=True)
    checkpoint = args.workdir / f"{args.name}.ckpt"
    log_path = args.workdir / f"{args.name}.log.jsonl"
    if args.arch == "unet":
        model = UNet(args.scales, args.width, args.blocks, noise_channel=args.noise_channel)
        description = (f"U-Net, {args.scales} scales from {args.width} channels, {args.blocks} "
                       "residual blocks a scale each way, no batch norm, residual output")
    else:
        model = DnCNN(args.depth, args.width, noise_channel=args.noise_channel,
                      downsample=args.downsample)
        description = (f"DnCNN depth {args.depth}, width {args.width}, batch norm, residual "
                       "output" + (f", on {args.downsample}x{args.downsample} pixel-unshuffled "
                                   "sub-images" if args.downsample > 1 else ""))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    sampler = PatchSampler(args.patch_size, tuple(args.noise_range), seed=args.seed,
                           zoom_range=tuple(args.zoom_range), real_anatomy=args.real_anatomy)
    step, seconds = 0, 0.0
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=True)
        model.load_state_dict(state["model"])
        if "optimizer" in state and not _lost_second_moments(state["optimizer"]):
            optimizer.load_state_dict(state["optimizer"])
        elif not args.export:  # finished runs are committed without it
            print("the checkpoint holds no usable optimizer state: Adam starts afresh")
        sampler.set_state(state["sampler"])
        step, seconds = state["step"], state["seconds"]
        print(f"resumed from {checkpoint} at step {step} ({seconds / 3600:.2f} CPU-hours)")
    elif args.export:
        raise SystemExit(f"--export: no checkpoint {checkpoint} to export.")
    elif args.init is not None:
        seconds = initialise(model, args.init)
        print(f"initialised from {args.init} ({seconds / 3600:.2f} CPU-hours)")
    val, real_val = validation_set(), real_validation_set()

    def validate():
        return evaluate(model, *val), evaluate(model, *real_val)

    def save_checkpoint():
        tmp = checkpoint.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "sampler": sampler.state(),
                    "step": step, "seconds": seconds}, tmp)
        tmp.replace(checkpoint)

    progress = tqdm(total=args.steps, initial=step, desc=args.name, unit="step")
    scores = None
    while step < args.steps and not args.export:
        model.train()
        start = time.process_time()
        noisy, clean, sigma = map(torch.from_numpy, sampler.sample(args.batch_size))
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, args.steps, args.lr)
        errors = (model(noisy, sigma) - (noisy - clean)).square().mean(dim=(1, 2, 3))
        if args.noise_weighted_loss is not None:
            errors = errors * patch_weights(sigma, args.noise_weighted_loss)
        loss = errors.mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        seconds += (time.process_time() - start) / args.threads
        step += 1
        progress.update()
        progress.set_postfix(loss=f"{loss.item():.2e}")
        if step % args.validate_every == 0 or step == args.steps:
            scores, real_scores = validate()
            entry = {"step": step, "cpu_hours": seconds / 3600, "loss": loss.item(),
                     "val_brain_psnr": scores, "val_real_psnr": real_scores}
            with log_path.open("a") as log:
                log.write(json.dumps(entry) + "\n")
            progress.write(f"step {step}: val brain PSNR " +
                           " ".join(f"{p}%={v:.2f}" for p, v in scores.items()) +
                           "; real b=0 " + " ".join(f"{v:.2f}" for v in real_scores.values()))
        if step % args.checkpoint_every == 0 or step == args.steps:
            save_checkpoint()
    progress.close()

    if scores is None:
        scores, real_scores = validate()
    args.out.mkdir(parents=True, exist_ok=True)
    weights = args.out / f"{args.name}.safetensors"
    digest = save_weights(model, weights)
    card = {
        "model": description
                 + (", noise level as an extra input channel" if args.noise_channel else ""),
        "init": args.init and args.init.name,
        "command": "python -m sksmoe.training " + " ".join(shlex.quote(a) for a in argv),
        "data": "BrainWeb-style MNI152 2009a (nilearn) train-split axial slices, contrasts "
                f"{list(CONTRASTS)}, RF 0-40%, Rician noise {list(args.noise_range)}% (uniform)"
                + (f", anatomy resized by {list(args.zoom_range)} (log-uniform)"
                   if tuple(args.zoom_range) != (1.0, 1.0) else "")
                + "".join(f"; plus the slices of real source {name!r} "
                          f"(sksmoe.datasets.load_real_slices)" for name in args.real_anatomy),
        "loss": "mean squared residual error" + (
            f", patches weighted by 1 / (sigma^2 + {args.noise_weighted_loss:g}^2)"
            if args.noise_weighted_loss is not None else ""),
        "steps": step, "batch_size": args.batch_size, "patch_size": args.patch_size,
        "cpu_hours": round(seconds / 3600, 3),
        "machine": f"{platform.machine()}, {args.threads} torch threads",
        **validation_entries(scores, real_scores),
        "weights": weights.name, "sha256": digest,
        "license": "BSD-3-Clause (trained by sksmoe on data derived from the MNI152 template"
                   + "".join(f"; and on {text}" for text in sampler.real_licenses) + ")",
    }
    (args.out / f"{args.name}.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"wrote {weights} and {weights.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
