import os

import pytest

import matplotlib
from hypothesis import settings

matplotlib.use("Agg")
settings.register_profile("ci", deadline=None, max_examples=50, derandomize=True)
settings.register_profile("dev", deadline=None, max_examples=30)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def few_adam_steps(monkeypatch):
    """Whole-expert fine-tuning (``fine_tune="all"``) with 2 Adam steps instead of 200."""
    monkeypatch.setattr("sksmoe.moe._fit_all.MAX_STEPS", 2)


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory):
    """A small random DnCNN saved the way users pass checkpoints (a path)."""
    import torch
    from safetensors.torch import save_file

    from sksmoe.nn._dncnn import DnCNN

    torch.manual_seed(0)
    model = DnCNN(depth=4, width=8)
    path = tmp_path_factory.mktemp("weights") / "tiny_dncnn.safetensors"
    save_file(model.state_dict(), str(path))
    return path


@pytest.fixture(scope="session")
def tiny_conditioned_base(tmp_path_factory):
    """A small random DnCNN that takes the noise level as a second channel."""
    import torch
    from safetensors.torch import save_file

    from sksmoe.nn._dncnn import DnCNN

    torch.manual_seed(0)
    model = DnCNN(depth=4, width=8, noise_channel=True)
    path = tmp_path_factory.mktemp("weights") / "tiny_conditioned.safetensors"
    save_file(model.state_dict(), str(path))
    return path


@pytest.fixture(scope="session")
def small_data():
    """Small noisy / clean crops of MNI152 slices: 6 train and 3 test images of 72x80."""
    from sksmoe.datasets import make_brainweb_dataset

    data = make_brainweb_dataset(noise_levels=(5,), rf_levels=(20,), slice_step=4)
    crop = (slice(None), slice(60, 132), slice(70, 150))
    train, test = data.train, data.test
    return {"X": train.noisy[:6][crop], "y": train.clean[:6][crop],
            "X_test": test.noisy[:3][crop], "y_test": test.clean[:3][crop]}


@pytest.fixture(scope="session")
def small_pipe():
    """A function of a base network and SparseMoEDenoiser's parameters to a small SMoE Patch
    pipeline (32-pixel patches, 8 PCA components)."""
    from sklearn.pipeline import make_pipeline

    from sksmoe import EmbeddingPCA, PatchDecomposer, SparseMoEDenoiser

    def make(base, **params):
        return make_pipeline(PatchDecomposer(patch_size=32, stride=16),
                             EmbeddingPCA(n_components=8, input_size=32),
                             SparseMoEDenoiser(base=base, **{"random_state": 0, **params}))

    return make


@pytest.fixture(scope="session")
def tiny_model_path(tiny_base, small_data, small_pipe, tmp_path_factory):
    """A small fitted SMoE pipeline saved with sksmoe.save."""
    import sksmoe

    pipe = small_pipe(tiny_base, n_experts=2).fit(small_data["X"], small_data["y"])
    return sksmoe.save(pipe, tmp_path_factory.mktemp("models") / "tiny_smoe.safetensors")
