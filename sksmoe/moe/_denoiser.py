"""SparseMoEDenoiser: DnCNN experts on a shared trunk, one expert per region."""

import numbers
import warnings
from os import PathLike

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ..decomposition._regions import check_regions
from ..utils._torch import resolve_device
from ..utils._validation import DEVICE, NON_NEGATIVE, POSITIVE_INT, check_array
from ._base import DenoiserMixin
from ._experts import denoise_regions, mix_experts, residual_function
from ._gating import (kmeans_centers, nearest_center, noise_edges, position_labels,
                      region_noise)

GATINGS = ("kmeans", "random", "position")
FINE_TUNES = ("last", "all", "none")
CONTEXTS = ("image", "region")


class SparseMoEDenoiser(DenoiserMixin, BaseEstimator):
    """Sparse mixture of DnCNN experts: each region is denoised by the one expert its gate picks.

    Used as the last step after a decomposer and (for k-means gating) an embedding::

        make_pipeline(PatchDecomposer(), EmbeddingPCA(), SparseMoEDenoiser(n_experts=4))

    Every expert starts from the pretrained ``base`` network (the paper's DnCNN; the bundled
    base is a DnCNN and a small U-Net side by side). With ``fine_tune="last"`` (the
    paper's default) only the last conv layer is trained, so all experts share the trunk:
    each expert's last layer is then the closed-form ridge solution of the same squared loss
    SGD would minimise, and ``predict`` runs the trunk once per image (``context="image"``)
    and mixes the experts' last layers per pixel with the fraction of covering regions each
    expert owns (equal to averaging the overlapping denoised regions).

    Per-image quantities (intensity scale, noise level, foreground) come with the regions
    from the decomposer (:class:`~sksmoe.decomposition.Regions`). Wrappers add what the
    paper does not: :class:`SelfEnsemble` (average over flips and rotations) and
    :class:`NoiseScale` (tell a noise-conditioned base a scaled noise level, or choose the
    scale per image by SURE).

    Parameters
    ----------
    n_experts : int, default=4
        Number of experts k (the paper finds 4 best for patches).
    gating : {"kmeans", "random", "position"}, default="kmeans"
        ``"kmeans"``: the paper's gate, k-means on the region embeddings; ``"random"``: a
        random expert per region; ``"position"``: HydraNet-style left-to-right bands of the
        head (``n_experts=3`` gives left / middle / right thirds). With ``n_experts=1``
        every region goes to the one expert and no embedding is needed.
    noise_bands : int, default=1
        Beyond the paper: split every expert into this many copies, one per band of noise
        level over intensity scale (bands from 1-D k-means on the training regions), each
        fitted on its band only: a region's band is its image's estimated level, or with a
        noise map (``PatchDecomposer(noise="map")``) the map's mean over the region, so
        the gate routes regions by local noise. ``n_experts * noise_bands`` last layers in
        all.
    base : "bundled" or path, default="bundled"
        Pretrained network the experts start from: the model bundled with sksmoe, or a
        checkpoint path of a DnCNN, sksmoe's U-Net or a stack of them (our .safetensors or
        a torch state dict, read with ``weights_only=True``).
    fine_tune : {"last", "all", "none"}, default="last"
        Train the last layer only (closed form), every layer (Adam, 200 steps of 16 regions
        at 1e-4 per expert: slow), or nothing (every expert is the base: the paper's
        untuned DnCNN baseline).
    context : {"image", "region"}, default="image"
        ``"image"``: the trunk sees the whole image (fast, one trunk pass per image);
        ``"region"``: each region is denoised on its own, as in the paper (slower by the
        patch overlap, about 5.8x for 48-pixel patches at stride 20).
    alpha : float, default=1e-3
        Ridge strength pulling each last layer towards the base's, relative to the mean
        eigenvalue of its normal matrix.
    pixels_per_region : int, default=64
        Pixels sampled per region to build the least-squares problem.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Resolved at each call ("auto": CUDA when available), like ``n_jobs``: a model
        fitted on a GPU predicts on the CPU of a machine without one.
    random_state : int, RandomState or None, default=None
        Seeds k-means, random gates, pixel sampling and SGD.

    Attributes
    ----------
    centers_ : ndarray of shape (n_experts, n_components) or None
        k-means centres of the gate.
    noise_edges_ : ndarray of shape (noise_bands - 1,) or None
        Boundaries of the noise bands (relative noise sigma).
    base_state_ : dict of str to ndarray
        Weights of the base network.
    heads_ : ndarray of shape (n_experts * noise_bands, blocks, width, 3, 3)
    head_biases_ : ndarray of shape (n_experts * noise_bands, blocks)
        Last layer of each expert (``fine_tune`` "last" or "none"); ``blocks`` is 1, or 4
        for a base on half-resolution sub-images (``DnCNN(downsample=2)``).
    expert_states_ : list of dict or None
        Whole weights of each expert (``fine_tune="all"``).
    seed_ : int
        Seed drawn from ``random_state`` in ``fit`` (random gates).
    device_ : str
        Device used in ``fit``.
    """

    _parameter_constraints = {
        "n_experts": POSITIVE_INT, "gating": [StrOptions(set(GATINGS))],
        "noise_bands": POSITIVE_INT, "base": [str, PathLike],
        "fine_tune": [StrOptions(set(FINE_TUNES))], "context": [StrOptions(set(CONTEXTS))],
        "alpha": NON_NEGATIVE, "pixels_per_region": POSITIVE_INT, "device": DEVICE,
        "random_state": ["random_state"],
    }

    def __init__(self, *, n_experts=4, gating="kmeans", noise_bands=1, base="bundled",
                 fine_tune="last", context="image", alpha=1e-3, pixels_per_region=64,
                 device="auto", random_state=None):
        self.n_experts = n_experts
        self.gating = gating
        self.noise_bands = noise_bands
        self.base = base
        self.fine_tune = fine_tune
        self.context = context
        self.alpha = alpha
        self.pixels_per_region = pixels_per_region
        self.device = device
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.two_d_array = False  # region sets of images, one per row
        return tags

    # ------------------------------------------------------------------ gate
    @property
    def _n_heads(self):
        edges = getattr(self, "noise_edges_", None)
        return self.n_experts * (1 if edges is None else len(edges) + 1)

    def _labels(self, X, gate=None, seed_offset=0):
        """Last-layer index of every region of every image: expert x noise band."""
        labels = self._expert_labels(X, gate, seed_offset)
        edges = getattr(self, "noise_edges_", None)
        if edges is None:
            return labels
        return [lab * (len(edges) + 1) + np.searchsorted(edges, region_noise(r))
                for lab, r in zip(labels, X)]

    def _expert_labels(self, X, gate=None, seed_offset=0):
        """Expert index of every region of every image (the gate)."""
        k = self.n_experts
        if gate is None:
            gate = 0 if k == 1 else self.gating
        if isinstance(gate, numbers.Integral) and not isinstance(gate, bool):
            if not 0 <= gate < k:
                raise ValueError(f"`gate` must be in [0, {k - 1}], got {gate}.")
            return [np.full(len(r), int(gate)) for r in X]
        if gate == "random":
            rng = np.random.RandomState(self.seed_ + seed_offset)
            return [rng.randint(k, size=len(r)) for r in X]
        if gate == "position":
            return [position_labels(r, k) for r in X]
        if gate == "kmeans":
            if self.centers_ is None:
                raise ValueError("This model was not fitted with k-means gating.")
            return [nearest_center(self._embedding(r), self.centers_) for r in X]
        raise ValueError("`gate` must be None, 'random', 'position', 'kmeans' or an "
                         f"expert index, got {gate!r}.")

    @staticmethod
    def _embedding(regions):
        if regions.embedding is None:
            raise ValueError("k-means gating needs region embeddings: put an EmbeddingPCA "
                             "step between the decomposer and SparseMoEDenoiser.")
        return regions.embedding

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, *, foreground=None):
        """Fit the gate and the experts on noisy regions ``X`` and clean images ``y``.

        Parameters
        ----------
        X : ndarray of shape (n_images,) of :class:`~sksmoe.decomposition.Regions`
            Output of a decomposer (and embedding) on the noisy images.
        y : ndarray of shape (n_images, H, W), or sequence of 2-D ndarrays
            Clean images; a sequence when the region sets come from images of different
            sizes (each set decomposed from its own stack).
        foreground : sequence of 2-D bool ndarrays, optional
            Pixels each expert's last layer is fitted on, one mask per image (e.g.
            :func:`sksmoe.metrics.brain_mask` of each clean image: the part a brain-mask
            PSNR scores, leaving out the air's Rician noise floor); all pixels if None.
            ``fine_tune="last"`` only.

        Returns
        -------
        self
        """
        self._validate_params()
        X = check_regions(X)
        y = _check_images(X, y, "y")
        if foreground is not None:
            if self.fine_tune != "last":
                raise ValueError("`foreground` is used by fine_tune='last' only, got "
                                 f"fine_tune={self.fine_tune!r}.")
            foreground = [np.asarray(m, bool) for m in _check_images(X, foreground,
                                                                     "foreground")]
        rng = check_random_state(self.random_state)
        self.seed_ = int(rng.randint(2**31 - 1))
        self.device_ = resolve_device(self.device)
        from ..nn._checkpoint import load_base, state_to_numpy

        base = load_base(self.base)
        self.base_state_ = state_to_numpy(base)
        self.centers_ = None
        if self.gating == "kmeans" and self.n_experts > 1:
            embeddings = np.concatenate([self._embedding(r) for r in X])
            self.centers_ = kmeans_centers(embeddings, self.n_experts, self.seed_)
        self.noise_edges_ = None
        if self.noise_bands > 1:
            self.noise_edges_ = noise_edges(np.concatenate([region_noise(r) for r in X]),
                                            self.noise_bands, self.seed_)
        labels = self._labels(X)
        self.expert_states_ = None
        head = self.base_state_["head.weight"]
        bias = self.base_state_.get("head.bias", np.zeros(len(head), np.float32))
        self.heads_ = np.repeat(head[None], self._n_heads, axis=0)
        self.head_biases_ = np.repeat(bias[None], self._n_heads, axis=0).astype(np.float32)
        if self.fine_tune == "last":
            from ._fit_last import solve_last_layers

            self.heads_, self.head_biases_ = solve_last_layers(
                base.to(self.device_), X, y, labels, self._n_heads, context=self.context,
                alpha=self.alpha, pixels_per_region=self.pixels_per_region, rng=rng,
                foreground=foreground)
        elif self.fine_tune == "all":
            from ._fit_all import train_experts

            self.expert_states_ = train_experts(base, X, y, labels, self._n_heads,
                                                seed=self.seed_, device=self.device_)
        return self

    # ------------------------------------------------------------------ predict
    def predict(self, X, gate=None):
        """Denoise the images the region sets come from.

        Parameters
        ----------
        X : ndarray of shape (n_images,) of :class:`~sksmoe.decomposition.Regions`
        gate : None, "random", "position", "kmeans" or int, optional
            Override the fitted gate (the paper's gate ablations): an int sends every
            region to that expert.

        Returns
        -------
        denoised : ndarray of shape (n_images, H, W), float32
        """
        import torch

        check_is_fitted(self, "heads_")
        self._validate_params()
        X = check_regions(X)
        device = resolve_device(self.device)
        labels = self._labels(X, gate, seed_offset=1)
        residual, base = residual_function(self, device)
        if not base.noise_channel and any(r.noise_scale != 1 for r in X):
            raise ValueError("A noise scale other than 1 needs a base network told the noise "
                             "level (a noise-conditioned base, such as the bundled one); this "
                             "base is blind: use NoiseScale(scale=1).")
        out = []
        with torch.inference_mode():
            for regions, regions_labels in zip(X, labels):
                x, sigma = regions.normalized()
                slab = regions.slab(x, base.context)
                if base.noise_channel and regions.sigma == 0 and np.ptp(regions.image) > 0:
                    warnings.warn("No noise could be measured in an image (estimated sigma "
                                  "0): it is denoised as noise-free.", UserWarning,
                                  stacklevel=2)
                if self.context == "region":
                    denoised = denoise_regions(residual, regions, regions_labels, slab, sigma,
                                               device)
                else:
                    coverage = regions.coverage(regions_labels, self._n_heads)
                    total = coverage.sum(axis=0)
                    weights = np.divide(coverage, total, where=total > 0,
                                        out=np.full_like(coverage, 1 / self._n_heads))
                    denoised = mix_experts(residual, slab, sigma, weights, device)
                out.append(denoised * regions.scale)
        return np.stack(out).astype(np.float32)

    def predict_gate(self, X, gate=None):
        """Per-pixel expert map: the expert owning most regions covering each pixel.

        Noise bands are not shown: every region of an image is in the same band.

        Returns
        -------
        experts : ndarray of shape (n_images, H, W), int
        """
        check_is_fitted(self, "heads_")
        X = check_regions(X)
        labels = self._expert_labels(X, gate, seed_offset=1)
        return np.stack([r.coverage(lab, self.n_experts).argmax(axis=0)
                         for r, lab in zip(X, labels)])


def _check_images(X, images, name):
    """``images`` (a 3-D array, or a sequence of 2-D arrays of different sizes), one per
    region set of ``X`` and of its image's shape."""
    if isinstance(images, np.ndarray) and images.dtype != object:
        images = check_array(images, name, ndim=3)
    else:  # images of different sizes
        images = [check_array(image, f"{name}[i]", ndim=2) for image in images]
    if len(images) != len(X):
        raise ValueError(f"`X` has {len(X)} images but `{name}` has {len(images)}.")
    for regions, image in zip(X, images):
        if regions.image.shape != image.shape:
            raise ValueError(f"Image of shape {regions.image.shape} in `X` does not match "
                             f"its image of shape {image.shape} in `{name}`.")
    return images
