"""Figures like the paper's: error maps per method (Fig. 2-4) and expert maps (Fig. 5)."""

import numpy as np


def _grid(n, columns):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    rows = int(np.ceil(n / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(2.6 * columns, 2.9 * rows),
                             squeeze=False, layout="constrained")
    for ax in axes.ravel():
        ax.axis("off")
    return plt, fig, axes.ravel()


def error_maps(path, clean, images, mask, title, columns=5):
    """|method - clean| of each method on one slice, one colour scale, brain PSNR in titles."""
    from sksmoe.metrics import psnr

    plt, fig, axes = _grid(len(images) + 1, columns)
    axes[0].imshow(clean, cmap="gray")
    axes[0].set_title("clean", fontsize=8)
    errors = {name: np.abs(image - clean) for name, image in images.items()}
    vmax = float(np.percentile(errors.get("noisy", next(iter(errors.values()))), 99)) or 1.0
    for ax, (name, error) in zip(axes[1:], errors.items()):
        shown = ax.imshow(error, cmap="magma", vmin=0, vmax=vmax)
        ax.set_title(f"{name}\n{psnr(clean, images[name], mask):.2f} dB", fontsize=7)
    fig.colorbar(shown, ax=list(axes), shrink=0.5, label="absolute error")
    fig.suptitle(title, fontsize=9)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def expert_maps(path, image, maps, title, columns=4):
    """The expert each pixel's regions went to, per model (brain only), over the image."""
    plt, fig, axes = _grid(len(maps) + 1, columns)
    axes[0].imshow(image, cmap="gray")
    axes[0].set_title("noisy input", fontsize=8)
    inside = image > np.percentile(image, 60) * 0.3
    for ax, (name, experts) in zip(axes[1:], maps.items()):
        ax.imshow(image, cmap="gray")
        ax.imshow(np.where(inside, experts, np.nan), cmap="tab10", vmin=-0.5, vmax=9.5,
                  alpha=0.6, interpolation="nearest")
        ax.set_title(name, fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
