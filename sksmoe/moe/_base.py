"""What every denoiser of sksmoe shares."""

import numpy as np


class DenoiserMixin:
    """``score``: the mean PSNR of the denoised images, for ``GridSearchCV``."""

    def score(self, X, y):
        """Mean PSNR (dB) of the denoised images against the clean images ``y``."""
        from ..metrics import psnr

        return float(np.mean(psnr(y, self.predict(X))))
