"""
==========================================
Your own volume: NIfTI in, NIfTI out
==========================================

Read a NIfTI file with :func:`sksmoe.io.read_image`, denoise it slice by slice, write it
back with the same geometry with :func:`sksmoe.io.write_image`, and look at it. To have a
file to read, we first write a small noisy volume cut from the MNI152 template into a
temporary folder; replace that path with your own scan.
"""

# %%
import tempfile
from pathlib import Path

import numpy as np

from sksmoe.datasets import add_rician_noise, load_mni152, mni152_contrast, noise_sigma
from sksmoe.io import Volume, read_image, write_image

folder = Path(tempfile.mkdtemp())
mni = load_mni152()
volume, reference = mni152_contrast("MNI-T1")
axial = slice(96, 112, 4)  # four axial slices, 4 mm apart
clean = volume[:, :, axial]
noisy = add_rician_noise(clean, noise_sigma(5, reference), random_state=0)
scan = (1000 * noisy).astype(np.int16)  # scanners store integers
src = write_image(folder / "scan.nii.gz", scan, like=Volume(scan, affine=mni.affine))

# %%
# Read it: a :class:`~sksmoe.io.Volume` with the data in the stored dtype and the
# voxel-to-world affine.
scan = read_image(src)
print(scan.format, scan.data.shape, scan.data.dtype)
print(np.round(scan.affine, 1))

# %%
# Denoise along the slice axis (axis 2 here: axial slices) and write with the input's
# geometry. :func:`sksmoe.denoise` takes ``(n_slices, H, W)``, so move the slice axis
# first. The command line ``sksmoe denoise scan.nii.gz out.nii.gz`` does the same and keeps
# the integer dtype; here we write float32.
import sksmoe

data = np.moveaxis(scan.data, 2, 0).astype(np.float32)
denoised = np.moveaxis(sksmoe.denoise(data), 0, 2)
out = write_image(folder / "scan_denoised.nii.gz", denoised, like=scan)
result = read_image(out)
print(result.data.dtype, np.allclose(result.affine, scan.affine))

# %%
# Look at it: one slice before and after, in the scanner's orientation (rotated so that
# the nose is up).
import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 2, figsize=(7, 4.5), layout="constrained")
for ax, (name, vol) in zip(axes, {"scan.nii.gz": scan.data,
                                  "scan_denoised.nii.gz": result.data}.items()):
    ax.imshow(np.rot90(vol[:, :, 2]), cmap="gray", vmin=0, vmax=np.percentile(vol, 99.5))
    ax.set_title(name)
    ax.axis("off")
plt.show()
