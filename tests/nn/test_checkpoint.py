import numpy as np
import pytest
import torch

from sksmoe.nn._checkpoint import load_base
from sksmoe.nn._dncnn import DnCNN


def _reference_layout(model):
    """Our DnCNN's weights under the sequential ``model.N`` keys of reference code."""
    modules = list(model.trunk) + [model.head]
    return {f"model.{index}.{key}": value for index, module in enumerate(modules)
            for key, value in module.state_dict().items()}


@pytest.mark.parametrize("bias", [True, False])
def test_loads_reference_layout_torch_checkpoints(tmp_path, bias):
    torch.manual_seed(0)
    model = DnCNN(depth=5, width=6, bias=bias).eval()
    path = tmp_path / "dncnn.pth"
    torch.save({"state_dict": _reference_layout(model)}, path)
    loaded = load_base(path)
    assert (loaded.depth, loaded.width, loaded.bias) == (5, 6, bias)
    x = torch.rand(1, 1, 16, 16)
    with torch.no_grad():
        np.testing.assert_allclose(loaded(x), model(x), rtol=1e-6, atol=1e-6)


def test_paper_architecture():
    model = DnCNN()
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 17 and convs[1].out_channels == 64
    assert sum(p.numel() for p in model.head.parameters()) == 577


def test_rejects_unsafe_or_wrong_files(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model": {"x": object()}}, path)  # needs pickle to load: refused
    with pytest.raises(ValueError, match="evil.pt"):
        load_base(path)
    with pytest.raises(FileNotFoundError, match="missing"):
        load_base(tmp_path / "missing.pt")


def test_noise_conditioned_checkpoint_round_trip(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    model = DnCNN(depth=4, width=6, noise_channel=True).eval()
    save_file(model.state_dict(), str(tmp_path / "c.safetensors"))
    loaded = load_base(tmp_path / "c.safetensors")
    x = torch.rand(2, 1, 16, 16)
    with torch.no_grad():
        assert loaded.noise_channel
        np.testing.assert_allclose(loaded(x, 0.1), model(x, torch.tensor([0.1, 0.1])),
                                   rtol=1e-6, atol=1e-6)
        assert not torch.allclose(loaded(x, 0.1), loaded(x, 0.0))
        with pytest.raises(ValueError, match="sigma"):
            loaded(x)


@pytest.mark.parametrize("noise_channel", [False, True])
def test_half_resolution_checkpoint_round_trip(tmp_path, noise_channel):
    import torch.nn.functional as F
    from safetensors.torch import save_file

    torch.manual_seed(0)
    model = DnCNN(depth=4, width=6, noise_channel=noise_channel, downsample=2).eval()
    save_file(model.state_dict(), str(tmp_path / "h.safetensors"))
    loaded = load_base(tmp_path / "h.safetensors")
    assert (loaded.downsample, loaded.noise_channel) == (2, noise_channel)
    x = torch.rand(2, 1, 15, 18)  # an odd size is padded, then cropped back
    sigma = 0.1 if noise_channel else None
    with torch.no_grad():
        out = loaded(x, sigma)
        assert out.shape == x.shape
        np.testing.assert_allclose(out, model(x, sigma), rtol=1e-6, atol=1e-6)
        assert loaded.features(x, sigma).shape == (2, 6, 8, 9)
    even = torch.rand(1, 1, 16, 18)
    np.testing.assert_array_equal(model.assemble(F.pixel_unshuffle(even, 2), even.shape), even)


@pytest.mark.parametrize("noise_channel", [False, True])
def test_unet_checkpoint_round_trip(tmp_path, noise_channel):
    from safetensors.torch import save_file

    from sksmoe.nn._unet import UNet

    torch.manual_seed(0)
    model = UNet(scales=3, width=4, blocks=2, noise_channel=noise_channel).eval()
    save_file(model.state_dict(), str(tmp_path / "u.safetensors"))
    loaded = load_base(tmp_path / "u.safetensors")
    assert isinstance(loaded, UNet)
    assert (loaded.depth, loaded.width, loaded.blocks) == (3, 4, 2)
    x = torch.rand(2, 1, 15, 18)  # padded to a multiple of 4, then cropped back
    sigma = 0.1 if noise_channel else None
    with torch.no_grad():
        out = loaded(x, sigma)
        assert out.shape == x.shape
        np.testing.assert_allclose(out, model(x, sigma), rtol=1e-6, atol=1e-6)
        assert loaded.features(x, sigma).shape == (2, 4, 15, 18)
    with pytest.raises(ValueError, match="scales"):
        UNet(scales=0)


def test_stack_starts_as_the_weighted_average_of_its_members_and_round_trips(tmp_path):
    from safetensors.torch import save_file

    from sksmoe.nn._stack import Stack
    from sksmoe.nn._unet import UNet

    torch.manual_seed(0)
    dncnn = DnCNN(depth=3, width=6, noise_channel=True).eval()
    unet = UNet(scales=2, width=4, blocks=1).eval()  # blind: gets no sigma
    stack = Stack([dncnn, unet], weights=[0.75, 0.25]).eval()
    save_file(stack.state_dict(), str(tmp_path / "s.safetensors"))
    loaded = load_base(tmp_path / "s.safetensors")
    assert isinstance(loaded, Stack) and loaded.noise_channel and loaded.width == 10
    x = torch.rand(2, 1, 15, 18)
    with torch.no_grad():
        expected = 0.75 * dncnn(x, 0.1) + 0.25 * unet(x)
        np.testing.assert_allclose(loaded(x, 0.1), expected, rtol=1e-5, atol=1e-6)
        assert loaded.features(x, 0.1).shape == (2, 10, 15, 18)
    with pytest.raises(ValueError, match="resolution"):
        Stack([dncnn, DnCNN(depth=3, width=4, downsample=2)])
    with pytest.raises(ValueError, match="2 weights for 3 members"):
        Stack([dncnn, unet, unet], weights=[0.5, 0.5])
