"""Save and load fitted models without pickle: arrays in safetensors, the rest in JSON."""

import json
from pathlib import Path

import numpy as np

FORMAT = "sksmoe-model-3"
#: Earlier format, still read: as format 3, from before decomposers measured noise maps
#: (its decomposers tell networks one noise level: ``noise="level"``).
FORMAT_2 = "sksmoe-model-2"
#: Earliest format, still read: a pipeline's steps, with the self-ensemble and noise scale
#: as parameters of SparseMoEDenoiser (now the wrappers SelfEnsemble and NoiseScale).
FORMAT_1 = "sksmoe-model-1"
#: What format 1 held that is no longer a parameter or attribute.
_REMOVED_PARAMS = ("self_ensemble", "noise_scale", "foreground_only", "max_steps",
                   "learning_rate", "batch_size")
_REMOVED_FITTED = ("n_experts_", "image_ndim_")


def _classes():
    from .decomposition import PatchDecomposer, SAMDecomposer, SliceNeighbours
    from .embedding import EmbeddingPCA
    from .moe import NoiseScale, SelfEnsemble, SparseMoEDenoiser

    return {cls.__name__: cls for cls in (SliceNeighbours, PatchDecomposer, SAMDecomposer,
                                          EmbeddingPCA, SparseMoEDenoiser, SelfEnsemble,
                                          NoiseScale)}


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


def _param(estimator, key, value, name, arrays):
    """JSON description of a parameter: a nested estimator (a wrapper's, saved fitted) is
    ``{"estimator": description}``."""
    from sklearn.base import BaseEstimator

    if isinstance(value, BaseEstimator):
        fitted = getattr(estimator, f"{key}_", value)
        return {"estimator": _describe(fitted, f"{name}/{key}", arrays)}
    if isinstance(value, Path):
        value = str(value)
    if key == "memory" and value is not None and not isinstance(value, str):
        value = None  # a joblib.Memory object: caching is not part of the model
    try:
        json.dumps(value)
    except TypeError:
        raise TypeError(f"Cannot save parameter {key}={value!r} of "
                        f"{type(estimator).__name__}.") from None
    return value


def _describe(model, name, arrays):
    """JSON description of a fitted model (a Pipeline, an sksmoe estimator or wrapper)."""
    from sklearn.base import BaseEstimator
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline):
        return {"class": "Pipeline",
                "steps": [[step, _describe(est, step if name == "model" else f"{name}/{step}",
                                           arrays)] for step, est in model.steps]}
    known = _classes()
    if type(model).__name__ not in known:
        raise TypeError(f"Cannot save {name!r}: {type(model).__name__} is not an sksmoe "
                        f"estimator ({', '.join(known)}) or a Pipeline of them.")
    params = {key: _param(model, key, value, name, arrays)
              for key, value in model.get_params(deep=False).items()}
    fitted = {key: _encode(f"{name}/{key}", value, arrays) for key, value in vars(model).items()
              if key.endswith("_") and not key.startswith("_")
              and not isinstance(value, BaseEstimator)}
    return {"class": type(model).__name__, "params": params, "fitted": fitted}


def _build(description, arrays, path):
    """The model a :func:`_describe` output describes (only known classes are built)."""
    from sklearn.pipeline import Pipeline

    if description["class"] == "Pipeline":
        return Pipeline([(step, _build(d, arrays, path)) for step, d in description["steps"]])
    known = _classes()
    if description["class"] not in known:
        raise ValueError(f"'{path}' names an unknown class {description['class']!r}.")
    params = {key: _build(value["estimator"], arrays, path)
              if isinstance(value, dict) and "estimator" in value else value
              for key, value in description["params"].items()}
    estimator = known[description["class"]](**params)
    for key, spec in description["fitted"].items():
        setattr(estimator, key, _decode(spec, arrays))
    return estimator


def _from_format_1(header):
    """A format-2 description of a format-1 header: SparseMoEDenoiser's ``self_ensemble``
    and ``noise_scale`` become the wrappers around the model."""
    steps = [[step["name"], step] for step in header["steps"]]
    wrappers = []
    for _, step in steps:
        if step["class"] == "SparseMoEDenoiser":
            params = step["params"]
            if params.get("noise_scale", 1.0) != 1.0:
                wrappers.append(("NoiseScale", {"scale": params["noise_scale"]}))
            if params.get("self_ensemble"):
                wrappers.append(("SelfEnsemble", {}))
            step["params"] = {k: v for k, v in params.items() if k not in _REMOVED_PARAMS}
            step["fitted"] = {k: v for k, v in step["fitted"].items()
                              if k not in _REMOVED_FITTED}
    model = {"class": "Pipeline", "steps": steps} if header["pipeline"] else steps[0][1]
    for cls, params in reversed(wrappers):
        model = {"class": cls, "params": {"estimator": {"estimator": model}, **params},
                 "fitted": {}}
    return model


def _with_noise_levels(description):
    """A description of format 1 or 2 with its decomposers' ``noise="level"`` (what they
    did before noise maps) made explicit."""
    if description["class"] == "Pipeline":
        for _, step in description["steps"]:
            _with_noise_levels(step)
    elif description["class"] in ("PatchDecomposer", "SAMDecomposer"):
        description["params"].setdefault("noise", "level")
    for value in description.get("params", {}).values():
        if isinstance(value, dict) and "estimator" in value:
            _with_noise_levels(value["estimator"])
    return description


def save(model, path, *, overwrite=False):
    """Save a fitted sksmoe model to one safetensors file (no pickle).

    Parameters
    ----------
    model : Pipeline or estimator
        Made of :class:`PatchDecomposer`, :class:`SAMDecomposer`, :class:`EmbeddingPCA` and
        :class:`SparseMoEDenoiser` steps, possibly inside :class:`SelfEnsemble` and
        :class:`NoiseScale`.
    path : str or Path
        Output file (conventionally ``.safetensors``), written atomically.
    overwrite : bool, default=False

    Returns
    -------
    Path
    """
    from safetensors.numpy import save_file

    from .io._atomic import atomic_path

    arrays = {}
    header = {"format": FORMAT, "model": _describe(model, "model", arrays)}
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

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Model file not found: '{path}'.")
    try:
        with safe_open(str(path), "np") as handle:
            header = json.loads((handle.metadata() or {})["sksmoe"])
            arrays = {key: handle.get_tensor(key) for key in handle.keys()}
    except Exception as exc:
        raise ValueError(f"'{path}' is not an sksmoe model file: {exc}") from exc
    if not isinstance(header, dict) or header.get("format") not in (FORMAT, FORMAT_2,
                                                                    FORMAT_1):
        found = header.get("format") if isinstance(header, dict) else header
        raise ValueError(f"'{path}' has format {found!r}; expected {FORMAT!r}.")
    try:
        description = _from_format_1(header) if header["format"] == FORMAT_1 else header["model"]
        if header["format"] != FORMAT:
            description = _with_noise_levels(description)
        return _build(description, arrays, path)
    except (KeyError, TypeError, AttributeError, IndexError) as exc:
        raise ValueError(f"'{path}' is not a valid sksmoe model file ({type(exc).__name__}: "
                         f"{exc}).") from exc
