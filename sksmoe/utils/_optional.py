"""Import optional dependencies with an error that names the extra to install."""

import importlib


def optional_import(module, extra):
    """Import ``module`` or raise ``ImportError`` naming the sksmoe extra that provides it.

    Parameters
    ----------
    module : str
        Dotted module name, e.g. ``"bm3d"``.
    extra : str
        The ``pip install "sksmoe[extra]"`` extra that installs it.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"This feature requires `{module}`. Please install it with "
            f'`pip install "sksmoe[{extra}]"`.'
        ) from exc
