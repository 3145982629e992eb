"""Models bundled with sksmoe (trained by our own scripts; see the JSON model cards here)."""

import sys
from pathlib import Path

import numpy as np

from ..utils._validation import check_array, check_float32_range

HERE = Path(__file__).resolve().parent
#: The fitted SMoE Patch pipeline (CLI, demo), ``SliceNeighbours -> PatchDecomposer ->
#: EmbeddingPCA -> SparseMoEDenoiser``; the presets below wrap it.
BUNDLED_MODEL = HERE / "smoe_patch.safetensors"
#: The bundled model's named presets: the test-time wrappers around its fitted pipeline.
PRESETS = ("fast", "quality")


def with_preset(pipeline, preset="fast"):
    """``pipeline`` as the named ``preset``: ``"fast"`` (the default) is one pass,
    ``"quality"`` averages over the 8 flips and turns and chooses the noise scale by SURE
    (8 passes a slice and 2 more a noise scale tried)."""
    from ..moe import NoiseScale, SelfEnsemble

    if preset not in PRESETS:
        raise ValueError(f"`preset` must be one of {PRESETS}, got {preset!r}.")
    return NoiseScale(SelfEnsemble(pipeline), scale="sure") if preset == "quality" else pipeline


def load_pretrained(path=None, *, preset="fast"):
    """Load the bundled model as a named preset, or a model saved with :func:`sksmoe.save`.

    Parameters
    ----------
    path : str or Path, optional
        Model file, loaded as saved; the bundled SMoE Patch model if None.
    preset : {"fast", "quality"}, default="fast"
        Preset of the bundled model (see :func:`with_preset`); ignored with ``path``.

    Returns
    -------
    estimator
        Fitted; ``predict(images)`` denoises a stack of slices.
    """
    from .._persistence import load

    if path is not None:
        return load(path)
    return with_preset(load(BUNDLED_MODEL), preset)


def denoise(images, model=None, *, batch_size=8, progress=False):
    """Denoise a slice, or a stack of slices (a volume sliced along its first axis).

    The model sees magnitude images: a stack holding negative values (intensity-normalised,
    z-scored or offset data) is shifted by its minimum to start at 0, denoised, and shifted
    back. A constant slice (an empty slice of a volume, say) has nothing to denoise and is
    returned as it is. A model that starts with :class:`~sksmoe.SliceNeighbours` sees each
    slice with its neighbours in the whole stack, whatever the batches.

    Parameters
    ----------
    images : ndarray of shape (H, W) or (n_slices, H, W)
    model : Pipeline, optional
        A fitted pipeline; the bundled one if None.
    batch_size : int, default=8
        Slices per call to the model.
    progress : bool, default=False
        Show a progress bar over slices.

    Returns
    -------
    ndarray of the same shape, float32
    """
    from tqdm.auto import tqdm

    images = check_float32_range(check_array(images, "images", ndim=(2, 3)), "images")
    model = load_pretrained() if model is None else model
    stack = images[None] if images.ndim == 2 else images
    offset = min(float(stack.min()), 0.0)
    stack = stack - offset if offset else stack
    out = stack.astype(np.float32)  # constant slices stay as they are
    varying = np.flatnonzero(stack.max(axis=(1, 2)) > stack.min(axis=(1, 2)))
    neighbours = _slice_neighbours(model)  # rows cut from the whole stack, once
    rows = stack if neighbours is None else neighbours.transform(stack)
    starts = range(0, len(varying), batch_size)
    for start in tqdm(starts, disable=not progress, unit="batch", desc="denoising",
                      leave=None):  # nested under a bar over volumes: cleared when done
        batch = varying[start:start + batch_size]
        out[batch] = model.predict(rows[batch])
    out = out + np.float32(offset) if offset else out
    return out[0] if images.ndim == 2 else out


def _slice_neighbours(model):
    """The :class:`~sksmoe.SliceNeighbours` step that starts ``model`` (inside its
    wrappers), or None."""
    from sklearn.pipeline import Pipeline

    from ..decomposition import SliceNeighbours
    from ..moe import unwrapped

    model = unwrapped(model)
    first = model[0] if isinstance(model, Pipeline) else model
    return first if isinstance(first, SliceNeighbours) else None


