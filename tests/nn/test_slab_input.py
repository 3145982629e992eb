"""Networks told a noise map and shown neighbouring slices (2.5-D)."""

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from sksmoe.nn._checkpoint import load_base
from sksmoe.nn._dncnn import DnCNN
from sksmoe.nn._stack import Stack
from sksmoe.nn._unet import UNet
from sksmoe.training import with_context


def _members():
    torch.manual_seed(0)
    return [DnCNN(depth=3, width=6, noise_channel=True).eval(),
            DnCNN(depth=3, width=6, noise_channel=True, downsample=2).eval(),
            UNet(scales=2, width=4, blocks=1, noise_channel=True).eval()]


@pytest.mark.parametrize("index", [0, 1, 2])
def test_a_constant_map_is_the_level_and_a_map_changes_the_output(index):
    model = _members()[index]
    x = torch.rand(2, 1, 15, 18)
    with torch.no_grad():
        level = model(x, torch.tensor([0.05, 0.1]))
        constant = torch.cat([torch.full((1, 1, 15, 18), 0.05), torch.full((1, 1, 15, 18), 0.1)])
        np.testing.assert_allclose(model(x, constant), level, rtol=1e-6, atol=1e-7)
        ramp = torch.linspace(0.02, 0.2, 18).expand(2, 1, 15, 18)
        assert not torch.allclose(model(x, ramp), level)


@pytest.mark.parametrize("index", [0, 1, 2, "stack"])
def test_with_context_keeps_the_function_and_round_trips(tmp_path, index):
    members = _members()
    model = (Stack([members[0], members[2]], weights=[0.3, 0.7]) if index == "stack"
             else members[index]).eval()
    wide = with_context(model, 2).eval()
    assert wide.context == 2 and wide.noise_channel
    x, sigma = torch.rand(3, 1, 16, 18), torch.rand(3, 1, 16, 18) / 10
    slab = torch.cat([x, torch.rand(3, 4, 16, 18)], dim=1)
    with torch.no_grad():
        expected = model(x, sigma)
        np.testing.assert_allclose(wide(slab, sigma), expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(wide(x, sigma), expected, rtol=1e-5, atol=1e-6)
    save_file(wide.state_dict(), str(tmp_path / "w.safetensors"))
    loaded = load_base(tmp_path / "w.safetensors")
    assert type(loaded) is type(model) and loaded.context == 2 and loaded.noise_channel
    with torch.no_grad():  # the neighbours' weights move: the slab now counts
        for p in loaded.parameters():
            p.add_(0.01 * torch.randn_like(p))
        assert not torch.allclose(loaded(slab, sigma), loaded(slab[:, :1], sigma))
    with pytest.raises(ValueError, match="takes 5 slices"):
        loaded(slab[:, :3], sigma)
    with pytest.raises(ValueError, match="already"):
        with_context(wide, 1)
