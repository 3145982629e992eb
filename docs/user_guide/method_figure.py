"""The method on one slice: patches, the gate's expert map, the denoised image."""

import matplotlib.pyplot as plt
import numpy as np

from sklearn.pipeline import make_pipeline

from sksmoe import EmbeddingPCA, PatchDecomposer, SparseMoEDenoiser
from sksmoe.datasets import (add_rician_noise, load_mni152, make_brainweb_dataset,
                             mni152_contrast, noise_sigma)

volume, reference = mni152_contrast("MNI-T1")
clean = np.ascontiguousarray(volume[:, :, 104].T[::-1])
noisy = add_rician_noise(clean, noise_sigma(5, reference), random_state=0)
brain = load_mni152().mask[:, :, 104].T[::-1]

# a k = 4 SMoE Patch pipeline on the bundled base, fitted on a few training slices (the
# bundled model itself has one expert)
data = make_brainweb_dataset(noise_levels=(1, 3, 5, 9), rf_levels=(20,), slice_step=12)
train = (data.train.meta.slice_index == data.train.meta.slice_index.iloc[0]).to_numpy()
model = make_pipeline(PatchDecomposer(), EmbeddingPCA(),
                      SparseMoEDenoiser(n_experts=4, random_state=0))
model.fit(data.train.noisy[train], data.train.clean[train])
regions = model[:-1].transform(noisy[None])
experts = model[-1].predict_gate(regions)[0]
denoised = model.predict(noisy[None])[0]

fig, axes = plt.subplots(1, 3, figsize=(11, 4.4), layout="constrained")
vmax = np.percentile(clean, 99.5)
axes[0].imshow(noisy, cmap="gray", vmin=0, vmax=vmax)
for r0, c0, r1, c1 in regions[0].boxes[::7]:
    axes[0].add_patch(plt.Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0, r1 - r0, fill=False,
                                    edgecolor="gold", linewidth=0.8))
axes[0].set_title("1. decompose: 48 px patches, stride 20\n(every 7th shown), 5% noise",
                  fontsize=10)
axes[1].imshow(np.where(brain, experts, np.nan), cmap="tab10", vmin=-0.5, vmax=9.5,
               interpolation="nearest")
axes[1].set_title(f"2. gate: CNN embedding, PCA, k-means;\nexpert of each pixel "
                  f"(k={model[-1].n_experts}, brain shown)", fontsize=10)
axes[2].imshow(denoised, cmap="gray", vmin=0, vmax=vmax)
axes[2].set_title("3. each region's expert, then merge\n(overlaps averaged)", fontsize=10)
for ax in axes:
    ax.axis("off")
