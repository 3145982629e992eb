"""The per-image region set that flows between pipeline steps."""

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Regions:
    """The regions of one image: the image, a box per region and, optionally, masks.

    Attributes
    ----------
    image : ndarray of shape (H, W)
        The whole noisy image (kept so that a denoiser can use full-image context).
    boxes : ndarray of shape (n_regions, 4), int
        ``(row0, col0, row1, col1)`` of each region's bounding patch, end exclusive.
    masks : ndarray of shape (n_regions, h, w) of bool, or None
        Pixels of each region inside its box (None: the whole box). All boxes of one
        region set have the same size when masks are given.
    embedding : ndarray of shape (n_regions, n_features), or None
        Set by an embedding step.
    """

    image: np.ndarray
    boxes: np.ndarray
    masks: np.ndarray = None
    embedding: np.ndarray = None

    def __len__(self):
        return len(self.boxes)

    def with_embedding(self, embedding):
        """A copy of these regions carrying ``embedding``."""
        return replace(self, embedding=embedding)

    def crops(self, image=None):
        """Each region's pixels of ``image`` (default: the region set's image), zero outside
        the mask, as an array of shape (n_regions, h, w) (boxes must share a size)."""
        image = self.image if image is None else image
        crops = np.stack([image[r0:r1, c0:c1] for r0, c0, r1, c1 in self.boxes])
        return crops if self.masks is None else crops * self.masks

    def coverage(self, labels, n_labels):
        """Per-pixel count of regions of each label, shape (n_labels, H, W)."""
        counts = np.zeros((n_labels, *self.image.shape), dtype=np.float32)
        for index, (r0, c0, r1, c1) in enumerate(self.boxes):
            counts[labels[index], r0:r1, c0:c1] += (
                1.0 if self.masks is None else self.masks[index])
        return counts

    def merge(self, crops, image=None):
        """Put region crops back in place, averaging where regions overlap.

        Pixels no region covers are taken from ``image`` (default: the region set's image).
        """
        image = self.image if image is None else image
        total = np.zeros(self.image.shape, dtype=np.float64)
        weight = np.zeros(self.image.shape, dtype=np.float64)
        for index, (r0, c0, r1, c1) in enumerate(self.boxes):
            w = 1.0 if self.masks is None else self.masks[index]
            total[r0:r1, c0:c1] += w * crops[index]
            weight[r0:r1, c0:c1] += w
        covered = weight > 0
        out = image.astype(np.float64)
        out[covered] = total[covered] / weight[covered]
        return out.astype(image.dtype)


def check_regions(X, name="X"):
    """Validate the output of a decomposer: a 1-D object array of :class:`Regions`."""
    if isinstance(X, np.ndarray) and X.dtype == object and X.ndim == 1 and len(X) and all(
            isinstance(r, Regions) for r in X):
        return X
    raise TypeError(
        f"`{name}` must be the output of a decomposer (e.g. PatchDecomposer) - a 1-D object "
        f"array of Regions, one per image; got {type(X).__name__}"
        f"{' of shape ' + str(np.shape(X)) if hasattr(X, 'shape') else ''}. "
        "Use make_pipeline(PatchDecomposer(), EmbeddingPCA(), SparseMoEDenoiser()).")


def as_object_array(items):
    """A 1-D object array holding ``items`` (one region set per image)."""
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out
