import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils import estimator_checks

import sksmoe
from sksmoe import EmbeddingPCA, PatchDecomposer, SAMDecomposer, SparseMoEDenoiser
from sksmoe.metrics import psnr




@pytest.fixture(scope="module")
def fitted(tiny_base, small_data, small_pipe):
    return small_pipe(tiny_base, n_experts=3).fit(small_data["X"], small_data["y"])


def test_pipeline_predicts_images_of_the_input_shape(fitted, small_data):
    out = fitted.predict(small_data["X_test"])
    assert out.shape == small_data["X_test"].shape and out.dtype == np.float32
    assert fitted.score(small_data["X_test"], small_data["y_test"]) == pytest.approx(
        psnr(small_data["y_test"], out).mean())
    gate = fitted[:-1].transform(small_data["X_test"])
    experts = fitted[-1].predict_gate(gate)
    assert experts.shape == out.shape and set(np.unique(experts)) <= {0, 1, 2}


def test_random_state_gives_bit_identical_results(tiny_base, small_data, small_pipe):
    a = small_pipe(tiny_base, n_experts=2).fit(small_data["X"], small_data["y"])
    b = small_pipe(tiny_base, n_experts=2).fit(small_data["X"], small_data["y"])
    np.testing.assert_array_equal(a[-1].heads_, b[-1].heads_)
    np.testing.assert_array_equal(a.predict(small_data["X_test"]), b.predict(small_data["X_test"]))


def test_clone_pickle_joblib_and_save_round_trips(fitted, small_data, tmp_path):
    expected = fitted.predict(small_data["X_test"])
    assert clone(fitted)[-1].get_params() == fitted[-1].get_params()
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(fitted)).predict(
        small_data["X_test"]), expected)
    joblib.dump(fitted, tmp_path / "model.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "model.joblib").predict(
        small_data["X_test"]), expected)
    path = sksmoe.save(fitted, tmp_path / "model.safetensors")
    np.testing.assert_array_equal(sksmoe.load(path).predict(small_data["X_test"]), expected)
    with pytest.raises(FileExistsError):
        sksmoe.save(fitted, path)
    (tmp_path / "junk.safetensors").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="junk"):
        sksmoe.load(tmp_path / "junk.safetensors")
    with pytest.raises(FileNotFoundError):
        sksmoe.load(tmp_path / "missing.safetensors")


def test_grid_search_over_experts_and_decomposer(tiny_base, small_data, small_pipe):
    search = GridSearchCV(
        small_pipe(tiny_base), {"sparsemoedenoiser__n_experts": [1, 2],
                           "patchdecomposer": [PatchDecomposer(patch_size=32, stride=16),
                                               PatchDecomposer(patch_size=48, stride=24)]},
        cv=2)
    search.fit(small_data["X"], small_data["y"])
    assert len(search.cv_results_["params"]) == 4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_identity_experts_merge_exactly(fitted, small_data):
    for context in ("image", "region"):
        model = clone(fitted).set_params(sparsemoedenoiser__context=context)
        model.fit(small_data["X"], small_data["y"])
        model[-1].heads_[:] = 0
        model[-1].head_biases_[:] = 0
        np.testing.assert_allclose(model.predict(small_data["X_test"]), small_data["X_test"],
                                   rtol=1e-6, atol=1e-6)


def test_closed_form_last_layer_beats_the_base_on_its_own_loss(tiny_base, small_data, small_pipe):
    tuned = small_pipe(tiny_base, n_experts=1).fit(small_data["X"], small_data["y"])
    untuned = small_pipe(tiny_base, n_experts=1, fine_tune="none").fit(small_data["X"],
                                                                  small_data["y"])
    def error(model):
        return ((model.predict(small_data["X"]) - small_data["y"]) ** 2).mean()
    assert error(tuned) < 0.9 * error(untuned)


