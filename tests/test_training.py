import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sksmoe.datasets import load_real_slices
from sksmoe.nn._dncnn import DnCNN
from sksmoe.pretrained import HERE
from sksmoe.training import (
    PatchSampler,
    initialise,
    learning_rate,
    main,
    patch_weights,
    save_weights,
    widen,
)

RUNS = Path(__file__).parents[1] / "benchmarks" / "training_runs"


def test_sampler_draws_clean_and_noisy_patches_with_their_noise_level():
    sampler = PatchSampler(patch_size=32, noise_range=(5.0, 5.0), seed=0)
    noisy, clean, sigma = sampler.sample(8)
    assert noisy.shape == clean.shape == (8, 1, 32, 32) and noisy.dtype == np.float32
    assert 0.02 < np.std(noisy - clean) < 0.1  # 5% of a reference near 1, scaled 0.8-1.25
    brain = clean[:, 0] > 0.3  # Rician noise is close to Gaussian on bright tissue
    measured = np.std((noisy - clean)[:, 0][brain])
    assert abs(np.median(sigma) / measured - 1) < 0.2


def test_zoomed_out_patches_hold_finer_anatomy():
    def edge_energy(zoom_range):
        sampler = PatchSampler(patch_size=32, noise_range=(0.0, 0.0), seed=0,
                               zoom_range=zoom_range)
        clean = sampler.sample(256)[1][:, 0]
        return np.mean(np.abs(np.diff(clean, axis=-1))), clean.shape

    (plain, shape), (shrunk, zoomed_shape) = edge_energy((1, 1)), edge_energy((0.5, 0.5))
    assert zoomed_shape == shape == (256, 32, 32)
    assert shrunk > 1.3 * plain  # the same anatomy in half the pixels (anti-aliased)


def test_real_anatomy_joins_the_template_slices():
    template = PatchSampler(patch_size=16, seed=0)
    both = PatchSampler(patch_size=16, seed=0, real_anatomy=["dipy-b0"])
    assert len(both.images) == len(template.images) + 10
    assert both.real_licenses == [load_real_slices("dipy-b0").license]
    assert np.allclose(both.images[-1].shape, (128, 128))


def test_sampler_refuses_a_bad_zoom_range():
    with pytest.raises(ValueError, match="zoom_range"):
        PatchSampler(zoom_range=(0, 1))


@pytest.mark.parametrize("architecture", ["DnCNN", "UNet"])
def test_blind_weights_start_a_noise_conditioned_model_with_the_same_function(tmp_path,
                                                                              architecture):
    from sksmoe.nn._unet import UNet

    def build(**params):
        return (DnCNN(depth=4, width=8, **params) if architecture == "DnCNN"
                else UNet(scales=2, width=8, blocks=1, **params))

    torch.manual_seed(0)
    blind = build().eval()
    save_weights(blind, tmp_path / "blind.safetensors")
    conditioned = build(noise_channel=True)
    assert initialise(conditioned, tmp_path / "blind.safetensors") == 0.0
    x = torch.rand(2, 1, 16, 16)
    with torch.inference_mode():
        expected = blind(x)
        for sigma in (0.0, 0.05):
            torch.testing.assert_close(conditioned.eval()(x, sigma), expected,
                                       atol=1e-2, rtol=1e-2)  # fp16 weights


def test_patch_weights_favour_low_noise_and_average_one():
    sigma = torch.tensor([0.0, 0.01, 0.05, 0.15])
    weights = patch_weights(sigma, 0.02)
    assert torch.all(weights[:-1] > weights[1:])
    assert weights.mean().item() == pytest.approx(1.0)
    assert weights[0] / weights[-1] == pytest.approx((0.15**2 + 0.02**2) / 0.02**2)


def test_noise_weighted_loss_needs_a_positive_floor(capsys):
    with pytest.raises(SystemExit):
        main(["base", "--noise-weighted-loss", "0"])
    assert "must be positive" in capsys.readouterr().err


