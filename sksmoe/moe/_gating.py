"""Gates: which expert sees each region (one-hot, the paper's sparse gate)."""

import numpy as np


def kmeans_centers(embeddings, n_experts, seed):
    """Cluster centres of k-means on the concatenated region embeddings."""
    from sklearn.cluster import KMeans

    if len(embeddings) < n_experts:
        raise ValueError(f"k-means gating needs at least n_experts={n_experts} regions in "
                         f"fit, got {len(embeddings)}.")
    return KMeans(n_clusters=n_experts, n_init=10, random_state=seed).fit(
        embeddings).cluster_centers_.astype(np.float32)


def nearest_center(embedding, centers):
    """Index of the nearest centre for each row of ``embedding``."""
    distances = ((embedding[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
    return distances.argmin(axis=1)


def position_labels(regions, n_experts):
    """HydraNet-style gate: the left-to-right band of the head each region's centre is in.

    The head's horizontal extent comes from the image's foreground (``regions.foreground``)
    and is cut into ``n_experts`` equal bands (3: left, middle, right thirds).
    """
    columns = np.flatnonzero(regions.foreground.any(axis=0))
    left, right = (columns[0], columns[-1] + 1) if len(columns) else (0, regions.image.shape[1])
    centres = (regions.boxes[:, 1] + regions.boxes[:, 3]) / 2
    bands = np.floor(n_experts * (centres - left) / max(right - left, 1)).astype(int)
    return np.clip(bands, 0, n_experts - 1)


def region_noise(regions):
    """Noise level over intensity scale of each region: its image's estimated level, or the
    mean of the noise map over the region when the regions carry one."""
    if regions.noise_map is None:
        return np.full(len(regions), regions.sigma / regions.scale)
    total = regions.crops(regions.noise_map).sum(axis=(1, 2))
    area = (np.full(len(regions), np.prod(regions.boxes[0, 2:] - regions.boxes[0, :2]))
            if regions.masks is None else regions.masks.sum(axis=(1, 2)))
    return total / np.maximum(area, 1) / regions.scale


def noise_edges(levels, n_bands, seed):
    """Boundaries between ``n_bands`` noise bands: midpoints of 1-D k-means centres."""
    from sklearn.cluster import KMeans

    levels = np.asarray(levels, dtype=float).reshape(-1, 1)
    if len(np.unique(levels)) < n_bands:
        raise ValueError(f"noise_bands={n_bands} needs at least {n_bands} distinct noise "
                         f"levels among the regions in fit, got {len(np.unique(levels))}.")
    centres = np.sort(KMeans(n_clusters=n_bands, n_init=10, random_state=seed)
                      .fit(levels).cluster_centers_.ravel())
    return (centres[1:] + centres[:-1]) / 2
