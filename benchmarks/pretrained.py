"""The bundled models against BM3D on held-out slices (issue "core" table).

Run: ``python -m benchmarks run pretrained [--quick]``. Test split of the BrainWeb-style
MNI152 data ("MNI-T1" template contrast, RF 20%, noise 1/3/5/7/9%), two real held-out T1
sources with Rician noise added the same way: ten axial slices of Colin27 (one subject's 27
scans averaged) and the dipy T1 slice (4 draws a level); the ten real dipy b=0 slices
(T2-weighted echo-planar diffusion scan, 128x128 at about 2 mm; consulted when choosing the
base network, so not a held-out source); T2 and PD test slices, and MNI-T1 at 0, 12 and
15% noise (the ends of the range the bundled model is trained for), for BM3D and the
bundled model alone. Rows: noisy input, BM3D with the true sigma (``pip install
"sksmoe[bench]"``; non-commercial licence, benchmark only), the bundled model of before
issues 31/32 (``benchmarks/frozen``, its default preset; outputs kept in
``outputs/benchmark_cache/frozen``), the bundled model as bundled (one pass, the ``"fast"``
preset and ``sksmoe denoise``'s default) and its ``"quality"`` preset (self-ensemble and
SURE noise scale, ``sksmoe denoise --quality``). The slices of a set are unrelated: a model
that sees neighbouring slices is given each slice alone. What the bundled model's parts add
(fitted experts against the base alone, k) is measured on validation when it is fitted
(its model card) and under non-uniform noise by ``nonuniform``.
Brain-mask PSNR (mean ± std over slices) / SSIM (mean). Writes
``benchmarks/results/pretrained.md`` and ``.json``. BM3D's outputs and seconds are kept in
``outputs/benchmark_cache/bm3d`` by input, so a rerun for a new bundled model skips them.
"""

import json
import time
from functools import cache

import numpy as np

from ._common import CACHE, TEST_LEVELS, _quick, is_quick, score, table, write_results

EXTREMES = (0, 12, 15)  # the ends of the range the bundled model is trained for
BM3D_LABEL = "BM3D (true sigma)"
FROZEN_LABEL = ("the bundled model before issues 31/32 (frozen file, self-ensemble, SURE "
                "noise scale)")


def _bm3d(noisy, sigmas, version):
    """BM3D (package ``version``) with the true sigma, and the seconds it took; a noise-free
    image (sigma 0) is left as it is."""
    from ._methods import bm3d

    start = time.perf_counter()
    denoised = np.stack([bm3d(x, s) if s > 0 else x for x, s in zip(noisy, sigmas)])
    return denoised, time.perf_counter() - start


def cached_bm3d(noisy, sigmas):
    """:func:`_bm3d`, kept on disk by input: a rerun to score a new bundled model does not
    spend 2.5 s a slice on BM3D again, and reports the seconds measured when it ran."""
    from importlib.metadata import version

    from joblib import Memory

    return Memory(CACHE / "bm3d", verbose=0).cache(_bm3d)(noisy, sigmas, version("bm3d"))


def _frozen(noisy, digest):
    """The frozen model of before issues 31/32 (its default preset) on ``noisy`` slices,
    and the seconds it took."""
    from ._methods import frozen_model

    start = time.perf_counter()
    return frozen_model().predict(noisy), time.perf_counter() - start


@cache
def _frozen_digest():
    from hashlib import sha256

    from ._methods import FROZEN_MODEL

    return sha256(FROZEN_MODEL.read_bytes()).hexdigest()


def cached_frozen(noisy):
    """:func:`_frozen`, kept on disk by input and by the frozen file's bytes."""
    from joblib import Memory

    return Memory(CACHE / "frozen", verbose=0).cache(_frozen)(noisy, _frozen_digest())


def _margins(rows, label, levels):
    """One line: ``label`` minus BM3D in brain PSNR and SSIM at each level where both are
    finite (the issue's goal is stated as these margins)."""
    bundled, bm3d = rows[label]["scores"], rows[BM3D_LABEL]["scores"]
    cells = []
    for lv in (f"{lv:g}" for lv in levels):
        psnr, ref = bundled["brain_psnr"][lv]["mean"], bm3d["brain_psnr"][lv]["mean"]
        if "inf" not in (psnr, ref):
            ssim = bundled["brain_ssim"][lv]["mean"] - bm3d["brain_ssim"][lv]["mean"]
            cells.append(f"{lv}%: {psnr - ref:+.2f} dB / {ssim:+.4f}")
    return "Bundled minus BM3D (brain PSNR / SSIM): " + "; ".join(cells) + "."


