import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sksmoe import EmbeddingPCA, PatchDecomposer, SAMDecomposer, SparseMoEDenoiser


@given(seed=st.integers(0, 10_000), backend=st.sampled_from(["otsu", "slic"]),
       patch=st.integers(8, 24))
def test_regions_and_inverses_reconstruct_each_patch(seed, backend, patch):
    rng = np.random.default_rng(seed)
    image = rng.random((1, 40, 44)).astype(np.float32)
    regions = SAMDecomposer(backend=backend, patch_size=patch, stride=max(1, patch // 2),
                            min_area=4).fit_transform(image)[0]
    np.testing.assert_allclose(regions.merge(regions.crops()), image[0], rtol=1e-6)
    coverage = regions.coverage(np.zeros(len(regions), int), 1)[0]
    assert coverage.min() >= 1
    # masks come in (mask, inverse) pairs or as one whole patch
    for box in np.unique(regions.boxes, axis=0):
        same = np.all(regions.boxes == box, axis=1)
        np.testing.assert_array_equal(regions.masks[same].sum(axis=0), same.sum() // 2 or 1)


def test_real_slice_gives_several_regions_inside_the_brain(small_data):
    decomposer = SAMDecomposer(backend="otsu", patch_size=32, stride=16)
    regions = decomposer.fit_transform(small_data["X"][:1])[0]
    per_patch = np.unique(regions.boxes, axis=0, return_counts=True)[1]
    assert per_patch.max() >= 4 and len(regions) > len(per_patch)


def test_segment_decomposition_in_a_grid_search(tiny_base, small_data):
    pipe = make_pipeline(PatchDecomposer(patch_size=32, stride=16),
                         EmbeddingPCA(n_components=8, input_size=32),
                         SparseMoEDenoiser(n_experts=2, base=tiny_base, random_state=0))
    search = GridSearchCV(pipe, {"patchdecomposer": [PatchDecomposer(patch_size=32, stride=16),
                                                     SAMDecomposer(backend="otsu", patch_size=32,
                                                                   stride=16)]}, cv=2)
    search.fit(small_data["X"], small_data["y"])
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    for context in ("image", "region"):
        model = make_pipeline(SAMDecomposer(backend="slic", patch_size=32, stride=16),
                              SparseMoEDenoiser(n_experts=2, gating="random", base=tiny_base,
                                                context=context, random_state=0))
        model.fit(small_data["X"][:2], small_data["y"][:2])
        model[-1].heads_[:] = 0
        model[-1].head_biases_[:] = 0
        np.testing.assert_allclose(model.predict(small_data["X_test"]), small_data["X_test"],
                                   rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("params, match", [
    (dict(backend="sam2"), "backend"), (dict(max_masks=0), "max_masks"),
    (dict(patch_size=8, stride=9), "no patch")])
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        SAMDecomposer(**params).fit_transform(np.zeros((1, 64, 64)))
