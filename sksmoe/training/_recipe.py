"""Run a recipe: the commands that rebuild a model, one a line, in order."""

import shlex

#: Options added to each kind of step by ``--scale tiny`` (the last occurrence wins).
TINY = {
    "base": ["--steps", "4", "--batch-size", "2", "--patch-size", "32",
             "--checkpoint-every", "2"],
    "stack": [],
    "context": ["--steps", "4", "--batch-size", "2", "--patch-size", "32",
                "--checkpoint-every", "2", "--validate-every", "4"],
    "smoe": ["--n-experts", "1", "--noise-bands", "1", "--modalities", "T1",
             "--noise-levels", "5", "--slice-step", "12", "--real-slice-step", "20"],
}


def read_recipe(path, workdir):
    """The steps of the recipe file ``path``: each line's arguments of
    ``python -m sksmoe.training``, with ``{workdir}`` replaced by ``workdir``.

    Lines ending in a backslash continue on the next; ``#`` starts a comment.
    """
    text = path.read_text().replace("\\\n", " ").replace("{workdir}", str(workdir))
    steps = (shlex.split(line, comments=True) for line in text.splitlines())
    return [argv for argv in steps if argv]


def run_recipe(args):
    """Run each command of a recipe file in turn (base, stack, context or smoe), skipping the steps
    whose model card is already written, so that re-running the recipe resumes it."""
    from ._cli import build_parser, main

    parser = build_parser()
    steps = []
    for argv in read_recipe(args.file, args.workdir):  # every line checked before any runs
        if argv[0] not in TINY:
            raise SystemExit(f"{args.file}: a recipe step is a base, stack, context or smoe "
                             f"command, got {shlex.join(argv)!r}")
        argv = argv + (TINY[argv[0]] if args.scale == "tiny" else [])
        step = parser.parse_args(argv)
        steps.append((argv, step.out / f"{step.name}.json"))
    for number, (argv, card) in enumerate(steps, 1):
        done = card.exists()
        print(f"[{number}/{len(steps)}] {'done' if done else 'run'}: "
              f"python -m sksmoe.training {shlex.join(argv)}", flush=True)
        if not (done or args.dry_run):
            main(argv)
    return 0
