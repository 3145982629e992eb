"""What every benchmark table shares: data, scoring, timing, peak memory and result files."""

import datetime
import json
import os
import platform
import subprocess
import threading
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
CACHE = Path(__file__).parent.parent / "outputs" / "benchmark_cache"
TEST_LEVELS = (1, 3, 5, 7, 9)
SEEN_LEVELS = (1, 3, 5)
#: The pretrained-model issue's target: BM3D (true sigma) + this many dB, per noise level.
TARGET = {"1": 1.0, "3": 1.0, "5": 1.0, "7": 0.5, "9": 0.5}
PACKAGES = ("sksmoe", "numpy", "scipy", "torch", "torchvision", "scikit-learn", "scikit-image",
            "dipy", "bm3d", "antspyx")


def is_quick(argv, description):
    """Parse a table's command line: only ``--quick`` (a seconds-long smoke run)."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="seconds-long smoke run")
    return parser.parse_args(argv).quick


def environment():
    """Machine, package versions and commit, recorded next to every result."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    def git(*args):
        return subprocess.run(["git", *args], capture_output=True, text=True,
                              cwd=Path(__file__).parent).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        if git("status", "--porcelain", "--", ":/", ":(top,exclude)benchmarks/results"):
            commit += " with uncommitted changes"
    except OSError:
        commit = ""
    import torch

    return {"date": datetime.date.today().isoformat(), "commit": commit,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                       f"{torch.get_num_threads()} torch threads, no GPU"
                       if not torch.cuda.is_available() else torch.cuda.get_device_name(),
            "python": platform.python_version(), "packages": versions}


def write_results(name, markdown, data, quick):
    """Print the table; unless ``quick``, write ``results/<name>.md`` and ``.json``."""
    env = environment()
    footer = (f"\n\nMeasured {env['date']} at commit {env['commit']} on {env['machine']}; "
              "Python {python}; ".format(**env)
              + ", ".join(f"{k} {v}" for k, v in env["packages"].items() if v) + ".\n")
    text = markdown.rstrip() + footer
    print(text)
    if not quick:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"{name}.md").write_text(text)
        (RESULTS / f"{name}.json").write_text(
            json.dumps({"environment": env, **data}, indent=2, default=float) + "\n")
    return text


def figure_path(name, quick):
    """Where a figure goes: ``results/`` for a full run, the cache folder for ``--quick``."""
    folder = CACHE if quick else RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}.png"


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(function, *args, **kwargs):
    """Run ``function``; return its result, wall seconds and peak extra resident memory (MB).

    Memory is the largest rise of the process's resident set over its value at the start,
    sampled every 5 ms by a thread (Linux ``/proc``; NaN elsewhere).
    """
    if not Path("/proc/self/statm").exists():
        start = time.perf_counter()
        return function(*args, **kwargs), time.perf_counter() - start, float("nan")
    base, peak, done = _rss_bytes(), [0], threading.Event()

    def sample():
        while not done.wait(0.005):
            peak[0] = max(peak[0], _rss_bytes())

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    start = time.perf_counter()
    try:
        result = function(*args, **kwargs)
    finally:
        seconds = time.perf_counter() - start
        done.set()
        thread.join()
    peak[0] = max(peak[0], _rss_bytes())
    return result, seconds, max(0, peak[0] - base) / 2**20


def score(data, images, levels):
    """Whole-slice and brain-mask PSNR / SSIM, mean and std over images, per noise level."""
    from sksmoe.metrics import psnr, ssim

    noise = data.meta.noise_percent.to_numpy()
    per_image = {"psnr": psnr(data.clean, images), "ssim": ssim(data.clean, images),
                 "brain_psnr": psnr(data.clean, images, data.mask),
                 "brain_ssim": ssim(data.clean, images, data.mask)}
    return {metric: {f"{lv:g}": _summary(values[noise == lv]) for lv in levels
                     if (noise == lv).any()}
            for metric, values in per_image.items()}


def _summary(values):
    """Mean and std; an output equal to the clean image (PSNR inf) gives mean ``"inf"``."""
    if np.isinf(values).any():
        return {"mean": "inf", "std": None}
    return {"mean": float(values.mean()), "std": float(values.std())}


