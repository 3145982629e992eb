"""Train (or resume training) a base network: a DnCNN or a small U-Net."""

from ._data import CONTRASTS, PatchSampler
from ._loop import Checkpoint, TrainState, ValidationLog, fit_loop
from ._surgery import initialise


def build_model(args):
    """The untrained network the options of ``python -m sksmoe.training base`` describe."""
    from ..nn._dncnn import DnCNN
    from ..nn._unet import UNet

    if args.arch == "unet":
        return UNet(args.scales, args.width, args.blocks, noise_channel=args.noise_channel)
    return DnCNN(args.depth, args.width, noise_channel=args.noise_channel,
                 downsample=args.downsample)


def train_base(args):
    """Train the base network of ``args`` from its checkpoint, its ``--init`` or scratch,
    then write its weights and model card."""
    import torch

    from ._cards import data_license, model_card, save_weights, validation_entries
    from ._data import real_validation_set, validation_set

    torch.set_num_threads(args.threads)
    args.workdir.mkdir(parents=True, exist_ok=True)
    sampler = PatchSampler(args.patch_size, tuple(args.noise_range), seed=args.seed,
                           zoom_range=tuple(args.zoom_range), real_anatomy=args.real_anatomy)
    checkpoint = Checkpoint(args.workdir / f"{args.name}.ckpt", args.checkpoint_every)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(args.seed)  # this run's initial weights only
        model = build_model(args)
        state = TrainState(model, torch.optim.Adam(model.parameters(), lr=args.lr), sampler)
        resumed = checkpoint.resume(state, quiet=args.export)
        if not resumed and args.export:
            raise SystemExit(f"--export: no checkpoint {checkpoint.path} to export.")
        if not resumed and args.init is not None:
            state.seconds = initialise(model, args.init)
            print(f"initialised from {args.init} ({state.seconds / 3600:.2f} CPU-hours)")
    validation = ValidationLog(args.workdir / f"{args.name}.log.jsonl", args.validate_every,
                               validation_set(), real_validation_set())
    fit_loop(state, steps=args.steps, lr=args.lr, batch_size=args.batch_size,
             floor=args.noise_weighted_loss, stop=state.step if args.export else args.until,
             threads=args.threads, callbacks=[validation, checkpoint], desc=args.name)

    args.out.mkdir(parents=True, exist_ok=True)
    weights = save_weights(model, args.out / f"{args.name}.safetensors")
    floor = args.noise_weighted_loss
    model_card(
        model, args.command, validation_entries(*validation.scores), weights,
        license=data_license(sampler.real_licenses),
        init=args.init and args.init.name,
        data="BrainWeb-style MNI152 2009a (nilearn) train-split axial slices, contrasts "
             f"{list(CONTRASTS)}, RF 0-40%, Rician noise {list(args.noise_range)}% (uniform)"
             + (f", anatomy resized by {list(args.zoom_range)} (log-uniform)"
                if tuple(args.zoom_range) != (1.0, 1.0) else "")
             + "".join(f"; plus the slices of real source {name!r} "
                       "(sksmoe.datasets.load_real_slices)" for name in args.real_anatomy),
        loss="mean squared residual error"
             + (f", patches weighted by 1 / (sigma^2 + {floor:g}^2)" if floor else ""),
        steps=state.step, batch_size=args.batch_size, patch_size=args.patch_size,
        cpu_hours=round(state.seconds / 3600, 3))
    return 0


def train_context(args):
    """Fine-tune a trained base (DnCNN, U-Net or Stack) into one that sees ``--context``
    neighbouring slices a side and is told a sigma map, from its function (the new inputs'
    weights start at zero), on slabs under uniform and non-uniform noise; resumable like
    :func:`train_base`."""
    import json

    import torch

    from ..nn._checkpoint import load_base
    from ._cards import data_license, model_card, save_weights, validation_entries
    from ._data import real_validation_set, validation_set
    from ._slabs import SlabSampler, evaluate_slabs, slab_validation_set
    from ._surgery import with_context

    torch.set_num_threads(args.threads)
    args.workdir.mkdir(parents=True, exist_ok=True)
    sampler = SlabSampler(args.context, args.patch_size, tuple(args.noise_range),
                          args.protocols, seed=args.seed, real_anatomy=args.real_anatomy)
    checkpoint = Checkpoint(args.workdir / f"{args.name}.ckpt", args.checkpoint_every)
    model = with_context(load_base(args.init), args.context)
    first = [p for name, p in model.named_parameters()
             if name.endswith(("first.weight", "trunk.0.weight"))]
    rest = [p for p in model.parameters() if all(p is not f for f in first)]
    optimizer = torch.optim.Adam([{"params": rest}, {"params": first,
                                                     "lr_factor": args.first_layer_lr_factor}],
                                 lr=args.lr)
    state = TrainState(model, optimizer, sampler)
    if not checkpoint.resume(state, quiet=args.export):
        if args.export:
            raise SystemExit(f"--export: no checkpoint {checkpoint.path} to export.")
        card = args.init.with_suffix(".json")
        hours = json.loads(card.read_text()).get("cpu_hours", 0) if card.is_file() else 0
        state.seconds = 3600 * hours
        print(f"started from {args.init} ({hours:.2f} CPU-hours)")
    slabs = slab_validation_set(args.context)
    validation = ValidationLog(args.workdir / f"{args.name}.log.jsonl", args.validate_every,
                               validation_set(), real_validation_set(),
                               extra={"val_slabs_psnr": lambda m: evaluate_slabs(m, *slabs)})
    fit_loop(state, steps=args.steps, lr=args.lr, batch_size=args.batch_size,
             floor=args.noise_weighted_loss, stop=state.step if args.export else args.until,
             threads=args.threads, callbacks=[validation, checkpoint], desc=args.name,
             frozen_batch_norm=True)

    args.out.mkdir(parents=True, exist_ok=True)
    weights = save_weights(model, args.out / f"{args.name}.safetensors")
    floor = args.noise_weighted_loss
    model_card(
        model, args.command, {**validation_entries(*validation.scores),
                              "validation_slabs": "brain-mask PSNR (dB), T1+T2 validation-"
                              "split slabs, told the estimated sigma map, by protocol and "
                              "mean level (sksmoe.training._slabs.slab_validation_set)",
                              "validation_slabs_brain_psnr": {
                                  k: round(v, 2) for k, v in
                                  validation.extra_scores["val_slabs_psnr"].items()}},
        weights, license=data_license(sampler.real_licenses), init=args.init.name,
        data="BrainWeb-style MNI152 2009a (nilearn) train-split axial slabs (a slice and "
             f"{args.context} neighbours a side), contrasts {list(CONTRASTS)}, RF 0-40%, "
             f"Rician noise of mean level {list(args.noise_range)}%, protocols "
             f"{list(args.protocols)} (sksmoe.training._slabs.SlabSampler)"
             + "".join(f"; plus the axial slabs of real source {name!r}"
                       for name in args.real_anatomy),
        loss="mean squared residual error"
             + (f", patches weighted by 1 / (sigma^2 + {floor:g}^2)" if floor else ""),
        steps=state.step, batch_size=args.batch_size, patch_size=args.patch_size,
        cpu_hours=round(state.seconds / 3600, 3))
    return 0
