"""Torch device resolution."""

import warnings

_DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device):
    """Return "cuda" or "cpu" for ``device`` in {"auto", "cpu", "cuda", "cuda:N"}.

    "auto" picks CUDA when available. CUDA asked for on a machine without it runs on the
    CPU with a warning, so that a model fitted on a GPU predicts anywhere.
    """
    import torch

    if not isinstance(device, str) or not (device in _DEVICES or device.startswith("cuda:")):
        raise ValueError(f"`device` must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}.")
    if device == "cpu":
        return device
    if torch.cuda.is_available():
        return "cuda" if device == "auto" else device
    if device != "auto":
        warnings.warn(f"device={device!r} was asked for, but CUDA is not available here: "
                      "running on the CPU.", UserWarning, stacklevel=2)
    return "cpu"
