"""Accuracy of ``sksmoe.noise.estimate_noise_map`` on non-uniform noise.

Run: ``python -m benchmarks run noise_maps [--quick]``. Prints a markdown table (median
relative error of the estimated sigma map inside the head, percent) and writes it to
``benchmarks/results/noise_maps.{md,json}``.
"""

import time

import numpy as np

from sksmoe.datasets import (
    add_rician_noise,
    add_sense_noise,
    add_smooth_noise,
    add_sos_noise,
    coil_covariance,
    load_mni152,
    mni152_contrast,
)
from sksmoe.metrics import brain_mask
from sksmoe.noise import estimate_noise_map, estimate_sigma

LEVELS = (3, 5, 9)
SLICES = (60, 80, 100, 120)


def _uniform(image, sigma, rng):
    return add_rician_noise(image, sigma, random_state=rng), np.full(image.shape, sigma)


def _protocols():
    """Protocol name -> ``simulate(image, sigma, rng) -> (noisy, sigma_map)``."""
    protocols = {"uniform": _uniform,
                 "BM4D smooth map": lambda x, s, rng: add_smooth_noise(x, s, random_state=rng),
                 "random smooth map": lambda x, s, rng: add_smooth_noise(
                     x, s, kind="random", random_state=rng)}
    for coils in (8, 16, 32):
        for r in (2, 3, 4):
            protocols[f"SENSE, {coils} coils, R={r}"] = (
                lambda x, s, rng, coils=coils, r=r: add_sense_noise(
                    x, s, n_coils=coils, acceleration=r, random_state=rng))
    for coils in (8, 32):
        protocols[f"sum of squares, {coils} coils"] = (
            lambda x, s, rng, coils=coils: add_sos_noise(x, s, n_coils=coils, random_state=rng))
    protocols["sum of squares, 8 coils, correlation 0.3"] = lambda x, s, rng: add_sos_noise(
        x, s, covariance=coil_covariance(8, 0.3), random_state=rng)
    return protocols


def _variants(name):
    """(row label, skull-stripped?, coils the estimator is told) for a protocol."""
    variants = [(name, False, 1)]
    if name in ("uniform", "BM4D smooth map"):
        variants.append((f"{name}, skull-stripped", True, 1))
    if name.startswith("sum of squares") and "correlation" not in name:
        coils = int(name.split()[3])
        variants.append((f"{name}, estimator told n_coils={coils}", False, coils))
    return variants


def _median_error(estimate, truth, inside):
    return float(np.median(np.abs(estimate[inside] / truth[inside] - 1)))


def _cell(errors):
    """Mean over slices (worst slice), percent."""
    return f"{100 * np.mean(errors):.1f} ({100 * np.max(errors):.1f})"


def main(argv=None):
    from ._common import is_quick, markdown_table, write_results

    quick = is_quick(argv, __doc__)
    volume, reference = mni152_contrast("MNI-T1")
    brain = load_mni152().mask
    slice_indices = SLICES[1:2] if quick else SLICES
    levels = LEVELS[1:2] if quick else LEVELS
    protocols = _protocols()
    if quick:
        protocols = {name: protocols[name] for name in
                     ("uniform", "SENSE, 8 coils, R=4", "sum of squares, 8 coils")}
    results, rows, seconds, count = {}, [], 0.0, 0
    for number, (name, simulate) in enumerate(protocols.items()):
        for label, stripped, coils in _variants(name):
            errors = {"map": {}, "estimate_sigma": {}}
            for level in levels:
                cells = {"map": [], "estimate_sigma": []}
                for z in slice_indices:
                    clean = np.ascontiguousarray(volume[:, :, z].T[::-1], dtype=np.float64)
                    rng = np.random.default_rng([number, level, z])
                    noisy, truth = simulate(clean, level / 100 * reference, rng)
                    if stripped:  # exactly 0 outside the brain, as after skull stripping
                        noisy = noisy * brain[:, :, z].T[::-1]
                    inside = brain_mask(clean) & (noisy != 0)
                    start = time.perf_counter()
                    estimate = estimate_noise_map(noisy, n_coils=coils)
                    seconds += time.perf_counter() - start
                    count += 1
                    cells["map"].append(_median_error(estimate, truth, inside))
                    constant = np.full(noisy.shape, estimate_sigma(noisy))
                    cells["estimate_sigma"].append(_median_error(constant, truth, inside))
                for method, values in cells.items():
                    errors[method][f"{level:g}"] = values
            results[label] = errors
            rows.append([label] + [_cell(errors[method][f"{lv:g}"])
                                   for method in ("map", "estimate_sigma") for lv in levels])
    header = (["protocol"] + [f"map {lv}%" for lv in levels]
              + [f"estimate_sigma {lv}%" for lv in levels])
    text = "\n".join([
        "# Noise maps",
        "",
        ("Median relative error of the estimated sigma map inside the head, percent: mean "
         f"over {len(slice_indices)} MNI152 T1 axial slices (z = "
         + ", ".join(map(str, slice_indices)) + "), worst slice in brackets."),
        ("`map` is `estimate_noise_map` (blind, one image; told nothing unless the row "
         "says so); `estimate_sigma` is today's scalar estimate used as a constant map."),
        ("Noise level p%: the true sigma map's mean over the head is p% of the white-matter "
         "mean (sksmoe.datasets: Rician magnitude for uniform, smooth and SENSE noise, "
         "noncentral chi for the sum of squares, whose map is the effective sigma)."),
        ("Head: `brain_mask` of the clean slice, without pixels that are exactly 0. "
         "Skull-stripped: the noisy slice set to 0 outside the template's brain mask."),
        "",
        markdown_table(header, rows),
        "",
        (f"estimate_noise_map: {1000 * seconds / count:.0f} ms per {clean.shape[0]}x"
         f"{clean.shape[1]} slice."),
    ])
    write_results("noise_maps", text, {"levels": list(levels), "slices": list(slice_indices),
                                       "median_relative_error": results,
                                       "ms_per_image": 1000 * seconds / count}, quick)


if __name__ == "__main__":
    main()
