"""Load every volume of an IXI or BrainWeb download folder."""

import re

from ._image import read_image
from ._volume import check_exists, check_path

_IXI = re.compile(r"^(IXI\d+)-([A-Za-z]+)-\d+-(.+?)\.nii(?:\.gz)?$")
_BRAINWEB = re.compile(
    r"^(t1|t2|pd)_[a-z]+_([a-z0-9]+)_(\d+)mm_pn(\d+)_rf(\d+)\.mnc(?:\.gz)?$", re.IGNORECASE
)


def load_ixi_folder(path, pattern="*-T1.nii.gz"):
    """Read the IXI volumes of a folder, sorted by subject id.

    Parameters
    ----------
    path : str or os.PathLike
        Folder holding IXI files such as ``IXI002-Guys-0828-T1.nii.gz``.
    pattern : str, optional
        Glob selecting the files to read, by default ``"*-T1.nii.gz"``.

    Returns
    -------
    list of Volume
        ``meta`` is ``{"subject": "IXI002", "site": "Guys", "modality": "T1"}``, or
        ``{"subject": <name without .nii/.nii.gz>}`` for names not in the IXI scheme.

    Raises
    ------
    ValueError
        If no file of the folder matches ``pattern``.
    """
    if not isinstance(pattern, str):
        raise TypeError(f"`pattern` must be a str, got {type(pattern).__name__}.")
    volumes = []
    for file in _list(path, (pattern,)):
        match = _IXI.match(file.name)
        if match:
            meta = dict(zip(("subject", "site", "modality"), match.groups()))
        else:
            meta = {"subject": re.sub(r"\.nii(\.gz)?$", "", file.name)}
        volume = read_image(file)
        volume.meta.update(meta)
        volumes.append(volume)
    return sorted(volumes, key=lambda v: (v.meta["subject"], v.path.name))


def load_brainweb_folder(path):
    """Read the BrainWeb ``*.mnc`` and ``*.mnc.gz`` volumes of a folder, sorted by name.

    Parameters
    ----------
    path : str or os.PathLike
        Folder holding files such as ``t1_icbm_normal_1mm_pn3_rf20.mnc``.

    Returns
    -------
    list of Volume
        ``meta`` is ``{"modality": "T1", "phantom": "normal", "slice_thickness_mm": 1,
        "noise_percent": 3.0, "rf_percent": 20.0}``, or ``{}`` for other names.

    Raises
    ------
    ValueError
        If the folder holds no MINC file.
    """
    volumes = []
    for file in _list(path, ("*.mnc", "*.mnc.gz")):
        volume = read_image(file)
        match = _BRAINWEB.match(file.name)
        if match:
            modality, phantom, thickness, noise, rf = match.groups()
            volume.meta.update(
                modality=modality.upper(), phantom=phantom, slice_thickness_mm=int(thickness),
                noise_percent=float(noise), rf_percent=float(rf),
            )
        volumes.append(volume)
    return volumes


def _list(path, patterns):
    """Sorted files of folder ``path`` matching any of ``patterns``, or ``ValueError``."""
    path = check_path(path)
    check_exists(path)
    if not path.is_dir():
        raise NotADirectoryError(f"'{path}' is not a folder.")
    files = sorted({f for p in patterns for f in path.glob(p) if f.is_file()})
    if not files:
        raise ValueError(f"No file matching {' or '.join(patterns)} in '{path}'.")
    return files
