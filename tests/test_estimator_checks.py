import pytest
from sklearn.pipeline import make_pipeline

from sksmoe import EmbeddingPCA, PatchDecomposer, SAMDecomposer, SparseMoEDenoiser
from sksmoe.decomposition import Regions
from sksmoe.utils.estimator_checks import check_image_estimator


def _estimators(base):
    embed = EmbeddingPCA(n_components=8, input_size=32)
    return {
        "PatchDecomposer": PatchDecomposer(patch_size=32, stride=16),
        "SAMDecomposer": SAMDecomposer(backend="otsu", patch_size=32, stride=16),
        "EmbeddingPCA": make_pipeline(PatchDecomposer(patch_size=32, stride=16), embed),
        "SMoE pipeline": make_pipeline(PatchDecomposer(patch_size=32, stride=16), embed,
                                       SparseMoEDenoiser(n_experts=2, base=base)),
        "HydraNet pipeline": make_pipeline(
            PatchDecomposer(patch_size=32, stride=16), SparseMoEDenoiser(
            n_experts=3, gating="position", base=base)),
    }


@pytest.mark.parametrize("name", sorted(_estimators(None)))
def test_image_estimator_checks(name, tiny_base, small_data):
    estimator = _estimators(tiny_base)[name]
    check_image_estimator(estimator, small_data["X"][:3], small_data["y"][:3])


def test_checks_catch_a_broken_estimator(small_data):
    class Forgetful(PatchDecomposer):
        def transform(self, X):
            return super().transform(X)[:1]  # drops images

    with pytest.raises(AssertionError, match="rows"):
        check_image_estimator(Forgetful(patch_size=32, stride=16), small_data["X"][:3],
                              small_data["y"][:3])
    assert Regions  # the region set type is public
