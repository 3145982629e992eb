"""The sparse mixture-of-experts denoiser."""

from ._denoiser import SparseMoEDenoiser

__all__ = ["SparseMoEDenoiser"]
