"""
==========================================
What the gate learned: expert maps
==========================================

The gate sends every patch to one expert. :meth:`~sksmoe.moe.SparseMoEDenoiser.predict_gate`
turns that into a per-pixel map (the expert owning most of the patches covering each
pixel), like the paper's Fig. 5. The bundled model has one expert (fitted experts did not
beat its base network on validation), so we fit a k = 4 SMoE Patch pipeline on that base
from a few training slices, look at its maps across noise levels, then check that the gate
matters with the paper's ablations: every patch to one fixed expert, or to a random one.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.pipeline import make_pipeline

from sksmoe import EmbeddingPCA, PatchDecomposer, SparseMoEDenoiser
from sksmoe.datasets import make_brainweb_dataset

data = make_brainweb_dataset(noise_levels=(1, 3, 5, 9), rf_levels=(20,), slice_step=12)
model = make_pipeline(PatchDecomposer(), EmbeddingPCA(),
                      SparseMoEDenoiser(n_experts=4, random_state=0))  # the bundled base
meta = data.train.meta
train = (meta.slice_index == meta.slice_index.iloc[0]).to_numpy()  # one slice, each contrast
model.fit(data.train.noisy[train], data.train.clean[train])
k = model[-1].n_experts
test = data.test
first_slice = test.meta.slice_index == test.meta.slice_index.iloc[0]
noisy, clean, mask = (test.noisy[first_slice], test.clean[first_slice],
                      test.mask[first_slice])
levels = test.meta.noise_percent[first_slice].to_numpy()

# %%
# The first steps of the pipeline give the region sets with their embeddings; the last
# step's ``predict_gate`` gives the expert maps.
regions = model[:-1].transform(noisy)
experts = model[-1].predict_gate(regions)

fig, axes = plt.subplots(2, len(levels), figsize=(2.6 * len(levels), 5.6),
                         layout="constrained")
for col, level in enumerate(levels):
    axes[0, col].imshow(noisy[col].T[::-1], cmap="gray", vmin=0,
                        vmax=np.percentile(clean[col], 99.5))
    axes[0, col].set_title(f"{level:.0f}% noise")
    shown = axes[1, col].imshow(np.where(mask[col], experts[col], np.nan).T[::-1],
                                cmap="tab10", vmin=-0.5, vmax=9.5, interpolation="nearest")
    axes[1, col].set_title("expert map (brain)")
for ax in axes.ravel():
    ax.axis("off")
colours = plt.get_cmap("tab10").colors
fig.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=colours[j]) for j in range(k)],
           labels=[f"expert {j}" for j in range(k)], loc="outside lower center", ncols=k)
plt.show()

for level, expert_map in zip(levels, experts):
    shares = np.bincount(expert_map[mask[0]], minlength=k) / mask[0].sum()
    print(f"{level:.0f}%: share of the brain per expert", np.round(shares, 2))

# %%
# Gate ablations: send every patch to expert j (``gate=j``), or to a random expert, and
# compare the brain PSNR with the learned gate, mean over these noise levels.
from sksmoe.metrics import psnr

scores = {f"all to expert {j}": model[-1].predict(regions, gate=j) for j in range(k)}
scores["random expert"] = model[-1].predict(regions, gate="random")
scores["learned gate"] = model[-1].predict(regions)
for name, denoised in scores.items():
    print(f"{name:16s} {psnr(clean, denoised, mask).mean():.2f} dB")

# %%
# Here the experts differ little (one expert takes most of the brain, the
# others the edges and the ventricles), so the rows above differ little. The paper reports
# 1.1 to 4.8 dB between the learned gate and a fixed expert; ``benchmarks/results/gates.md``
# has our measurement on more slices.