@pytest.mark.parametrize("noise", ["level", "map"])
def test_noise_conditioned_base_is_given_the_estimated_noise(tiny_conditioned_base, small_data,
                                                             few_adam_steps, small_pipe, noise):
    import torch

    from sksmoe.nn._checkpoint import load_base

    X, y, X_test = small_data["X"], small_data["y"], small_data["X_test"]
    untuned = small_pipe(tiny_conditioned_base, n_experts=1, fine_tune="none")
    untuned = untuned.set_params(patchdecomposer__noise=noise).fit(X, y)
    base = load_base(tiny_conditioned_base)
    scale = np.percentile(X_test[0], 99.5)
    x = (X_test[0] / scale).astype(np.float32)
    if noise == "level":
        sigma = sksmoe.noise.estimate_sigma(X_test[0]) / scale
    else:
        sigma = torch.from_numpy(sksmoe.noise.estimate_noise_map(X_test[0]) / scale)[None, None]
    with torch.inference_mode():
        x = torch.from_numpy(x)[None, None]
        expected = (x - base(x, sigma))[0, 0].numpy() * scale
    np.testing.assert_allclose(untuned.predict(X_test[:1])[0], expected, rtol=1e-5, atol=1e-5)
    tuned = small_pipe(tiny_conditioned_base, n_experts=2).fit(X, y)
    assert tuned.score(X, y) > untuned.score(X, y)
    for params in ({"context": "region"}, {"fine_tune": "all"}):
        model = small_pipe(tiny_conditioned_base, n_experts=2, **params).fit(X[:2], y[:2])
        out = model.predict(X_test)
        assert out.shape == X_test.shape and np.isfinite(out).all()


@pytest.mark.parametrize("context, kind", [  # a U-Net sees past a region: no region case
    ("image", "half-resolution DnCNN"), ("region", "half-resolution DnCNN"), ("image", "U-Net"),
    ("image", "Stack")])
def test_closed_form_heads_on_other_bases(small_data, tmp_path, context, kind, small_pipe):
    import torch
    from safetensors.torch import save_file

    from sksmoe.nn._dncnn import DnCNN
    from sksmoe.nn._stack import Stack
    from sksmoe.nn._unet import UNet

    torch.manual_seed(0)
    bases = {"half-resolution DnCNN": lambda: DnCNN(depth=4, width=8, downsample=2),
             "U-Net": lambda: UNet(scales=2, width=8, blocks=1),
             "Stack": lambda: Stack([DnCNN(depth=3, width=4), UNet(scales=2, width=4,
                                                                  blocks=1)])}
    base = bases[kind]().eval()
    save_file(base.state_dict(), str(tmp_path / "base.safetensors"))
    X, y, X_test = small_data["X"], small_data["y"], small_data["X_test"][:, :-1]  # odd rows
    untuned = small_pipe(tmp_path / "base.safetensors", n_experts=1, fine_tune="none",
                    context=context).fit(X, y)
    scale = np.percentile(X_test[0], 99.5)
    x = (X_test[0] / scale).astype(np.float32)
    with torch.inference_mode():
        x = torch.from_numpy(x)[None, None]
        expected = (x - base(x))[0, 0].numpy() * scale
    tolerance = float(X_test.max()) * (1e-5 if context == "image" else 0.05)
    inside = (slice(8, -8), slice(8, -8))
    np.testing.assert_allclose(untuned.predict(X_test[:1])[0][inside], expected[inside],
                               atol=tolerance)
    tuned = clone(untuned).set_params(sparsemoedenoiser__fine_tune="last",
                                      sparsemoedenoiser__n_experts=2).fit(X, y)
    blocks = base.downsample ** 2
    assert tuned[-1].heads_.shape == (2, blocks, 8, 3, 3)
    assert tuned[-1].head_biases_.shape == (2, blocks)
    assert tuned.score(X, y) > untuned.score(X, y) + 1


def test_context_region_is_close_to_context_image_inside(fitted, small_data):
    region = clone(fitted).set_params(sparsemoedenoiser__context="region")
    region.fit(small_data["X"], small_data["y"])
    a, b = fitted.predict(small_data["X_test"]), region.predict(small_data["X_test"])
    assert np.abs(a - b)[:, 8:-8, 8:-8].mean() < 0.5 * np.abs(a - small_data["X_test"]).mean()


