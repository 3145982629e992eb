"""Accuracy of ``sksmoe.noise.estimate_sigma`` on BrainWeb-style test slices.

Run: ``python -m benchmarks run noise_estimation [--quick]``. Prints a markdown table (mean
signed and worst absolute relative error, percent) and writes it to
``benchmarks/results/noise_estimation.{md,json}``.
"""

import time

import numpy as np

from sksmoe.datasets import make_brainweb_dataset, make_real_dataset
from sksmoe.noise import estimate_sigma

LEVELS = (1, 3, 5, 7, 9)


def _row(name, estimate, truth, levels, seconds):
    errors = estimate / truth - 1
    cells = []
    for p in LEVELS:
        e = errors[levels == p]
        cells.append(f"{100 * e.mean():+.1f} / {100 * np.abs(e).max():.1f}")
    return f"| {name} | " + " | ".join(cells) + f" | {1000 * seconds:.0f} |"


def main(argv=None):
    from ._common import is_quick, write_results

    quick = is_quick(argv, __doc__)
    modalities = ("MNI-T1",) if quick else ("T1", "T2", "PD", "MNI-T1")
    sources = [(modality, make_brainweb_dataset(modality, noise_levels=LEVELS,
                                                slice_step=8 if quick else 1).test)
               for modality in modalities]
    sources.append(("dipy-t1", make_real_dataset("dipy-t1", LEVELS)))
    test, real = sources[0][1].meta, sources[-1][1].meta
    lines = [
        "Relative error of estimate_sigma, percent: mean signed / worst absolute.",
        f"BrainWeb-style MNI152 test split ({test.slice_index.nunique()} axial slices x RF "
        + "/".join(f"{rf:g}" for rf in sorted(test.rf_percent.unique()))
        + f"%, {(test.noise_percent == LEVELS[0]).sum()} images a level);",
        "dipy-t1: the real slice with noise added "
        f"({(real.noise_percent == LEVELS[0]).sum()} image a level).",
        "",
        "| data, method | " + " | ".join(f"{p}%" for p in LEVELS) + " | ms/image |",
        "|---" * (len(LEVELS) + 2) + "|",
    ]
    results = {}
    for name, data in sources:
        for method in ("auto", "wavelet"):
            start = time.perf_counter()
            estimate = estimate_sigma(data.noisy, method)
            seconds = (time.perf_counter() - start) / len(estimate)
            results[f"{name}, {method}"] = {"relative_error": (estimate / data.meta.sigma.values
                                                               - 1).tolist(),
                                            "noise_percent": data.meta.noise_percent.tolist()}
            lines.append(_row(f"{name}, {method}", estimate, data.meta.sigma.values,
                              data.meta.noise_percent.values, seconds))
    write_results("noise_estimation", "# Noise estimation\n\n" + "\n".join(lines), results,
                  quick)


if __name__ == "__main__":
    main()
