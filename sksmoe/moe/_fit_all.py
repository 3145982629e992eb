"""Fine-tuning every layer of each expert with Adam on its regions (slow; paper option)."""

import copy

import numpy as np

from ..nn._checkpoint import state_to_numpy
from ..nn._normalize import network_input


def train_experts(base, X, y, labels, n_experts, *, max_steps, learning_rate, batch_size,
                  seed, device):
    """Train a copy of ``base`` per expert on that expert's regions (batch norm frozen).

    Returns the experts' weights as numpy state dicts.
    """
    import torch

    crops, residuals, weights, owners, sigmas = [], [], [], [], []
    for regions, clean, region_labels in zip(X, y, labels):
        x, scale, sigma = network_input(regions.image, base.noise_channel)
        crops.append(regions.crops(x))
        sigmas.append(np.full(len(region_labels), np.nan if sigma is None else sigma))
        residuals.append(regions.crops((regions.image - clean) / scale))
        weights.append(np.ones_like(crops[-1]) if regions.masks is None else regions.masks)
        owners.append(region_labels)
    crops, residuals = np.concatenate(crops), np.concatenate(residuals)
    weights, owners = np.concatenate(weights).astype(np.float32), np.concatenate(owners)
    sigmas = np.concatenate(sigmas).astype(np.float32)
    generator = torch.Generator().manual_seed(seed)
    states = []
    for expert in range(n_experts):
        model = copy.deepcopy(base).to(device).eval()  # eval: batch-norm statistics frozen
        index = np.flatnonzero(owners == expert)
        if len(index):
            optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
            for _ in range(max_steps):
                pick = index[torch.randint(len(index), (min(batch_size, len(index)),),
                                           generator=generator).numpy()]
                x = torch.from_numpy(crops[pick].astype(np.float32))[:, None].to(device)
                t = torch.from_numpy(residuals[pick].astype(np.float32))[:, None].to(device)
                w = torch.from_numpy(weights[pick])[:, None].to(device)
                sigma = torch.from_numpy(sigmas[pick]) if base.noise_channel else None
                loss = (w * (model(x, sigma) - t) ** 2).sum() / w.sum().clamp(min=1)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        states.append(state_to_numpy(model))
    return states
