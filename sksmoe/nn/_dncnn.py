"""DnCNN (Zhang et al. 2017): a residual denoiser, split into a trunk and a last layer."""

import torch
import torch.nn.functional as F
from torch import nn


def pad_to_multiple(x, multiple):
    """Images ``x`` (n, c, H, W) padded at the bottom and right, by repeating their edge, to
    sizes that are multiples of ``multiple``."""
    pad = (0, -x.shape[3] % multiple, 0, -x.shape[2] % multiple)
    return F.pad(x, pad, mode="replicate") if any(pad) else x


def network_input(x, sigma, context=0, noise_channel=True, blocks=1, downsample=1):
    """What a network's first layer sees: images ``x`` (n, 1 + 2 context, h, w), the slice
    to denoise first and its neighbouring slices after it (``downsample`` > 1: already pixel
    unshuffled, ``blocks`` channels a slice), with the noise level inserted after the slice's
    own channels.

    ``sigma`` is a float, one per image (n,), or a map (n, 1, H, W) on the pixels of the
    original images, which is padded by repeating its edge and averaged over the
    ``downsample`` blocks to the grid of ``x``. A single slice given to a network of
    ``context`` > 0 is repeated as its own neighbours (a 2-D image has none).
    """
    slices = x.shape[1] // blocks
    if context and slices == 1:
        x = x.repeat(1, 1 + 2 * context, 1, 1)
    elif slices != 1 + 2 * context:
        raise ValueError(f"This network takes {1 + 2 * context} slices a row (the slice and "
                         f"{context} neighbours each side), got {slices}.")
    if not noise_channel:
        return x
    if sigma is None:
        raise ValueError("This network is conditioned on the noise level: pass `sigma`.")
    sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
    if sigma.ndim == 4:
        if downsample > 1:
            sigma = F.avg_pool2d(pad_to_multiple(sigma, downsample), downsample)
        pad = (0, x.shape[3] - sigma.shape[3], 0, x.shape[2] - sigma.shape[2])
        sigma = F.pad(sigma, pad, mode="replicate") if any(pad) else sigma
    else:
        sigma = sigma.reshape(-1, 1, 1, 1)
    sigma = sigma.expand(len(x), 1, *x.shape[2:])
    return torch.cat([x[:, :blocks], sigma, x[:, blocks:]], dim=1)


def input_layout(channels, blocks=1):
    """``(noise_channel, context)`` of a first layer taking ``channels`` input channels."""
    noise_channel = (channels - blocks) % (2 * blocks)
    if noise_channel not in (0, 1):
        raise ValueError(f"A first layer of {channels} input channels does not take "
                         f"{blocks} channels a slice and at most one noise channel.")
    return bool(noise_channel), (channels - blocks - noise_channel) // (2 * blocks)


class DnCNN(nn.Module):
    """DnCNN that predicts the noise; the denoised image is ``y - model(y)``.

    ``conv(c -> width) + ReLU``, ``depth - 2`` x ``[conv(width -> width) + BN + ReLU]``,
    ``conv(width -> 1)``; 3x3 kernels, stride 1, padding 1. The paper's model is
    ``depth=17, width=64``. ``trunk`` is every layer but the last, ``head`` the last conv,
    so that experts can share one trunk and differ in their head.

    With ``noise_channel=True`` the network is told the noise level, as in FFDNet (Zhang
    et al. 2018): an extra input channel holds sigma (in the units of the image), constant
    or a map, and the model is called as ``model(y, sigma)``. With ``context`` > 0 it also
    sees that many neighbouring slices on each side (2.5-D): ``y`` of shape
    (n, 1 + 2 context, H, W), the slice to denoise first (see :func:`network_input`). With
    ``downsample=2`` the trunk works, as FFDNet's does, on the 4 half-resolution sub-images
    of the image (pixel unshuffle; the image is padded to even sizes by repeating its edge)
    and the last layer gives the 4 sub-images of the residual: a quarter of the work per
    layer and twice the receptive field.

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
    context : int, default=0
        Neighbouring slices seen on each side.
    """

    def __init__(self, depth=17, width=64, bias=True, noise_channel=False, downsample=1,
                 context=0):
        super().__init__()
        if depth < 2:
            raise ValueError(f"`depth` must be >= 2, got {depth}.")
        if downsample < 1:
            raise ValueError(f"`downsample` must be >= 1, got {downsample}.")
        blocks = downsample ** 2
        channels = blocks * (1 + 2 * context) + noise_channel
        layers = [nn.Conv2d(channels, width, 3, padding=1, bias=bias),
                  nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(width, width, 3, padding=1, bias=bias),
                       nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Conv2d(width, blocks, 3, padding=1, bias=bias)
        self.depth, self.width, self.bias = depth, width, bias
        self.noise_channel, self.downsample, self.context = noise_channel, downsample, context

    def features(self, x, sigma=None):
        """Trunk output for images ``x`` (n, 1 + 2 context, H, W) of noise level ``sigma``
        (float, (n,) or a map (n, 1, H, W)); of shape (n, width, ceil(H / downsample),
        ceil(W / downsample)).
        """
        d = self.downsample
        if d > 1:
            x = F.pixel_unshuffle(pad_to_multiple(x, d), d)
        return self.trunk(network_input(x, sigma, self.context, self.noise_channel, d * d, d))

    def assemble(self, out, shape):
        """Images (n, c, H, W) from last-layer outputs (n, c * downsample**2, h, w) of
        images of size ``shape[-2:]`` (inverse of the pixel unshuffle)."""
        if self.downsample == 1:
            return out
        return F.pixel_shuffle(out, self.downsample)[..., :shape[-2], :shape[-1]]

    def forward(self, x, sigma=None):
        """Predicted noise (residual) of the slice ``x[:, :1]``, shape (n, 1, H, W)."""
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
        channels = state_dict["trunk.0.weight"].shape[1]
        if downsample ** 2 != blocks:
            raise ValueError(f"Unrecognised DnCNN: last layer gives {blocks} channels.")
        noise_channel, context = input_layout(channels, blocks)
        model = DnCNN(depth=len(convs) + 1, width=width, bias="head.bias" in state_dict,
                      noise_channel=noise_channel, downsample=downsample, context=context)
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

