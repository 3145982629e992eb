"""Closed-form fine-tuning of the experts' last layer on shared trunk features.

With the trunk frozen, an expert's output at pixel p is ``w . phi(p) + b`` where ``phi(p)``
is the 3x3 neighbourhood of the trunk features: fitting the last layer to the residual
``noisy - clean`` over an expert's regions is linear least squares. Each expert solves
``(A + lam I) w = b + lam w0`` with ``A = sum phi phi^T`` over pixels sampled in its regions,
``w0`` the base's last layer and ``lam = alpha * trace(A) / dim``.
"""

import numpy as np


def _sample_pixels(regions, index, n, rng, foreground=None):
    """Flat indices (in the crop of region ``index``) of ``n`` random pixels of the region,
    inside ``foreground`` (a mask of the image) if given."""
    r0, c0, r1, c1 = regions.boxes[index]
    if regions.masks is None and foreground is None:
        flat = rng.randint((r1 - r0) * (c1 - c0), size=n)
    else:
        inside = (np.ones((r1 - r0, c1 - c0), bool) if regions.masks is None
                  else regions.masks[index])
        if foreground is not None:
            inside = inside & foreground[r0:r1, c0:c1]
        inside = np.flatnonzero(inside)
        flat = inside[rng.randint(len(inside), size=n)] if len(inside) else np.zeros(0, int)
    return flat, c1 - c0


def solve_last_layers(model, X, y, labels, n_experts, *, context, alpha, pixels_per_region,
                      rng, foreground=None):
    """Least-squares last layers of ``n_experts`` experts sharing ``model``'s trunk.

    With ``foreground`` (a bool mask per image) the pixels are sampled inside it only.

    A trunk on pixel-unshuffled sub-images (``model.downsample`` d > 1) has d**2 outputs, one
    per position in a d x d block; each is its own least-squares problem on the pixels at
    that position.

    Returns
    -------
    heads : ndarray of shape (n_experts, d**2, width, 3, 3)
    biases : ndarray of shape (n_experts, d**2)
    """
    import torch
    import torch.nn.functional as F

    from ._experts import told_noise

    device = next(model.parameters()).device
    blocks, width = model.head.weight.shape[:2]
    d = model.downsample
    dim = width * 9 + 1
    normal = np.zeros((n_experts * blocks, dim, dim))
    moment = np.zeros((n_experts * blocks, dim))

    def sample(columns, feature_width, flat, box_w):
        """Features, and block position, of the pixels ``flat`` of a box ``box_w`` wide."""
        rows, cols = flat // box_w, flat % box_w
        return (columns[:, (rows // d) * feature_width + cols // d].T,
                (rows % d) * d + cols % d)

    with torch.inference_mode():
        for image_index, (regions, clean, region_labels) in enumerate(zip(X, y, labels)):
            x, sigma = regions.normalized()
            slab = regions.slab(x, model.context)
            target = ((regions.image - clean) / regions.scale).astype(np.float32)
            inside = None if foreground is None else foreground[image_index]
            phis, targets, keys = [], [], []
            if context == "image":
                features = model.features(torch.from_numpy(slab)[None].to(device),
                                          told_noise(sigma, device))
                columns = F.unfold(features, 3, padding=1)[0].cpu().numpy()  # (dim-1, h*w)
                for index, (r0, c0, _, _) in enumerate(regions.boxes):
                    flat, box_w = _sample_pixels(regions, index, pixels_per_region, rng,
                                                 inside)
                    rows, cols = r0 + flat // box_w, c0 + flat % box_w
                    phi, block = sample(columns, features.shape[3],
                                        rows * x.shape[1] + cols, x.shape[1])
                    phis.append(phi)
                    targets.append(target[rows, cols])
                    keys.append(region_labels[index] * blocks + block)
            else:
                crops = regions.crops(slab).astype(np.float32)
                told = sigma if np.ndim(sigma) == 0 else regions.crops(sigma)
                target_crops = regions.crops(target)
                for start in range(0, len(crops), 32):
                    batch = torch.from_numpy(crops[start:start + 32]).to(device)
                    features = model.features(batch, told_noise(
                        told if np.ndim(told) == 0 else told[start:start + 32], device))
                    columns = F.unfold(features, 3, padding=1).cpu().numpy()
                    for offset, cols in enumerate(columns):
                        index = start + offset
                        flat, box_w = _sample_pixels(regions, index, pixels_per_region, rng,
                                                     inside)
                        phi, block = sample(cols, features.shape[3], flat, box_w)
                        phis.append(phi)
                        targets.append(target_crops[index].ravel()[flat])
                        keys.append(region_labels[index] * blocks + block)
            phi = np.concatenate(phis).astype(np.float64)
            phi = np.hstack([phi, np.ones((len(phi), 1))])
            t = np.concatenate(targets).astype(np.float64)
            k = np.concatenate(keys)
            for key in np.unique(k):
                rows = k == key
                normal[key] += phi[rows].T @ phi[rows]
                moment[key] += phi[rows].T @ t[rows]
    base_bias = (model.head.bias.detach().cpu().numpy() if model.head.bias is not None
                 else np.zeros(blocks))
    w0 = np.hstack([model.head.weight.detach().cpu().numpy().reshape(blocks, -1),
                    base_bias[:, None]])
    solutions = np.empty((n_experts * blocks, dim))
    for key in range(n_experts * blocks):
        if normal[key, -1, -1] == 0:  # no region went to this expert
            solutions[key] = w0[key % blocks]
            continue
        lam = alpha * np.trace(normal[key]) / dim
        solutions[key] = np.linalg.solve(normal[key] + lam * np.eye(dim),
                                         moment[key] + lam * w0[key % blocks])
    heads = solutions[:, :-1].reshape(n_experts, blocks, width, 3, 3).astype(np.float32)
    biases = solutions[:, -1].reshape(n_experts, blocks).astype(np.float32)
    if model.head.bias is None:
        biases[:] = 0
    return heads, biases