def test_gates(tiny_base, small_data, fitted, small_pipe):
    X_test = fitted[:-1].transform(small_data["X_test"])
    den = fitted[-1]
    np.testing.assert_array_equal(den.predict_gate(X_test, gate=1), 1)
    assert not np.array_equal(den.predict(X_test, gate=0), den.predict(X_test, gate=1))
    with pytest.raises(ValueError, match="gate"):
        den.predict(X_test, gate=5)
    hydra = make_pipeline(PatchDecomposer(patch_size=32, stride=16), SparseMoEDenoiser(
        n_experts=3, gating="position", base=tiny_base)).fit(small_data["X"], small_data["y"])
    experts = hydra[-1].predict_gate(hydra[:-1].transform(small_data["X_test"]))
    assert experts[:, :, 0].max() == 0 and experts[:, :, -1].min() == 2  # left ... right
    rand = small_pipe(tiny_base, n_experts=4, gating="random").fit(small_data["X"],
                                                                   small_data["y"])
    assert len(np.unique(rand[-1].predict_gate(rand[:-1].transform(small_data["X_test"])))) > 1
    with pytest.raises(ValueError, match="EmbeddingPCA"):
        make_pipeline(PatchDecomposer(patch_size=32, stride=16),
                      SparseMoEDenoiser(base=tiny_base)).fit(
            small_data["X"], small_data["y"])


def test_noise_bands_give_each_noise_range_its_own_last_layer(tiny_base):
    from sksmoe.datasets import make_brainweb_dataset
    from sksmoe.noise import estimate_sigma

    data = make_brainweb_dataset(noise_levels=(1, 9), rf_levels=(20,), slice_step=6).train
    crop = (slice(None), slice(60, 132), slice(70, 150))
    X, y, levels = data.noisy[crop], data.clean[crop], data.meta.noise_percent.to_numpy()
    pipe = make_pipeline(PatchDecomposer(patch_size=32, stride=16, noise="level"),
                         SparseMoEDenoiser(n_experts=1, noise_bands=2, base=tiny_base,
                                           random_state=0)).fit(X, y)
    model = pipe[-1]
    assert model.heads_.shape[0] == 2 and len(model.noise_edges_) == 1
    bands = np.searchsorted(model.noise_edges_,
                            [estimate_sigma(x) / np.percentile(x, 99.5) for x in X])
    np.testing.assert_array_equal(bands, (levels == 9).astype(int))
    assert not np.allclose(model.heads_[0], model.heads_[1])
    one_band = clone(pipe).set_params(sparsemoedenoiser__noise_bands=1).fit(X, y)
    assert pipe.score(X, y) > one_band.score(X, y)
    np.testing.assert_array_equal(model.predict_gate(pipe[0].transform(X)), 0)
    with pytest.raises(ValueError, match="noise_bands=3 needs at least 3 distinct"):
        clone(pipe).set_params(sparsemoedenoiser__noise_bands=3).fit(X[:2], y[:2])


def test_with_a_noise_map_the_bands_route_regions_by_their_local_noise(tiny_base):
    from sksmoe.datasets import add_smooth_noise, load_real_slices
    from sksmoe.moe._gating import region_noise

    real = load_real_slices("dipy-b0")
    clean = real.images[3:7]
    noisy = np.stack([add_smooth_noise(x, 0.05, kind="random", gmax=4, mask=m,
                                       random_state=i)[0]
                      for i, (x, m) in enumerate(zip(clean, real.mask[3:7]))])
    pipe = make_pipeline(PatchDecomposer(patch_size=32, stride=16), SparseMoEDenoiser(
        n_experts=1, noise_bands=2, base=tiny_base, random_state=0)).fit(noisy, clean)
    regions = pipe[0].transform(noisy)
    labels = pipe[-1]._labels(regions)
    for r, lab in zip(regions, labels):  # the noisier regions of an image: the upper band
        level = region_noise(r)
        assert len(np.unique(lab)) == 2
        assert level[lab == 1].min() > level[lab == 0].max()


@pytest.mark.parametrize("context", ["image", "region"])
def test_foreground_fits_the_last_layer_on_the_head(tiny_base, small_data, context, small_pipe):
    from sksmoe.metrics import brain_mask

    X, y = small_data["X"], small_data["y"]
    inside = brain_mask(y)
    assert 0.2 < inside.mean() < 0.9
    everywhere = small_pipe(tiny_base, n_experts=1, context=context).fit(X, y)
    foreground = clone(everywhere).fit(X, y, sparsemoedenoiser__foreground=inside)

    def error(model, where):  # on the fitted images: the least-squares objective itself
        return ((model.predict(X) - y)[where] ** 2).mean()

    assert error(foreground, inside) < error(everywhere, inside)
    assert error(foreground, ~inside) > error(everywhere, ~inside)
    with pytest.raises(ValueError, match="foreground"):
        clone(foreground).set_params(sparsemoedenoiser__fine_tune="all").fit(
            X, y, sparsemoedenoiser__foreground=inside)
    with pytest.raises(ValueError, match="foreground"):
        clone(foreground).fit(X, y, sparsemoedenoiser__foreground=inside[:2])


