"""Learning curves of the base-DnCNN trainings: validation PSNR against CPU-hours.

Run: ``python -m benchmarks run learning_curves [--quick]``. Reads every run's log
(``benchmarks/results/learning_curves/*.jsonl`` for finished runs,
``benchmarks/training_runs/*.log.jsonl`` for runs in progress), scores BM3D with the true
sigma on the same validation images (``sksmoe.training.validation_set`` and, for runs that
log it, ``real_validation_set``), and writes
``results/learning_curves.{md,json,png}``: the target of the pretrained-model issue is
BM3D + 1 dB at 1-5% and + 0.5 dB at 7-9%.
"""

import json
from pathlib import Path

import numpy as np

from ._common import RESULTS, is_quick, figure_path, write_results

LOGS = (RESULTS / "learning_curves", Path(__file__).parent / "training_runs")
MARGIN = {"1": 1.0, "3": 1.0, "5": 1.0, "7": 0.5, "9": 0.5}


def read_logs():
    """Run name -> list of log entries, from every learning-curve log."""
    runs = {}
    for folder in LOGS:
        for path in sorted(folder.glob("*.jsonl")):
            name = path.name.split(".")[0]
            runs[name] = [json.loads(line) for line in path.read_text().splitlines() if line]
    return runs


def bm3d_validation(quick, images):
    """BM3D (true sigma) brain PSNR per level on ``images``, a validation set of the training
    script (noisy, clean, mask, meta)."""
    from sksmoe.metrics import psnr

    from ._methods import bm3d

    noisy, clean, mask, meta = images
    if quick:
        keep = np.flatnonzero(meta.noise_percent.to_numpy() == 5)[:1]
        noisy, clean, mask, meta = noisy[keep], clean[keep], mask[keep], meta.iloc[keep]
    denoised = np.stack([bm3d(x, s) for x, s in zip(noisy, meta.sigma)])
    scores = psnr(clean, denoised, mask)
    levels = meta.noise_percent.to_numpy()
    return {f"{lv:g}": float(scores[levels == lv].mean()) for lv in np.unique(levels)}


def real_data_scores(quick):
    """Run name -> (step, brain PSNR per level on the real validation slices) for every
    checkpoint in ``training_runs/`` and the bundled base."""
    import torch

    from sksmoe.nn._checkpoint import BUNDLED_BASE, load_dncnn
    from sksmoe.training import evaluate, real_validation_set

    images = real_validation_set()
    if quick:
        keep = np.flatnonzero(images[3].noise_percent.to_numpy() == 5)[:1]
        images = tuple(part[keep] for part in images[:3]) + (images[3].iloc[keep],)
    models = {path.stem: (path, torch.load(path, weights_only=True)["step"])
              for path in sorted(LOGS[1].glob("*.ckpt"))}
    models[f"bundled base ({BUNDLED_BASE.stem})"] = (BUNDLED_BASE, "")
    return {name: (step, evaluate(load_dncnn(path), *images))
            for name, (path, step) in models.items()}


def plot(path, runs, bm3d):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    levels = list(MARGIN)
    fig, axes = plt.subplots(1, len(levels), figsize=(3.2 * len(levels), 3.2),
                             layout="constrained")
    for ax, level in zip(axes, levels):
        for name, entries in runs.items():
            ax.plot([e["cpu_hours"] for e in entries],
                    [e["val_brain_psnr"][level] for e in entries], marker=".", label=name)
        if level in bm3d:
            ax.axhline(bm3d[level], color="k", ls="--", lw=1, label="BM3D (true sigma)")
            ax.axhline(bm3d[level] + MARGIN[level], color="k", ls=":", lw=1, label="target")
        ax.set_title(f"{level}% noise")
        ax.set_xlabel("CPU-hours (2 cores)")
    axes[0].set_ylabel("validation brain PSNR (dB)")
    axes[-1].legend(fontsize=7)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def main(argv=None):
    quick = is_quick(argv, __doc__)
    from sksmoe.training import real_validation_set, validation_set

    runs = read_logs()
    bm3d = bm3d_validation(quick, validation_set())
    bm3d_real = bm3d_validation(quick, real_validation_set())
    levels = list(MARGIN)
    lines = ["# Base DnCNN learning curves", "",
             "Validation brain-mask PSNR (dB; T1 + T2 validation slices, RF 20%) at the last "
             "logged step of each run, against BM3D with the true sigma on the same images. "
             "CPU-hours: hours of a dedicated 2-core machine.", "",
             "| run | step | CPU-hours | " + " | ".join(f"{lv}%" for lv in levels) + " |",
             "|---" * (len(levels) + 3) + "|",
             "| BM3D (true sigma) | | | " + " | ".join(
                 f"{bm3d[lv]:.2f}" if lv in bm3d else "-" for lv in levels) + " |"]
    for name, entries in runs.items():
        last = entries[-1]
        lines.append(f"| {name} | {last['step']} | {last['cpu_hours']:.2f} | " + " | ".join(
            f"{last['val_brain_psnr'][lv]:.2f}" for lv in levels) + " |")
    lines += ["", "Real dipy b=0 slices (`sksmoe.training.real_validation_set`), brain-mask "
              "PSNR (dB): the checkpoint of every run in `benchmarks/training_runs/`, "
              "evaluated now, and the bundled base:", "",
              "| run | step | " + " | ".join(f"{lv}%" for lv in levels) + " |",
              "|---" * (len(levels) + 2) + "|",
              "| BM3D (true sigma) | | " + " | ".join(
                  f"{bm3d_real[lv]:.2f}" if lv in bm3d_real else "-" for lv in levels) + " |"]
    real = real_data_scores(quick)
    for name, (step, scores) in real.items():
        lines.append(f"| {name} | {step} | " + " | ".join(
            f"{scores[lv]:.2f}" if lv in scores else "-" for lv in levels) + " |")
    path = plot(figure_path("learning_curves", quick), runs, bm3d)
    lines += ["", f"![learning curves]({path.name})"]
    write_results("learning_curves", "\n".join(lines),
                  {"bm3d": bm3d, "bm3d_real": bm3d_real, "runs": runs, "real": real}, quick)
    return 0


if __name__ == "__main__":
    main()
