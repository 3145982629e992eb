"""A small residual U-Net denoiser with the same trunk / last-layer split as DnCNN."""

import torch.nn.functional as F
from torch import nn

from ._dncnn import input_layout, network_input, pad_to_multiple


class _ResBlock(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)

    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(x)))


def _stage(width, blocks):
    return nn.Sequential(*[_ResBlock(width) for _ in range(blocks)])


class UNet(nn.Module):
    """Residual U-Net that predicts the noise; the denoised image is ``y - model(y)``.

    In the spirit of DRUNet (Zhang et al. 2021), small: ``scales`` resolutions with
    ``width * 2**s`` channels at scale ``s``, ``blocks`` residual blocks (two 3x3 convs, no
    batch norm) per scale on the way down and on the way up, strided 2x2 convs down,
    transposed 2x2 convs up, skips added. A 3x3 conv one scale down reaches twice as far at
    the same cost (twice the channels on a quarter of the pixels): about 90 pixels of
    receptive field for 3 scales and 2 blocks, against 35 for a 17-layer DnCNN. ``features`` is
    the full-resolution output of the last up stage and ``head`` the last 3x3 conv, as in
    :class:`~sksmoe.nn._dncnn.DnCNN`, so that SMoE experts can share the trunk.

    Parameters
    ----------
    scales : int, default=3
        Number of resolutions (1: no down-sampling).
    width : int, default=32
        Channels at full resolution.
    blocks : int, default=2
        Residual blocks per scale on each side.
    noise_channel : bool, default=False
        Whether the noise level (a constant or a map) is an extra input channel
        (``model(y, sigma)``).
    context : int, default=0
        Neighbouring slices seen on each side (2.5-D; see
        :func:`~sksmoe.nn._dncnn.network_input`).
    """

    downsample = 1  # the last layer gives the residual at full resolution
    bias = True

    def __init__(self, scales=3, width=32, blocks=2, noise_channel=False, context=0):
        super().__init__()
        if scales < 1 or blocks < 1:
            raise ValueError(f"`scales` and `blocks` must be >= 1, got {scales}, {blocks}.")
        widths = [width * 2**s for s in range(scales)]
        self.first = nn.Conv2d(1 + 2 * context + noise_channel, width, 3, padding=1)
        self.down = nn.ModuleList(_stage(w, blocks) for w in widths[:-1])
        self.pool = nn.ModuleList(nn.Conv2d(w, 2 * w, 2, stride=2) for w in widths[:-1])
        self.bottom = _stage(widths[-1], blocks)
        self.unpool = nn.ModuleList(nn.ConvTranspose2d(2 * w, w, 2, stride=2)
                                    for w in widths[:-1])
        self.up = nn.ModuleList(_stage(w, blocks) for w in widths[:-1])
        self.head = nn.Conv2d(width, 1, 3, padding=1)
        self.depth, self.width, self.blocks = scales, width, blocks
        self.noise_channel, self.context = noise_channel, context

    def features(self, x, sigma=None):
        """Last up stage's output (n, width, H, W) for images ``x`` (n, 1 + 2 context, H, W)
        of noise level ``sigma`` (float, (n,) or a map (n, 1, H, W)); the image is padded
        to a multiple of ``2**(scales - 1)`` by repeating its edge, and the features
        cropped back."""
        h, w = x.shape[-2:]
        x = pad_to_multiple(x, 2 ** (self.depth - 1))
        x = self.first(network_input(x, sigma, self.context, self.noise_channel))
        skips = []
        for stage, pool in zip(self.down, self.pool):
            x = stage(x)
            skips.append(x)
            x = pool(x)
        x = self.bottom(x)
        for stage, unpool, skip in zip(reversed(self.up), reversed(self.unpool),
                                       reversed(skips)):
            x = stage(unpool(x) + skip)
        return x[..., :h, :w]

    def assemble(self, out, shape):
        """The last layer's output is the residual image itself."""
        return out

    def forward(self, x, sigma=None):
        """Predicted noise (residual) of the slice ``x[:, :1]``, shape (n, 1, H, W)."""
        return self.head(self.features(x, sigma))


def unet_from_state_dict(state_dict):
    """Build a :class:`UNet` whose size matches ``state_dict`` (our key names) and load it."""
    width, channels = state_dict["first.weight"].shape[:2]
    scales = 1 + len({k.split(".")[1] for k in state_dict if k.startswith("pool.")})
    blocks = len({k.split(".")[1] for k in state_dict if k.startswith("bottom.")})
    noise_channel, context = input_layout(channels)
    model = UNet(scales, width, blocks, noise_channel=noise_channel, context=context)
    model.load_state_dict(state_dict)
    return model
