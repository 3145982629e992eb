import json

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.pipeline import make_pipeline

import sksmoe
from sksmoe import NoiseScale, PatchDecomposer, SelfEnsemble, SparseMoEDenoiser
from sksmoe.moe import unwrapped
from sksmoe.moe._sure import SURE_SCALES


@pytest.fixture(scope="module")
def conditioned(tiny_conditioned_base, small_data, small_pipe):
    return small_pipe(tiny_conditioned_base, n_experts=2).fit(small_data["X"], small_data["y"])


class _ShiftRight(BaseEstimator):
    """A denoiser of image arrays that is not equivariant: it moves the image a pixel."""

    def fit(self, X, y=None):
        return self

    def predict(self, X):
        return np.roll(X, 1, axis=-1)


def test_self_ensemble_of_any_image_denoiser_is_its_average_over_flips_and_turns():
    X = np.random.default_rng(0).random((2, 5, 7))
    expected = 0
    for flip in (False, True):
        for turns in range(4):
            moved = np.rot90(X[..., ::-1] if flip else X, turns, axes=(1, 2))
            back = np.rot90(np.roll(moved, 1, axis=-1), -turns, axes=(1, 2))
            expected = expected + (back[..., ::-1] if flip else back)
    np.testing.assert_allclose(SelfEnsemble(_ShiftRight()).predict(X), expected / 8)
    assert SelfEnsemble(_ShiftRight()).fit(X).predict(X).shape == X.shape


@pytest.mark.parametrize("context", ["image", "region"])
def test_self_ensemble_makes_one_expert_equivariant_to_flips_and_rotations(
        tiny_base, small_data, context):
    image = small_data["X_test"][:1, :64, :64]
    single = make_pipeline(PatchDecomposer(patch_size=32, stride=16), SparseMoEDenoiser(
        n_experts=1, base=tiny_base, context=context, random_state=0))
    single.fit(small_data["X"][:, :64, :64], small_data["y"][:, :64, :64])
    model = SelfEnsemble(single)
    for transform in (np.fliplr, np.rot90, lambda a: np.rot90(a, 3)):
        moved = transform(image[0]).copy()[None]
        np.testing.assert_allclose(model.predict(moved)[0], transform(model.predict(image)[0]),
                                   atol=1e-4 * float(image.max()))
    moved = np.fliplr(image[0]).copy()[None]
    assert not np.allclose(single.predict(moved)[0], np.fliplr(single.predict(image)[0]),
                           atol=1e-4 * float(image.max()))


def test_regions_turned_cover_the_turned_image(small_data):
    regions = PatchDecomposer(patch_size=32, stride=16).transform(small_data["X_test"][:1])[0]
    labels = np.arange(len(regions)) % 3
    for turns in range(4):
        for flip in (False, True):
            moved = regions.turned(turns, flip)
            expected = np.rot90(regions.image[:, ::-1] if flip else regions.image, turns)
            np.testing.assert_array_equal(moved.image, expected)
            np.testing.assert_array_equal(moved.crops(), [
                np.rot90(c[:, ::-1] if flip else c, turns) for c in regions.crops()])
            coverage = regions.coverage(labels, 3)
            np.testing.assert_array_equal(moved.coverage(labels, 3), np.rot90(
                coverage[..., ::-1] if flip else coverage, turns, axes=(1, 2)))


def test_noise_scale_tells_the_base_a_scaled_noise_level(conditioned, small_data):
    X_test = small_data["X_test"]
    default = conditioned.predict(X_test)
    np.testing.assert_array_equal(NoiseScale(conditioned, scale=1.0).predict(X_test), default)
    halved = NoiseScale(conditioned, scale=0.5).predict(X_test)
    assert not np.allclose(halved, default)
    # SURE picks one of the fixed scales: its output is among theirs
    chosen = NoiseScale(conditioned).predict(X_test[:1])[0]
    candidates = [NoiseScale(conditioned, scale=s).predict(X_test[:1])[0] for s in SURE_SCALES]
    assert any(np.allclose(chosen, c, atol=1e-5 * X_test.max()) for c in candidates)


@pytest.mark.parametrize("context", ["image", "region"])
def test_sure_then_self_ensemble_is_deterministic_and_chooses_on_one_pass(
        conditioned, small_data, context):
    X_test = small_data["X_test"]
    model = clone(conditioned).set_params(sparsemoedenoiser__context=context)
    model.fit(small_data["X"], small_data["y"])
    both = NoiseScale(SelfEnsemble(model))
    out = both.predict(X_test)
    assert out.shape == X_test.shape and np.isfinite(out).all()
    np.testing.assert_array_equal(both.predict(X_test), out)
    # the scale is the one-pass choice, applied to the ensemble
    chosen = NoiseScale(model).predict(X_test[:1])[0]
    for scale in SURE_SCALES:
        if np.allclose(NoiseScale(model, scale=scale).predict(X_test[:1])[0], chosen):
            np.testing.assert_allclose(
                out[0], NoiseScale(SelfEnsemble(model), scale=scale).predict(X_test[:1])[0],
                atol=1e-5 * X_test.max())
            break
    else:
        raise AssertionError("SURE's output is none of the fixed scales'")


