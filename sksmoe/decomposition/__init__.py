"""Decomposers: split each image into regions (one region set per image)."""

from ._neighbours import SliceNeighbours
from ._patch import PatchDecomposer, patch_starts
from ._regions import Regions
from ._segment import SAMDecomposer

__all__ = ["PatchDecomposer", "Regions", "SAMDecomposer", "SliceNeighbours", "patch_starts"]
