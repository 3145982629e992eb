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

from ._common import (RESULTS, TARGET as MARGIN, figure_path, is_quick, markdown_table,
                      write_results)

LOGS = (RESULTS / "learning_curves", Path(__file__).parent / "training_runs")


def read_logs():
    """Run name -> list of log entries, from every learning-curve log."""
    runs = {}
    for folder in LOGS:
        for path in sorted(folder.glob("*.jsonl")):
            name = path.name.split(".")[0]
            runs[name] = [json.loads(line) for line in path.read_text().splitlines() if line]
    return runs


def validation_images(real, quick):
    """A validation set of the training script (noisy, clean, mask, meta): the template's
    slices or (``real``) the real ones; with ``quick``, one image at 5% noise."""
    from sksmoe.training import real_validation_set, validation_set

    noisy, clean, mask, meta = real_validation_set() if real else validation_set()
    if quick:
        keep = np.flatnonzero(meta.noise_percent.to_numpy() == 5)[:1]
        noisy, clean, mask, meta = noisy[keep], clean[keep], mask[keep], meta.iloc[keep]
    return noisy, clean, mask, meta


def bm3d_validation(images):
    """BM3D (true sigma) brain PSNR per level on ``images`` (:func:`validation_images`)."""
    from sksmoe.metrics import psnr
    from sksmoe.training import mean_by_level

    from ._methods import bm3d

    noisy, clean, mask, meta = images
    denoised = np.stack([bm3d(x, s) for x, s in zip(noisy, meta.sigma)])
    return mean_by_level(psnr(clean, denoised, mask), meta)


def real_data_scores(images):
    """Run name -> (step, brain PSNR per level on ``images``) for every checkpoint in
    ``training_runs/`` and the bundled base."""
    import torch

    from sksmoe.nn._checkpoint import BUNDLED_BASE, load_base
    from sksmoe.training import evaluate

    models = {path.stem: (path, torch.load(path, weights_only=True)["step"])
              for path in sorted(LOGS[1].glob("*.ckpt"))}
    models[f"bundled base ({BUNDLED_BASE.stem})"] = (BUNDLED_BASE, "")
    return {name: (step, evaluate(load_base(path), *images))
            for name, (path, step) in models.items()}


def plot(path, runs, bm3d):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    levels = list(MARGIN)
    fig, axes = plt.subplots(1, len(levels), figsize=(3.2 * len(levels) + 1.6, 3.2),
                             layout="constrained")
    colours = plt.get_cmap("tab20").colors  # more runs than the default ten colours
    for ax, level in zip(axes, levels):
        for (name, entries), colour in zip(runs.items(), colours):
            ax.plot([e["cpu_hours"] for e in entries], [e["val_brain_psnr"][level]
                    for e in entries], marker=".", color=colour, label=name)
        if level in bm3d:
            ax.axhline(bm3d[level], color="k", ls="--", lw=1, label="BM3D (true sigma)")
            ax.axhline(bm3d[level] + MARGIN[level], color="k", ls=":", lw=1, label="target")
        ax.set_title(f"{level}% noise")
        ax.set_xlabel("CPU-hours (2 cores)")
    axes[0].set_ylabel("validation brain PSNR (dB)")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right center", fontsize=7)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def tables(data):
    """The two tables of ``data`` (what :func:`main` measures, or its JSON), each as (header,
    rows of strings): validation PSNR at the last logged step of each run, and b=0 PSNR of
    each checkpoint; a level missing from a row shows as "-"."""
    def row(cells, scores):
        return [str(c) for c in cells] + [f"{scores[lv]:.2f}" if lv in scores else "-"
                                          for lv in MARGIN]

    levels = [f"{lv}%" for lv in MARGIN]
    validation = [row(["BM3D (true sigma)", "", ""], data["bm3d"])] + [
        row([name, e[-1]["step"], f"{e[-1]['cpu_hours']:.2f}"], e[-1]["val_brain_psnr"])
        for name, e in data["runs"].items()]
    real = [row(["BM3D (true sigma)", ""], data["bm3d_real"])] + [
        row([name, step], scores) for name, (step, scores) in data["real"].items()]
    return (["run", "step", "CPU-hours"] + levels, validation), (["run", "step"] + levels, real)


def main(argv=None):
    quick = is_quick(argv, __doc__)
    runs = read_logs()
    bm3d = bm3d_validation(validation_images(False, quick))
    real_images = validation_images(True, quick)
    bm3d_real = bm3d_validation(real_images)
    real = real_data_scores(real_images)
    lines = ["# Base DnCNN learning curves", "",
             "Validation brain-mask PSNR (dB; T1 + T2 validation slices, RF 20%) at the last "
             "logged step of each run, against BM3D with the true sigma on the same images. "
             "CPU-hours: hours of a dedicated 2-core machine.", ""]
    data = {"bm3d": bm3d, "bm3d_real": bm3d_real, "runs": runs, "real": real}
    validation, b0 = tables(data)
    lines += [markdown_table(*validation), "",
              "Real dipy b=0 slices (`sksmoe.training.real_validation_set`), brain-mask "
              "PSNR (dB): the checkpoint of every run in `benchmarks/training_runs/`, "
              "evaluated now, and the bundled base:", "", markdown_table(*b0)]
    path = plot(figure_path("learning_curves", quick), runs, bm3d)
    lines += ["", f"![learning curves]({path.name})"]
    write_results("learning_curves", "\n".join(lines), data, quick)
    return 0


if __name__ == "__main__":
    main()
