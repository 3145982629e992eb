"""Segmentation-based decomposition: masks inside each patch, and their inverses."""

import numpy as np

from ..nn._normalize import intensity_scale
from ..utils._validation import check_positive_int
from ._patch import PatchDecomposer
from ._regions import Regions, as_object_array

BACKENDS = ("otsu", "slic")


def _label_image(image, backend, n_segments):
    """One label map per image from a classical segmenter (no weights needed)."""
    from scipy import ndimage

    x = image / intensity_scale(image)
    if backend == "otsu":
        from skimage.filters import threshold_multiotsu

        smooth = ndimage.gaussian_filter(x, 1.0)
        return np.digitize(smooth, threshold_multiotsu(smooth, classes=4))
    from skimage.segmentation import slic

    return slic(x, n_segments=n_segments, compactness=0.1, channel_axis=None,
                start_label=0)


class SAMDecomposer(PatchDecomposer):
    """Decompose images into segmented regions inside overlapping patches (SMoE Segment).

    Patches are laid out as in :class:`PatchDecomposer`. Inside each patch, a segmenter gives
    masks; each mask gives two regions, its pixels (the rest of the patch zeroed) and its
    inverse, so that every pixel of the patch belongs to exactly one region of each pair and
    merging averages overlaps exactly. A patch with no usable mask is one whole-patch region.

    The classical backends need no weights and run everywhere: ``"otsu"`` (four multi-Otsu
    intensity classes, background / CSF / GM / WM on T1) and ``"slic"`` (superpixels); both
    segment each image once and cut the label map per patch.

    Parameters
    ----------
    backend : {"otsu", "slic"}, default="otsu"
    patch_size : int, default=48
    stride : int, default=20
    max_masks : int, default=3
        Largest masks kept per patch (each gives two regions).
    min_area : int, default=32
        Masks, or inverses, smaller than this many pixels are skipped.
    n_segments : int, default=200
        Superpixels per image for ``"slic"``.
    """

    def __init__(self, backend="otsu", patch_size=48, stride=20, max_masks=3, min_area=32,
                 n_segments=200):
        self.backend = backend
        self.patch_size = patch_size
        self.stride = stride
        self.max_masks = max_masks
        self.min_area = min_area
        self.n_segments = n_segments

    def _check_params(self):
        if self.backend not in BACKENDS:
            raise ValueError(f"`backend` must be one of {BACKENDS}, got {self.backend!r}.")
        for name in ("max_masks", "min_area", "n_segments"):
            check_positive_int(getattr(self, name), name)
        super()._check_params()

    def _patch_masks(self, labels):
        """Masks of one patch's label map, largest first, both sides >= min_area."""
        values, counts = np.unique(labels, return_counts=True)
        keep = (counts >= self.min_area) & (labels.size - counts >= self.min_area)
        order = np.argsort(-counts[keep], kind="stable")[: self.max_masks]
        return [labels == v for v in values[keep][order]]

    def transform(self, X):
        """Region sets with masks, one per image (see :meth:`PatchDecomposer.transform`)."""
        self._check_params()
        X = self._check_images(X)
        patches = self._boxes(X.shape[1:])
        whole = np.ones((self.patch_size,) * 2, dtype=bool)
        out = []
        for image in X:
            label_map = _label_image(image, self.backend, self.n_segments)
            boxes, masks = [], []
            for box in patches:
                r0, c0, r1, c1 = box
                patch_masks = self._patch_masks(label_map[r0:r1, c0:c1])
                pairs = [m for mask in patch_masks for m in (mask, ~mask)] or [whole]
                boxes += [box] * len(pairs)
                masks += pairs
            out.append(Regions(image=image, boxes=np.array(boxes), masks=np.stack(masks)))
        return as_object_array(out)
