"""The per-image region set that flows between pipeline steps, with its image's context."""

from dataclasses import dataclass, replace

import numpy as np


def turn(array, turns, flip=False):
    """``array`` (..., H, W) flipped left-right if ``flip``, then turned ``turns`` times 90
    degrees counter-clockwise (a contiguous copy)."""
    array = array[..., ::-1] if flip else array
    return np.ascontiguousarray(np.rot90(array, turns, axes=(-2, -1)))


def unturn(array, turns, flip=False):
    """The inverse of :func:`turn`."""
    array = np.rot90(array, -turns, axes=(-2, -1))
    return np.ascontiguousarray(array[..., ::-1] if flip else array)


@dataclass(frozen=True)
class Regions:
    """The regions of one image, and what every step needs to know about that image.

    Decomposers build it with :meth:`of_image`, which computes the image's context once:
    its intensity scale, noise level and foreground. The embedding, the gate, the experts and
    the wrappers read them from here and never recompute them.

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
    scale : float
        Intensity scale (:func:`~sksmoe.nn.intensity_scale`): networks see ``image / scale``.
    sigma : float
        Estimated noise sigma (:func:`sksmoe.noise.estimate_sigma`), in the image's units.
    foreground : ndarray of shape (H, W) of bool
        The head (:func:`sksmoe.metrics.brain_mask` of ``image / scale``).
    noise_scale : float, default=1.0
        Factor on ``sigma`` for the noise level a network is told (set by
        :class:`~sksmoe.moe.NoiseScale`).
    neighbours : ndarray of shape (2 context, H, W), or None
        The neighbouring slices, nearest first (``-1, +1, -2, +2...``), for networks that
        see them (2.5-D).
    noise_map : ndarray of shape (H, W), or None
        Estimated local noise sigma (:func:`sksmoe.noise.estimate_noise_map`), in the
        image's units: what networks are told instead of ``sigma`` when given.
    """

    image: np.ndarray
    boxes: np.ndarray
    masks: np.ndarray = None
    embedding: np.ndarray = None
    scale: float = 1.0
    sigma: float = 0.0
    foreground: np.ndarray = None
    noise_scale: float = 1.0
    neighbours: np.ndarray = None
    noise_map: np.ndarray = None

    @classmethod
    def of_image(cls, image, boxes, masks=None, *, neighbours=None, noise="level"):
        """The regions ``boxes`` (and ``masks``) of ``image``, with its context computed:
        with ``noise="map"`` its noise map too (what networks are then told instead of the
        level); ``neighbours`` ride along."""
        from ..metrics import brain_mask
        from ..nn._normalize import intensity_scale
        from ..noise import estimate_noise_map, estimate_sigma

        scale, sigma = intensity_scale(image), float(estimate_sigma(image))
        foreground = brain_mask((np.asarray(image) / scale).astype(np.float32))
        noise_map = None
        if noise == "map":  # too small an image for a map: its level everywhere
            noise_map = (estimate_noise_map(image) if min(np.shape(image)) >= 16
                         else np.full(np.shape(image), sigma, np.float32))
        return cls(image=image, boxes=boxes, masks=masks, scale=scale, sigma=sigma,
                   foreground=foreground, neighbours=neighbours, noise_map=noise_map)

    def __len__(self):
        return len(self.boxes)

    def with_embedding(self, embedding):
        """A copy of these regions carrying ``embedding``."""
        return replace(self, embedding=embedding)

    def with_image(self, image):
        """A copy with another image of the same shape, the context kept (a probe of how the
        output moves with the image, as SURE needs)."""
        return replace(self, image=image)

    def with_noise_scale(self, noise_scale):
        """A copy telling networks the noise level ``sigma * noise_scale``."""
        return replace(self, noise_scale=float(noise_scale))

    def normalized(self):
        """``image / scale`` as float32, and the noise a network is told: the noise map
        (float32, (H, W)) when there is one, else the noise level, over ``scale``, times
        ``noise_scale``."""
        x = (np.asarray(self.image) / self.scale).astype(np.float32)
        if self.noise_map is None:
            return x, self.sigma / self.scale * self.noise_scale
        return x, (self.noise_map * (self.noise_scale / self.scale)).astype(np.float32)

    def slab(self, x, context):
        """``x`` (the normalised image, or a probe of it) with up to ``context`` normalised
        neighbours a side, nearest first: what a network of that context sees, (c, H, W)."""
        if not context or self.neighbours is None:
            return x[None]
        near = (np.asarray(self.neighbours[: 2 * context]) / self.scale).astype(np.float32)
        return np.concatenate([x[None], near])

    def turned(self, turns, flip=False):
        """The same regions in the image flipped left-right (if ``flip``), then turned
        ``turns`` times 90 degrees counter-clockwise (the gate's embedding is kept)."""
        height, width = self.image.shape
        r0, c0, r1, c1 = self.boxes.T.copy()
        if flip:
            c0, c1 = width - c1, width - c0
        for _ in range(turns % 4):  # (row, col) -> (width - 1 - col, row)
            r0, c0, r1, c1 = width - c1, r0, width - c0, r1
            height, width = width, height
        return replace(self, image=turn(self.image, turns, flip),
                       boxes=np.stack([r0, c0, r1, c1], axis=1),
                       masks=None if self.masks is None else turn(self.masks, turns, flip),
                       foreground=None if self.foreground is None else
                       turn(self.foreground, turns, flip),
                       neighbours=None if self.neighbours is None else
                       turn(self.neighbours, turns, flip),
                       noise_map=None if self.noise_map is None else
                       turn(self.noise_map, turns, flip))

    def crops(self, image=None):
        """Each region's pixels of ``image`` (default: the region set's image; (..., H, W)),
        zero outside the mask, as an array of shape (n_regions, ..., h, w) (boxes must
        share a size)."""
        image = self.image if image is None else image
        crops = np.stack([image[..., r0:r1, c0:c1] for r0, c0, r1, c1 in self.boxes])
        if self.masks is None:
            return crops
        return crops * self.masks.reshape(len(self.masks), *[1] * (crops.ndim - 3),
                                          *self.masks.shape[1:])

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
