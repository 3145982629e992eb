"""The experts at prediction time: one shared trunk, one last layer per expert."""

import numpy as np

#: Torch trunks rebuilt from fitted numpy weights, the latest few, keyed by the weights' id
#: and the device (each entry holds its weights, so the id is not reused while cached).
_TRUNKS = {}
_MAX_TRUNKS = 4


def _trunk(state, device):
    """The base network of the numpy state dict ``state`` on ``device``, built once."""
    from ..nn._checkpoint import model_from_numpy

    key = (id(state), device)
    if key not in _TRUNKS:
        while len(_TRUNKS) >= _MAX_TRUNKS:
            _TRUNKS.pop(next(iter(_TRUNKS)))
        _TRUNKS[key] = (state, model_from_numpy(state, device))
    return _TRUNKS[key][1]


def residual_function(denoiser, device):
    """The residual of every expert of a fitted :class:`SparseMoEDenoiser`.

    Returns
    -------
    residual : callable
        ``residual(batch, sigma, expert=None)``: a batch (n, c, h, w) of slices (and their
        neighbours) and its noise level or map to every expert's residual (n, k, h, w), or
        that expert's (n, 1, h, w).
    base : torch.nn.Module
        The base network (its ``noise_channel`` and ``context`` say what it is told).
    """
    import torch
    import torch.nn.functional as F

    if denoiser.expert_states_ is not None:
        models = [_trunk(state, device) for state in denoiser.expert_states_]

        def residual(batch, sigma, expert=None):
            chosen = models if expert is None else [models[expert]]
            return torch.cat([m(batch, sigma) for m in chosen], dim=1)

        return residual, models[0]
    base = _trunk(denoiser.base_state_, device)
    heads = denoiser.heads_
    blocks = heads.shape[1]  # downsample**2 outputs per head
    weight = torch.from_numpy(heads.reshape(-1, *heads.shape[2:])).to(device)
    bias = torch.from_numpy(denoiser.head_biases_.reshape(-1)).to(device)

    def residual(batch, sigma, expert=None):
        rows = slice(None) if expert is None else slice(expert * blocks, (expert + 1) * blocks)
        out = F.conv2d(base.features(batch, sigma), weight[rows], bias[rows], padding=1)
        return base.assemble(out, batch.shape)

    return residual, base


def told_noise(sigma, device):
    """The noise level a network is told, for a batch: a float stays one; maps
    (..., h, w) become a tensor (n, 1, h, w)."""
    import torch

    if np.ndim(sigma) == 0:
        return sigma
    sigma = torch.from_numpy(np.ascontiguousarray(sigma, dtype=np.float32))
    return sigma.reshape(-1, 1, *sigma.shape[-2:]).to(device)


def mix_experts(residual, slab, sigma, weights, device):
    """Denoise the slice ``slab[0]`` (with its neighbours ``slab[1:]``) with every expert on
    the whole image, mixed per pixel by ``weights`` (n_experts, H, W): the same as
    averaging the overlapping denoised regions."""
    import torch

    batch = torch.from_numpy(slab)[None].to(device)
    residuals = residual(batch, told_noise(sigma, device))[0].cpu().numpy()
    return slab[0] - (weights * residuals).sum(axis=0)


def denoise_regions(residual, regions, labels, slab, sigma, device, batch_size=64):
    """The paper's path: each region denoised alone by its expert, then merged."""
    import torch

    crops = regions.crops(slab).astype(np.float32)
    told = sigma if np.ndim(sigma) == 0 else regions.crops(sigma)
    denoised = np.empty((len(crops), *crops.shape[2:]), np.float32)
    for expert in np.unique(labels):
        index = np.flatnonzero(labels == expert)
        for start in range(0, len(index), batch_size):
            chunk = index[start:start + batch_size]
            batch = torch.from_numpy(crops[chunk]).to(device)
            own = residual(batch, told_noise(told if np.ndim(told) == 0 else told[chunk],
                                             device), int(expert))
            denoised[chunk] = (batch[:, :1] - own)[:, 0].cpu().numpy()
    return regions.merge(denoised, image=slab[0])
