"""
======================================
Denoise a slice with the bundled model
======================================

Five lines: make a noisy slice, load the bundled SMoE model, denoise, score.
"""

# %%
import sksmoe
from sksmoe.datasets import make_brainweb_dataset

test = make_brainweb_dataset(noise_levels=(5,), rf_levels=(20,), slice_step=8).test
model = sksmoe.load_pretrained()
denoised = sksmoe.denoise(test.noisy[0], model)

# %%
# ``test`` holds held-out axial slices of the MNI152 template with 5% Rician noise and a
# 20% RF field (see the user guide's data page); the model never saw them. Score inside
# the brain mask, where it matters:
from sksmoe.metrics import psnr, ssim

clean, noisy, mask = test.clean[0], test.noisy[0], test.mask[0]
for name, image in {"noisy": noisy, "SMoE": denoised}.items():
    print(f"{name:6s} brain PSNR {psnr(clean, image, mask):.2f} dB, "
          f"SSIM {ssim(clean, image, mask):.4f}")

# %%
# And look at it, with the error maps.
import matplotlib.pyplot as plt
import numpy as np

fig, axes = plt.subplots(2, 3, figsize=(9, 7), layout="constrained")
vmax = np.percentile(clean, 99.5)
for col, (name, image) in enumerate({"clean": clean, "noisy": noisy,
                                     "SMoE": denoised}.items()):
    axes[0, col].imshow(image, cmap="gray", vmin=0, vmax=vmax)
    axes[0, col].set_title(name)
    axes[1, col].imshow(np.abs(image - clean), cmap="magma", vmin=0, vmax=0.1 * vmax)
    axes[1, col].set_title(f"|{name} - clean|")
for ax in axes.ravel():
    ax.axis("off")
plt.show()
