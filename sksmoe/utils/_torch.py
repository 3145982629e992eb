"""Torch device resolution."""

_DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device):
    """Return "cuda" or "cpu" for ``device`` in {"auto", "cpu", "cuda", "cuda:N"}.

    "auto" picks CUDA when available. A model fitted on CUDA runs on the CPU of a machine
    without CUDA: pass the stored device through this function again at predict time.
    """
    import torch

    if not isinstance(device, str) or not (device in _DEVICES or device.startswith("cuda:")):
        raise ValueError(f"`device` must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}.")
    if device == "auto" or device.startswith("cuda"):
        return device if device != "auto" and torch.cuda.is_available() else (
            "cuda" if torch.cuda.is_available() else "cpu")
    return device
