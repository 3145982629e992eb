"""
==========================================
Segmentation-based decomposition
==========================================

The paper's SMoE Segment cuts each patch along a segmentation: every mask gives two
regions, its pixels (the rest of the patch zeroed) and its inverse, so that experts can
specialise on tissue classes. :class:`~sksmoe.decomposition.SAMDecomposer` does this with a
classical segmenter that needs no weights, ``backend="otsu"`` (four multi-Otsu intensity
classes: background, CSF, grey and white matter on T1), or ``"slic"`` superpixels.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from sksmoe import SAMDecomposer
from sksmoe.datasets import make_brainweb_dataset

data = make_brainweb_dataset(noise_levels=(5,), rf_levels=(20,), slice_step=12)
crop = (slice(None), slice(40, 168), slice(50, 178))
image = data.test.noisy[crop][0]
regions = SAMDecomposer(backend="otsu").fit_transform(image[None])[0]
print(f"{len(regions)} regions from {len(np.unique(regions.boxes, axis=0))} patches")

# %%
# The regions of one patch: a mask, then its inverse, largest mask first.
box = regions.boxes[len(regions) // 2]
same_patch = np.flatnonzero((regions.boxes == box).all(axis=1))
r0, c0, r1, c1 = box
fig, axes = plt.subplots(1, len(same_patch) + 1, figsize=(2.2 * (len(same_patch) + 1), 2.6),
                         layout="constrained")
axes[0].imshow(image[r0:r1, c0:c1], cmap="gray")
axes[0].set_title("patch")
for ax, index in zip(axes[1:], same_patch):
    ax.imshow(np.where(regions.masks[index], image[r0:r1, c0:c1], 0), cmap="gray")
    ax.set_title(f"region {index}")
for ax in axes:
    ax.axis("off")
plt.show()

# %%
# Used in a pipeline exactly like :class:`~sksmoe.decomposition.PatchDecomposer`. Fit both
# on the same few training crops and compare on the test crops, inside the brain.
from sklearn.pipeline import make_pipeline

from sksmoe import EmbeddingPCA, PatchDecomposer, SparseMoEDenoiser
from sksmoe.metrics import psnr

train, test = data.train, data.test
for decomposer in (PatchDecomposer(), SAMDecomposer(backend="otsu")):
    pipe = make_pipeline(decomposer, EmbeddingPCA(n_components=8, input_size=32),
                         SparseMoEDenoiser(n_experts=2, random_state=0))
    pipe.fit(train.noisy[crop], train.clean[crop])
    denoised = pipe.predict(test.noisy[crop])
    score = psnr(test.clean[crop], denoised, test.mask[crop]).mean()
    print(f"{type(decomposer).__name__:16s} brain PSNR {score:.2f} dB")

# %%
# Learned segmenters
# ------------------
# The paper segments with SAM and MedSAM. Where sksmoe provides a learned backend and its
# weights are installed, it is one parameter away; otherwise we print why it was skipped.
for backend in ("mobilesam", "litemedsam"):
    try:
        learned = SAMDecomposer(backend=backend).fit_transform(image[None])[0]
    except (ImportError, FileNotFoundError, ValueError) as exc:
        print(f"backend={backend!r} skipped: {exc}")
    else:
        print(f"backend={backend!r}: {len(learned)} regions")