def test_widened_model_computes_the_narrow_models_function(tmp_path):
    torch.manual_seed(0)
    narrow = DnCNN(depth=4, width=3, noise_channel=True)
    for module in narrow.modules():  # non-trivial batch-norm statistics
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    wide = DnCNN(depth=4, width=7, noise_channel=True)
    wide.load_state_dict(widen(narrow, 7, noise=0.0))
    x, sigma = torch.rand(2, 1, 16, 16), torch.tensor([0.02, 0.1])
    narrow.eval(), wide.eval()
    with torch.no_grad():
        torch.testing.assert_close(wide(x, sigma), narrow(x, sigma), rtol=1e-5, atol=1e-6)
        narrow.train(), wide.train()  # batch statistics: copies have their original's
        torch.testing.assert_close(wide(x, sigma), narrow(x, sigma), rtol=1e-4, atol=1e-5)
    save_weights(narrow, tmp_path / "narrow.safetensors")
    started = DnCNN(depth=4, width=7, noise_channel=True)
    initialise(started, tmp_path / "narrow.safetensors")  # default noise: copies differ
    from sksmoe.nn._checkpoint import load_base

    originals = load_base(tmp_path / "narrow.safetensors").trunk[0].weight.detach()
    copies = started.trunk[0].weight[3:].detach()
    distance = (copies[:, None] - originals[None]).abs().amax(dim=(2, 3, 4))  # (4 copies, 3)
    assert torch.all(distance.min(dim=1).values > 0)


def test_deepened_unet_computes_the_shallow_models_function(tmp_path):
    from sksmoe.nn._checkpoint import load_base
    from sksmoe.nn._unet import UNet

    torch.manual_seed(0)
    shallow = UNet(scales=2, width=4, blocks=1, noise_channel=True)
    save_weights(shallow, tmp_path / "shallow.safetensors")
    shallow = load_base(tmp_path / "shallow.safetensors")  # float16 weights, as saved
    deep = UNet(scales=2, width=4, blocks=3, noise_channel=True)
    initialise(deep, tmp_path / "shallow.safetensors")
    x, sigma = torch.rand(2, 1, 20, 20), torch.tensor([0.02, 0.1])
    with torch.no_grad():
        torch.testing.assert_close(deep(x, sigma), shallow(x, sigma), rtol=1e-5, atol=1e-6)
    new_block = deep.down[0][2]  # starts as the identity, but can learn: its first conv is set
    assert new_block.conv2.weight.abs().max() == 0 and new_block.conv1.weight.abs().max() > 0
    assert torch.equal(deep.down[0][0].conv1.weight, shallow.down[0][0].conv1.weight)


def test_learning_rate_is_a_plain_float_schedule():
    rates = [learning_rate(s, 100, 1e-3) for s in range(100)]
    assert all(type(r) is float for r in rates)
    assert max(rates) <= 1e-3 and rates[-1] < 0.05 * max(rates)


