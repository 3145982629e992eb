"""Every measured number of the documentation, read from ``benchmarks/results/*.json``.

``conf.py`` calls :func:`write_tables` (list-tables in ``generated/*.txt``, which the user
guide includes) and puts :func:`substitutions` into ``rst_epilog``, so that a page says
``|colin_bm3d|`` where it states a number. Nothing here is typed by hand: rerun a benchmark
and the next build states its numbers. A set, row or key that a benchmark no longer writes
fails the build with a ``KeyError`` naming it.
"""

import json
import re
from pathlib import Path

from benchmarks import learning_curves, speed
from benchmarks._common import RESULTS, TARGET

GENERATED = Path(__file__).parent / "generated"


def load(name):
    """``benchmarks/results/<name>.json``."""
    return json.loads((RESULTS / f"{name}.json").read_text())


def pick(mapping, part):
    """The one value of ``mapping`` whose key contains ``part``."""
    found = [value for key, value in mapping.items() if part in key]
    if len(found) != 1:
        raise KeyError(f"{len(found)} keys contain {part!r}: {list(mapping)}")
    return found[0]


def rst(cell):
    """Markdown code in backticks, and a bare ``--option``, as RST literals."""
    return re.sub(r"(?<![`\w])(--[\w-]+)", r"``\1``", cell.replace("`", "``"))


def list_table(header, rows):
    """A list-table of string cells."""
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines += [f"   {'*' if i == 0 else ' '} - {rst(cell)}".rstrip()
                  for i, cell in enumerate(row)]
    return "\n".join(lines) + "\n"


# --- the pretrained benchmark: one set of slices, one row per denoiser --------------------

def brain(row, metric="brain_psnr"):
    """Level -> mean of ``metric``, at the levels where brain PSNR is finite (not where the
    clean image went in as it was)."""
    scores = row["scores"]
    return {lv: scores[metric][lv]["mean"] for lv, s in scores["brain_psnr"].items()
            if s["mean"] != "inf"}


def difference(row, other, metric="brain_psnr"):
    """Level -> ``row`` minus ``other``, at the levels where both are finite."""
    a, b = brain(row, metric), brain(other, metric)
    return {lv: a[lv] - b[lv] for lv in a if lv in b}


def levels_text(levels):
    """``["7", "9"]`` -> "7 and 9"; ``["1", "3", "5"]`` -> "1, 3 and 5"."""
    levels = list(levels)
    return levels[0] if len(levels) == 1 else ", ".join(levels[:-1]) + " and " + levels[-1]


def signed(value, digits=2):
    """"+1.70", "-0.03"; "0.00" when it rounds to zero either way."""
    text = f"{value:+.{digits}f}"
    return text[1:] if float(text) == 0 else text


def each(diff):
    """"+1.70 / +1.81 dB at 1 / 3%": the difference at every level."""
    return " / ".join(map(signed, diff.values())) + " dB at " + " / ".join(diff) + "%"


def span(diff, digits=2):
    """"+1.84 to +2.19 dB": the smallest and the largest difference."""
    low, high = (signed(f(diff.values()), digits) for f in (min, max))
    return f"{low} dB" if low == high else f"{low} to {high} dB"


def where(levels, every, some, none):
    """Text for the levels (of :func:`difference`) where a statement holds."""
    held = [lv for lv, holds in levels.items() if holds]
    if len(held) == len(levels):
        return every
    return f"{some} at {levels_text(held)}% only" if held else none


def ssim_text(row, other):
    """Where ``row`` has a higher brain SSIM than ``other``."""
    return where({lv: d > 0 for lv, d in difference(row, other, "brain_ssim").items()},
                 "a higher SSIM at every level", "a higher SSIM", "a lower SSIM at every level")


def target_text(diff):
    """Where the margin over BM3D meets :data:`TARGET`, as rounded in the text."""
    return where({lv: round(d, 2) >= TARGET[lv] for lv, d in diff.items() if lv in TARGET},
                 "met at every level", "met", "not met at any level")


def seconds(value):
    return f"{value:.2g} s"


