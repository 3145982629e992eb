"""Test-time wrappers that compose with any denoiser: self-ensemble and noise scale.

A wrapper takes a fitted estimator (or fits a clone of it) and changes only how it
predicts. Wrapping a :class:`~sklearn.pipeline.Pipeline`, it runs the steps before the last
once per image and acts on what the last step sees, so a decomposer, an embedding and the
gate do their work once, whatever the wrapper repeats.
"""

import numbers
from functools import partial

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ..decomposition._regions import Regions, as_object_array, turn, unturn
from ._base import DenoiserMixin
from ._sure import SURE_SCALES, sure_mask, sure_scale

#: The 8 flips and 90-degree turns of the square's symmetry group, as (turns, flip).
DIHEDRAL = [(turns, flip) for flip in (False, True) for turns in range(4)]


def split_prediction(estimator):
    """``(prepare, final)``: the work ``estimator`` does once per image, and the predictor
    on its output, so that ``final(prepare(X))`` is ``estimator.predict(X)``."""
    if isinstance(estimator, Pipeline):
        if len(estimator) == 1:
            return _identity, estimator[-1].predict
        return estimator[:-1].transform, estimator[-1].predict
    if isinstance(estimator, _TestTimeWrapper):
        prepare, final = split_prediction(estimator.fitted_estimator)
        return prepare, partial(estimator._predict_prepared, final)
    return _identity, estimator.predict


def _identity(X):
    return X


class _TestTimeWrapper(DenoiserMixin, MetaEstimatorMixin, BaseEstimator):
    """Shared by the wrappers: fit a clone, predict through ``_predict_prepared``."""

    @property
    def fitted_estimator(self):
        """``estimator_`` after :meth:`fit`, else ``estimator`` itself (used as fitted)."""
        return getattr(self, "estimator_", self.estimator)

    def fit(self, X, y=None, **fit_params):
        """Fit a clone of ``estimator`` (not needed when ``estimator`` is fitted)."""
        self._validate_params()
        self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        return self

    def predict(self, X):
        """Denoise the images ``X`` (as ``estimator`` does, wrapped)."""
        self._validate_params()
        prepare, final = split_prediction(self)
        return final(prepare(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.input_tags, tags.target_tags = inner.input_tags, inner.target_tags
        tags.requires_fit = inner.requires_fit
        return tags


class SelfEnsemble(_TestTimeWrapper):
    """Average a denoiser's outputs over the 8 flips and 90-degree turns of each image.

    Each image is flipped and turned, denoised, turned back, and the 8 results averaged
    (the geometric self-ensemble of Lim et al. 2017): 8 times the denoiser's cost. Around a
    pipeline, the flips act on what its last step sees (for sksmoe, the region sets: every
    region keeps its expert).

    Parameters
    ----------
    estimator : estimator
        A denoiser with ``predict(X)`` returning images of the input's shape; used as it is
        when fitted, or fitted (a clone) by :meth:`fit`.
    """

    _parameter_constraints = {"estimator": [HasMethods(["predict"])]}

    def __init__(self, estimator):
        self.estimator = estimator

    def _predict_prepared(self, final, X):
        total = 0
        for turns, flip in DIHEDRAL:
            total = total + unturn(final(_turned(X, turns, flip)), turns, flip)
        return total / len(DIHEDRAL)


def _turned(X, turns, flip):
    """Images (n, H, W), or region sets, flipped and turned."""
    if isinstance(X, np.ndarray) and X.dtype == object:
        return as_object_array([regions.turned(turns, flip) for regions in X])
    return turn(np.asarray(X), turns, flip)


class NoiseScale(_TestTimeWrapper):
    """Tell a noise-conditioned denoiser the estimated noise level times ``scale``.

    Below 1 the network denoises more gently. With ``scale="sure"`` the scale is chosen
    per image among 1, 0.9, ..., 0.5 by Stein's unbiased risk estimate of the squared error
    in the head where the image is brighter than 3 noise sigmas (darker, Rician noise is far
    from Gaussian), computed from the noisy image alone (Monte-Carlo SURE, Ramani et al.
    2008): images with fine structure of their own, which a model trained on smooth anatomy
    would take for noise, are denoised less. Scales are tried from 1 down while the
    estimated error falls, two passes each; a :class:`SelfEnsemble` inside is left out of
    that choice (one pass, 8 times cheaper) and used for the final output.

    The wrapped denoiser's last step must read the noise level from the region sets of a
    decomposer (:class:`~sksmoe.decomposition.Regions`), as
    :class:`~sksmoe.moe.SparseMoEDenoiser` does.

    Parameters
    ----------
    estimator : estimator
        A pipeline ending in a noise-conditioned denoiser (or a wrapper of one); used as it
        is when fitted, or fitted (a clone) by :meth:`fit`.
    scale : float > 0 or "sure", default="sure"
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["predict"])],
        "scale": [Interval(numbers.Real, 0, None, closed="neither"), StrOptions({"sure"})],
    }

    def __init__(self, estimator, *, scale="sure"):
        self.estimator = estimator
        self.scale = scale

    def _predict_prepared(self, final, X):
        if not (isinstance(X, np.ndarray) and X.dtype == object
                and all(isinstance(r, Regions) for r in X)):
            raise TypeError("NoiseScale needs a pipeline whose last step sees the region "
                            "sets of a decomposer (e.g. PatchDecomposer), which carry the "
                            "noise level.")
        if self.scale != "sure":
            return final(as_object_array([r.with_noise_scale(self.scale) for r in X]))
        single = unwrapped(self.fitted_estimator, SelfEnsemble)
        one_pass = split_prediction(single)[1]
        scaled, done = [], {}
        for index, regions in enumerate(X):
            factor, denoised = _sure_factor(one_pass, regions)
            scaled.append(regions.with_noise_scale(factor))
            if denoised is not None and single is self.fitted_estimator:
                done[index] = denoised * regions.scale
        todo = [i for i in range(len(X)) if i not in done]
        if todo:
            done.update(zip(todo, final(as_object_array([scaled[i] for i in todo]))))
        return np.stack([done[i] for i in range(len(X))]).astype(np.float32)


def unwrapped(estimator, wrappers=None):
    """``estimator`` without its outer :class:`SelfEnsemble` and :class:`NoiseScale`
    wrappers (or only those of the classes ``wrappers``): one pass, the estimated noise
    level as it is."""
    while isinstance(estimator, wrappers or _TestTimeWrapper):
        estimator = estimator.fitted_estimator
    return estimator


def _sure_factor(predict, regions, scales=SURE_SCALES):
    """The noise scale SURE picks for one region set, and ``predict``'s output at it
    (over the intensity scale; None when SURE could not be computed)."""
    x, sigma = regions.with_noise_scale(1).normalized()  # a level or a map

    def denoise(offset, factor):
        moved = regions if offset is None else regions.with_image(
            regions.image + offset * regions.scale)
        return predict(as_object_array([moved.with_noise_scale(factor)]))[0] / regions.scale

    return sure_scale(denoise, x, sigma, sure_mask(x, sigma, regions.foreground), scales)
