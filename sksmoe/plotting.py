"""Figures a person would rather look at than a table."""

from pathlib import Path

import numpy as np


def save_comparison(path, clean, images, *, mask=None, expert_map=None, n_experts=None,
                    overwrite=False):
    """Save a PNG with the clean image, each image, and each image's absolute error.

    Parameters
    ----------
    path : str or Path
        PNG file to write (atomically).
    clean : ndarray of shape (H, W)
        Reference image.
    images : dict of str to ndarray of shape (H, W)
        Images to show, e.g. ``{"noisy": noisy, "denoised": denoised}``.
    mask : ndarray of bool of shape (H, W), optional
        If given, titles show the PSNR inside the mask (e.g. the brain).
    expert_map : ndarray of int of shape (H, W), optional
        Expert of each pixel (``SparseMoEDenoiser.predict_gate``), shown under the clean image.
    n_experts : int, optional
        Number of experts of the model, for the expert map's title.
    overwrite : bool, default=False
        Replace ``path`` if it exists.

    Returns
    -------
    Path
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from .io._atomic import atomic_path
    from .metrics import psnr

    n = len(images)
    fig, axes = plt.subplots(2, n + 1, figsize=(3.2 * (n + 1), 6.6), squeeze=False,
                             layout="constrained")
    vmax = float(np.percentile(clean, 99.5))
    errors = {name: np.abs(image - clean) for name, image in images.items()}
    emax = max(float(np.percentile(e, 99.5)) for e in errors.values()) or 1.0
    axes[0, 0].imshow(clean, cmap="gray", vmin=0, vmax=vmax)
    axes[0, 0].set_title("clean")
    if expert_map is not None:
        used = np.unique(expert_map[clean > 0])
        axes[1, 0].imshow(np.where(clean > 0, expert_map, np.nan), cmap="tab10",
                          vmin=-0.5, vmax=9.5, interpolation="nearest")
        total = f" of {n_experts}" if n_experts else ""
        axes[1, 0].set_title(f"expert map ({len(used)}{total} experts in the brain)")
    for col, (name, image) in enumerate(images.items(), start=1):
        axes[0, col].imshow(image, cmap="gray", vmin=0, vmax=vmax)
        where = "brain" if mask is not None else "slice"
        axes[0, col].set_title(f"{name}\n{psnr(clean, image, mask):.2f} dB ({where})")
        shown = axes[1, col].imshow(errors[name], cmap="magma", vmin=0, vmax=emax)
        axes[1, col].set_title(f"|{name} - clean|")
    fig.colorbar(shown, ax=axes[1, -1], shrink=0.8)
    for ax in axes.ravel():
        ax.axis("off")
    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return path
