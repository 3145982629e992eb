"""How far the bundled model's lead over BM3D moves with the noise draw.

Run: ``python -m benchmarks run noise_draws [--quick]``. The tightest cell of the
``pretrained`` table, the ten real Colin27 slices at 1% noise, drawn again with six seeds:
brain-mask PSNR / SSIM of the bundled model and of BM3D (true sigma) per draw, and the
margin's mean, min and max over the draws. Writes ``benchmarks/results/noise_draws.md`` and
``.json``.
"""

import numpy as np

from ._common import _quick, is_quick, score, write_results
from .pretrained import cached_bm3d

SOURCE, LEVEL, SEEDS = "colin27", 1, range(6)


def main(argv=None):
    from sksmoe.datasets import make_real_dataset
    from sksmoe.pretrained import load_pretrained
    from sksmoe.utils._optional import optional_import

    quick = is_quick(argv, __doc__)
    optional_import("bm3d", "bench")
    model = load_pretrained()
    seeds = SEEDS[:1] if quick else SEEDS
    lines = [f"# Bundled model against BM3D over noise draws ({SOURCE}, {LEVEL}% noise)", "",
             "Brain-mask PSNR dB / SSIM, mean over the slices of one draw.", "",
             "| random_state | bundled | BM3D (true sigma) | margin (dB / SSIM) |",
             "|---|---|---|---|"]
    draws, margins = {}, []
    for seed in seeds:
        data = make_real_dataset(SOURCE, (LEVEL,), random_state=seed)
        if quick:
            data = _quick(data, (LEVEL,))
        bm3d, _ = cached_bm3d(data.noisy, data.meta.sigma.to_numpy())
        ours, ref = ({metric: score(data, images, (LEVEL,))[metric][f"{LEVEL:g}"]["mean"]
                      for metric in ("brain_psnr", "brain_ssim")}
                     for images in (model.predict(data.noisy[:, None]), bm3d))  # each alone
        draws[seed] = {"bundled": ours, "BM3D": ref}
        margins.append(ours["brain_psnr"] - ref["brain_psnr"])
        lines.append(f"| {seed} | {ours['brain_psnr']:.3f} / {ours['brain_ssim']:.4f} | "
                     f"{ref['brain_psnr']:.3f} / {ref['brain_ssim']:.4f} | "
                     f"{margins[-1]:+.3f} / {ours['brain_ssim'] - ref['brain_ssim']:+.5f} |")
    margins = np.array(margins)
    lines += ["", f"PSNR margin over {len(margins)} draws: mean {margins.mean():+.3f} dB, "
              f"min {margins.min():+.3f}, max {margins.max():+.3f}."]
    write_results("noise_draws", "\n".join(lines), {"draws": draws}, quick)


if __name__ == "__main__":
    main()
