"""Speed of SMoE predict and fit against one DnCNN-17 forward, measured in the same run.

Run: ``python -m benchmarks run speed [--quick]``. Writes ``benchmarks/results/speed.md``
and ``speed.json`` (:func:`table` lays out both the markdown table and the documentation's).
Timings vary 2x between runs on these machines: compare the ratios, which are measured in
one run (median of ``--repeats``).

- predict: a 256x256 slice through PatchDecomposer(patch_size=48, stride=20) -> EmbeddingPCA -> k=4
  SparseMoEDenoiser on a 17x64 DnCNN base, fast path (trunk once per image, pooled
  embedding) and paper path (each patch alone, embedding per crop), next to one DnCNN-17/64
  forward of the slice;
- fit: k=4 on 36 training slices (base pretraining excluded);
- volume: a 256^3 volume through ``sksmoe denoise`` with no options (the bundled model, one
  pass; wall time, its ratio to 256 forwards, and peak resident memory of the process).
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ._common import markdown_table, write_results


def _median_time(function, repeats):
    function()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _slices(n, size=256):
    from skimage.transform import resize

    from sksmoe.datasets import make_brainweb_dataset

    data = make_brainweb_dataset("MNI-T1", noise_levels=(5,), rf_levels=(20,))
    pick = np.linspace(0, len(data.train.noisy) - 1, n).astype(int)
    shape = (size, size)
    noisy = np.stack([resize(x, shape) for x in data.train.noisy[pick]]).astype(np.float32)
    clean = np.stack([resize(x, shape) for x in data.train.clean[pick]]).astype(np.float32)
    return noisy, clean


def _volume_file(tmp, size):
    """The MNI152 T1 resized to ``size``^3 with 4% Rician noise, saved as NIfTI in ``tmp``."""
    import nibabel as nib

    from sksmoe.datasets import add_rician_noise, load_mni152
    from skimage.transform import resize

    volume = resize(load_mni152().t1, (size, size, size)).astype(np.float32)
    noisy = add_rician_noise(volume, 0.04, random_state=0)
    src = Path(tmp) / "volume.nii.gz"
    nib.save(nib.Nifti1Image(noisy, np.eye(4)), src)
    return src


def _volume_run(src, options=()):
    """Seconds and peak memory (GB) of ``sksmoe denoise src`` with ``options``, in a fresh
    process."""
    code = ("import resource, sys; from sksmoe.cli import main; "
            f"status = main(['denoise', {str(src)!r}, {str(src.with_name('out.nii.gz'))!r}, "
            f"'--overwrite', *{list(options)!r}]); "
            "print('peak_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); "
            "sys.exit(status)")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    seconds = time.perf_counter() - start
    peak_kb = int(out.stdout.split("peak_kb")[1].split()[0])
    return seconds, peak_kb / 1024**2


def main(argv=None):
    import torch
    from safetensors.torch import save_file
    from sklearn.pipeline import make_pipeline

    from sksmoe import EmbeddingPCA, PatchDecomposer, SparseMoEDenoiser
    from sksmoe.nn._dncnn import DnCNN

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="seconds-long smoke run")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    quick = args.quick
    repeats = 1 if quick else args.repeats
    n_fit = 2 if quick else 36
    width, depth = (8, 4) if quick else (64, 17)
    results = {"repeats": repeats, "n_fit": n_fit, "base": f"DnCNN-{depth}/{width}"}
    noisy, clean = _slices(n_fit + 1)
    test = noisy[-1:]

    torch.manual_seed(0)
    base = DnCNN(depth, width).eval()
    with tempfile.TemporaryDirectory() as tmp:
        base_path = Path(tmp) / "base.safetensors"
        save_file(base.state_dict(), str(base_path))
        x = torch.from_numpy(test)[None]

        def forward():
            with torch.inference_mode():
                base(x)

        results["dncnn_forward_s"] = _median_time(forward, repeats)
        for path, context, mode in (("fast", "image", "image"), ("paper", "region", "crop")):
            pipe = make_pipeline(PatchDecomposer(patch_size=48, stride=20),
                                 EmbeddingPCA(mode=mode),
                                 SparseMoEDenoiser(n_experts=4, base=str(base_path),
                                                   context=context, random_state=0))
            start = time.perf_counter()
            pipe.fit(noisy[:n_fit], clean[:n_fit])
            results[f"fit_{path}_s"] = time.perf_counter() - start
            results[f"predict_{path}_s"] = _median_time(lambda: pipe.predict(test), repeats)
            results[f"predict_{path}_ratio"] = (results[f"predict_{path}_s"]
                                                / results["dncnn_forward_s"])
        if not quick:
            volume = _volume_file(tmp, 256)
            results["volume_256_s"], results["volume_256_peak_gb"] = _volume_run(volume)
            results["volume_256_ratio"] = (results["volume_256_s"] / 256
                                           / results["dncnn_forward_s"])
    title = "quick smoke run, tiny model" if quick else f"{results['base']} base"
    lines = [f"# Speed ({title})", "", f"Median of {repeats}; fit on {n_fit} slices.", "",
             markdown_table(*table(results))]
    write_results("speed", "\n".join(lines), results, quick)


def table(results):
    """The table of ``results`` (what :func:`main` measures, or its JSON) as (header, rows of
    strings): measurement, seconds, ratio to one DnCNN forward, target; a volume's peak
    memory is in GB."""
    forward = results["dncnn_forward_s"]
    rows = [("DnCNN forward, 256x256 slice", f"{forward:.3f}", "1.00", "")]
    for path, how, target in (("fast", "fast path (shared trunk)", "<= 1.3"),
                              ("paper", "paper path (per region)", "")):
        rows.append((f"SMoE k=4 predict, {how}", f"{results[f'predict_{path}_s']:.3f}",
                      f"{results[f'predict_{path}_ratio']:.2f}", target))
    for path, how, target in (("fast", "fast path", "<= 180"), ("paper", "paper path", "")):
        rows.append((f"SMoE k=4 fit, {how}", f"{results[f'fit_{path}_s']:.1f}", "", target))
    if "volume_256_s" in results:
        rows += [("256^3 volume through `sksmoe denoise` (no options), a slice",
                  f"{results['volume_256_s'] / 256:.3f}", f"{results['volume_256_ratio']:.2f}",
                  "<= 1.3"),
                 ("... the whole volume", f"{results['volume_256_s']:.1f}", "", "<= 180"),
                 ("... its peak memory (GB)", f"{results['volume_256_peak_gb']:.2f}", "",
                  "<= 4")]
    return ["measurement", "seconds", "ratio to one DnCNN forward", "target"], rows


if __name__ == "__main__":
    main()