def table(rows, levels, metric="brain", extra=("s/slice",)):
    """Markdown table: one row per method, ``PSNR / SSIM`` (mean) per level, then extras.

    ``rows`` maps a method name to a dict with ``scores`` (from :func:`score`) and the
    ``extra`` columns.
    """
    psnr_key, ssim_key = ("brain_psnr", "brain_ssim") if metric == "brain" else ("psnr", "ssim")
    head = "| method | " + " | ".join([f"{lv:g}%" for lv in levels] + list(extra))
    lines = [head + " |", "|---" * (len(levels) + 1 + len(extra)) + "|"]
    for name, row in rows.items():
        cells = []
        for lv in levels:
            p = row["scores"][psnr_key].get(f"{lv:g}")
            s = row["scores"][ssim_key].get(f"{lv:g}")
            if p is None:
                cells.append("-")
            elif p["std"] is None:
                cells.append(f"{p['mean']} / {s['mean']:.4f}")
            else:
                cells.append(f"{p['mean']:.2f} ± {p['std']:.2f} / {s['mean']:.4f}")
        extras = [_format(row.get(column)) for column in extra]
        lines.append(f"| {name} | " + " | ".join(cells + extras) + " |")
    return "\n".join(lines)


def markdown_table(header, rows):
    """A markdown table of string cells: ``header`` and ``rows`` are lists of strings."""
    return "\n".join(["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
                     + ["| " + " | ".join(row) + " |" for row in rows])


def _format(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 10 else f"{value:.2f}"
    return str(value)


def _quick(data, levels=(1, 5), size=112):
    """The middle image's central ``size`` crop per noise level in ``levels`` (``--quick``)."""
    from sklearn.utils import Bunch

    noise = data.meta.noise_percent.to_numpy()
    middle = [np.flatnonzero(noise == lv) for lv in levels if (noise == lv).any()]
    keep = np.array([index[len(index) // 2] for index in middle])
    h, w = data.noisy.shape[1:]
    crop = (slice(None), slice((h - size) // 2, (h + size) // 2),
            slice((w - size) // 2, (w + size) // 2))
    return Bunch(noisy=data.noisy[keep][crop], clean=data.clean[keep][crop],
                 mask=data.mask[keep][crop],
                 meta=data.meta.iloc[keep].reset_index(drop=True))


def select_images(data, keep):
    """The images of a dataset Bunch where ``keep`` (bool or indices) holds."""
    from sklearn.utils import Bunch

    keep = np.asarray(keep)
    return Bunch(noisy=data.noisy[keep], clean=data.clean[keep], mask=data.mask[keep],
                 meta=data.meta.iloc[keep].reset_index(drop=True))


#: The SMoE training data: the same as the bundled model's (sksmoe/pretrained/smoe_patch.json).
TRAIN_MODALITIES, TRAIN_SLICE_STEP = ("T1", "T2", "PD", "MNI-T1"), 3


def training_data(quick):
    """BrainWeb-style train and validation splits (noise 0/1/3/5%, RF 0/20/40%)."""
    from sksmoe.datasets import make_brainweb_dataset

    data = make_brainweb_dataset(TRAIN_MODALITIES, slice_step=TRAIN_SLICE_STEP, random_state=0)
    if quick:  # the quick test set is MNI-T1: train on that contrast too
        train, validation = (select_images(split, split.meta.modality == "MNI-T1")
                             for split in (data.train, data.validation))
        return _quick(train, (0, 1, 3, 5)), _quick(validation, (1, 5))
    return data.train, data.validation


def tuning_data(quick):
    """Validation slices at every test level, for choosing classical parameters."""
    from sksmoe.datasets import make_brainweb_dataset

    data = make_brainweb_dataset("MNI-T1", noise_levels=TEST_LEVELS, rf_levels=(20,),
                                 slice_step=3, random_state=1).validation
    return _quick(data) if quick else data


def test_sets(quick):
    """Held-out BrainWeb-style slices (three contrasts) and real slices, 1-9% noise."""
    from sksmoe.datasets import make_brainweb_dataset, make_real_dataset

    sets = {"BrainWeb-style test split, MNI-T1 (RF 20%)": make_brainweb_dataset(
                "MNI-T1", rf_levels=(20,), test_noise_levels=TEST_LEVELS, random_state=2).test,
            "real: dipy T1 slice (4 noise draws a level)": make_real_dataset(
                "dipy-t1", TEST_LEVELS * 4, random_state=3)}
    if quick:
        return {name: _quick(data) for name, data in list(sets.items())[:1]}
    for contrast in ("T2", "PD"):
        sets[f"BrainWeb-style test split, {contrast} (RF 20%)"] = make_brainweb_dataset(
            contrast, rf_levels=(20,), test_noise_levels=TEST_LEVELS, slice_step=4,
            random_state=2).test
    b0 = make_real_dataset("dipy-b0", TEST_LEVELS, random_state=4)
    sets["real: dipy b=0 slices 1, 3, 5, 7, 9 (T2-weighted)"] = select_images(
        b0, b0.meta.slice_index.to_numpy() % 2 == 1)
    return sets
