"""Whole slabs of volumes: 2-D, 2.5-D and 3-D denoisers side by side (issue 32).

Run: ``python -m benchmarks run volumes [--quick]``. Axial slabs of held-out volumes (the
MNI152 T1 around a test-split slice; Colin27), under uniform and smooth-map Rician noise:
BM3D slice by slice and BM4D (scalar true sigma), ANTs ``denoise_image`` and dipy
``nlmeans`` in 3-D, the bundled model of before issues 31/32 (a frozen file; its default
preset and one pass), the bundled model as ``sksmoe denoise`` runs it by default (one pass,
each slice with its neighbours) and with each slice alone, and a base network
(``$SKSMOE_NEW_BASE``) with k=1 and no fitted layers, one pass a slice, given each slice
alone and with its neighbours.
Whole-slab and brain-mask PSNR, seconds a slice and peak extra memory; the seconds a slice
are also given as a ratio to one DnCNN-17/64 forward of a 256x256 slice timed in the same
run.
"""

import os
import time

import numpy as np

from ._common import markdown_table, measure, write_results

SLAB = 16
NOISE = (("uniform", 3), ("smooth", 5))


def _volumes(quick):
    """Name -> (clean slab (n, H, W) scaled to 1, brain masks, noise reference)."""
    from sksmoe.datasets import load_mni152, mni152_contrast
    from sksmoe.datasets._make import mni152_slice_splits
    from sksmoe.datasets._real import _brightest_tissue_mean, real_volume
    from sksmoe.metrics import brain_mask

    n = 6 if quick else SLAB  # BM4D needs at least 5 slices (its Wiener block)
    volume, reference = mni152_contrast("T1")
    volume, mask = np.moveaxis(volume, 2, 0), np.moveaxis(load_mni152().mask, 2, 0)
    z = int(np.median(mni152_slice_splits()["test"]))
    box = (slice(z - n // 2, z + n // 2), *[slice(s // 2 - 56, s // 2 + 56) if quick
                                              else slice(None) for s in volume.shape[1:]])
    out = {"MNI152 T1": (volume[box], mask[box], reference)}
    if not quick:
        colin = real_volume("colin27")[0][80 - n // 2: 80 + n // 2]
        colin /= colin.max()
        heads = brain_mask(colin)
        out["Colin27"] = (colin, heads, _brightest_tissue_mean(colin[n // 2], heads[n // 2]))
    return out


def _forward_seconds():
    """Median seconds of one DnCNN-17/64 forward of a 256x256 slice (the reference)."""
    import torch

    from sksmoe.nn._dncnn import DnCNN

    model, x = DnCNN(17, 64).eval(), torch.rand(1, 1, 256, 256)
    with torch.inference_mode():
        model(x)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    return float(np.median(times))


def _methods(new_base):
    """Name -> ``denoise(noisy slab, true sigma maps) -> slab``."""
    from sklearn.pipeline import make_pipeline

    import sksmoe
    from sksmoe import PatchDecomposer, SliceNeighbours, SparseMoEDenoiser

    from ._methods import _ants, bm3d, frozen_model, installed

    today, bundled = frozen_model(), sksmoe.load_pretrained()

    def bm4d_scalar(noisy, true):
        import bm4d

        return bm4d.bm4d(noisy, float(true.mean()))  # scalar: its map path needs numpy.trapz

    def nlmeans_3d(noisy, true):
        from dipy.denoise.nlmeans import nlmeans

        return np.moveaxis(nlmeans(np.moveaxis(noisy, 0, -1).astype(np.float64),
                                   sigma=np.moveaxis(true, 0, -1), rician=True), -1, 0)

    methods = {
        "noisy": lambda noisy, true: noisy,
        "BM3D slice by slice, true sigma": lambda noisy, true: np.stack(
            [bm3d(x, float(t.mean())) for x, t in zip(noisy, true)]),
        "BM4D, scalar true sigma": bm4d_scalar,
        "ANTs denoise_image 3-D": lambda noisy, true: _ants(noisy, None),
        "dipy nlmeans 3-D, true map": nlmeans_3d,
        "today's model (frozen file, its default preset)": lambda noisy, true: sksmoe.denoise(
            noisy, today),
        "today's model (frozen file, one pass)": lambda noisy, true: sksmoe.denoise(
            noisy, sksmoe.moe.unwrapped(today)),
        "bundled model (default: one pass, with neighbours)": lambda noisy, true: (
            sksmoe.denoise(noisy, bundled)),
        "bundled model, one pass, each slice alone": lambda noisy, true: bundled.predict(
            noisy[:, None]),
    }
    methods = installed(methods, {"BM3D": "bm3d", "BM4D": "bm4d", "ANTs": "ants"})
    if new_base:
        dummy = np.zeros((1, 64, 64), np.float32)
        for label, steps in (("each slice alone", []),
                             ("with its neighbours", [SliceNeighbours(context=2)])):
            model = make_pipeline(*steps, PatchDecomposer(), SparseMoEDenoiser(
                base=new_base, n_experts=1, fine_tune="none")).fit(dummy, dummy)
            methods[f"new base, one pass, {label}"] = (
                lambda noisy, true, model=model: sksmoe.denoise(noisy, model))
    return methods


def main(argv=None):
    from sksmoe.datasets import add_rician_noise, smooth_noise_map
    from sksmoe.metrics import psnr

    from ._common import is_quick

    quick = is_quick(argv, __doc__)
    new_base = os.environ.get("SKSMOE_NEW_BASE")
    methods = _methods(new_base)
    forward = _forward_seconds()
    rng = np.random.default_rng(0)
    results, lines = {"forward_seconds": forward, "sets": {}}, []
    for name, (clean, heads, reference) in _volumes(quick).items():
        rows = results["sets"][name] = {}
        for protocol, level in NOISE[:1] if quick else NOISE:
            relative = (np.ones(clean.shape[1:]) if protocol == "uniform" else
                        smooth_noise_map(clean.shape[1:], "bm4d", mask=heads[len(heads) // 2]))
            true = np.broadcast_to(level / 100 * reference * relative, clean.shape)
            noisy = add_rician_noise(clean, true, random_state=rng).astype(np.float32)
            key = f"{protocol} {level}%"
            for method, denoise in methods.items():
                out, seconds, mb = measure(denoise, noisy, true)
                row = rows.setdefault(method, {})
                row[key] = {"psnr": float(psnr(clean, out).mean()),
                            "brain_psnr": float(psnr(clean, out, heads).mean()),
                            "seconds_per_slice": seconds / len(clean), "peak_mb": mb}
                print(f"{name} / {key} / {method}: {seconds:.1f} s", flush=True)
        keys = list(next(iter(rows.values())))
        lines += [f"\n## {name}, {len(clean)} axial slices: whole-slab / brain-mask PSNR (dB); "
                  "seconds a slice (x one DnCNN-17/64 forward); peak MB\n", markdown_table(
                      ["method", *keys, "s/slice (x forward)", "peak MB"],
                      [[method, *[f"{row[k]['psnr']:.2f} / {row[k]['brain_psnr']:.2f}"
                                  for k in keys],
                        f"{row[keys[0]]['seconds_per_slice']:.2f} "
                        f"({row[keys[0]]['seconds_per_slice'] / forward:.1f}x)",
                        f"{max(row[k]['peak_mb'] for k in keys):.0f}"]
                       for method, row in rows.items()])]
    head = ("# Volumes\n\n" + __doc__.split("\n\n")[1].replace("\n", " ")
            + f"\n\nOne DnCNN-17/64 forward of a 256x256 slice: {forward:.3f} s in this run. "
            f"New base: {new_base or 'not given'}.\n")
    write_results("volumes", head + "\n".join(lines), results, quick)
