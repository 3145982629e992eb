"""What a run writes: the weights and one JSON model card."""

import hashlib
import json
import platform
from pathlib import Path

from ._data import REAL_VALIDATION


def describe(model):
    """One line saying what ``model`` is: a DnCNN, a U-Net, a Stack of them or a pipeline."""
    from sklearn import config_context
    from sklearn.pipeline import Pipeline

    from ..nn._stack import Stack
    from ..nn._unet import UNet

    if isinstance(model, Pipeline):
        with config_context(print_changed_only=False):
            return "SMoE pipeline: " + " -> ".join(" ".join(repr(step).split())
                                                   for _, step in model.steps)
    if isinstance(model, Stack):
        return ("Stack of " + "; ".join(map(describe, model.members))
                + ": trunk features concatenated, one last layer over all of them")
    if isinstance(model, UNet):
        text = (f"U-Net, {model.depth} scales from {model.width} channels, {model.blocks} "
                "residual blocks a scale each way, no batch norm, residual output")
    else:
        text = (f"DnCNN depth {model.depth}, width {model.width}, batch norm, residual output"
                + (f", on {model.downsample}x{model.downsample} pixel-unshuffled sub-images"
                   if model.downsample > 1 else ""))
    return (text + (", noise level (or map) as an extra input channel" if model.noise_channel
                    else "")
            + (f", {model.context} neighbouring slices a side as extra input channels"
               if model.context else ""))


def data_license(extra=(), verb="trained", note=""):
    """Licence of a model made from the MNI152 template and the ``extra`` data licences."""
    return (f"BSD-3-Clause ({verb} by sksmoe on data derived from the MNI152 template"
            + "".join(f"; and on {text}" for text in extra) + note + ")")


def validation_entries(scores, real_scores):
    """Card entries for a base network's scores (:func:`~sksmoe.training.evaluate`) on
    :func:`~sksmoe.training.validation_set` and :func:`~sksmoe.training.real_validation_set`."""
    return {"validation": "brain-mask PSNR (dB), T1+T2 validation-split slices, RF 20%",
            "validation_brain_psnr": {p: round(v, 2) for p, v in scores.items()},
            "validation_real": f"brain-mask PSNR (dB), {REAL_VALIDATION}",
            "validation_real_brain_psnr": {p: round(v, 2) for p, v in real_scores.items()}}


def save_weights(model, path):
    """Write a base network's weights to ``path`` as float16 safetensors; returns the path."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().to("cpu").half().contiguous()
               if v.is_floating_point() else v.detach().cpu().contiguous()
               for k, v in model.state_dict().items()}
    metadata = {name: str(getattr(model, name)) for name in
                ("depth", "width", "bias", "noise_channel", "downsample") if hasattr(model, name)}
    save_file(tensors, str(path), metadata={"architecture": type(model).__name__, **metadata})
    return Path(path)


def model_card(model, command, scores, weights, *, license, **facts):
    """Write the JSON model card of a fitted model beside its ``weights`` file.

    Parameters
    ----------
    model : torch.nn.Module or Pipeline
        The fitted base network, stack or SMoE pipeline (:func:`describe` says what it is).
    command : str
        The command line that made it.
    scores : dict
        Measured scores, as card entries.
    weights : Path
        The file the model was written to; the card goes beside it, with its sha256.
    license : str
    **facts
        Further entries (data, steps, CPU-hours...), in order after the command.

    Returns
    -------
    card : dict
    """
    import torch

    card = {"model": describe(model), "command": command, **facts, **scores,
            "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
            "weights": weights.name,
            "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(), "license": license}
    weights.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"wrote {weights} and {weights.with_suffix('.json')}")
    return card
