"""Several base denoisers side by side, with one last layer over all their features."""

import torch
from torch import nn


class Stack(nn.Module):
    """Base denoisers whose trunk features are concatenated and read by one last layer.

    ``features`` is the members' features stacked along the channels and ``head`` a 3x3 conv
    from all of them, so SMoE experts fit one last layer that mixes the members (in closed
    form with ``fine_tune="last"``). Started with ``weights``, the head computes the weighted
    average of the members' own outputs, exactly: a conv is linear in its input channels.
    Members keep their own heads, so each one's output stays at hand.

    Parameters
    ----------
    members : sequence of nn.Module
        Base denoisers with ``features`` / ``head`` / ``assemble`` (:class:`DnCNN`,
        :class:`UNet`) and the same ``downsample``.
    weights : sequence of float, optional
        Weight of each member's output in the starting head (default: equal weights).
    """

    bias = True

    def __init__(self, members, weights=None):
        super().__init__()
        members = list(members)
        if len(members) < 2:
            raise ValueError(f"A Stack needs at least 2 members, got {len(members)}.")
        downsamples = {m.downsample for m in members}
        if len(downsamples) > 1:
            raise ValueError(f"Members work at different resolutions (downsample "
                             f"{sorted(downsamples)}); stack members of one resolution.")
        weights = [1 / len(members)] * len(members) if weights is None else list(weights)
        if len(weights) != len(members):
            raise ValueError(f"Got {len(weights)} weights for {len(members)} members.")
        contexts = {m.context for m in members}
        if len(contexts) > 1:
            raise ValueError(f"Members see different neighbouring slices (context "
                             f"{sorted(contexts)}); stack members of one context.")
        self.members = nn.ModuleList(members)
        self.context = members[0].context
        self.downsample = members[0].downsample
        self.noise_channel = any(m.noise_channel for m in members)
        self.width = sum(m.head.weight.shape[1] for m in members)
        blocks = members[0].head.weight.shape[0]
        self.head = nn.Conv2d(self.width, blocks, 3, padding=1)
        with torch.no_grad():
            self.head.weight.copy_(torch.cat([w * m.head.weight for w, m in
                                              zip(weights, members)], dim=1))
            self.head.bias.zero_()
            for w, m in zip(weights, members):
                if m.head.bias is not None:
                    self.head.bias += w * m.head.bias

    def features(self, x, sigma=None):
        """The members' features of images ``x`` concatenated along the channels; the noise
        level ``sigma`` goes to the members conditioned on it."""
        return torch.cat([m.features(x, sigma if m.noise_channel else None)
                          for m in self.members], dim=1)

    def assemble(self, out, shape):
        """Images from last-layer outputs, as the members assemble them."""
        return self.members[0].assemble(out, shape)

    def forward(self, x, sigma=None):
        """Predicted noise (residual) of the slice ``x[:, :1]``, shape (n, 1, H, W)."""
        return self.assemble(self.head(self.features(x, sigma)), x.shape)


def stack_from_state_dict(state_dict, member_from_state_dict):
    """Build a :class:`Stack` from its state dict (``members.<i>.*`` and ``head.*`` keys),
    each member built by ``member_from_state_dict`` from its own keys."""
    indices = sorted({int(k.split(".")[1]) for k in state_dict if k.startswith("members.")})
    members = [member_from_state_dict({k[len(f"members.{i}."):]: v
                                       for k, v in state_dict.items()
                                       if k.startswith(f"members.{i}.")})
               for i in indices]
    model = Stack(members)
    model.load_state_dict(state_dict)
    return model
