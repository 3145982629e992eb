"""The training loop of a base network, in steps, with checkpoints and validation as
callbacks (in the spirit of skorch's ``fit_loop`` / ``train_step`` and its callbacks)."""

import json
import time
from dataclasses import dataclass

import numpy as np

from ._data import evaluate


def learning_rate(step, steps, peak):
    """Linear warm-up over the first 2% of the steps, then cosine decay to 1% of ``peak``.

    A function of the step alone, so a resumed run with more ``steps`` continues smoothly.
    """
    warmup = max(1, steps // 50)
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, steps - warmup))
    return float(peak * (0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * progress))))


def patch_weights(sigma, floor):
    """Loss weight of each patch, ``1 / (sigma**2 + floor**2)`` normalised to mean 1.

    A patch's squared error grows with its noise level, so an unweighted mean is ruled by
    the noisiest patches; this weighting gives the low-noise ones their share.
    """
    weights = 1 / (sigma**2 + floor**2)
    return weights / weights.mean()


@dataclass
class TrainState:
    """What a run carries from step to step, and what a :class:`Checkpoint` saves."""

    model: object
    optimizer: object
    sampler: object
    step: int = 0
    seconds: float = 0.0  # CPU-seconds of the training steps over the torch threads


def train_step(state, batch, lr, floor=None):
    """One Adam step of ``state.model`` on ``batch``, torch tensors (noisy, clean, sigma:
    (n, 1 + 2 context, p, p) slabs or (n, 1, p, p) images, their clean slice, and their
    noise level, one a patch or a map), at ``lr`` times each parameter group's
    ``lr_factor`` (default 1);
    the loss is the mean squared residual error, patches weighted by :func:`patch_weights`
    when ``floor`` is given. Returns the loss."""
    noisy, clean, sigma = batch
    for group in state.optimizer.param_groups:
        group["lr"] = lr * group.get("lr_factor", 1.0)
    errors = (state.model(noisy, sigma) - (noisy[:, :1] - clean)).square().mean(dim=(1, 2, 3))
    if floor is not None:  # a sigma map's mean level
        errors = errors * patch_weights(sigma.reshape(len(sigma), -1).mean(dim=1), floor)
    loss = errors.mean()
    state.optimizer.zero_grad()
    loss.backward()
    state.optimizer.step()
    return loss.item()


def fit_loop(state, *, steps, lr, batch_size, floor=None, stop=None, threads=1, callbacks=(),
             desc=None, frozen_batch_norm=False):
    """Train from ``state.step`` to ``stop`` (default and at most ``steps``) on the learning
    rate schedule of ``steps`` (:func:`learning_rate`); each callback's ``on_step(state,
    loss)`` runs after every step, its ``on_train_end(state, trained)`` at the end.

    ``frozen_batch_norm`` keeps batch-norm layers on their running statistics (fine-tuning
    on other data: updating them would change the trained function before any step does).
    """
    import torch
    from tqdm import tqdm

    stop = steps if stop is None else min(stop, steps)
    first = state.step
    with tqdm(total=stop, initial=state.step, desc=desc, unit="step") as progress:
        while state.step < stop:
            state.model.train()
            if frozen_batch_norm:
                for module in state.model.modules():
                    if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                        module.eval()
            start = time.process_time()
            batch = [torch.from_numpy(a) for a in state.sampler.sample(batch_size)]
            loss = train_step(state, batch, learning_rate(state.step, steps, lr), floor)
            state.seconds += (time.process_time() - start) / threads
            state.step += 1
            progress.update()
            progress.set_postfix(loss=f"{loss:.2e}")
            for callback in callbacks:
                callback.on_step(state, loss)
    for callback in callbacks:
        callback.on_train_end(state, trained=state.step > first)


