"""Tables 1 and 3: every method on held-out BrainWeb-style slices and on real slices.

Run: ``python -m benchmarks run compare [--quick]``. Learned models are fitted on the
BrainWeb-style train split (the bundled model's data: T1/T2/PD/MNI-T1, noise 0/1/3/5%,
RF 0/20/40%) with k chosen on its validation split; classical parameters are chosen per
noise level on validation slices. Test: held-out MNI-T1, T2 and PD slices at RF 20% and the
real dipy slices, Rician noise 1/3/5% (Table 1) and 7/9%, never seen in training (Table 3).
Writes ``results/compare.{md,json}`` and ``compare_error_maps.png``.
"""

import numpy as np

from ._common import (SEEN_LEVELS, TEST_LEVELS, figure_path, is_quick, measure, score, table,
                      test_sets, training_data, tuning_data, write_results)
from ._figures import error_maps
from ._methods import classical_methods, fit_learned, run_classical


def learned_rows(models, info):
    """The learned rows of the tables: baselines, and each decomposition at its chosen k."""
    rows = {}
    for name, model in models.items():
        decomposition = next((d for d in info["chosen_k"] if name.startswith(f"SMoE {d},")),
                             None)
        if decomposition is None or name.endswith(f"k={info['chosen_k'][decomposition]}") \
                or name.endswith(", k=1"):
            rows[name] = model
    return rows


def evaluate(rows, data, levels):
    """Scores, seconds per slice and peak memory of fitted pipelines on one test set."""
    out, images = {}, {}
    for name, model in rows.items():
        denoised, seconds, memory = measure(model.predict, data.noisy)
        images[name] = denoised
        out[name] = {"scores": score(data, denoised, levels),
                     "s/slice": seconds / len(denoised), "peak MB": memory}
    return out, images


def main(argv=None):
    quick = is_quick(argv, __doc__)

    train, validation = training_data(quick)
    models, info = fit_learned(train, validation, quick)
    rows_learned = learned_rows(models, info)
    classical, missing = classical_methods()
    tuning = tuning_data(quick)
    results = {"fit": info, "missing": missing, "sets": {}}
    lines = ["# Denoisers compared on held-out and real slices (Tables 1 and 3)", "",
             "Cells: brain-mask PSNR dB mean ± std over slices / SSIM mean. Learned models: "
             f"{len(train.noisy)} training images, k chosen on {len(validation.noisy)} "
             "validation images (chosen k: " + ", ".join(
                 f"{d} k={k}" for d, k in info["chosen_k"].items()) + "). Classical "
             "parameters chosen per noise level on validation slices. `peak MB`: largest rise "
             "of resident memory while denoising the set. `SMoE Patch, k=1` is the paper's "
             "'DnCNN fine-tuned' baseline.", ""]
    lines += [f"- {name}: {why}" for name, why in missing.items()]
    for set_name, data in test_sets(quick).items():
        levels = [lv for lv in TEST_LEVELS if (data.meta.noise_percent == lv).any()]
        rows = {"noisy input": {"scores": score(data, data.noisy, levels)}}
        images = {"noisy": data.noisy}
        for name, (function, grid) in classical.items():
            denoised, per_slice, memory, chosen = run_classical(function, grid, tuning, data)
            images[name] = denoised
            rows[name] = {"scores": score(data, denoised, levels), "s/slice": per_slice,
                          "peak MB": memory, "parameters": chosen}
        learned, learned_images = evaluate(rows_learned, data, levels)
        for name, row in learned.items():
            row["fit s"] = info["fit"][name]["seconds"]
        rows.update(learned)
        images.update(learned_images)
        results["sets"][set_name] = rows
        seen = [lv for lv in levels if lv in SEEN_LEVELS]
        unseen = [lv for lv in levels if lv not in SEEN_LEVELS]
        extra = ("s/slice", "fit s", "peak MB")
        lines += ["", f"## {set_name}", "", f"{len(data.noisy) // len(levels)} images a level.",
                  "", "### Table 1: brain mask, noise seen in training", "",
                  table(rows, seen, extra=extra), "",
                  "### Table 1: whole slice", "", table(rows, seen, metric="slice", extra=()),
                  ""]
        if unseen:
            lines += ["### Table 3: brain mask, unseen noise levels", "",
                      table(rows, unseen, extra=()), ""]
        if set_name.startswith("BrainWeb") and "MNI-T1" in set_name:
            noise = data.meta.noise_percent.to_numpy()
            level = 5 if (noise == 5).any() else levels[-1]
            index = np.flatnonzero(noise == level)
            i = index[len(index) // 2]
            path = error_maps(figure_path("compare_error_maps", quick), data.clean[i],
                              {k: v[i] for k, v in images.items()}, data.mask[i],
                              f"{set_name}, {level}% noise: |method - clean|")
            lines += [f"![error maps]({path.name})", ""]
    write_results("compare", "\n".join(lines), results, quick)
    return 0


if __name__ == "__main__":
    main()
