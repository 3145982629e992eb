import numpy as np
import pytest

from sksmoe.decomposition import PatchDecomposer
from sksmoe.embedding import EmbeddingPCA


@pytest.fixture(scope="module")
def regions(small_data):
    return PatchDecomposer(patch_size=32, stride=16).fit_transform(small_data["X"][:2])


def test_embedding_shapes_and_determinism(regions):
    embed = EmbeddingPCA(n_components=8, input_size=32)
    out = embed.fit_transform(regions)
    assert out.shape == regions.shape
    assert out[0].embedding.shape == (len(regions[0]), 8)
    np.testing.assert_allclose(embed.transform(regions)[1].embedding, out[1].embedding,
                               rtol=1e-4, atol=1e-4)
    assert out[0].image is regions[0].image  # regions pass through unchanged


def test_fewer_regions_than_components_is_said_clearly(regions):
    with pytest.warns(UserWarning, match="n_components_="):
        embed = EmbeddingPCA(n_components=256, input_size=32).fit(regions)
    assert embed.n_components_ == 2 * len(regions[0])


def test_resnet18_needs_weights(regions, tmp_path, monkeypatch):
    import torch
    import torchvision

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(FileNotFoundError, match="resnet18"):
        EmbeddingPCA(backbone="resnet18", n_components=4, input_size=32).fit(regions)
    path = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)
    embed = EmbeddingPCA(backbone="resnet18", weights=path, n_components=4, input_size=32)
    assert embed.fit_transform(regions)[0].embedding.shape == (len(regions[0]), 4)
    bad = tmp_path / "bad.pth"
    torch.save({"conv.weight": torch.zeros(1)}, bad)
    with pytest.raises(ValueError, match="bad.pth"):
        EmbeddingPCA(backbone="resnet18", weights=bad, input_size=32).fit(regions)


def test_bad_input(regions):
    with pytest.raises(TypeError, match="decomposer"):
        EmbeddingPCA().fit(np.zeros((2, 64, 64)))
    with pytest.raises(ValueError, match="backbone"):
        EmbeddingPCA(backbone="vgg").fit(regions)
    with pytest.raises(ValueError, match="n_components"):
        EmbeddingPCA(n_components=0).fit(regions)


def test_pooled_and_per_crop_embeddings_agree_on_gating(regions):
    crop = EmbeddingPCA(n_components=4, input_size=32, mode="crop").fit_transform(regions)
    pooled = EmbeddingPCA(n_components=4, input_size=32, mode="image").fit_transform(regions)
    # the first principal axis of both describes the same regions (up to sign)
    a, b = crop[0].embedding[:, 0], pooled[0].embedding[:, 0]
    assert abs(np.corrcoef(a, b)[0, 1]) > 0.5
    with pytest.raises(ValueError, match="mode"):
        EmbeddingPCA(mode="tiles").fit(regions)
