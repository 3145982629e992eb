"""The rows of the benchmark tables: classical denoisers and the learned models.

Classical parameters (filter widths, NL-means strength) are chosen per noise level on the
validation split, never on test; learned models pick k on validation.
"""

import hashlib
from pathlib import Path

import numpy as np

from ._common import CACHE, select_images, measure

#: The bundled model as it was before issues 31 and 32 (fitted in session 20; card beside
#: it), kept for the rows that compare against "today's" model.
FROZEN_MODEL = Path(__file__).parent / "frozen" / "smoe_patch_session20.safetensors"

#: Parameter grids searched on validation, per method.
GRIDS = {
    "Gaussian filter": {"sigma": (0.5, 0.75, 1.0, 1.5)},
    "median filter": {"size": (3, 5)},
    "NL-means (scikit-image)": {"h": (0.6, 0.8, 1.0)},
}


def _estimated(image):
    from sksmoe.noise import estimate_sigma

    return estimate_sigma(image)


def _gaussian(image, sigma_true, sigma):
    from scipy import ndimage

    return ndimage.gaussian_filter(image, sigma)


def _median(image, sigma_true, size):
    from scipy import ndimage

    return ndimage.median_filter(image, size)


def _nl_means_skimage(image, sigma_true, h):
    from skimage.restoration import denoise_nl_means

    sigma = _estimated(image)
    return denoise_nl_means(image, h=h * sigma, sigma=sigma, patch_size=5, patch_distance=6,
                            fast_mode=True)


def _nl_means_dipy(image, sigma_true):
    from dipy.denoise.nlmeans import nlmeans

    return nlmeans(image[..., None], sigma=_estimated(image), rician=True)[..., 0]  # wants 3-D


def bm3d(image, sigma_true, estimated=False):
    """BM3D (``pip install "sksmoe[bench]"``) with the true or the estimated sigma."""
    from sksmoe.utils._optional import optional_import

    package = optional_import("bm3d", "bench")
    return package.bm3d(image, sigma_psd=_estimated(image) if estimated else sigma_true)


def _ants(image, sigma_true):
    import ants

    return ants.denoise_image(ants.from_numpy(image.astype(np.float32)),
                              noise_model="Rician").numpy()


def classical_methods():
    """Name -> (function(image, true_sigma, **params), grid); rows whose package is missing
    are left out, with the reason in the second dict."""
    methods = {
        "Gaussian filter": _gaussian,
        "median filter": _median,
        "NL-means (scikit-image)": _nl_means_skimage,
        "NL-means (dipy, Rician, estimated sigma)": _nl_means_dipy,
        "BM3D (true sigma)": bm3d,
        "BM3D (estimated sigma)": lambda image, sigma: bm3d(image, sigma, estimated=True),
        "ANTs denoise_image (Rician)": _ants,
    }
    missing = {}
    for name, module, how in (("BM3D", "bm3d", 'pip install "sksmoe[bench]"'),
                              ("ANTs", "ants", "pip install --no-deps antspyx==0.6.3 "
                                               "statsmodels (its numpy<2.4 pin is too strict)")):
        try:
            __import__(module)
        except ImportError:
            missing[name] = f"not installed here ({how})"
            methods = {k: v for k, v in methods.items() if not k.startswith(name)}
    return {k: (v, GRIDS.get(k, {})) for k, v in methods.items()}, missing


def frozen_model(preset="quality"):
    """:data:`FROZEN_MODEL` as the named preset of its time (``"quality"``: self-ensemble and
    SURE noise scale, its default; ``"fast"``: one pass)."""
    from sksmoe.pretrained import load_pretrained, with_preset

    return with_preset(load_pretrained(FROZEN_MODEL), preset)


def installed(methods, packages):
    """``methods`` without the rows whose name starts with a key of ``packages`` (row
    prefix -> module) when that module is not installed here (said on stdout)."""
    for prefix, module in packages.items():
        try:
            __import__(module)
        except ImportError:
            print(f"{prefix} rows left out: {module} is not installed here")
            methods = {k: v for k, v in methods.items() if not k.startswith(prefix)}
    return methods


def _apply(function, data, params):
    sigmas = data.meta.sigma.to_numpy()
    return np.stack([function(x, s, **params) for x, s in zip(data.noisy, sigmas)]
                    ).astype(np.float32)


def choose_parameters(function, grid, validation):
    """Best parameters per noise level by mean brain PSNR on the validation images."""
    from sklearn.model_selection import ParameterGrid

    from sksmoe.metrics import psnr

    noise = validation.meta.noise_percent.to_numpy()
    chosen = {}
    for level in np.unique(noise):
        keep = noise == level
        subset = select_images(validation, keep)
        scores = {}
        for params in ParameterGrid(grid):
            images = _apply(function, subset, params)
            scores[tuple(sorted(params.items()))] = psnr(subset.clean, images, subset.mask).mean()
        chosen[float(level)] = dict(max(scores, key=scores.get))
    return chosen