class Checkpoint:
    """Save the :class:`TrainState` to ``path`` every ``every`` steps and at the end;
    :meth:`resume` loads it back, so that re-running the same command resumes."""

    def __init__(self, path, every=100):
        self.path, self.every = path, every

    def resume(self, state, quiet=False):
        """Load the saved state into ``state``; returns False if there is none."""
        import torch

        if not self.path.exists():
            return False
        saved = torch.load(self.path, weights_only=True)
        state.model.load_state_dict(saved["model"])
        if "optimizer" in saved and not lost_second_moments(saved["optimizer"]):
            state.optimizer.load_state_dict(saved["optimizer"])
        elif not quiet:  # finished runs are committed without it
            print("the checkpoint holds no usable optimizer state: Adam starts afresh")
        state.sampler.set_state(saved["sampler"])
        state.step, state.seconds = saved["step"], saved["seconds"]
        print(f"resumed from {self.path} at step {state.step} "
              f"({state.seconds / 3600:.2f} CPU-hours)")
        return True

    def save(self, state):
        import torch

        tmp = self.path.with_suffix(".tmp")
        torch.save({"model": state.model.state_dict(), "optimizer": state.optimizer.state_dict(),
                    "sampler": state.sampler.state(), "step": state.step,
                    "seconds": state.seconds}, tmp)
        tmp.replace(self.path)

    def on_step(self, state, loss):
        if state.step % self.every == 0:
            self.save(state)

    def on_train_end(self, state, trained):
        if trained and state.step % self.every:
            self.save(state)


class ValidationLog:
    """Score the model on the validation sets every ``every`` steps and at the end, and
    append the scores to the learning-curve log ``path`` (JSON lines).

    ``scores`` holds the last scores: (validation, real) brain PSNR by noise level;
    ``extra`` maps further log entries to functions scoring a model (their last scores in
    ``extra_scores``).
    """

    def __init__(self, path, every, validation, real, extra=None):
        self.path, self.every, self.sets = path, every, (validation, real)
        self.extra, self.extra_scores = dict(extra or {}), {}
        self.scores, self.scored_step, self.loss = None, None, None

    def validate(self, state):
        self.scores = tuple(evaluate(state.model, *images) for images in self.sets)
        self.extra_scores = {name: score(state.model) for name, score in self.extra.items()}
        self.scored_step = state.step

    def log(self, state):
        from tqdm import tqdm

        scores, real = self.scores
        entry = {"step": state.step, "cpu_hours": state.seconds / 3600, "loss": self.loss,
                 "val_brain_psnr": scores, "val_real_psnr": real, **self.extra_scores}
        with self.path.open("a") as log:
            log.write(json.dumps(entry) + "\n")
        tqdm.write(f"step {state.step}: val brain PSNR "
                   + " ".join(f"{p}%={v:.2f}" for p, v in scores.items())
                   + "; real b=0 " + " ".join(f"{v:.2f}" for v in real.values())
                   + "".join(f"; {name} " + " ".join(f"{k}={v:.2f}" for k, v in extra.items())
                             for name, extra in self.extra_scores.items()))

    def on_step(self, state, loss):
        self.loss = loss
        if state.step % self.every == 0:
            self.validate(state)
            self.log(state)

    def on_train_end(self, state, trained):
        if self.scored_step != state.step:
            self.validate(state)
            if trained:
                self.log(state)


def lost_second_moments(optimizer_state):
    """Whether most of Adam's second moments are zero, as in the float16 checkpoints
    compacted before session 14: resuming with them takes steps up to 1 / eps too large."""
    moments = [s["exp_avg_sq"] for s in optimizer_state["state"].values()]
    zeros = sum(int((m == 0).sum()) for m in moments)
    return zeros > 0.5 * sum(m.numel() for m in moments)


def compact_checkpoint(source, target, drop_optimizer=False):
    """Copy a training checkpoint with its floating-point tensors in 16 bits, to commit it
    (about half the size; a resumed run casts them back to float32): the weights in float16,
    Adam's moments in bfloat16, whose range is float32's (its second moments, about 1e-10,
    underflow to 0 in float16). ``drop_optimizer`` leaves Adam out (a finished run)."""
    import torch

    def half(value, dtype):  # Adam's step counts stay exact
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            return value.to(dtype)
        if isinstance(value, dict):
            return {k: v if k == "step" else half(v, dtype) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(half(v, dtype) for v in value)
        return value

    state = torch.load(source, weights_only=True)
    optimizer = state.pop("optimizer", None)
    state = half(state, torch.float16)
    if optimizer is not None and not drop_optimizer:
        state["optimizer"] = half(optimizer, torch.bfloat16)
    torch.save(state, target)
    print(f"wrote {target}: {target.stat().st_size / 1e6:.1f} MB "
          f"(was {source.stat().st_size / 1e6:.1f} MB)")
    return 0
