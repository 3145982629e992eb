"""Real MRI data shipped inside installed packages, the BrainWeb-style simulator and
non-uniform noise."""

from ._make import (
    NOISE_LEVELS,
    RF_LEVELS,
    UNSEEN_NOISE_LEVELS,
    make_brainweb_dataset,
    split_slices,
)
from ._mni import load_mni152
from ._nonuniform import (
    add_sense_noise,
    add_smooth_noise,
    add_sos_noise,
    coil_covariance,
    coil_sensitivities,
    sense_g_factor,
    smooth_noise_map,
)
from ._real import REAL_SOURCES, load_real_slices, make_real_dataset
from ._simulate import (
    MODALITIES,
    TISSUE_LEVELS,
    add_rician_noise,
    mni152_contrast,
    noise_sigma,
    rf_field,
)

__all__ = [
    "MODALITIES", "NOISE_LEVELS", "REAL_SOURCES", "RF_LEVELS", "TISSUE_LEVELS",
    "UNSEEN_NOISE_LEVELS", "add_rician_noise", "add_sense_noise", "add_smooth_noise",
    "add_sos_noise", "coil_covariance", "coil_sensitivities", "load_mni152",
    "load_real_slices", "make_brainweb_dataset", "make_real_dataset", "mni152_contrast",
    "noise_sigma", "rf_field", "sense_g_factor", "smooth_noise_map", "split_slices",
]