def test_fine_tune_all_changes_the_trunk(tiny_base, small_data, few_adam_steps, small_pipe):
    model = small_pipe(tiny_base, n_experts=2, fine_tune="all").fit(
        small_data["X"][:2], small_data["y"][:2])
    states = model[-1].expert_states_
    assert len(states) == 2
    assert not np.array_equal(states[0]["trunk.0.weight"], model[-1].base_state_["trunk.0.weight"])
    assert model.predict(small_data["X_test"]).shape == small_data["X_test"].shape


def test_errors(tiny_base, small_data, tmp_path, small_pipe):
    with pytest.raises(NotFittedError):
        small_pipe(tiny_base).predict(small_data["X_test"])
    with pytest.raises(TypeError, match="decomposer"):
        SparseMoEDenoiser(base=tiny_base).fit(small_data["X"], small_data["y"])
    with pytest.raises(ValueError, match="images"):
        small_pipe(tiny_base).fit(small_data["X"], small_data["y"][:2])
    with pytest.raises(ValueError, match="gating"):
        small_pipe(tiny_base, gating="softmax").fit(small_data["X"], small_data["y"])
    with pytest.raises(ValueError, match="n_experts"):
        small_pipe(tiny_base, n_experts=0).fit(small_data["X"], small_data["y"])
    with pytest.raises(ValueError, match="alpha"):
        small_pipe(tiny_base, alpha=-1.0).fit(small_data["X"], small_data["y"])
    with pytest.raises(TypeError):
        SparseMoEDenoiser(4)  # keyword-only parameters
    with pytest.raises(FileNotFoundError, match="nowhere"):
        small_pipe(tmp_path / "nowhere.pt").fit(small_data["X"], small_data["y"])
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="bad.pt"):
        small_pipe(tmp_path / "bad.pt").fit(small_data["X"], small_data["y"])


@pytest.mark.parametrize("Estimator", [PatchDecomposer, SAMDecomposer, EmbeddingPCA,
                                       SparseMoEDenoiser])
def test_data_free_sklearn_checks(Estimator):
    name = Estimator.__name__
    estimator_checks.check_parameters_default_constructible(name, Estimator())
    estimator_checks.check_no_attributes_set_in_init(name, Estimator())
    estimator_checks.check_get_params_invariance(name, Estimator())
    estimator_checks.check_set_params(name, Estimator())
    estimator_checks.check_estimator_cloneable(name, Estimator())
    estimator_checks.check_estimator_repr(name, Estimator())
    estimator_checks.check_do_not_raise_errors_in_init_or_set_params(name, Estimator())


def test_baselines_are_one_liners(tiny_base, small_data):
    dncnn = make_pipeline(PatchDecomposer(patch_size=32, stride=16),
                          SparseMoEDenoiser(n_experts=1, fine_tune="none", base=tiny_base))
    tuned = make_pipeline(PatchDecomposer(patch_size=32, stride=16),
                          SparseMoEDenoiser(n_experts=1, base=tiny_base))
    for model in (dncnn, tuned):
        model.fit(small_data["X"], small_data["y"])
        assert model.predict(small_data["X_test"]).shape == small_data["X_test"].shape
    np.testing.assert_array_equal(dncnn[-1].heads_[0], dncnn[-1].base_state_["head.weight"])
    assert not np.array_equal(tuned[-1].heads_[0], tuned[-1].base_state_["head.weight"])


def test_experts_fine_tuned_whole_on_a_unet_base_round_trip(small_data, tmp_path,
                                                           few_adam_steps, small_pipe):
    import torch
    from safetensors.torch import save_file

    from sksmoe.nn._unet import UNet

    torch.manual_seed(0)
    save_file(UNet(scales=2, width=8, blocks=1).state_dict(), str(tmp_path / "u.safetensors"))
    X, y, X_test = small_data["X"], small_data["y"], small_data["X_test"]
    model = small_pipe(tmp_path / "u.safetensors", n_experts=2, fine_tune="all").fit(X[:2], y[:2])
    out = model.predict(X_test)
    assert out.shape == X_test.shape and np.isfinite(out).all()
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict(X_test), out)