def run_classical(function, grid, validation, test):
    """Denoise ``test`` with parameters chosen per level on ``validation``.

    Returns the images, seconds per slice, peak extra memory (MB) and the chosen parameters.
    A test level absent from validation uses the nearest validation level's parameters.
    """
    chosen = choose_parameters(function, grid, validation) if grid else {}
    noise = test.meta.noise_percent.to_numpy()

    def denoise():
        out = np.empty_like(test.noisy)
        for i, (x, s, level) in enumerate(zip(test.noisy, test.meta.sigma, noise)):
            params = chosen[min(chosen, key=lambda v: abs(v - level))] if chosen else {}
            out[i] = function(x, s, **params)
        return out

    images, seconds, memory = measure(denoise)
    return images, seconds / len(images), memory, {f"{k:g}": v for k, v in chosen.items()}


# ---------------------------------------------------------------------- learned models
def decomposers():
    """The decompositions compared: patches and segmented regions."""
    from sksmoe import PatchDecomposer, SAMDecomposer

    return {"Patch": PatchDecomposer(),
            "Segment (classical, multi-Otsu)": SAMDecomposer(backend="otsu")}


def _code_and_base_digest():
    """sha256 of sksmoe's source and the bundled base: a cached fit is stale when either
    changes (unpickling a model of older code would miss its newer parameters)."""
    from pathlib import Path

    import sksmoe
    from sksmoe.nn._checkpoint import BUNDLED_BASE

    digest = hashlib.sha256(BUNDLED_BASE.read_bytes())
    for path in sorted(Path(sksmoe.__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def fit_learned(train, validation, quick, n_experts=(1, 2, 4, 8)):
    """Fit the learned rows on ``train``, choosing k on ``validation`` (cached on disk).

    Returns
    -------
    models : dict of str to fitted Pipeline
    info : dict
        Validation brain PSNR per decomposition and k, the chosen k, fit seconds and
        peak memory per row.
    """
    from joblib import Memory

    memory = Memory(CACHE / "fits", verbose=0)
    return memory.cache(_fit_learned)(train.noisy, train.clean, validation.noisy,
                                      validation.clean, validation.mask,
                                      (1, 2) if quick else tuple(n_experts),
                                      _code_and_base_digest())


def _fit_learned(X, y, X_val, y_val, mask_val, ks, digest):
    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline

    from sksmoe import EmbeddingPCA, PatchDecomposer, SparseMoEDenoiser
    from sksmoe.metrics import psnr

    models, info = {}, {"validation_brain_psnr": {}, "chosen_k": {}, "fit": {}}
    smoe = SparseMoEDenoiser(random_state=0)

    def fit(name, steps, estimator, regions):
        model, seconds, mb = measure(lambda: clone(estimator).fit(regions, y))
        models[name] = make_pipeline(*steps, model)
        info["fit"][name] = {"seconds": seconds, "peak_mb": mb}
        return models[name]

    patches = PatchDecomposer().fit(X)
    regions = patches.transform(X)
    fit("DnCNN (pretrained base, untuned)", [patches],
        clone(smoe).set_params(n_experts=1, fine_tune="none"), regions)
    fit("HydraNet-style (left / middle / right)", [patches],
        clone(smoe).set_params(n_experts=3, gating="position"), regions)
    info["features_seconds"] = {}
    for decomposition, decomposer in decomposers().items():
        steps = [clone(decomposer).fit(X), EmbeddingPCA()]
        regions, seconds, _ = measure(lambda: steps[1].fit_transform(steps[0].transform(X)))
        info["features_seconds"][decomposition] = seconds
        val_regions = steps[1].transform(steps[0].transform(X_val))
        scores = {}
        for k in ks:
            name = f"SMoE {decomposition}, k={k}"
            model = fit(name, steps, clone(smoe).set_params(n_experts=k), regions)
            scores[k] = float(psnr(y_val, model[-1].predict(val_regions), mask_val).mean())
        best = max(scores, key=scores.get)
        info["validation_brain_psnr"][decomposition] = scores
        info["chosen_k"][decomposition] = best
        if decomposition == "Patch":
            paper = [clone(decomposer).fit(X), EmbeddingPCA(mode="crop")]
            crop_regions = paper[1].fit_transform(paper[0].transform(X))
            fit(f"SMoE Patch, paper path (per-crop embedding and denoising), k={best}", paper,
                clone(smoe).set_params(n_experts=best, context="region"), crop_regions)
    return models, info
