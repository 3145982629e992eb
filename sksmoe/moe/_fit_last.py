"""Closed-form fine-tuning of the experts' last layer on shared trunk features.

With the trunk frozen, an expert's output at pixel p is ``w . phi(p) + b`` where ``phi(p)``
is the 3x3 neighbourhood of the trunk features: fitting the last layer to the residual
``noisy - clean`` over an expert's regions is linear least squares. Each expert solves
``(A + lam I) w = b + lam w0`` with ``A = sum phi phi^T`` over pixels sampled in its regions,
``w0`` the base's last layer and ``lam = alpha * trace(A) / dim``.
"""

import numpy as np

from ..nn._normalize import network_input


def _sample_pixels(regions, index, n, rng):
    """Flat indices (in the crop of region ``index``) of ``n`` random pixels of the region."""
    r0, c0, r1, c1 = regions.boxes[index]
    if regions.masks is None:
        flat = rng.randint((r1 - r0) * (c1 - c0), size=n)
    else:
        inside = np.flatnonzero(regions.masks[index])
        flat = inside[rng.randint(len(inside), size=n)] if len(inside) else np.zeros(0, int)
    return flat, c1 - c0


def solve_last_layers(model, X, y, labels, n_experts, *, context, alpha, pixels_per_region,
                      rng):
    """Least-squares last layers of ``n_experts`` experts sharing ``model``'s trunk.

    Returns
    -------
    heads : ndarray of shape (n_experts, 1, width, 3, 3)
    biases : ndarray of shape (n_experts,)
    """
    import torch
    import torch.nn.functional as F

    device = next(model.parameters()).device
    width = model.head.weight.shape[1]
    dim = width * 9 + 1
    normal = np.zeros((n_experts, dim, dim))
    moment = np.zeros((n_experts, dim))
    with torch.inference_mode():
        for regions, clean, region_labels in zip(X, y, labels):
            x, scale, sigma = network_input(regions.image, model.noise_channel)
            target = ((regions.image - clean) / scale).astype(np.float32)
            phis, targets, experts = [], [], []
            if context == "image":
                features = model.features(torch.from_numpy(x)[None, None].to(device), sigma)
                columns = F.unfold(features, 3, padding=1)[0].cpu().numpy()  # (dim-1, H*W)
                width_px = x.shape[1]
                for index, (r0, c0, _, _) in enumerate(regions.boxes):
                    flat, box_w = _sample_pixels(regions, index, pixels_per_region, rng)
                    rows, cols = r0 + flat // box_w, c0 + flat % box_w
                    phis.append(columns[:, rows * width_px + cols].T)
                    targets.append(target[rows, cols])
                    experts.append(np.full(len(flat), region_labels[index]))
            else:
                crops = regions.crops(x).astype(np.float32)
                target_crops = regions.crops(target)
                for start in range(0, len(crops), 32):
                    batch = torch.from_numpy(crops[start:start + 32])[:, None].to(device)
                    columns = F.unfold(model.features(batch, sigma), 3, padding=1).cpu().numpy()
                    for offset, cols in enumerate(columns):
                        index = start + offset
                        flat, _ = _sample_pixels(regions, index, pixels_per_region, rng)
                        phis.append(cols[:, flat].T)
                        targets.append(target_crops[index].ravel()[flat])
                        experts.append(np.full(len(flat), region_labels[index]))
            phi = np.concatenate(phis).astype(np.float64)
            phi = np.hstack([phi, np.ones((len(phi), 1))])
            t = np.concatenate(targets).astype(np.float64)
            e = np.concatenate(experts)
            for expert in np.unique(e):
                rows = e == expert
                normal[expert] += phi[rows].T @ phi[rows]
                moment[expert] += phi[rows].T @ t[rows]
    w0 = np.append(model.head.weight.detach().cpu().numpy().ravel(),
                   model.head.bias.item() if model.head.bias is not None else 0.0)
    solutions = np.empty((n_experts, dim))
    for expert in range(n_experts):
        if normal[expert, -1, -1] == 0:  # no region went to this expert
            solutions[expert] = w0
            continue
        lam = alpha * np.trace(normal[expert]) / dim
        solutions[expert] = np.linalg.solve(normal[expert] + lam * np.eye(dim),
                                            moment[expert] + lam * w0)
    heads = solutions[:, :-1].reshape(n_experts, 1, width, 3, 3).astype(np.float32)
    biases = solutions[:, -1].astype(np.float32)
    if model.head.bias is None:
        biases[:] = 0
    return heads, biases
