"""Fine-tuning every layer of each expert with Adam on its regions (slow; paper option)."""

import copy

import numpy as np

from ..nn._checkpoint import state_to_numpy

#: Adam steps per expert, step size and regions per batch.
MAX_STEPS, LEARNING_RATE, BATCH_SIZE = 200, 1e-4, 16


def train_experts(base, X, y, labels, n_experts, *, seed, device):
    """Train a copy of ``base`` per expert on that expert's regions (batch norm frozen):
    :data:`MAX_STEPS` Adam steps of :data:`BATCH_SIZE` regions at :data:`LEARNING_RATE`.

    Returns the experts' weights as numpy state dicts.
    """
    import torch

    crops, residuals, weights, owners, sigmas = [], [], [], [], []
    for regions, clean, region_labels in zip(X, y, labels):
        x, sigma = regions.normalized()
        crops.append(regions.crops(regions.slab(x, base.context)))
        sigmas.append(np.full((len(region_labels), 1, 1, 1), sigma) if np.ndim(sigma) == 0
                      else regions.crops(sigma)[:, None])
        residuals.append(regions.crops((regions.image - clean) / regions.scale))
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
            optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
            for _ in range(MAX_STEPS):
                pick = index[torch.randint(len(index), (min(BATCH_SIZE, len(index)),),
                                           generator=generator).numpy()]
                x = torch.from_numpy(crops[pick].astype(np.float32)).to(device)
                t = torch.from_numpy(residuals[pick].astype(np.float32))[:, None].to(device)
                w = torch.from_numpy(weights[pick])[:, None].to(device)
                sigma = (torch.from_numpy(sigmas[pick]).to(device) if base.noise_channel
                         else None)
                loss = (w * (model(x, sigma) - t) ** 2).sum() / w.sum().clamp(min=1)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        states.append(state_to_numpy(model))
    return states
