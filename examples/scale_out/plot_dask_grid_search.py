"""
==========================================
Grid search and batch denoising on dask
==========================================

Parallel work in sksmoe goes through joblib: GridSearchCV fits its candidates with it and
:func:`sksmoe.denoise_files` denoises one file per task with it. Inside
``joblib.parallel_config(backend="dask")`` that work runs on a ``dask.distributed``
cluster, with no other change to the code.

Here the cluster is a small local one, in this process. On a real cluster, connect to its
scheduler instead::

    from dask.distributed import Client
    client = Client("tcp://scheduler:8786")

Workers need the same sksmoe installed and, for :func:`sksmoe.denoise_files`, to see the
same file system.
"""

# %%
# Start a cluster: two workers with one thread each (torch already uses several threads
# per task). ``processes=False`` keeps the workers in this process, which is enough to show
# the mechanism; leave it out to get separate worker processes.
import joblib
from dask.distributed import Client, LocalCluster

cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                       dashboard_address=None)
client = Client(cluster)
print(client)

# %%
# A small grid search (see the model-selection examples), run on the cluster.
import numpy as np
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from sksmoe import EmbeddingPCA, PatchDecomposer, SparseMoEDenoiser
from sksmoe.datasets import make_brainweb_dataset
from sksmoe.metrics import SCORERS

data = make_brainweb_dataset(noise_levels=(5,), rf_levels=(20,), slice_step=12)
crop = (slice(None), slice(40, 168), slice(50, 178))
X, y = data.train.noisy[crop], data.train.clean[crop]
pipe = Pipeline([("decompose", PatchDecomposer()),
                 ("embed", EmbeddingPCA(n_components=8, input_size=32)),
                 ("moe", SparseMoEDenoiser(random_state=0))])
search = GridSearchCV(pipe, {"moe__n_experts": [1, 2]}, scoring=SCORERS["brain_psnr"],
                      cv=2)
with joblib.parallel_config(backend="dask"):
    search.fit(X, y)
for k, score in zip(search.cv_results_["param_moe__n_experts"],
                    search.cv_results_["mean_test_score"]):
    print(f"k={k}: brain PSNR {score:.3f} dB")

# %%
# Batch denoising: write each test slice as a NIfTI file, then denoise the files on the
# cluster, one task per file; the bundled model is pickled to the workers with the tasks.
import tempfile
from pathlib import Path

import sksmoe
from sksmoe.io import read_image, write_image

folder = Path(tempfile.mkdtemp())
inputs = [write_image(folder / f"scan{i}.nii.gz", image)
          for i, image in enumerate(data.test.noisy)]
outputs = [path.with_name(path.name.replace(".nii", "_denoised.nii")) for path in inputs]
with joblib.parallel_config(backend="dask"):
    written = sksmoe.denoise_files(inputs, outputs)
print([path.name for path in written])

# %%
# The same call without the dask context runs here, in this process (or in ``n_jobs``
# local processes), and gives the same images.
local = sksmoe.denoise_files(inputs[:1], [folder / "local.nii.gz"])
print(np.allclose(read_image(local[0]).data, read_image(written[0]).data, atol=1e-6))

# %%
# Shut the cluster down.
client.close()
cluster.close()
