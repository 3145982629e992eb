"""DnCNN (Zhang et al. 2017): a residual denoiser, split into a trunk and a last layer."""

import torch
from torch import nn


class DnCNN(nn.Module):
    """DnCNN that predicts the noise; the denoised image is ``y - model(y)``.

    ``conv(c -> width) + ReLU``, ``depth - 2`` x ``[conv(width -> width) + BN + ReLU]``,
    ``conv(width -> 1)``; 3x3 kernels, stride 1, padding 1. The paper's model is
    ``depth=17, width=64``. ``trunk`` is every layer but the last, ``head`` the last conv,
    so that experts can share one trunk and differ in their head.

    With ``noise_channel=True`` the network is told the noise level, as in FFDNet (Zhang
    et al. 2018): a constant second input channel holds sigma (in the units of the image)
    and the model is called as ``model(y, sigma)``.

    Parameters
    ----------
    depth : int, default=17
        Number of conv layers.
    width : int, default=64
        Channels of the hidden layers.
    bias : bool, default=True
        Whether the convolutions have a bias (some reference checkpoints have none).
    noise_channel : bool, default=False
        Whether the noise level is a second input channel.
    """

    def __init__(self, depth=17, width=64, bias=True, noise_channel=False):
        super().__init__()
        if depth < 2:
            raise ValueError(f"`depth` must be >= 2, got {depth}.")
        layers = [nn.Conv2d(1 + noise_channel, width, 3, padding=1, bias=bias),
                  nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(width, width, 3, padding=1, bias=bias),
                       nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Conv2d(width, 1, 3, padding=1, bias=bias)
        self.depth, self.width, self.bias = depth, width, bias
        self.noise_channel = noise_channel

    def features(self, x, sigma=None):
        """Trunk output for images ``x`` (n, 1, H, W) of noise level ``sigma`` (float or (n,))."""
        if self.noise_channel:
            if sigma is None:
                raise ValueError("This DnCNN is conditioned on the noise level: pass `sigma`.")
            sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1, 1, 1, 1)
            x = torch.cat([x, sigma.expand(len(x), 1, *x.shape[2:])], dim=1)
        return self.trunk(x)

    def forward(self, x, sigma=None):
        """Predicted noise (residual) of ``x``, shape (n, 1, H, W)."""
        return self.head(self.features(x, sigma))


def dncnn_from_state_dict(state_dict):
    """Build a :class:`DnCNN` whose size matches ``state_dict`` and load it strictly.

    Accepts our own key names (``trunk.N.*``, ``head.*``) and the sequential layout of the
    reference implementations (``model.N.*`` or ``dncnn.N.*`` or ``N.*``, with conv /
    BatchNorm / ReLU entries in order), so that user checkpoints of a DnCNN load.
    """
    if not isinstance(state_dict, dict) or not state_dict:
        raise ValueError("Expected a non-empty DnCNN state dict.")
    if "head.weight" in state_dict:
        convs = sorted({int(k.split(".")[1]) for k in state_dict
                        if k.startswith("trunk.") and k.endswith("weight")
                        and state_dict[k].ndim == 4})
        width = state_dict["head.weight"].shape[1]
        model = DnCNN(depth=len(convs) + 1, width=width, bias="head.bias" in state_dict,
                      noise_channel=state_dict["trunk.0.weight"].shape[1] == 2)
        model.load_state_dict(state_dict)
        return model
    prefix = next((p for p in ("model.", "dncnn.", "module.model.", "") if
                   any(k.startswith(p) and k[len(p):].split(".")[0].isdigit()
                       for k in state_dict)), None)
    if prefix is None:
        raise ValueError("Unrecognised DnCNN state dict: no 'head.*' or numbered layer keys.")
    entries = {}
    for key, value in state_dict.items():
        index, name = key[len(prefix):].split(".", 1)
        entries.setdefault(int(index), {})[name] = value
    convs = [i for i in sorted(entries) if entries[i].get("weight") is not None
             and entries[i]["weight"].ndim == 4]
    width = entries[convs[0]]["weight"].shape[0]
    model = DnCNN(depth=len(convs), width=width, bias="bias" in entries[convs[0]])
    ours = [m for m in list(model.trunk) + [model.head]
            if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
    theirs = [entries[i] for i in sorted(entries)]
    if len(ours) != len(theirs):
        raise ValueError(f"State dict has {len(theirs)} parameterised layers; a DnCNN of depth "
                         f"{len(convs)} has {len(ours)}.")
    for module, params in zip(ours, theirs):
        module.load_state_dict(params)
    return model

