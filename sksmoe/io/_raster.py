"""PNG (imageio) and TIFF (tifffile) images, with an identity affine."""

import imageio.v3 as iio
import numpy as np
import tifffile

from ._volume import Volume, check_ndim, native, reading


def read_png(path):
    """Read a greyscale PNG; colour PNGs only if R, G and B are equal (alpha is dropped)."""
    with reading(path, "PNG"):
        data = iio.imread(path, plugin="pillow")
    return _volume(_grey(data, data.ndim == 3, path), "png", path)


def read_tiff(path):
    """Read a TIFF as stored (a multi-page stack is ``(pages, rows, columns)``).

    Colour TIFFs are accepted only if R, G and B are equal.
    """
    with reading(path, "TIFF"):
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            data = series.asarray()
    return _volume(_grey(data, series.axes.endswith("S"), path), "tiff", path)


def write_png(path, data, like):
    """Write 2-D uint8 or uint16 ``data``; other dtypes must be converted by the caller."""
    if data.ndim != 2 or data.dtype not in (np.uint8, np.uint16):
        raise ValueError(
            f"PNG stores 2-D uint8 or uint16 images, got {data.dtype} data of shape "
            f"{data.shape}; convert explicitly, e.g. with skimage.util.img_as_uint, "
            "or write a TIFF."
        )
    iio.imwrite(path, data, plugin="pillow", extension=".png")


def write_tiff(path, data, like):
    """Write 2-D or 3-D ``data`` of any dtype as a greyscale TIFF."""
    tifffile.imwrite(path, data, photometric="minisblack")


def _grey(data, colour, path):
    """Drop the channel axis of a colour image whose R, G and B (or grey) are equal."""
    if not colour:
        return data
    channels = data[..., :3] if data.shape[-1] >= 3 else data[..., :1]
    if np.any(channels != channels[..., :1]):
        raise ValueError(
            f"'{path}' is a colour image; convert it to greyscale first "
            "(only images whose R, G and B channels are equal are accepted)."
        )
    return data[..., 0]


def _volume(data, fmt, path):
    check_ndim(data, path)
    return Volume(native(data), np.eye(4), None, fmt, path)
