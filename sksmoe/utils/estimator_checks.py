"""Image-aware estimator checks (scikit-learn's common checks assume 2-D tables).

``check_image_estimator`` runs every check on one estimator and small image data; tests
call it for each public estimator and for whole pipelines.
"""

import pickle

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import NotFittedError


def _output(estimator, X):
    if hasattr(estimator, "predict"):
        return estimator.predict(X)
    return estimator.transform(X)


def _as_array(output):
    """Transformers return region sets: compare their embeddings or crops."""
    if output.dtype != object:
        return output
    return np.concatenate([(r.embedding if r.embedding is not None else r.crops()).ravel()
                           for r in output])


def _seeded(estimator, seed=0):
    """A clone with every ``random_state`` (also inside pipelines) set to ``seed``."""
    est = clone(estimator)
    keys = [k for k in est.get_params() if k == "random_state" or k.endswith("__random_state")]
    return est.set_params(**dict.fromkeys(keys, seed))


def check_not_fitted(estimator, X):
    """Predicting or transforming before ``fit`` raises ``NotFittedError``."""
    if estimator.__sklearn_tags__().requires_fit:
        try:
            _output(clone(estimator), X)
        except NotFittedError:
            return
        raise AssertionError(f"{type(estimator).__name__} did not raise NotFittedError.")


def check_fit_returns_self_and_is_idempotent(estimator, X, y):
    """``fit`` returns self; fitting twice gives the same output as fitting once."""
    est = _seeded(estimator)
    assert est.fit(X, y) is est, "fit must return self"
    first = _as_array(_output(est, X))
    second = _as_array(_output(est.fit(X, y), X))
    np.testing.assert_allclose(first, second, rtol=1e-5, atol=1e-6)


def check_one_row_per_image(estimator, X, y):
    """The output has one row per input image (and the image shape for denoisers)."""
    out = _output(clone(estimator).fit(X, y), X)
    assert len(out) == len(X), f"{len(out)} rows for {len(X)} images"
    if out.dtype != object:
        assert out.shape == X.shape


def check_random_state_reproducible(estimator, X, y):
    """Two fits with the same ``random_state`` give bit-identical outputs."""
    a = _as_array(_output(_seeded(estimator).fit(X, y), X))
    b = _as_array(_output(_seeded(estimator).fit(X, y), X))
    np.testing.assert_array_equal(a, b)


def check_pickle_round_trip(estimator, X, y):
    """A fitted estimator pickles and gives the same output after unpickling."""
    est = _seeded(estimator).fit(X, y)
    np.testing.assert_array_equal(_as_array(_output(pickle.loads(pickle.dumps(est)), X)),
                                  _as_array(_output(est, X)))


def check_image_estimator(estimator, X, y):
    """Run every image-aware check on ``estimator`` with images ``X`` and targets ``y``."""
    check_not_fitted(estimator, X)
    check_one_row_per_image(estimator, X, y)
    check_fit_returns_self_and_is_idempotent(estimator, X, y)
    check_random_state_reproducible(estimator, X, y)
    check_pickle_round_trip(estimator, X, y)
