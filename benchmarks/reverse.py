"""Table 2: the reverse direction, experts fitted on real slices, tested on BrainWeb-style.

Run: ``python -m benchmarks run reverse [--quick]``. The experts are fitted on the real
dipy b=0 slices (slices 0-6 train, 7-9 validation for k; Rician noise 0/1/3/5% added as
everywhere) and tested on the held-out MNI-T1 slices of the BrainWeb-style split. The base
DnCNN itself was pretrained on BrainWeb-style MNI152 slices (no other source is available
offline), so only the experts see the other dataset. Writes ``results/reverse.{md,json}``.
"""

from ._common import (SEEN_LEVELS, TEST_LEVELS, is_quick, score, select_images, table,
                      test_sets, write_results)
from ._methods import fit_learned


NOTE = ("The real scans are their own clean targets and carry their own noise, so experts"
        " fitted on them learn to keep noise: expect rows near the noisy input (the paper"
        "'s IXI protocol has the same flaw; no noise-free real source is available offline).")


def real_training_data(quick):
    """dipy b=0 slices 0-6 (train) and 7-9 (validation) at 0/1/3/5% noise."""
    from sksmoe.datasets import make_real_dataset

    data = make_real_dataset("dipy-b0", (0, 1, 3, 5), random_state=5)
    slices = data.meta.slice_index.to_numpy()
    train, validation = select_images(data, slices < 7), select_images(data, slices >= 7)
    if quick:
        train = select_images(train, train.meta.slice_index.to_numpy() == 3)
        validation = select_images(validation, validation.meta.noise_percent.to_numpy() == 3)
    return train, validation


def main(argv=None):
    from .compare import evaluate, learned_rows

    quick = is_quick(argv, __doc__)

    train, validation = real_training_data(quick)
    models, info = fit_learned(train, validation, quick)
    name, data = next(iter(test_sets(quick).items()))
    levels = [lv for lv in TEST_LEVELS if (data.meta.noise_percent == lv).any()]
    rows = {"noisy input": {"scores": score(data, data.noisy, levels)}}
    learned, _ = evaluate(learned_rows(models, info), data, levels)
    rows.update(learned)
    seen = [lv for lv in levels if lv in SEEN_LEVELS]
    lines = ["# Reverse direction (Table 2): experts fitted on real slices", "",
             f"Fitted on {len(train.noisy)} real dipy b=0 images, k chosen on "
             f"{len(validation.noisy)}: " + ", ".join(
                 f"{d} k={k}" for d, k in info["chosen_k"].items())
             + f". Tested on {name}. Cells: brain-mask PSNR dB mean ± std / SSIM. "
             "Compare with the same rows of `compare.md` (fitted on BrainWeb-style slices).",
             "", NOTE, "", table(rows, seen, extra=("s/slice",)), ""]
    unseen = [lv for lv in levels if lv not in seen]
    if unseen:
        lines += ["Unseen noise levels:", "", table(rows, unseen, extra=()), ""]
    write_results("reverse", "\n".join(lines), {"fit": info, "rows": rows}, quick)
    return 0


if __name__ == "__main__":
    main()