def test_fits_region_sets_of_images_of_different_sizes(tiny_base, small_data):
    from sksmoe.decomposition import PatchDecomposer

    X, y = small_data["X"], small_data["y"]
    decomposer = PatchDecomposer(patch_size=32, stride=16)
    regions = np.concatenate([decomposer.transform(X[:3]),
                              decomposer.transform(X[3:, 4:, 8:])])  # 68x72 images
    clean = [*y[:3], *y[3:, 4:, 8:]]
    model = SparseMoEDenoiser(n_experts=1, base=tiny_base, random_state=0).fit(regions, clean)
    untuned = clone(model).set_params(fine_tune="none").fit(regions, clean)
    small = decomposer.transform(small_data["X_test"][:, 4:, 8:])
    assert model.score(small, small_data["y_test"][:, 4:, 8:]) > untuned.score(
        small, small_data["y_test"][:, 4:, 8:])
    with pytest.raises(ValueError, match="does not match"):
        SparseMoEDenoiser(n_experts=1, base=tiny_base).fit(regions, clean[::-1])


def test_predict_changes_nothing_in_the_estimator(fitted, small_data):
    import copy

    before = copy.deepcopy(vars(fitted[-1]))
    fitted.predict(small_data["X_test"])
    fitted[-1].predict_gate(fitted[:-1].transform(small_data["X_test"]))
    after = vars(fitted[-1])
    assert after.keys() == before.keys()
    for key, value in before.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(after[key], value)
        elif not isinstance(value, dict):
            assert after[key] == value


def test_tags_declare_region_input_and_a_required_target():
    from sklearn.utils import get_tags

    tags = get_tags(SparseMoEDenoiser())
    assert tags.target_tags.required and not tags.input_tags.two_d_array
    assert not get_tags(PatchDecomposer()).requires_fit


@pytest.fixture(scope="module")
def tiny_context_base(tmp_path_factory):
    """A small noise-conditioned DnCNN that sees one neighbouring slice a side."""
    import torch
    from safetensors.torch import save_file

    from sksmoe.nn._dncnn import DnCNN

    torch.manual_seed(0)
    model = DnCNN(depth=4, width=8, noise_channel=True, context=1)
    path = tmp_path_factory.mktemp("bases") / "context.safetensors"
    save_file(model.state_dict(), str(path))
    return path


def test_a_context_base_sees_each_slice_with_its_neighbours_and_the_map(
        tiny_context_base, small_data, few_adam_steps):
    import torch
    from sklearn.pipeline import make_pipeline

    from sksmoe import EmbeddingPCA, PatchDecomposer, SliceNeighbours
    from sksmoe.nn._checkpoint import load_base

    X, y = small_data["X"], small_data["y"]  # six slices four apart: a coarse volume

    def pipe(**params):
        return make_pipeline(SliceNeighbours(context=1),
                             PatchDecomposer(patch_size=32, stride=16, noise="map"),
                             EmbeddingPCA(n_components=8, input_size=32),
                             SparseMoEDenoiser(base=tiny_context_base, random_state=0, **params))

    untuned = pipe(n_experts=1, fine_tune="none").fit(X, y)
    base, rows = load_base(tiny_context_base), SliceNeighbours(context=1).transform(X)
    scale = np.percentile(X[2], 99.5)
    slab = torch.from_numpy((rows[2][[1, 0, 2]] / scale).astype(np.float32))[None]
    sigma = torch.from_numpy(sksmoe.noise.estimate_noise_map(X[2]) / scale)[None, None]
    with torch.inference_mode():
        expected = (slab[:, :1] - base(slab, sigma))[0, 0].numpy() * scale
    np.testing.assert_allclose(untuned.predict(X)[2], expected, rtol=1e-5, atol=1e-5)
    for params in ({}, {"context": "region"}, {"fine_tune": "all"}):
        out = pipe(n_experts=2, **params).fit(X, y).predict(X)
        assert out.shape == X.shape and np.isfinite(out).all()
    # a 2-D stack: each image is given as its own neighbours
    flat = make_pipeline(PatchDecomposer(patch_size=32, stride=16, noise="map"), SparseMoEDenoiser(
        base=tiny_context_base, n_experts=1, fine_tune="none")).fit(X, y)
    slab = slab[:, :1].repeat(1, 3, 1, 1)
    with torch.inference_mode():
        expected = (slab[:, :1] - base(slab, sigma))[0, 0].numpy() * scale
    np.testing.assert_allclose(flat.predict(X)[2], expected, rtol=1e-5, atol=1e-5)
