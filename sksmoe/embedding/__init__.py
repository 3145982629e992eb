"""Region embeddings: pretrained ImageNet CNN features reduced with PCA."""

from ._backbones import BACKBONES, locate_weights
from ._pca import EmbeddingPCA

__all__ = ["BACKBONES", "EmbeddingPCA", "locate_weights"]
