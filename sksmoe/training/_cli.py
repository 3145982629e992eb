"""``python -m sksmoe.training``: one command line, a subcommand for each kind of run."""

import argparse
import shlex
import sys
from pathlib import Path

from ..utils._validation import noise_scale_argument
from ._base import train_base, train_context
from ._data import CONTRASTS
from ._loop import compact_checkpoint
from ._recipe import run_recipe
from ._smoe import fit_smoe
from ._surgery import stack_bases


def positive(text):
    """Type of ``--noise-weighted-loss``: a positive number."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be positive (noise-free patches would get an "
                                         f"infinite weight), got {text}")
    return value


def _subcommand(commands, name, run, help, description):
    """A subcommand's parser; ``run(args)`` runs it."""
    parser = commands.add_parser(name, help=help, description=description)
    parser.set_defaults(run=run)
    return parser


def _add_base(commands):
    base = _subcommand(
        commands, "base", train_base, "train (or resume) a base DnCNN or U-Net",
        "Train a base DnCNN or U-Net (from its checkpoint in --workdir when there is one, so "
        "that re-running the command resumes), then write its weights and model card to --out.")
    base.add_argument("--name", default="dncnn_base", help="output file stem")
    base.add_argument("--out", type=Path, default=Path("sksmoe/pretrained"),
                      help="folder for the final weights and model card")
    base.add_argument("--workdir", type=Path, default=Path("outputs/training"),
                      help="folder for resumable checkpoints and the learning-curve log")
    base.add_argument("--arch", choices=("dncnn", "unet"), default="dncnn",
                      help="dncnn: the paper's DnCNN; unet: a small residual U-Net "
                           "(sksmoe.nn._unet.UNet)")
    base.add_argument("--depth", type=int, default=17, help="DnCNN conv layers")
    base.add_argument("--width", type=int, default=64,
                      help="DnCNN hidden channels; U-Net channels at full resolution")
    base.add_argument("--scales", type=int, default=3, help="U-Net resolutions")
    base.add_argument("--blocks", type=int, default=2, help="U-Net residual blocks a scale")
    base.add_argument("--steps", type=int, default=2000,
                      help="length of the learning-rate schedule")
    base.add_argument("--until", type=int, metavar="STEP",
                      help="pause at STEP of the --steps schedule (weights and card as they "
                           "stand); the same command without it resumes")
    base.add_argument("--batch-size", type=int, default=64)
    base.add_argument("--patch-size", type=int, default=48)
    base.add_argument("--lr", type=float, default=1e-3)
    base.add_argument("--noise-range", type=float, nargs=2, default=(0.0, 12.0))
    base.add_argument("--noise-weighted-loss", type=positive, metavar="FLOOR",
                      help="weight each patch's squared error by 1 / (sigma^2 + FLOOR^2), "
                           "sigma and FLOOR as fractions of the image scale (e.g. 0.02), so "
                           "low-noise patches count more; default: plain mean")
    base.add_argument("--zoom-range", type=float, nargs=2, default=(1.0, 1.0),
                      metavar=("LOW", "HIGH"),
                      help="resize each patch's anatomy by a factor drawn log-uniformly in "
                           "[LOW, HIGH] (0.5: as if imaged at 2 mm pixels); default: none")
    base.add_argument("--real-anatomy", nargs="+", default=[], metavar="SOURCE",
                      help="add the slices of these real sources of "
                           "sksmoe.datasets.load_real_slices (e.g. pydeface-t1) to the "
                           "training images")
    base.add_argument("--downsample", type=int, default=1,
                      help="2: the trunk works on the 4 half-resolution sub-images (FFDNet)")
    base.add_argument("--noise-channel", action="store_true",
                      help="condition the network on the estimated noise level (FFDNet-style)")
    base.add_argument("--init", type=Path,
                      help="start from these weights (a run's .ckpt or .safetensors; a blind "
                           "model, a narrower DnCNN of the same depth or a U-Net with fewer "
                           "blocks is converted, keeping its function); its CPU-hours count "
                           "towards this run's")
    base.add_argument("--threads", type=int, default=2)
    base.add_argument("--validate-every", type=int, default=250)
    base.add_argument("--checkpoint-every", type=int, default=100)
    base.add_argument("--seed", type=int, default=0)
    base.add_argument("--export", action="store_true",
                      help="write the weights and model card of the checkpoint as it stands "
                           "(a run in progress), without training")


def _add_context(commands):
    from ._slabs import PROTOCOLS

    context = _subcommand(
        commands, "context", train_context,
        "fine-tune a base to see neighbouring slices and a noise map",
        "Fine-tune a trained base (DnCNN, U-Net or stack) into one that sees --context "
        "neighbouring slices a side and is told a sigma map, starting from its function, on "
        "slabs under uniform and non-uniform noise; resumable like 'base'.")
    context.add_argument("init", type=Path, help="the trained base's weights")
    context.add_argument("--context", type=int, default=2,
                         help="neighbouring slices seen on each side")
    context.add_argument("--protocols", nargs="+", choices=PROTOCOLS, default=list(PROTOCOLS))
    context.add_argument("--name", default="context_base")
    context.add_argument("--out", type=Path, default=Path("sksmoe/pretrained"))
    context.add_argument("--workdir", type=Path, default=Path("outputs/training"))
    context.add_argument("--steps", type=int, default=4000)
    context.add_argument("--until", type=int, metavar="STEP")
    context.add_argument("--batch-size", type=int, default=32)
    context.add_argument("--patch-size", type=int, default=48)
    context.add_argument("--lr", type=float, default=5e-5)
    context.add_argument("--first-layer-lr-factor", type=float, default=10.0,
                         help="the first layers' learning rate over --lr: their new weights "
                              "(from the neighbours, at zero) must grow from nothing")
    context.add_argument("--noise-range", type=float, nargs=2, default=(0.0, 15.0))
    context.add_argument("--noise-weighted-loss", type=positive, metavar="FLOOR")
    context.add_argument("--real-anatomy", nargs="+", default=[], metavar="SOURCE",
                         help="real sources with a whole volume (pydeface-t1, colin27)")
    context.add_argument("--threads", type=int, default=2)
    context.add_argument("--validate-every", type=int, default=250)
    context.add_argument("--checkpoint-every", type=int, default=50)
    context.add_argument("--seed", type=int, default=0)
    context.add_argument("--export", action="store_true",
                         help="write the weights and card of the checkpoint as it stands")


