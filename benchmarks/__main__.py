"""One entry point for every benchmark table.

Usage::

    python -m benchmarks list                 # the tables and what each measures
    python -m benchmarks run TABLE [--quick]  # one table (``all`` for every table)

A full run writes ``benchmarks/results/<table>.md``, ``.json`` (every number, the machine
and the package versions) and its figures; ``--quick`` is a seconds-long smoke run on tiny
crops that writes nothing under ``results/`` (CI runs it so the benchmarks never rot).
"""

import argparse
import importlib
import sys
import time

#: Table name -> module of this package (each has ``main(argv)`` taking ``--quick``).
TABLES = {
    "compare": "Tables 1 and 3: every method on held-out BrainWeb-style and real slices",
    "reverse": "Table 2: trained on real slices, tested on BrainWeb-style slices",
    "gates": "Table 4: gate ablation (each expert alone, random, predicted); expert maps",
    "experts": "Tables 5/6: k=1 against the mixture, per decomposition and k",
    "segmentation": "SMoE Segment (MobileSAM, LiteMedSAM, multi-Otsu) against SMoE Patch",
    "speed": "Table 7: seconds per slice, SMoE / one DnCNN-17 forward, fit, volume",
    "pretrained": "The bundled models against BM3D (the pretrained-model issue's table)",
    "noise_draws": "The bundled model's lead over BM3D on Colin27 at 1% over six noise draws",
    "learning_curves": "Base-DnCNN trainings: validation PSNR against CPU-hours, BM3D line",
    "noise_estimation": "Error of the noise-level estimators",
    "noise_maps": "Error of the noise-map estimator on uniform, smooth, SENSE and coil noise",
    "nonuniform": "Non-uniform noise on held-out heads, and a real repeat pair (issue 31)",
    "volumes": "Slabs of volumes: BM3D, BM4D, ANTs, dipy, sksmoe 2-D and 2.5-D (issue 32)",
}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the tables")
    run = commands.add_parser("run", help="run one table, or all")
    run.add_argument("table", choices=[*TABLES, "all"])
    run.add_argument("--quick", action="store_true", help="seconds-long smoke run")
    args = parser.parse_args(argv)
    if args.command == "list":
        for name, what in TABLES.items():
            print(f"{name:18s} {what}")
        return 0
    names = list(TABLES) if args.table == "all" else [args.table]
    for name in names:
        start = time.perf_counter()
        print(f"== {name}: {TABLES[name]}", flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        module.main(["--quick"] if args.quick else [])
        print(f"== {name} done in {time.perf_counter() - start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
