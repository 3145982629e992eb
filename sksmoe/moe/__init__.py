"""The sparse mixture-of-experts denoiser, and test-time wrappers for any denoiser."""

from ._denoiser import SparseMoEDenoiser
from ._wrappers import NoiseScale, SelfEnsemble, unwrapped

__all__ = ["NoiseScale", "SelfEnsemble", "SparseMoEDenoiser", "unwrapped"]