def _add_smoe(commands):
    smoe = _subcommand(
        commands, "smoe", fit_smoe, "fit the SMoE pipeline on a base network",
        "Fit SMoE Patch pipelines for several k on a base, keep the best on validation (the "
        "sum of its mean brain-mask and whole-slice PSNR), score "
        "it with the preset's wrappers (--self-ensemble, --noise-scale) and save the plain "
        "fitted pipeline with its model card.")
    smoe.add_argument("--base", type=Path, required=True,
                      help="base network weights (DnCNN, U-Net or stack)")
    smoe.add_argument("--n-experts", type=int, nargs="+", default=[1, 2, 4, 8])
    smoe.add_argument("--noise-bands", type=int, default=1,
                      help="noise bands per expert (SparseMoEDenoiser(noise_bands=...))")
    smoe.add_argument("--noise-levels", type=float, nargs="+", default=[0, 1, 3, 5],
                      help="Rician noise levels of the training and validation images (%%)")
    smoe.add_argument("--fine-tune", choices=("last", "none"), default="last",
                      help="'last': fit the experts' last layers; 'none': keep the base's "
                           "own (with --n-experts 1, the base alone, without a gate or "
                           "embedding)")
    smoe.add_argument("--foreground-only", action="store_true",
                      help="fit the last layers on the head only (fit(..., foreground=the "
                           "brain_mask of each clean image))")
    smoe.add_argument("--self-ensemble", action="store_true",
                      help="score the chosen k wrapped in SelfEnsemble (the model card's "
                           "preset); k is chosen without it")
    smoe.add_argument("--noise-scale", type=noise_scale_argument, default=1.0,
                      help="score the chosen k wrapped in NoiseScale(scale=...), a number or "
                           "'sure' (the model card's preset); k is chosen without it")
    smoe.add_argument("--modalities", nargs="+", default=list(CONTRASTS))
    smoe.add_argument("--slice-step", type=int, default=3)
    smoe.add_argument("--real-anatomy", nargs="+", default=[], metavar="SOURCE",
                      help="add every --real-slice-step-th slice of these real sources of "
                           "sksmoe.datasets.load_real_slices (e.g. pydeface-t1), at each "
                           "noise level, to the training images")
    smoe.add_argument("--real-slice-step", type=int, default=2)
    smoe.add_argument("--context", type=int, default=0,
                      help="neighbouring slices the base sees on each side: rows of slices "
                           "under every noise protocol, and a SliceNeighbours step first")
    smoe.add_argument("--name", default="smoe_patch")
    smoe.add_argument("--out", type=Path, default=Path("sksmoe/pretrained"))
    smoe.add_argument("--seed", type=int, default=0)


def build_parser():
    """The parser of ``python -m sksmoe.training`` and its subcommands."""
    from . import __doc__ as doc

    parser = argparse.ArgumentParser(prog="python -m sksmoe.training", description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="subcommand", required=True, metavar="COMMAND")
    _add_base(commands)
    _add_context(commands)
    stack = _subcommand(commands, "stack", stack_bases, "stack trained bases into one base",
                        stack_bases.__doc__)
    stack.add_argument("members", type=Path, nargs="+",
                       help="base weights (.safetensors), each with its model card (.json) "
                            "beside it")
    stack.add_argument("--weights", type=float, nargs="+",
                       help="weight of each member's output (default: equal)")
    stack.add_argument("--name", default="stack_base")
    stack.add_argument("--out", type=Path, default=Path("sksmoe/pretrained"))
    _add_smoe(commands)
    compact = _subcommand(commands, "compact",
                          lambda args: compact_checkpoint(args.source, args.target,
                                                          args.drop_optimizer),
                          "halve a checkpoint to commit it", compact_checkpoint.__doc__)
    compact.add_argument("source", type=Path)
    compact.add_argument("target", type=Path)
    compact.add_argument("--drop-optimizer", action="store_true",
                         help="leave out the Adam state (a finished run)")
    recipe = _subcommand(commands, "recipe", run_recipe,
                         "run the commands of a recipe file in turn", run_recipe.__doc__)
    recipe.add_argument("file", type=Path)
    recipe.add_argument("--workdir", type=Path, default=Path("outputs/recipe"),
                        help="what {workdir} stands for in the recipe")
    recipe.add_argument("--scale", choices=("full", "tiny"), default="full",
                        help="tiny: a few steps and slices a step, to check a recipe end to end")
    recipe.add_argument("--dry-run", action="store_true", help="print the steps, run none")
    return parser


def main(argv=None):
    """Run ``python -m sksmoe.training`` with the arguments ``argv`` (default: sys.argv)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.command = "python -m sksmoe.training " + shlex.join(argv)
    return args.run(args)
