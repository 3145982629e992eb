import os

import matplotlib
from hypothesis import settings

matplotlib.use("Agg")
settings.register_profile("ci", deadline=None, max_examples=50, derandomize=True)
settings.register_profile("dev", deadline=None, max_examples=30)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


import numpy as np
import pytest


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
def small_data():
    """Small noisy / clean crops of MNI152 slices: 6 train and 3 test images of 72x80."""
    from sksmoe.datasets import make_brainweb_dataset

    data = make_brainweb_dataset(noise_levels=(5,), rf_levels=(20,), slice_step=4)
    crop = (slice(None), slice(60, 132), slice(70, 150))
    train, test = data.train, data.test
    return {"X": train.noisy[:6][crop], "y": train.clean[:6][crop],
            "X_test": test.noisy[:3][crop], "y_test": test.clean[:3][crop]}
