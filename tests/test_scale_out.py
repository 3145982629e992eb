"""n_jobs work goes through joblib, so it runs unchanged on a dask.distributed cluster."""

import joblib
import numpy as np
import pytest

import sksmoe
from sksmoe.io import read_image, write_image

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    """One worker process on loopback, so tasks and models really travel pickled."""
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        with distributed.Client(cluster, timeout="60s") as client:
            yield client


def _search(tiny_base):
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    from sksmoe import EmbeddingPCA, PatchDecomposer, SparseMoEDenoiser

    pipe = make_pipeline(PatchDecomposer(patch_size=32, stride=16),
                         EmbeddingPCA(n_components=4, input_size=32),
                         SparseMoEDenoiser(base=tiny_base, random_state=0))
    return GridSearchCV(pipe, {"sparsemoedenoiser__n_experts": [1, 2]}, cv=2)


def test_grid_search_on_a_dask_cluster_matches_the_local_run(client, tiny_base, small_data):
    X, y = small_data["X"][:4], small_data["y"][:4]
    local = _search(tiny_base).fit(X, y)
    with joblib.parallel_config(backend="dask"), distributed.get_task_stream(client) as tasks:
        remote = _search(tiny_base).fit(X, y)
    assert len(tasks.data) >= 4  # 2 candidates x 2 folds ran on the cluster
    np.testing.assert_allclose(remote.cv_results_["mean_test_score"],
                               local.cv_results_["mean_test_score"], rtol=1e-5)
    assert remote.best_params_ == local.best_params_


def test_denoise_files_on_a_dask_cluster_matches_the_local_run(client, tmp_path, small_data,
                                                                tiny_model_path):
    model = sksmoe.load(tiny_model_path)
    inputs = [write_image(tmp_path / f"in{i}.nii.gz", np.moveaxis(small_data["X_test"], 0, -1))
              for i in range(3)]
    local = sksmoe.denoise_files(inputs, [tmp_path / f"local{i}.nii" for i in range(3)], model)
    with joblib.parallel_config(backend="dask"), distributed.get_task_stream(client) as tasks:
        remote = sksmoe.denoise_files(inputs, [tmp_path / f"dask{i}.nii" for i in range(3)],
                                      model)
    assert len(tasks.data) >= 3
    assert [p.name for p in remote] == ["dask0.nii", "dask1.nii", "dask2.nii"]
    for a, b in zip(local, remote):
        np.testing.assert_allclose(read_image(a).data, read_image(b).data, rtol=1e-5,
                                   atol=1e-6)
    assert read_image(remote[0]).data.dtype == np.float32


def test_denoise_files_checks_pairs(tiny_model_path, tmp_path):
    with pytest.raises(ValueError, match="2 inputs but 1 outputs"):
        sksmoe.denoise_files(["a.nii", "b.nii"], ["c.nii"], sksmoe.load(tiny_model_path))