def main(argv=None):
    from sksmoe.datasets import make_brainweb_dataset, make_real_dataset
    from sksmoe.pretrained import HERE, load_pretrained, with_preset
    from sksmoe.utils._optional import optional_import

    quick = is_quick(argv, __doc__)
    optional_import("bm3d", "bench")  # before the minutes of work below
    model = load_pretrained()  # the fitted pipeline, one pass; the quality preset wraps it
    card = json.loads((HERE / "smoe_patch.json").read_text())
    train_levels = card["noise_levels"]

    def test_split(contrast, slice_step, levels=TEST_LEVELS):
        return make_brainweb_dataset(contrast, rf_levels=(20,), test_noise_levels=levels,
                                     slice_step=slice_step).test

    sets = {  # name: (data, whether to run every row or only BM3D and the bundled model)
        "BrainWeb-style test split (MNI-T1, RF 20%)": (test_split("MNI-T1", 1), True),
        "real Colin27 slices (10 axial slices, 217x181, one draw a level; never trained or "
        "selected on)": (make_real_dataset("colin27", TEST_LEVELS), True),
        "real dipy T1 slice (4 noise draws a level; never trained or selected on)": (
            make_real_dataset("dipy-t1", TEST_LEVELS * 4), True),
        "real dipy b=0 slices (10 slices, 128x128, one draw a level; consulted to choose "
        "the base network, so not held out)": (
            make_real_dataset("dipy-b0", TEST_LEVELS), True),
        "BrainWeb-style test split (T2, RF 20%, every other slice)": (
            test_split("T2", 2), False),
        "BrainWeb-style test split (PD, RF 20%, every other slice)": (
            test_split("PD", 2), False),
        "BrainWeb-style test split (MNI-T1, RF 20%, every other slice) at the ends of the "
        f"{EXTREMES[0]}-{EXTREMES[-1]}% range (at {EXTREMES[0]}% the clean slice goes in: "
        "BM3D is left out and its row is the input, inf)": (
            test_split("MNI-T1", 2, EXTREMES), False),
    }
    k, bands = model[-1].n_experts, model[-1].noise_bands
    bundled_label = f"SMoE k={k}, {bands} noise band{'s' * (bands > 1)}, one pass (bundled)"
    every_denoiser = {bundled_label: model,
                      "the same, self-ensemble, SURE noise scale (--quality)":
                          with_preset(model, "quality")}
    results, sections = {}, []
    for name, (data, every_row) in sets.items():
        levels = sorted(set(data.meta.noise_percent))
        if quick:
            data = _quick(data, levels)
        outputs = {"noisy": (data.noisy, 0.0)}
        outputs[BM3D_LABEL] = cached_bm3d(data.noisy, data.meta.sigma.to_numpy())
        outputs[FROZEN_LABEL] = cached_frozen(data.noisy)
        denoisers = every_denoiser if every_row else {bundled_label: every_denoiser[
            bundled_label]}
        for label, denoiser in denoisers.items():
            start = time.perf_counter()
            outputs[label] = (denoiser.predict(data.noisy[:, None]),  # unrelated: each alone
                              time.perf_counter() - start)
        results[name] = {label: {"scores": score(data, images, levels),
                                 "s/slice": seconds / len(images)}
                         for label, (images, seconds) in outputs.items()}
        sections += [f"## {name}", "", table(results[name], levels), "",
                     _margins(results[name], bundled_label, levels), ""]
    intro = ["# Bundled models against BM3D", "",
             "Brain-mask PSNR dB ± std over slices / mean SSIM; data_range = clean max - min "
             f"per slice. Noise levels of the bundled model's training data: {train_levels}%; "
             f"base: {card['base']}.", ""]
    write_results("pretrained", "\n".join(intro + sections), {"sets": results}, quick)


if __name__ == "__main__":
    main()
