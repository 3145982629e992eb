"""
==========================================
SMoE against classical denoisers
==========================================

The same slices denoised by scikit-image's NL-means, dipy's NL-means with its Rician
correction, BM3D (only if the ``bm3d`` package is installed: its licence allows
non-commercial use only, so it is a benchmark extra, never a dependency) and the bundled
SMoE. Scores are brain-mask PSNR / SSIM; whole-slice numbers would mostly measure the
background (see the user guide's data page).
"""

# %%
import time

import numpy as np

import sksmoe
from sksmoe.datasets import make_brainweb_dataset
from sksmoe.noise import estimate_sigma

test = make_brainweb_dataset(noise_levels=(3, 5), rf_levels=(20,), slice_step=12).test
first = test.meta.slice_index == test.meta.slice_index.iloc[0]
noisy, clean, mask = test.noisy[first], test.clean[first], test.mask[first]
levels = test.meta.noise_percent[first].to_numpy()
sigmas = [estimate_sigma(image) for image in noisy]
print("noise sigma: true", np.round(test.meta.sigma[first].to_numpy(), 4),
      "estimated", np.round(sigmas, 4))

# %%
# The methods, each a function of one noisy slice and its estimated sigma.
from dipy.denoise.nlmeans import nlmeans
from skimage.restoration import denoise_nl_means


def skimage_nl_means(image, sigma):
    return denoise_nl_means(image, h=0.8 * sigma, sigma=sigma, patch_size=5,
                            patch_distance=6, fast_mode=True)


def dipy_nl_means(image, sigma):
    # "classic" with the Rician correction (dipy's default "blockwise" hurts at low noise);
    # dipy wants a 3-D volume: a stack of one slice
    return nlmeans(image[..., None], sigma, rician=True, method="classic")[..., 0]


model = sksmoe.load_pretrained()
methods = {"NL-means (skimage)": skimage_nl_means, "NL-means (dipy)": dipy_nl_means}
try:
    from bm3d import bm3d
except ImportError:
    print("bm3d is not installed: skipping BM3D (pip install 'sksmoe[bench]').")
else:
    methods["BM3D"] = bm3d
methods["SMoE (bundled)"] = lambda image, sigma: sksmoe.denoise(image, model)

# %%
# Run them, timing each.
from sksmoe.metrics import psnr, ssim

results, seconds = {"noisy": noisy}, {"noisy": 0.0}
for name, method in methods.items():
    start = time.perf_counter()
    results[name] = np.stack([method(image, s) for image, s in zip(noisy, sigmas)])
    seconds[name] = (time.perf_counter() - start) / len(noisy)
print(f"{'brain PSNR / SSIM':20s}" + "".join(f"{p:>16.0f}%" for p in levels) + "   s/slice")
for name, images in results.items():
    cells = "".join(f"{psnr(c, d, m):10.2f} / {ssim(c, d, m):.3f}"
                    for c, d, m in zip(clean, images, mask))
    print(f"{name:20s}{cells}{seconds[name]:10.2f}")

# %%
# The 5% slice, and each method's error inside the brain.
import matplotlib.pyplot as plt

row = int(np.flatnonzero(levels == 5)[0])
vmax = np.percentile(clean[row], 99.5)
fig, axes = plt.subplots(2, len(results), figsize=(2.4 * len(results), 5.2),
                         layout="constrained")
for col, (name, images) in enumerate(results.items()):
    axes[0, col].imshow(images[row].T[::-1], cmap="gray", vmin=0, vmax=vmax)
    axes[0, col].set_title(f"{name}\n{psnr(clean[row], images[row], mask[row]):.2f} dB",
                           fontsize=9)
    error = np.where(mask[row], np.abs(images[row] - clean[row]), 0)
    axes[1, col].imshow(error.T[::-1], cmap="magma", vmin=0, vmax=0.15 * vmax)
for ax in axes.ravel():
    ax.axis("off")
plt.show()