def test_training_resumes_from_its_checkpoint(tmp_path, capsys):
    common = ["base", "--name", "t", "--depth", "3", "--width", "4", "--batch-size", "4",
              "--patch-size", "32", "--validate-every", "2", "--checkpoint-every", "1",
              "--workdir", str(tmp_path / "work"), "--out", str(tmp_path / "out")]
    assert main(common + ["--steps", "3", "--until", "2"]) == 0  # paused at step 2 of 3
    state = torch.load(tmp_path / "work" / "t.ckpt", weights_only=True)
    assert state["step"] == 2
    assert json.loads((tmp_path / "out" / "t.json").read_text())["steps"] == 2
    assert main(common + ["--steps", "3"]) == 0
    assert "resumed" in capsys.readouterr().out
    card = json.loads((tmp_path / "out" / "t.json").read_text())
    assert card["steps"] == 3 and set(card["validation_brain_psnr"]) == {"1", "3", "5", "7", "9"}
    log = (tmp_path / "work" / "t.log.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in log] == [2, 3]
    assert set(json.loads(log[-1])["val_real_psnr"]) == set(card["validation_real_brain_psnr"])
    assert len(card["validation_real_brain_psnr"]) == 5
    (tmp_path / "out" / "t.safetensors").unlink()
    assert main(common + ["--steps", "10", "--export"]) == 0  # as it stands: no training
    assert json.loads((tmp_path / "out" / "t.json").read_text())["steps"] == 3
    assert (tmp_path / "out" / "t.safetensors").is_file()
    finished = {k: v for k, v in state.items() if k != "optimizer"}  # as finished runs are kept
    torch.save(finished, tmp_path / "work" / "t.ckpt")
    assert main(common + ["--steps", "10", "--export"]) == 0
    with pytest.raises(SystemExit, match="no checkpoint"):
        main(["base", "--export", "--name", "u"] + common[3:])


def test_trains_a_noise_conditioned_half_resolution_model(tmp_path):
    from sksmoe.nn._checkpoint import load_base

    assert main(["base", "--name", "h", "--depth", "3", "--width", "4", "--batch-size", "2",
                 "--patch-size", "32", "--steps", "1", "--downsample", "2", "--noise-channel",
                 "--noise-weighted-loss", "0.02",
                 "--workdir", str(tmp_path), "--out", str(tmp_path)]) == 0
    model = load_base(tmp_path / "h.safetensors")
    assert (model.downsample, model.noise_channel) == (2, True)
    card = json.loads((tmp_path / "h.json").read_text())
    assert "pixel-unshuffled" in card["model"] and "0.02^2" in card["loss"]


def test_trains_a_noise_conditioned_unet_and_resumes_it(tmp_path):
    from safetensors.torch import save_file

    from sksmoe.nn._checkpoint import load_base
    from sksmoe.nn._unet import UNet

    common = ["base", "--name", "u", "--arch", "unet", "--scales", "2", "--blocks", "1",
              "--width", "4", "--batch-size", "2", "--patch-size", "32", "--noise-channel",
              "--checkpoint-every", "1", "--workdir", str(tmp_path), "--out", str(tmp_path)]
    assert main(common + ["--steps", "1"]) == 0
    assert main(common + ["--steps", "2", "--init", str(tmp_path / "u.safetensors")]) == 0
    model = load_base(tmp_path / "u.safetensors")
    assert isinstance(model, UNet)
    assert (model.depth, model.width, model.blocks, model.noise_channel) == (2, 4, 1, True)
    card = json.loads((tmp_path / "u.json").read_text())
    assert card["steps"] == 2 and card["model"].startswith("U-Net, 2 scales")
    save_file(DnCNN(depth=3, width=4).state_dict(), str(tmp_path / "d.safetensors"))
    with pytest.raises(ValueError, match="holds a DnCNN"):
        main(common[:2] + ["v"] + common[3:] + ["--steps", "1",
                                                "--init", str(tmp_path / "d.safetensors")])


def test_stack_command_writes_a_base_whose_card_carries_its_members(tmp_path):
    from sksmoe.nn._checkpoint import load_base
    from sksmoe.nn._stack import Stack

    members = []
    for name, arch in (("d", []), ("u", ["--arch", "unet", "--scales", "2", "--blocks", "1"])):
        assert main(["base", "--name", name, "--width", "4", "--depth", "3", "--batch-size", "2",
                     "--patch-size", "32", "--steps", "1", "--noise-channel", *arch,
                     "--workdir", str(tmp_path), "--out", str(tmp_path)]) == 0
        members.append(str(tmp_path / f"{name}.safetensors"))
    assert main(["stack", *members, "--weights", "0.75", "0.25", "--name", "s",
                 "--out", str(tmp_path)]) == 0
    model = load_base(tmp_path / "s.safetensors")
    assert isinstance(model, Stack) and model.width == 8
    card = json.loads((tmp_path / "s.json").read_text())
    assert [m["weights"] for m in card["members"]] == ["d.safetensors", "u.safetensors"]
    assert card["license"].startswith("BSD-3-Clause") and len(card["validation_brain_psnr"]) == 5
    (tmp_path / "u.json").unlink()
    with pytest.raises(SystemExit):
        main(["stack", *members, "--out", str(tmp_path)])


@pytest.mark.slow  # a minute; the miniature recipe runs the smoe command in the default run
def test_smoe_command_fits_on_template_and_real_slices(tiny_conditioned_base, tmp_path):
    from sksmoe import load

    assert main(["smoe", "--base", str(tiny_conditioned_base), "--n-experts", "1",
                 "--modalities", "T1", "--noise-levels", "5", "--slice-step", "12",
                 "--real-anatomy", "pydeface-t1", "--real-slice-step", "20",
                 "--self-ensemble", "--noise-scale", "sure", "--name", "s",
                 "--out", str(tmp_path)]) == 0
    card = json.loads((tmp_path / "s.json").read_text())
    assert "'pydeface-t1'" in card["data"] and "pydeface" in card["license"]
    assert card["preset"] == {"self_ensemble": True, "noise_scale": "sure"}
    assert set(card["validation"]["1"]["val_brain_psnr"]) == {"5"}
    real = card["validation"]["1"]["val_real_brain_psnr"]  # b=0 at 1-9%, beside the template's
    assert set(real) == {"1", "3", "5", "7", "9"} and 20 < real["9"] < real["1"] < 60
    ensembled = card["validation"]["1"]["self_ensemble"]  # through SelfEnsemble, then both
    scaled = card["validation"]["1"]["noise_scale"]  # the preset's scores
    assert ensembled["noise_scale"] == 1.0 and scaled["noise_scale"] == "sure"
    assert scaled["self_ensemble"] and set(scaled["val_real_brain_psnr"]) == set(real)
    assert ensembled["val_brain_psnr_mean"] > card["validation"]["1"]["val_brain_psnr_mean"]
    pipeline = load(tmp_path / "s.safetensors")  # the plain pipeline: the wrappers are a preset
    assert [type(step).__name__ for step in pipeline] == [
        "PatchDecomposer", "SparseMoEDenoiser"]  # one expert: no gate, so no embedding
    assert 20 < card["validation"]["1"]["val_brain_psnr_mean"] < card["validation"]["1"][
        "val_psnr_mean"]  # the whole slice too: its background is easier
    assert pipeline[-1].heads_.shape == (1, 1, 8, 3, 3)


@pytest.mark.slow  # a minute
def test_smoe_command_fits_a_context_base_on_rows_of_slices(tmp_path):
    from safetensors.torch import save_file

    from sksmoe import load

    torch.manual_seed(0)
    save_file(DnCNN(depth=3, width=8, noise_channel=True, context=1).state_dict(),
              str(tmp_path / "c.safetensors"))
    assert main(["smoe", "--base", str(tmp_path / "c.safetensors"), "--context", "1",
                 "--n-experts", "1", "--modalities", "T1", "--noise-levels", "3", "9",
                 "--slice-step", "12", "--real-anatomy", "pydeface-t1",
                 "--real-slice-step", "10", "--name", "s", "--out", str(tmp_path)]) == 0
    card = json.loads((tmp_path / "s.json").read_text())
    assert card["context"] == 1 and "Rows of 3 slices" in card["data"]
    assert sorted(card["validation"]["1"]["val_brain_psnr"]) == sorted(
        f"{p} {level}" for p in ("uniform", "smooth", "sense") for level in (3, 5, 9))
    pipeline = load(tmp_path / "s.safetensors")
    assert [type(step).__name__ for step in pipeline] == [
        "SliceNeighbours", "PatchDecomposer", "SparseMoEDenoiser"]
    volume = np.random.default_rng(0).random((4, 64, 64)).astype(np.float32)
    assert pipeline.predict(volume).shape == (4, 64, 64)


def test_slab_training_rows_hold_the_slice_in_the_middle_under_every_protocol():
    from sksmoe.training._slabs import slab_training_groups

    groups = slab_training_groups(1, ["T1"], [0, 5, 5], slice_step=18)
    rows, clean = groups[0].noisy, groups[0].clean
    assert rows.shape[:2] == (6, 3) and clean.shape == (6, *rows.shape[2:])
    assert np.array_equal(rows[0::3, 1], clean[0::3])  # level 0: the clean slice, mid-row
    noise = rows[1:, 1] - clean[1:]
    assert 0.01 < noise[clean[1:] > 0.5 * clean.max()].std() < 0.15  # 5% of a bright tissue


def test_compacted_checkpoint_halves_its_tensors_and_resumes(tmp_path):
    common = ["base", "--name", "c", "--depth", "3", "--width", "8", "--batch-size", "2",
              "--patch-size", "32", "--checkpoint-every", "1", "--validate-every", "100",
              "--workdir", str(tmp_path), "--out", str(tmp_path)]
    assert main(common + ["--steps", "2"]) == 0
    full = tmp_path / "c.ckpt"
    assert main(["compact", str(full), str(tmp_path / "half.ckpt")]) == 0
    state = torch.load(tmp_path / "half.ckpt", weights_only=True)
    assert state["model"]["head.weight"].dtype == torch.float16 and state["step"] == 2
    moments = state["optimizer"]["state"].values()
    assert all(s["step"].dtype == torch.float32 for s in moments)
    # Adam's second moments (tiny) keep float32's range: none became 0
    assert all(s["exp_avg_sq"].dtype == torch.bfloat16 and s["exp_avg_sq"].all()
               for s in moments)
    def tensor_bytes(value):
        if isinstance(value, torch.Tensor):
            return value.numel() * value.element_size()
        if isinstance(value, dict):
            return sum(tensor_bytes(v) for v in value.values())
        return sum(map(tensor_bytes, value)) if isinstance(value, (list, tuple)) else 0

    assert tensor_bytes(state) < 0.55 * tensor_bytes(torch.load(full, weights_only=True))
    (tmp_path / "half.ckpt").replace(full)
    assert main(common + ["--steps", "3"]) == 0  # resumes, weights back in float32
    assert torch.load(full, weights_only=True)["model"]["head.weight"].dtype == torch.float32
    assert main(["compact", str(full), str(tmp_path / "done.ckpt"), "--drop-optimizer"]) == 0
    assert "optimizer" not in torch.load(tmp_path / "done.ckpt", weights_only=True)


def test_resume_starts_adam_afresh_when_its_second_moments_were_lost(tmp_path, capsys):
    common = ["base", "--name", "z", "--depth", "3", "--width", "8", "--batch-size", "2",
              "--patch-size", "32", "--checkpoint-every", "1", "--validate-every", "100",
              "--workdir", str(tmp_path), "--out", str(tmp_path)]
    assert main(common + ["--steps", "1"]) == 0
    path = tmp_path / "z.ckpt"
    state = torch.load(path, weights_only=True)
    for moments in state["optimizer"]["state"].values():
        moments["exp_avg_sq"].zero_()  # what float16 did to them
    torch.save(state, path)
    capsys.readouterr()
    assert main(common + ["--steps", "2"]) == 0
    assert "Adam starts afresh" in capsys.readouterr().out
    resumed = torch.load(path, weights_only=True)["optimizer"]["state"]
    assert all(int(s["step"]) == 1 for s in resumed.values())  # one step since the restart


@pytest.mark.parametrize("name", ["dncnn17x32", "unet3x32f"])
def test_committed_checkpoints_resume(name, capsys):
    from sksmoe.nn._checkpoint import load_base
    from sksmoe.training import Checkpoint, TrainState

    class Sampler:
        def set_state(self, state):
            self.state = json.loads(state)

    path = RUNS / f"{name}.ckpt"
    model = load_base(path)
    state = TrainState(model, torch.optim.Adam(model.parameters()), Sampler())
    assert Checkpoint(path).resume(state)
    saved = torch.load(path, weights_only=True)
    assert state.step == saved["step"] > 0 and state.seconds == saved["seconds"] > 0
    assert "bit_generator" in state.sampler.state
    assert "resumed" in capsys.readouterr().out


def test_the_library_does_not_import_the_command_line():
    code = "import sys, sksmoe.training; print('sksmoe.cli' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def test_the_checked_in_recipe_rebuilds_the_bundled_model(capsys):
    assert main(["recipe", str(RUNS / "recipe.txt"), "--workdir", "W", "--scale", "tiny",
                 "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    bundled = json.loads((HERE / "smoe_patch.json").read_text())["command"]
    assert len(lines) == 15 and all(": python -m sksmoe.training " in line for line in lines)
    assert "--name unet3x32f --arch unet --scales 3 --blocks 6" in lines[11]
    assert "--init W/unet3x32e.ckpt" in lines[11] and "--steps 4" in lines[11]  # tiny
    assert "stack W/dncnn17x32nwr2.safetensors W/unet3x32f.safetensors" in lines[12]
    assert "context W/stack_nwr2_unet3x32f.safetensors --name stack_ctx2_maps" in lines[13]
    options = bundled.split("--base ")[1].split(" ", 1)[1].split(" --out")[0]
    assert options in lines[14] and lines[14].endswith("--real-slice-step 20")


@pytest.fixture
def few_validation_images(monkeypatch):
    """Validation sets of one slice a contrast and level, so that a recipe runs in seconds."""
    from sksmoe.training import _data

    def first_slice(images):
        keep = (images[3].slice_index == images[3].slice_index.iloc[0]).to_numpy()
        return tuple(x[keep] for x in images)

    few, real = first_slice(_data.validation_set()), first_slice(_data.real_validation_set())
    monkeypatch.setattr(_data, "validation_set", lambda: few)
    monkeypatch.setattr(_data, "real_validation_set", lambda: real)
    assert len(few[0]) == 10 and len(real[0]) == 5


@pytest.mark.usefixtures("few_validation_images")
def test_a_miniature_recipe_runs_end_to_end_and_resumes(tmp_path, capsys):
    from sksmoe import load
    from sksmoe.nn._checkpoint import load_base
    from sksmoe.nn._stack import Stack

    small = "--batch-size 2 --patch-size 32 --noise-channel --workdir {workdir} --out {workdir}"
    recipe = tmp_path / "recipe.txt"
    recipe.write_text(f"""# a miniature of the real recipe
base --name d --depth 3 --width 4 --steps 6 --until 2 {small}
base --name d2 --depth 3 --width 6 --init {{workdir}}/d.ckpt --steps 2 {small}  # widened
base --name u --arch unet --scales 2 --blocks 1 --width 4 --steps 2 \\
  {small}
stack {{workdir}}/d2.safetensors {{workdir}}/u.safetensors --weights 0.15 0.85 \\
  --name s --out {{workdir}}
smoe --base {{workdir}}/s.safetensors --n-experts 1 --modalities T1 --noise-levels 5 \\
  --slice-step 12 --foreground-only --name m --out {{workdir}}
""")
    command = ["recipe", str(recipe), "--workdir", str(tmp_path / "w")]
    assert main(command) == 0
    w = tmp_path / "w"
    assert json.loads((w / "d.json").read_text())["steps"] == 2  # paused there
    assert json.loads((w / "d2.json").read_text())["init"] == "d.ckpt"
    assert load_base(w / "d2.safetensors").width == 6
    assert isinstance(load_base(w / "s.safetensors"), Stack)
    card = json.loads((w / "m.json").read_text())
    assert card["preset"] == {"self_ensemble": False, "noise_scale": 1.0}
    assert card["foreground_only"] is True and card["base"] == "s.safetensors"
    assert card["validation"]["1"]["val_brain_psnr"].keys() == {"5"}
    assert card["command"].startswith("python -m sksmoe.training smoe --base ")
    assert load(w / "m.safetensors")[-1].heads_.shape[0] == 1
    capsys.readouterr()
    assert main(command) == 0  # every card is there: nothing runs again
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 5 and all(line.split(":")[0].endswith("done") for line in out)


def test_context_command_fine_tunes_a_base_to_see_neighbours_and_resumes(tmp_path):
    from safetensors.torch import save_file

    from sksmoe.nn._checkpoint import load_base
    from sksmoe.training import SlabSampler

    torch.manual_seed(0)
    save_file(DnCNN(depth=3, width=4, noise_channel=True).state_dict(),
              str(tmp_path / "d.safetensors"))
    common = ["context", str(tmp_path / "d.safetensors"), "--context", "1", "--name", "c",
              "--batch-size", "2", "--patch-size", "32", "--checkpoint-every", "1",
              "--validate-every", "1", "--workdir", str(tmp_path), "--out", str(tmp_path)]
    assert main(common + ["--steps", "1"]) == 0
    assert main(common + ["--steps", "2"]) == 0  # resumes at step 1
    model = load_base(tmp_path / "c.safetensors")
    assert model.context == 1 and model.noise_channel
    card = json.loads((tmp_path / "c.json").read_text())
    assert card["steps"] == 2 and card["init"] == "d.safetensors"
    assert sorted(card["validation_slabs_brain_psnr"]) == sorted(
        f"{p} {level}" for p in ("uniform", "smooth", "sense") for level in (3, 5, 9))
    log = [json.loads(line) for line in (tmp_path / "c.log.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in log] == [1, 2] and "val_slabs_psnr" in log[-1]
    noisy, clean, sigma = SlabSampler(context=2, seed=0).sample(3)
    assert noisy.shape == (3, 5, 48, 48) and clean.shape == sigma.shape == (3, 1, 48, 48)
    assert (sigma > 0).all() and np.isfinite(noisy).all()
