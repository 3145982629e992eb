"""SparseMoEDenoiser: DnCNN experts on a shared trunk, one expert per region."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..decomposition._regions import check_regions
from ..nn._normalize import network_input, relative_noise
from ..utils._torch import resolve_device
from ..utils._validation import check_array, check_positive_int
from ._gating import kmeans_centers, nearest_center, noise_edges, position_labels
from ._sure import sure_mask, sure_scale

GATINGS = ("kmeans", "random", "position")
FINE_TUNES = ("last", "all", "none")
CONTEXTS = ("image", "region")


class SparseMoEDenoiser(BaseEstimator):
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
        Beyond the paper: split every expert into this many copies, one per band of the
        image's estimated noise level (:func:`sksmoe.noise.estimate_sigma` over the
        intensity scale; bands from 1-D k-means on the training images), each fitted on its
        band only, so that a blind base learns to denoise gently at low noise and hard at
        high noise. ``n_experts * noise_bands`` last layers in all.
    base : "bundled" or path, default="bundled"
        Pretrained network the experts start from: the model bundled with sksmoe, or a
        checkpoint path of a DnCNN, sksmoe's U-Net or a stack of them (our .safetensors or
        a torch state dict, read with ``weights_only=True``).
    fine_tune : {"last", "all", "none"}, default="last"
        Train the last layer only (closed form), every layer (Adam, slow), or nothing
        (every expert is the base: the paper's untuned DnCNN baseline).
    context : {"image", "region"}, default="image"
        ``"image"``: the trunk sees the whole image (fast, one trunk pass per image);
        ``"region"``: each region is denoised on its own, as in the paper (slower by the
        patch overlap, about 5.8x for 48-pixel patches at stride 20).
    self_ensemble : bool, default=False
        Beyond the paper: average the experts' outputs over the 8 flips and 90-degree
        rotations of each image (or region), undone before averaging (the geometric
        self-ensemble of Lim et al. 2017). 8 times the trunk passes.
    foreground_only : bool, default=False
        Beyond the paper: fit the last layers on pixels of the foreground only
        (:func:`sksmoe.metrics.brain_mask` of each clean image), the part a brain-mask PSNR
        scores, so that the air around the head (Rician noise floor) takes no capacity.
        Not implemented for ``fine_tune="all"``.
    noise_scale : float or "sure", default=1.0
        Beyond the paper, for a base told the noise level: the network is told the
        image's estimated noise level times this, so below 1 it denoises more gently.
        ``"sure"`` chooses the scale per image among 1, 0.9, ..., 0.5 by Stein's
        unbiased risk estimate of the squared error in the head where the image is
        brighter than 3 noise sigmas (darker, Rician noise is far from Gaussian), computed
        from the noisy image alone (Monte-Carlo SURE, Ramani et al. 2008): images with fine
        structure of their own, which a model trained on smooth anatomy would take for
        noise, are denoised less. Costs two trunk passes (without the self-ensemble) per
        scale tried, scales being tried from 1 down while the estimated error falls.
    alpha : float, default=1e-3
        Ridge strength pulling each last layer towards the base's, relative to the mean
        eigenvalue of its normal matrix.
    pixels_per_region : int, default=64
        Pixels sampled per region to build the least-squares problem.
    max_steps, learning_rate, batch_size : int, float, int, default=200, 1e-4, 16
        Adam steps per expert, step size and regions per batch for ``fine_tune="all"``.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Resolved at each call ("auto": CUDA when available), like ``n_jobs``: a model
        fitted on a GPU predicts on the CPU of a machine without one.
    random_state : int, RandomState or None, default=None
        Seeds k-means, random gates, pixel sampling and SGD.

    Attributes
    ----------
    n_experts_ : int
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
    device_ : str
    """

    def __init__(self, n_experts=4, gating="kmeans", noise_bands=1, base="bundled",
                 fine_tune="last", context="image", self_ensemble=False, foreground_only=False,
                 noise_scale=1.0, alpha=1e-3, pixels_per_region=64, max_steps=200,
                 learning_rate=1e-4, batch_size=16, device="auto", random_state=None):
        self.n_experts = n_experts
        self.gating = gating
        self.noise_bands = noise_bands
        self.base = base
        self.fine_tune = fine_tune
        self.context = context
        self.self_ensemble = self_ensemble
        self.foreground_only = foreground_only
        self.noise_scale = noise_scale
        self.alpha = alpha
        self.pixels_per_region = pixels_per_region
        self.max_steps = max_steps
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.device = device
        self.random_state = random_state

    # ------------------------------------------------------------------ validation
    def _check_params(self):
        choices = {"gating": GATINGS, "fine_tune": FINE_TUNES, "context": CONTEXTS}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"`{name}` must be one of {allowed}, "
                                 f"got {getattr(self, name)!r}.")
        for name in ("n_experts", "noise_bands", "pixels_per_region", "max_steps",
                     "batch_size"):
            check_positive_int(getattr(self, name), name)
        for name in ("self_ensemble", "foreground_only"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"`{name}` must be True or False, "
                                 f"got {getattr(self, name)!r}.")
        if self.foreground_only and self.fine_tune == "all":
            raise ValueError("`foreground_only=True` is implemented for fine_tune='last' "
                             "only, got fine_tune='all'.")
        for name in ("alpha", "learning_rate"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0:
                raise ValueError(f"`{name}` must be a finite number >= 0, got {value!r}.")
        scale = self.noise_scale
        if not (isinstance(scale, str) and scale == "sure") and not (
                isinstance(scale, numbers.Real) and not isinstance(scale, bool)
                and np.isfinite(scale) and scale > 0):
            raise ValueError(f"`noise_scale` must be a number > 0 or 'sure', got {scale!r}.")

    def _check_noise_scale(self, noise_channel):
        if self.noise_scale != 1 and not noise_channel:
            raise ValueError(f"`noise_scale={self.noise_scale!r}` needs a base network told "
                             "the noise level (a noise-conditioned base, such as the bundled "
                             "one); this base is blind: use noise_scale=1.")

    def _load_base(self):
        from ..nn._checkpoint import BUNDLED_BASE, load_base

        if isinstance(self.base, str) and self.base == "bundled":
            if not BUNDLED_BASE.is_file():
                raise FileNotFoundError(f"The bundled base network is missing: "
                                        f"'{BUNDLED_BASE}'. Reinstall sksmoe or pass `base=` "
                                        "a checkpoint path.")
            return load_base(BUNDLED_BASE)
        return load_base(self.base)

    # ------------------------------------------------------------------ gate
    @property
    def _n_heads(self):
        edges = getattr(self, "noise_edges_", None)
        return self.n_experts_ * (1 if edges is None else len(edges) + 1)

    def _labels(self, X, gate=None, seed_offset=0, noise_levels=None):
        """Last-layer index of every region of every image: expert x noise band.

        ``noise_levels`` (one per image) are estimated here unless given.
        """
        labels = self._expert_labels(X, gate, seed_offset)
        edges = getattr(self, "noise_edges_", None)
        if edges is None:
            return labels
        if noise_levels is None:
            noise_levels = [relative_noise(r.image) for r in X]
        return [lab * (len(edges) + 1) + np.searchsorted(edges, level)
                for lab, level in zip(labels, noise_levels)]

    def _expert_labels(self, X, gate=None, seed_offset=0):
        """Expert index of every region of every image (the gate)."""
        k = self.n_experts_
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
    def fit(self, X, y):
        """Fit the gate and the experts on noisy regions ``X`` and clean images ``y``.

        Parameters
        ----------
        X : ndarray of shape (n_images,) of :class:`~sksmoe.decomposition.Regions`
            Output of a decomposer (and embedding) on the noisy images.
        y : ndarray of shape (n_images, H, W), or sequence of 2-D ndarrays
            Clean images; a sequence when the region sets come from images of different
            sizes (each set decomposed from its own stack).

        Returns
        -------
        self
        """
        self._check_params()
        X = check_regions(X)
        y = self._check_targets(X, y)
        rng = check_random_state(self.random_state)
        self.seed_ = int(rng.randint(2**31 - 1))
        self._trunk_cache = {}
        self.device_ = resolve_device(self.device)
        self.n_experts_ = int(self.n_experts)
        base = self._load_base()
        self._check_noise_scale(base.noise_channel)
        from ..nn._checkpoint import state_to_numpy

        self.base_state_ = state_to_numpy(base)
        self.centers_ = None
        if self.gating == "kmeans" and self.n_experts_ > 1:
            embeddings = np.concatenate([self._embedding(r) for r in X])
            self.centers_ = kmeans_centers(embeddings, self.n_experts_, self.seed_)
        self.noise_edges_, levels = None, None
        if self.noise_bands > 1:
            levels = [relative_noise(r.image) for r in X]
            self.noise_edges_ = noise_edges(levels, self.noise_bands, self.seed_)
        labels = self._labels(X, noise_levels=levels)
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
                foreground_only=self.foreground_only)
        elif self.fine_tune == "all":
            from ._fit_all import train_experts

            self.expert_states_ = train_experts(
                base, X, y, labels, self._n_heads, max_steps=self.max_steps,
                learning_rate=self.learning_rate, batch_size=self.batch_size,
                seed=self.seed_, device=self.device_)
        self.image_ndim_ = 2
        return self

    @staticmethod
    def _check_targets(X, y):
        if isinstance(y, np.ndarray) and y.dtype != object:
            y = check_array(y, "y", ndim=3)
        else:  # images of different sizes
            y = [check_array(clean, "y[i]", ndim=2) for clean in y]
        if len(y) != len(X):
            raise ValueError(f"`X` has {len(X)} images but `y` has {len(y)}.")
        for regions, clean in zip(X, y):
            if regions.image.shape != clean.shape:
                raise ValueError(f"Image of shape {regions.image.shape} in `X` does not match "
                                 f"its clean image of shape {clean.shape} in `y`.")
        return y

    # ------------------------------------------------------------------ predict
    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_trunk_cache", None)  # torch modules are rebuilt from numpy weights
        return state

    def _residual_function(self, device):
        """A function of a batch (n, 1, h, w), its noise level and an optional expert index
        to the residual of every expert (n, k, h, w), or of that one (n, 1, h, w); and
        whether the base is conditioned on the noise level."""
        import torch
        import torch.nn.functional as F

        from ..nn._checkpoint import model_from_numpy

        if self.expert_states_ is not None:
            models = [model_from_numpy(s, device) for s in self.expert_states_]

            def residual(batch, sigma, expert=None):
                chosen = models if expert is None else [models[expert]]
                return torch.cat([m(batch, sigma) for m in chosen], dim=1)

            return residual, models[0].noise_channel
        cache = self.__dict__.setdefault("_trunk_cache", {})
        if device not in cache:  # the trunk is fixed after fit; heads are read every call
            cache[device] = model_from_numpy(self.base_state_, device)
        base = cache[device]
        blocks = self.heads_.shape[1]  # downsample**2 outputs per head
        weight = torch.from_numpy(self.heads_.reshape(-1, *self.heads_.shape[2:])).to(device)
        bias = torch.from_numpy(self.head_biases_.reshape(-1)).to(device)

        def residual(batch, sigma, expert=None):
            rows = slice(None) if expert is None else slice(expert * blocks,
                                                            (expert + 1) * blocks)
            out = F.conv2d(base.features(batch, sigma), weight[rows], bias[rows], padding=1)
            return base.assemble(out, batch.shape)

        return residual, base.noise_channel

    def _ensembled(self, residual):
        """``residual`` averaged over the 8 flips and rotations when ``self_ensemble``."""
        if not self.self_ensemble:
            return residual

        def averaged(batch, sigma, expert=None):
            total = 0
            for flip in (False, True):
                flipped = batch.flip(-1) if flip else batch
                for turns in range(4):
                    out = residual(flipped.rot90(turns, (-2, -1)), sigma, expert)
                    out = out.rot90(-turns, (-2, -1))
                    total = total + (out.flip(-1) if flip else out)
            return total / 8

        return averaged

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
        self._check_params()
        X = check_regions(X)
        device = resolve_device(self.device)
        labels = self._labels(X, gate, seed_offset=1)
        plain, noise_channel = self._residual_function(device)
        self._check_noise_scale(noise_channel)
        residual = self._ensembled(plain)
        out = []
        with torch.inference_mode():
            for regions, regions_labels in zip(X, labels):
                x, scale, sigma = network_input(regions.image, noise_channel)
                coverage = regions.coverage(regions_labels, self._n_heads)
                total = coverage.sum(axis=0)
                weights = np.divide(coverage, total, where=total > 0,
                                    out=np.full_like(coverage, 1 / self._n_heads))

                def mixed(image, level, function=plain):
                    """The experts' outputs on ``image``, mixed per pixel."""
                    batch = torch.from_numpy(image)[None, None].to(device)
                    residuals = function(batch, level)[0].cpu().numpy()
                    return image - (weights * residuals).sum(axis=0)

                denoised, level = None, sigma
                if self.noise_scale == "sure":
                    factor, denoised = sure_scale(mixed, x, sigma, sure_mask(x, sigma))
                    level = sigma * factor
                elif noise_channel:
                    level = sigma * self.noise_scale
                if self.context == "region":
                    denoised = _denoise_regions(residual, regions, regions_labels, x, level,
                                                device)
                elif denoised is None or self.self_ensemble:
                    denoised = mixed(x, level, residual)
                out.append(denoised * scale)
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
        return np.stack([r.coverage(lab, self.n_experts_).argmax(axis=0)
                         for r, lab in zip(X, labels)])

    def score(self, X, y):
        """Mean PSNR (dB) of the denoised images against the clean images ``y``."""
        from ..metrics import psnr

        return float(np.mean(psnr(y, self.predict(X))))


def _denoise_regions(residual, regions, labels, x, sigma, device, batch_size=64):
    """The paper's path: each region denoised alone by its expert, then merged."""
    import torch

    crops = regions.crops(x).astype(np.float32)
    denoised = np.empty_like(crops)
    for expert in np.unique(labels):
        index = np.flatnonzero(labels == expert)
        for start in range(0, len(index), batch_size):
            chunk = index[start:start + batch_size]
            batch = torch.from_numpy(crops[chunk])[:, None].to(device)
            own = residual(batch, sigma, int(expert))
            denoised[chunk] = (batch - own)[:, 0].cpu().numpy()
    return regions.merge(denoised, image=x)