def test_noise_scale_errors(conditioned, tiny_base, small_data, small_pipe):
    X, y, X_test = small_data["X"], small_data["y"], small_data["X_test"]
    with pytest.raises(ValueError, match="scale"):
        NoiseScale(conditioned, scale=0).predict(X_test)
    with pytest.raises(ValueError, match="scale"):
        NoiseScale(conditioned, scale="auto").predict(X_test)
    blind = small_pipe(tiny_base, n_experts=1).fit(X, y)
    with pytest.raises(ValueError, match="blind"):
        NoiseScale(blind, scale=0.8).predict(X_test)
    with pytest.raises(TypeError, match="region sets"):
        NoiseScale(_ShiftRight(), scale=0.8).predict(X_test)


def test_wrappers_fit_clone_grid_search_and_save(tiny_conditioned_base, small_data, tmp_path,
                                                 small_pipe):
    from sklearn.model_selection import GridSearchCV

    X, y, X_test = small_data["X"], small_data["y"], small_data["X_test"][:1]
    model = NoiseScale(SelfEnsemble(small_pipe(tiny_conditioned_base, n_experts=1)), scale=0.9)
    with pytest.raises(Exception, match="not fitted"):
        clone(model).predict(X_test)
    model.fit(X, y)
    assert model.estimator_ is not model.estimator
    out = model.predict(X_test)
    path = sksmoe.save(model, tmp_path / "wrapped.safetensors")
    loaded = sksmoe.load(path)
    assert isinstance(loaded, NoiseScale) and loaded.scale == 0.9
    np.testing.assert_array_equal(loaded.predict(X_test), out)
    assert unwrapped(loaded).steps[-1][0] == "sparsemoedenoiser"
    search = GridSearchCV(NoiseScale(small_pipe(tiny_conditioned_base, n_experts=1)),
                          {"scale": [0.7, 1.0]}, cv=2).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_format_1_files_load_with_their_wrappers(conditioned, small_data, tmp_path):
    from safetensors.numpy import load_file, save_file

    path = sksmoe.save(conditioned, tmp_path / "v2.safetensors")
    from safetensors import safe_open

    with safe_open(str(path), "np") as handle:
        description = json.loads(handle.metadata()["sksmoe"])["model"]
    steps = [{"name": name, **step} for name, step in description["steps"]]
    steps[-1]["params"].update(self_ensemble=True, noise_scale="sure", foreground_only=True,
                               max_steps=200, learning_rate=1e-4, batch_size=16)
    steps[-1]["fitted"]["n_experts_"] = {"value": 2}
    header = {"format": "sksmoe-model-1", "pipeline": True, "steps": steps}
    save_file(load_file(str(path)), str(tmp_path / "v1.safetensors"),
              metadata={"sksmoe": json.dumps(header)})
    loaded = sksmoe.load(tmp_path / "v1.safetensors")
    assert isinstance(loaded, NoiseScale) and isinstance(loaded.estimator, SelfEnsemble)
    np.testing.assert_array_equal(loaded.predict(small_data["X_test"][:1]),
                                  NoiseScale(SelfEnsemble(conditioned)).predict(
                                      small_data["X_test"][:1]))


def test_format_2_files_tell_their_networks_the_noise_level(conditioned, small_data, tmp_path):
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file
    from sklearn.base import clone

    path = sksmoe.save(conditioned, tmp_path / "v3.safetensors")
    with safe_open(str(path), "np") as handle:
        description = json.loads(handle.metadata()["sksmoe"])["model"]
    assert description["steps"][0][1]["params"]["noise"] == "map"
    del description["steps"][0][1]["params"]["noise"]  # as written before noise maps
    save_file(load_file(str(path)), str(tmp_path / "v2.safetensors"),
              metadata={"sksmoe": json.dumps({"format": "sksmoe-model-2",
                                              "model": description})})
    loaded = sksmoe.load(tmp_path / "v2.safetensors")
    assert loaded[0].noise == "level"
    level = clone(conditioned[0]).set_params(noise="level")
    expected = conditioned[-1].predict(conditioned[1].transform(level.transform(
        small_data["X_test"][:1])))
    np.testing.assert_array_equal(loaded.predict(small_data["X_test"][:1]), expected)


def test_malformed_model_files_raise_value_errors_naming_the_file(conditioned, tmp_path):
    from safetensors.numpy import load_file, save_file

    path = sksmoe.save(conditioned, tmp_path / "good.safetensors")
    arrays = load_file(str(path))
    for name, header in {"nosteps": {"format": "sksmoe-model-2", "model": {"class": "Pipeline"}},
                         "badparam": {"format": "sksmoe-model-2", "model": {
                             "class": "PatchDecomposer", "params": {"size": 3},
                             "fitted": {}}},
                         "noarray": {"format": "sksmoe-model-2", "model": {
                             "class": "PatchDecomposer", "params": {},
                             "fitted": {"x_": {"array": "missing"}}}},
                         "list": ["not", "a", "header"]}.items():
        bad = tmp_path / f"{name}.safetensors"
        save_file(arrays, str(bad), metadata={"sksmoe": json.dumps(header)})
        with pytest.raises(ValueError, match=name):
            sksmoe.load(bad)
