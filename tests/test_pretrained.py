"""End-to-end tests of the bundled model on held-out data (never seen in training)."""

import json
from hashlib import sha256

import numpy as np
import pytest

import sksmoe
from sksmoe.datasets import make_brainweb_dataset, make_real_dataset
from sksmoe.metrics import psnr
from sksmoe.moe import unwrapped
from sksmoe.pretrained import HERE


@pytest.fixture(scope="module")
def model():
    return sksmoe.load_pretrained()  # the "fast" preset: one pass


@pytest.fixture(scope="module")
def test_slices():
    return make_brainweb_dataset(("T1", "T2"), noise_levels=(3, 5), rf_levels=(20,),
                                 slice_step=4, random_state=1).test


def test_model_card_matches_the_bundled_files(model):
    card = json.loads((HERE / "smoe_patch.json").read_text())
    assert card["k_chosen_on_validation"] == model[-1].n_experts
    assert card["sha256"] == sha256((HERE / "smoe_patch.safetensors").read_bytes()).hexdigest()
    base_card = json.loads((HERE / card["base"].replace(".safetensors", ".json")).read_text())
    assert base_card["sha256"] == sha256((HERE / card["base"]).read_bytes()).hexdigest()
    assert base_card["cpu_hours"] > 0 and "python -m sksmoe.training" in base_card["command"]


def test_slice_context_network_matches_its_card_and_sees_neighbours_and_a_map():
    from sksmoe.nn._checkpoint import load_base

    card = json.loads((HERE / "stack_ctx2_maps.json").read_text())
    assert card["sha256"] == sha256((HERE / card["weights"]).read_bytes()).hexdigest()
    assert card["steps"] == 3000 and "BSD-3-Clause" in card["license"]
    network = load_base(HERE / card["weights"])
    assert network.context == 2 and network.noise_channel


def test_presets_wrap_the_same_fitted_pipeline(model):
    quality = sksmoe.load_pretrained(preset="quality")
    assert isinstance(quality, sksmoe.NoiseScale) and quality.scale == "sure"
    assert isinstance(quality.estimator, sksmoe.SelfEnsemble)
    np.testing.assert_array_equal(unwrapped(quality)[-1].heads_, model[-1].heads_)
    with pytest.raises(ValueError, match="preset"):
        sksmoe.load_pretrained(preset="best")


@pytest.mark.slow
def test_quality_preset_beats_one_pass_on_held_out_slices(model, test_slices):
    alone = test_slices.noisy[:2, None]  # unrelated slices: each alone
    quality = sksmoe.load_pretrained(preset="quality").predict(alone)
    fast = model.predict(alone)
    clean, mask = test_slices.clean[:2], test_slices.mask[:2]
    assert psnr(clean, quality, mask).mean() > psnr(clean, fast, mask).mean()


def test_bundled_smoe_denoises_held_out_slices(model, test_slices):
    denoised = model.predict(test_slices.noisy[:, None])
    gain = (psnr(test_slices.clean, denoised, test_slices.mask)
            - psnr(test_slices.clean, test_slices.noisy, test_slices.mask))
    levels = test_slices.meta.noise_percent.to_numpy()
    assert gain[levels == 3].mean() > 4.0  # dB, brain mask
    assert gain[levels == 5].mean() > 6.0
    assert gain.min() > 2.0


def test_bundled_smoe_on_the_real_slice(model):
    real = make_real_dataset("dipy-t1", (5,))
    gain = psnr(real.clean, model.predict(real.noisy[:, None]), real.mask) - psnr(
        real.clean, real.noisy, real.mask)
    assert gain.min() > 3.0


def test_denoise_slice_and_stack(model, test_slices):
    one = sksmoe.denoise(test_slices.noisy[0], model)
    np.testing.assert_allclose(one, model.predict(test_slices.noisy[:1, None])[0], rtol=1e-5,
                               atol=1e-5)  # a slice alone
    stack = test_slices.noisy[:3]
    batched = sksmoe.denoise(stack, model, batch_size=2)  # neighbours from the whole stack
    assert one.shape == stack[0].shape and batched.shape == (3, 197, 233)
    np.testing.assert_allclose(batched, sksmoe.denoise(stack, model), rtol=1e-5, atol=1e-5)