def _output_dtype(denoised, dtype, negative):
    """Integer input ``dtype``: round and clip to its range (to 0 and up unless the input
    has ``negative`` values, as a magnitude image); float input: float32."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(denoised), info.min if negative else 0, info.max).astype(dtype)
    return denoised.astype(np.float32)


def denoise_file(source, target, model=None, *, axis=None, noise_map=None, overwrite=False,
                 progress=False):
    """Denoise an image file slice by slice and write it with the input's geometry.

    A 3-D volume is cut into axial slices: along the array axis closest to the head's
    inferior-superior direction in its affine (:func:`sksmoe.io.axial_axis`), whatever the
    storage order; a PNG or TIFF stack along its pages. A 4-D NIfTI series (fMRI, diffusion)
    is denoised one 3-D volume (last axis) at a time.

    Parameters
    ----------
    source : str or Path
        Any file or DICOM folder :func:`sksmoe.io.read_image` reads.
    target : str or Path
        File (or DICOM folder) to write with :func:`sksmoe.io.write_image`; must differ
        from ``source``.
    model : Pipeline, optional
        A fitted pipeline; the bundled one if None.
    axis : {0, 1, 2}, optional
        Array axis to slice 3-D volumes along, instead of the axial one.
    noise_map : str or Path, optional
        Also write here, with the input's geometry, the local noise sigma estimated in each
        slice (:func:`sksmoe.noise.estimate_noise_map`, float32, the input's units).
    overwrite : bool, default=False
        Replace ``target`` (and ``noise_map``) if it exists.
    progress : bool, default=False
        Print the slicing on stderr and show progress bars over volumes and slices.

    Returns
    -------
    Path
        The written file, in the input's array layout. Float input gives float32 output;
        integer input is rounded and clipped to its dtype.
    """
    import os
    from pathlib import Path

    from ..io import check_writable, read_image, write_image

    if Path(source).resolve() == Path(target).resolve() or (
            Path(target).exists() and Path(source).exists()
            and os.path.samefile(source, target)):
        raise ValueError("The output must differ from the input: sksmoe never overwrites "
                         "its input.")
    if axis not in (None, 0, 1, 2):
        raise ValueError(f"`axis` must be 0, 1, 2 or None, got {axis!r}.")
    volume = read_image(source)
    data = np.asarray(volume.data)
    for path in (target, noise_map):  # before the long work
        if path is not None:
            check_writable(path, data.ndim, volume, overwrite=overwrite)
    model = load_pretrained() if model is None else model
    if data.ndim == 2:
        denoised = _output_dtype(denoise(data, model), data.dtype, data.min() < 0)
    else:
        axis, why = (axis, "as asked") if axis is not None else _axial(volume)
        if progress:
            print(f"slicing along array axis {axis} ({why}), {data.shape[axis]} slices"
                  + (f", in each of {data.shape[3]} volumes" if data.ndim == 4 else ""),
                  file=sys.stderr)
        denoised = _denoise_volumes(data, axis, model, progress)
    written = write_image(target, denoised, like=volume, overwrite=overwrite)
    if noise_map is not None:
        write_image(noise_map, _noise_map(data, axis), like=volume, overwrite=overwrite)
    return written


def _noise_map(data, axis):
    """The local noise sigma of each slice along ``axis`` of an image, volume or series
    (float32, the data's units; negative data shifted to start at 0, as denoised)."""
    from ..noise import estimate_noise_map

    data = np.asarray(data, np.float32)
    data = data - min(float(data.min()), 0.0)
    if data.ndim == 2:
        return estimate_noise_map(data) if min(data.shape) >= 16 else np.zeros_like(data)
    return _slice_wise(estimate_noise_map, data, axis, np.float32)


def _axial(volume):
    """The axial slice axis of ``volume`` (:func:`sksmoe.io.axial_axis`) and why, for users."""
    from nibabel.orientations import aff2axcodes

    from ..io import axial_axis

    if volume.format in ("png", "tiff"):
        return axial_axis(volume), "the pages of a stack without geometry"
    return axial_axis(volume), f"axial; orientation {''.join(aff2axcodes(volume.affine))}"


def _slice_wise(function, data, axis, dtype, progress=False):
    """``function`` of the slices (n, H, W) along ``axis`` of a 3-D volume, or of each
    volume of a 4-D series (last axis) in turn: only one volume's intermediate arrays exist
    at a time."""
    from tqdm.auto import tqdm

    series = data if data.ndim == 4 else data[..., None]
    out = np.empty(series.shape, dtype)
    for t in tqdm(range(series.shape[3]), disable=not progress or data.ndim == 3,
                  unit="volume", desc="volumes"):
        out[..., t] = np.moveaxis(function(np.moveaxis(series[..., t], axis, 0)), 0, axis)
    return out.reshape(data.shape)


def _denoise_volumes(data, axis, model, progress):
    """Denoise a 3-D volume, or each volume of a 4-D series, sliced along ``axis``."""
    negative = data.min() < 0  # the whole series is clipped alike
    dtype = data.dtype if np.issubdtype(data.dtype, np.integer) else np.float32
    return _slice_wise(
        lambda stack: _output_dtype(denoise(stack, model, progress=progress), data.dtype,
                                    negative), data, axis, dtype, progress)


def denoise_files(inputs, outputs, model=None, *, axis=None, overwrite=False, n_jobs=None):
    """Denoise many image files in parallel with joblib (one task per file).

    The tasks go through :class:`joblib.Parallel`, so
    ``with joblib.parallel_config(backend="dask"):`` spreads them over a
    ``dask.distributed`` cluster (whose workers must see the paths); the model is pickled
    to each worker.

    Parameters
    ----------
    inputs, outputs : sequence of str or Path
        Files to read and to write, in pairs (see :func:`denoise_file`).
    model : Pipeline, optional
        A fitted pipeline; the bundled one if None.
    axis : {0, 1, 2}, optional
        Array axis to slice 3-D volumes along; the axial one if None (see
        :func:`denoise_file`).
    overwrite : bool, default=False
        Replace outputs that exist.
    n_jobs : int, optional
        Files denoised at once; None means 1 unless inside a
        :func:`joblib.parallel_config` context, -1 all cores (or all dask workers).

    Returns
    -------
    list of Path
        The written files, in the order of ``outputs``.
    """
    from joblib import Parallel, delayed

    inputs, outputs = list(inputs), list(outputs)
    if len(inputs) != len(outputs):
        raise ValueError(f"Got {len(inputs)} inputs but {len(outputs)} outputs.")
    model = load_pretrained() if model is None else model
    return Parallel(n_jobs=n_jobs)(
        delayed(denoise_file)(i, o, model, axis=axis, overwrite=overwrite)
        for i, o in zip(inputs, outputs))
