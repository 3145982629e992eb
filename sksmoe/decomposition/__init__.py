"""Decomposers: split each image into regions (one region set per image)."""

from ._patch import PatchDecomposer, patch_starts
from ._regions import Regions
from ._segment import SAMDecomposer

__all__ = ["PatchDecomposer", "Regions", "SAMDecomposer", "patch_starts"]
