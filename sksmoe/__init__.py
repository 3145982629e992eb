"""sksmoe: sparse mixture-of-experts denoising of brain MRI, scikit-learn style.

Submodules are imported on first use, so ``import sksmoe`` stays fast:
``sksmoe.datasets``, ``sksmoe.io``, ``sksmoe.metrics``, ``sksmoe.noise``.
"""

import importlib

__version__ = "0.1.0.dev0"

_SUBMODULES = ("datasets", "io", "metrics", "noise", "cli")

__all__ = list(_SUBMODULES)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))
