"""Network surgery: start a bigger network with a trained one's function, stack several."""

import json


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

    from ..nn._unet import UNet, _ResBlock

    deeper = UNet(model.depth, model.width, blocks, model.noise_channel)
    state = deeper.state_dict()
    state.update(model.state_dict())
    for name, module in deeper.named_modules():
        if isinstance(module, _ResBlock) and int(name.rsplit(".", 1)[1]) >= model.blocks:
            for key in (f"{name}.conv2.weight", f"{name}.conv2.bias"):
                state[key] = torch.zeros_like(state[key])
    return state


def with_context(model, context):
    """A copy of the base ``model`` (a DnCNN, U-Net or Stack seeing no neighbours) that
    takes ``context`` neighbouring slices on each side, computing what ``model`` computes:
    the first layer's weights from the new input channels start at zero."""
    import torch

    from ..nn._checkpoint import base_from_state_dict

    if model.context:
        raise ValueError(f"This network already sees {model.context} neighbours a side.")
    state = dict(model.state_dict())
    for key in [k for k in state if k.endswith(("first.weight", "trunk.0.weight"))]:
        weight = state[key]
        blocks = model.downsample ** 2
        extra = torch.zeros(weight.shape[0], 2 * context * blocks, *weight.shape[2:])
        state[key] = torch.cat([weight, extra.to(weight.dtype)], dim=1)
    return base_from_state_dict(state)


def initialise(model, path):
    """Copy the weights of the network at ``path`` into ``model`` (the same architecture);
    returns their CPU-seconds.

    A blind model can start a noise-conditioned one: the weights of the noise channel start
    at zero, so training starts from the blind model's function. A narrower DnCNN can start
    a wider one of the same depth (:func:`widen`), a U-Net with fewer blocks a deeper one
    (:func:`deepen`).
    """
    import torch

    from ..nn._checkpoint import load_base
    from ..nn._dncnn import DnCNN
    from ..nn._unet import UNet

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
    if path.suffix == ".ckpt":
        return float(torch.load(path, weights_only=True).get("seconds", 0.0))
    return 0.0


def stack(paths, weights=None):
    """Trained base networks side by side (:class:`sksmoe.nn._stack.Stack`), one last layer
    over all their features that starts as the ``weights``-average of their outputs."""
    from ..nn._checkpoint import load_base
    from ..nn._stack import Stack

    return Stack([load_base(path) for path in paths], weights)


def stack_bases(args):
    """Stack trained base networks into one base whose last layer starts as the weighted
    average of theirs; the SMoE experts then refit it."""
    from ._cards import model_card, save_weights, validation_entries
    from ._data import evaluate, real_validation_set, validation_set

    cards = []
    for path in args.members:
        card_path = path.with_suffix(".json")
        if not card_path.is_file():
            raise SystemExit(f"no model card '{card_path}' beside '{path}': its data and "
                             "licence are unknown")
        cards.append(json.loads(card_path.read_text()))
    model = stack(args.members, args.weights)
    scores = validation_entries(evaluate(model, *validation_set()),
                                evaluate(model, *real_validation_set()))
    args.out.mkdir(parents=True, exist_ok=True)
    weights = save_weights(model, args.out / f"{args.name}.safetensors")
    model_card(model, args.command, scores, weights,
               license="; ".join(dict.fromkeys(card["license"] for card in cards)),
               members=[{"weights": path.name, "sha256": card.get("sha256"),
                         "command": card.get("command"), "cpu_hours": card.get("cpu_hours")}
                        for path, card in zip(args.members, cards)],
               output_weights=args.weights or "equal",
               cpu_hours=round(sum(card.get("cpu_hours") or 0 for card in cards), 3))
    return 0