def pretrained_numbers():
    """Substitutions from ``pretrained.json`` and ``noise_draws.json``."""
    data = load("pretrained")
    sets = {name: pick(data["sets"], part) for name, part in (
        ("mni", "(MNI-T1, RF 20%)"), ("colin", "Colin27"), ("dipy", "dipy T1"), ("b0", "b=0"),
        ("t2", "(T2,"), ("pd", "(PD,"), ("ends", "ends of the"))}
    bundled_label = pick({label: label for label in sets["mni"]}, "(bundled)")
    parts = ("(bundled)", "BM3D", "(--quality)", "before issues 31/32")
    row = {name: {part: pick(rows, part) for part in parts
                  if any(part in label for label in rows)} for name, rows in sets.items()}
    levels = sorted({float(lv) for rows in sets.values() for r in rows.values()
                     for lv in r["scores"]["brain_psnr"]})
    run = "measured {date} at commit {commit}".format(**data["environment"])
    by_margin = {}
    for lv, margin in TARGET.items():
        by_margin.setdefault(margin, []).append(lv)
    numbers = {"target": "BM3D + " + ", + ".join(f"{m:g} dB at {levels_text(lvs)}%"
                                                   for m, lvs in by_margin.items()),
               "pretrained_run": run,
               "bundled": bundled_label.removesuffix(" (bundled)"),
               "noise_range": f"{levels[0]:g}-{levels[-1]:g}%"}
    for name, r in row.items():
        margin = difference(r["(bundled)"], r["BM3D"])
        frozen = difference(r["(bundled)"], r["before issues 31/32"])
        numbers |= {f"{name}_bm3d": each(margin), f"{name}_bm3d_span": span(margin),
                    f"{name}_ssim": ssim_text(r["(bundled)"], r["BM3D"]),
                    f"{name}_frozen": each(frozen), f"{name}_frozen_span": span(frozen)}
        if set(margin) & set(TARGET):
            numbers[f"{name}_target"] = target_text(margin)
    ends = brain(row["ends"]["(bundled)"])
    numbers["ends_clean"] = f"{ends[min(ends, key=float)]:.1f} dB"
    for name in ("mni", "colin", "dipy", "b0"):
        r = row[name]
        numbers |= {
            f"quality_{name}": each(difference(r["(--quality)"], r["(bundled)"])),
            f"quality_{name}_span": span(difference(r["(--quality)"], r["(bundled)"]))}
    mni = row["mni"]
    numbers |= {"bundled_s": seconds(mni["(bundled)"]["s/slice"]),
                "bm3d_s": seconds(mni["BM3D"]["s/slice"]),
                "quality_s": seconds(mni["(--quality)"]["s/slice"]),
                "bundled_vs_bm3d": f"{mni['BM3D']['s/slice'] / mni['(bundled)']['s/slice']:.1f}"}
    cost = [row[name]["(--quality)"]["s/slice"] / row[name]["(bundled)"]["s/slice"]
            for name in ("mni", "colin", "dipy", "b0")]
    numbers["quality_cost"] = f"{min(cost):.0f}-{max(cost):.0f}"
    draws = load("noise_draws")["draws"]
    margins = {seed: d["bundled"]["brain_psnr"] - d["BM3D"]["brain_psnr"]
               for seed, d in draws.items()}
    numbers |= {"draws_n": str(len(margins)), "draws_span": span(margins, digits=3)}
    return numbers


def other_numbers():
    """Substitutions from ``speed``, ``experts``, ``gates``, ``nonuniform`` and ``compare``."""
    timing = load("speed")
    numbers = {"volume_256_min": f"{timing['volume_256_s'] / 60:.2g} minutes",
               "volume_256_ratio": f"{timing['volume_256_ratio']:.2f}",
               "volume_256_gb": f"{timing['volume_256_peak_gb']:.1f} GB"}
    experts = load("experts")
    k = experts["chosen_k"]["Patch"]
    validation = experts["validation_brain_psnr"]["Patch"]
    numbers |= {"experts_k": str(k), "experts_run": experts["environment"]["date"],
                "experts_val_gain": f"{signed(validation[str(k)] - validation['1'])} dB"}
    gates = pick(load("gates")["Patch"], "MNI-T1")
    numbers["random_vs_gate"] = span(difference(gates["random"], gates["predicted"]))
    gate = load("nonuniform")["gates"]
    k4, k1 = pick(gate, "k-means gate"), pick(gate, "k=1")
    numbers["gates_smoe_vs_k1"] = span({name: k4[name]["brain_psnr"] - k1[name]["brain_psnr"]
                                        for name in k1})
    features = load("compare")["fit"]["features_seconds"]
    numbers["segment_features"] = (f"{pick(features, 'Segment') / features['Patch']:.1f} "
                                   "times")
    return numbers


def substitutions():
    """``rst_epilog``: one ``.. |name| replace::`` per number."""
    numbers = pretrained_numbers() | other_numbers()
    return "\n".join(f".. |{name}| replace:: {text}" for name, text in sorted(numbers.items()))


# --- tables --------------------------------------------------------------------------------

def pretrained_table():
    """The first set of ``pretrained.json`` (MNI-T1 test slices): brain PSNR / SSIM per
    level and seconds a slice, one row per denoiser."""
    rows = next(iter(load("pretrained")["sets"].values()))
    levels = list(rows["noisy"]["scores"]["brain_psnr"])
    body = [[label] + [f"{row['scores']['brain_psnr'][lv]['mean']:.2f} / "
                       f"{row['scores']['brain_ssim'][lv]['mean']:.3f}" for lv in levels]
            + [f"{row['s/slice']:.2g}" if row["s/slice"] else ""]
            for label, row in rows.items()]
    return list_table(["method"] + [f"{lv}%" for lv in levels] + ["s / slice"], body)


def learning_curves_table():
    """Every base-network training run: validation PSNR at its last logged step and the b=0
    PSNR of its checkpoint, BM3D first (``learning_curves.json``)."""
    (_, validation), (_, b0) = learning_curves.tables(load("learning_curves"))
    real = {row[0]: " / ".join(row[2:]) for row in b0}
    runs = {row[0]: row[1:3] + [" / ".join(row[3:])] for row in validation}
    body = [[name] + runs.get(name, ["", "", ""]) + [real.get(name, "")]
            for name in {**runs, **real}]
    return list_table(["run", "step", "CPU-hours", "validation (dB)", "b=0 (dB)"], body)


def write_tables():
    """``generated/{pretrained,speed,learning_curves}_table.txt``."""
    GENERATED.mkdir(exist_ok=True)
    tables = {"pretrained": pretrained_table(), "speed": list_table(*speed.table(load("speed"))),
              "learning_curves": learning_curves_table()}
    for name, text in tables.items():
        (GENERATED / f"{name}_table.txt").write_text(text)
