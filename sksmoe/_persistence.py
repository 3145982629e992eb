"""Save and load fitted models without pickle: arrays in safetensors, the rest in JSON."""

import json
from pathlib import Path

import numpy as np

FORMAT = "sksmoe-model-1"


def _classes():
    from .decomposition import PatchDecomposer, SAMDecomposer
    from .embedding import EmbeddingPCA
    from .moe import SparseMoEDenoiser

    return {cls.__name__: cls for cls in (PatchDecomposer, SAMDecomposer, EmbeddingPCA,
                                          SparseMoEDenoiser)}


def _steps(model):
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline):
        return list(model.steps), True
    return [("model", model)], False


def _encode(name, value, arrays):
    """JSON description of a fitted attribute; arrays go into ``arrays``."""
    if isinstance(value, np.ndarray):
        arrays[name] = np.ascontiguousarray(value)
        return {"array": name}
    if isinstance(value, dict):
        return {"dict": {k: _encode(f"{name}/{k}", v, arrays) for k, v in value.items()}}
    if isinstance(value, list):
        return {"list": [_encode(f"{name}/{i}", v, arrays) for i, v in enumerate(value)]}
    if isinstance(value, (np.integer, np.floating)):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"value": value}
    raise TypeError(f"Cannot save fitted attribute {name!r} of type {type(value).__name__}.")


def _decode(spec, arrays):
    if "array" in spec:
        return arrays[spec["array"]]
    if "dict" in spec:
        return {k: _decode(v, arrays) for k, v in spec["dict"].items()}
    if "list" in spec:
        return [_decode(v, arrays) for v in spec["list"]]
    return spec["value"]


def _params(estimator):
    params = {}
    for key, value in estimator.get_params(deep=False).items():
        if isinstance(value, Path):
            value = str(value)
        if key == "memory" and value is not None and not isinstance(value, str):
            value = None  # a joblib.Memory object: caching is not part of the model
        try:
            json.dumps(value)
        except TypeError:
            raise TypeError(f"Cannot save parameter {key}={value!r} of "
                            f"{type(estimator).__name__}.") from None
        params[key] = value
    return params


def save(model, path, *, overwrite=False):
    """Save a fitted sksmoe estimator or Pipeline of them to one safetensors file.

    Parameters
    ----------
    model : Pipeline or estimator
        Made of :class:`PatchDecomposer`, :class:`EmbeddingPCA` and
        :class:`SparseMoEDenoiser` steps.
    path : str or Path
        Output file (conventionally ``.safetensors``), written atomically.
    overwrite : bool, default=False

    Returns
    -------
    Path
    """
    from safetensors.numpy import save_file

    from .io._atomic import atomic_path

    known = _classes()
    steps, is_pipeline = _steps(model)
    arrays, description = {}, []
    for name, estimator in steps:
        if type(estimator).__name__ not in known:
            raise TypeError(f"Cannot save step {name!r}: {type(estimator).__name__} is not an "
                            f"sksmoe estimator ({', '.join(known)}).")
        fitted = {k: _encode(f"{name}/{k}", v, arrays) for k, v in vars(estimator).items()
                  if k.endswith("_") and not k.startswith("_")}
        description.append({"name": name, "class": type(estimator).__name__,
                            "params": _params(estimator), "fitted": fitted})
    header = {"format": FORMAT, "pipeline": is_pipeline, "steps": description}
    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as tmp:
        save_file(arrays, str(tmp), metadata={"sksmoe": json.dumps(header)})
    return path


def load(path):
    """Load a model written by :func:`save` (no pickle: only known classes are built).

    Returns
    -------
    Pipeline or estimator
    """
    from safetensors import safe_open
    from sklearn.pipeline import Pipeline

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Model file not found: '{path}'.")
    try:
        with safe_open(str(path), "np") as handle:
            header = json.loads((handle.metadata() or {})["sksmoe"])
            arrays = {key: handle.get_tensor(key) for key in handle.keys()}
    except Exception as exc:
        raise ValueError(f"'{path}' is not an sksmoe model file: {exc}") from exc
    if header.get("format") != FORMAT:
        raise ValueError(f"'{path}' has format {header.get('format')!r}; expected {FORMAT!r}.")
    known = _classes()
    steps = []
    for step in header["steps"]:
        if step["class"] not in known:
            raise ValueError(f"'{path}' names an unknown class {step['class']!r}.")
        estimator = known[step["class"]](**step["params"])
        for key, spec in step["fitted"].items():
            setattr(estimator, key, _decode(spec, arrays))
        steps.append((step["name"], estimator))
    return Pipeline(steps) if header["pipeline"] else steps[0][1]
