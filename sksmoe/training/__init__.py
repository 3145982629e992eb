"""Pretrain base networks, stack them, then fit the bundled SMoE on the training split.

``python -m sksmoe.training base`` trains a base DnCNN or U-Net, ``stack`` puts trained
bases side by side under one last layer, ``context`` fine-tunes a trained base into one
that sees neighbouring slices and is told a noise map, ``smoe`` fits the SMoE experts on a
base (k chosen on validation), ``compact`` halves a checkpoint for committing and
``recipe`` runs a file of these commands in turn (``benchmarks/training_runs/recipe.txt``
rebuilds the bundled model).
Training is resumable: the state is saved to ``--workdir`` every ``--checkpoint-every`` steps
and picked up again when the same command is re-run. At the end the weights are written as
float16 safetensors plus a JSON model card (the exact command, data, steps, CPU-hours and
validation PSNR).

Training data (never the validation or test slices): axial slices of the train split, in
every simulated contrast, with an RF field of a random level in 0-40%, Rician noise of a
random level drawn uniformly in ``--noise-range`` percent, random flips, rotations and
intensity scaling, patches centred on the brain 80% of the time, and optionally (``--zoom-range``)
anatomy shrunk or enlarged by a random factor, as if imaged at another pixel size.

The learning-curve log (``<workdir>/<name>.log.jsonl``) and the model card report
``cpu_hours``: the process's CPU time in training steps divided by the number of torch
threads (hours of a dedicated 2-core machine at ``--threads 2``, so that other work on the
machine does not inflate it), validation excluded, summed over resumed runs.
"""

from ._cards import model_card, save_weights, validation_entries
from ._cli import main
from ._data import (
    CONTRASTS,
    REAL_VALIDATION,
    VALIDATION_LEVELS,
    PatchSampler,
    evaluate,
    mean_by_level,
    real_validation_set,
    smoe_training_groups,
    validation_set,
)
from ._loop import (
    Checkpoint,
    TrainState,
    compact_checkpoint,
    fit_loop,
    learning_rate,
    patch_weights,
    train_step,
)
from ._recipe import read_recipe
from ._smoe import decompose
from ._slabs import PROTOCOLS, SlabSampler, evaluate_slabs, slab_validation_set
from ._surgery import deepen, initialise, stack, widen, with_context

__all__ = [
    "CONTRASTS", "Checkpoint", "PROTOCOLS", "PatchSampler", "REAL_VALIDATION", "SlabSampler",
    "TrainState", "VALIDATION_LEVELS", "compact_checkpoint", "decompose", "deepen", "evaluate",
    "evaluate_slabs", "fit_loop", "initialise", "learning_rate", "main", "mean_by_level",
    "model_card", "patch_weights", "read_recipe", "real_validation_set", "save_weights",
    "slab_validation_set", "smoe_training_groups", "stack", "train_step",
    "validation_entries", "validation_set", "widen", "with_context",
]
