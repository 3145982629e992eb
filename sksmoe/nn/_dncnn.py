"""DnCNN (Zhang et al. 2017): a residual denoiser, split into a trunk and a last layer."""

import torch
import torch.nn.functional as F
from torch import nn


def pad_to_multiple(x, multiple):
    """Images ``x`` (n, c, H, W) padded at the bottom and right, by repeating their edge, to
    sizes that are multiples of ``multiple``."""
    pad = (0, -x.shape[3] % multiple, 0, -x.shape[2] % multiple)
    return F.pad(x, pad, mode="replicate") if any(pad) else x


def with_noise_channel(x, sigma):
    """Images ``x`` (n, c, h, w) with a constant channel ``sigma`` (float or (n,)) appended."""
    if sigma is None:
        raise ValueError("This network is conditioned on the noise level: pass `sigma`.")
    sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1, 1, 1, 1)
    return torch.cat([x, sigma.expand(len(x), 1, *x.shape[2:])], dim=1)


class DnCNN(nn.Module):
    """DnCNN that predicts the noise; the denoised image is ``y - model(y)``.

    ``conv(c -> width) + ReLU``, ``depth - 2`` x ``[conv(width -> width) + BN + ReLU]``,
    ``conv(width -> 1)``; 3x3 kernels, stride 1, padding 1. The paper's model is
    ``depth=17, width=64``. ``trunk`` is every layer but the last, ``head`` the last conv,
    so that experts can share one trunk and differ in their head.

    With ``noise_channel=True`` the network is told the noise level, as in FFDNet (Zhang
    et al. 2018): a constant extra input channel holds sigma (in the units of the image)
    and the model is called as ``model(y, sigma)``. With ``downsample=2`` the trunk works,
    as FFDNet's does, on the 4 half-resolution sub-images of the image (pixel unshuffle;
    the image is padded to even sizes by repeating its edge) and the last layer gives the 4
    sub-images of the residual: a quarter of the work per layer and twice the receptive
    field.

    Parameters
    ----------
    depth : int, default=17
        Number of conv layers.
    width : int, default=64
        Channels of the hidden layers.
    bias : bool, default=True
        Whether the convolutions have a bias (some reference checkpoints have none).
    noise_channel : bool, default=False
        Whether the noise level is an extra input channel.
    downsample : int, default=1
        Side of the pixel-unshuffle block (1: none, the paper's DnCNN; 2: FFDNet's).
    """

    def __init__(self, depth=17, width=64, bias=True, noise_channel=False, downsample=1):
        super().__init__()
        if depth < 2:
            raise ValueError(f"`depth` must be >= 2, got {depth}.")
        if downsample < 1:
            raise ValueError(f"`downsample` must be >= 1, got {downsample}.")
        blocks = downsample ** 2
        layers = [nn.Conv2d(blocks + noise_channel, width, 3, padding=1, bias=bias),
                  nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(width, width, 3, padding=1, bias=bias),
                       nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Conv2d(width, blocks, 3, padding=1, bias=bias)
        self.depth, self.width, self.bias = depth, width, bias
        self.noise_channel, self.downsample = noise_channel, downsample

    def features(self, x, sigma=None):
        """Trunk output for images ``x`` (n, 1, H, W) of noise level ``sigma`` (float or (n,)).

        Of shape (n, width, ceil(H / downsample), ceil(W / downsample)).
        """
        d = self.downsample
        if d > 1:
            x = F.pixel_unshuffle(pad_to_multiple(x, d), d)
        if self.noise_channel:
            x = with_noise_channel(x, sigma)
        return self.trunk(x)

    def assemble(self, out, shape):
        """Images (n, c, H, W) from last-layer outputs (n, c * downsample**2, h, w) of
        images of size ``shape[-2:]`` (inverse of the pixel unshuffle)."""
        if self.downsample == 1:
            return out
        return F.pixel_shuffle(out, self.downsample)[..., :shape[-2], :shape[-1]]

    def forward(self, x, sigma=None):
        """Predicted noise (residual) of ``x``, shape (n, 1, H, W)."""
        return self.assemble(self.head(self.features(x, sigma)), x.shape)


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
        blocks, width = state_dict["head.weight"].shape[:2]
        downsample = round(blocks ** 0.5)
        extra = state_dict["trunk.0.weight"].shape[1] - blocks
        if downsample ** 2 != blocks or extra not in (0, 1):
            raise ValueError(f"Unrecognised DnCNN: last layer gives {blocks} channels and the "
                             f"first takes {blocks + extra}.")
        model = DnCNN(depth=len(convs) + 1, width=width, bias="head.bias" in state_dict,
                      noise_channel=bool(extra), downsample=downsample)
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

