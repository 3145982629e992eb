"""Models bundled with sksmoe (trained by our own scripts; see the JSON model cards here)."""

from pathlib import Path

import numpy as np

from ..utils._validation import check_array

HERE = Path(__file__).resolve().parent
#: The SMoE Patch pipeline used by default (CLI, demo).
BUNDLED_MODEL = HERE / "smoe_patch.safetensors"


def load_pretrained(path=None):
    """Load the bundled SMoE pipeline (or a model saved with :func:`sksmoe.save`).

    Parameters
    ----------
    path : str or Path, optional
        Model file; the bundled SMoE Patch model if None.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Fitted ``PatchDecomposer -> EmbeddingPCA -> SparseMoEDenoiser``.
    """
    from .._persistence import load

    return load(BUNDLED_MODEL if path is None else path)


def denoise(images, model=None, *, batch_size=8, progress=False):
    """Denoise a slice, a stack of slices or a volume (along its last axis).

    Parameters
    ----------
    images : ndarray of shape (H, W) or (n_slices, H, W)
    model : Pipeline, optional
        A fitted pipeline; the bundled one if None.
    batch_size : int, default=8
        Slices per call to the model.
    progress : bool, default=False
        Show a progress bar over slices.

    Returns
    -------
    ndarray of the same shape, float32
    """
    from tqdm.auto import tqdm

    images = check_array(images, "images", ndim=(2, 3))
    model = load_pretrained() if model is None else model
    stack = images[None] if images.ndim == 2 else images
    out = np.empty(stack.shape, dtype=np.float32)
    starts = range(0, len(stack), batch_size)
    for start in tqdm(starts, disable=not progress, unit="batch", desc="denoising"):
        out[start:start + batch_size] = model.predict(stack[start:start + batch_size])
    return out[0] if images.ndim == 2 else out
