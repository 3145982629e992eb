"""sksmoe: sparse mixture-of-experts denoising of brain MRI, scikit-learn style.

Everything is imported on first use, so ``import sksmoe`` stays fast.
"""

import importlib

__version__ = "0.1.0.dev0"

_SUBMODULES = ("cli", "datasets", "decomposition", "embedding", "io", "metrics", "moe",
               "noise", "plotting")
_ATTRIBUTES = {
    "PatchDecomposer": "decomposition",
    "SAMDecomposer": "decomposition",
    "SliceNeighbours": "decomposition",
    "EmbeddingPCA": "embedding",
    "SparseMoEDenoiser": "moe",
    "SelfEnsemble": "moe",
    "NoiseScale": "moe",
    "save": "_persistence",
    "load": "_persistence",
    "load_pretrained": "pretrained",
    "denoise": "pretrained",
    "denoise_files": "pretrained",
}

__all__ = sorted(_ATTRIBUTES) + list(_SUBMODULES)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _ATTRIBUTES:
        return getattr(importlib.import_module(f"{__name__}.{_ATTRIBUTES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
