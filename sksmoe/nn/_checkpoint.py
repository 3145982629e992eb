"""Load base denoisers (DnCNN, sksmoe's U-Net or a Stack of them) from safetensors or torch
checkpoints."""

from pathlib import Path

import numpy as np

from ._dncnn import dncnn_from_state_dict
from ._stack import stack_from_state_dict
from ._unet import unet_from_state_dict

#: The base network bundled with the package (trained and stacked by ``python -m
#: sksmoe.training``).
BUNDLED_BASE = (Path(__file__).resolve().parent.parent / "pretrained"
                / "stack_ctx2_maps.safetensors")


def load_base(path):
    """Load a base denoiser, a DnCNN, sksmoe's U-Net or a Stack of them, from ``path``
    (.safetensors, or a torch .pt/.pth/.ckpt state dict), or the bundled one (``"bundled"``).

    Torch files are read with ``weights_only=True``; a dict holding the state dict under
    ``"state_dict"``, ``"model"`` or ``"params"`` is accepted too.
    """
    import torch

    bundled = isinstance(path, str) and path == "bundled"
    path = BUNDLED_BASE if bundled else Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"The bundled base network is missing: '{path}'. Reinstall sksmoe or pass a "
            "checkpoint path." if bundled else f"Base denoiser checkpoint not found: '{path}'.")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
            for key in ("state_dict", "model", "params"):
                if isinstance(state, dict) and isinstance(state.get(key), dict):
                    state = state[key]
        state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
        model = base_from_state_dict(state)
    except Exception as exc:
        raise ValueError(f"'{path}' is not a base denoiser checkpoint (expected the state "
                         f"dict of a DnCNN, conv/BatchNorm layers and a last conv to 1 "
                         f"channel, or of sksmoe's U-Net or Stack): {exc}") from exc
    return model.eval()


def state_to_numpy(model):
    """The model's state dict as float32 / int64 numpy arrays (device independent)."""
    return {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}


def model_from_numpy(state, device="cpu"):
    """Rebuild a base denoiser in eval mode from :func:`state_to_numpy` output."""
    import torch

    tensors = {k: torch.from_numpy(np.asarray(v)) for k, v in state.items()}
    return base_from_state_dict(tensors).eval().to(device)


def base_from_state_dict(state_dict):
    """A base denoiser from its state dict: a :class:`~sksmoe.nn._stack.Stack`
    (``members.*`` keys), sksmoe's U-Net (``first.*`` keys), else a DnCNN."""
    if any(k.startswith("members.") for k in state_dict):
        return stack_from_state_dict(state_dict, base_from_state_dict)
    if "first.weight" in state_dict:
        return unet_from_state_dict(state_dict)
    return dncnn_from_state_dict(state_dict)
