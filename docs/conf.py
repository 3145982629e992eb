"""Sphinx configuration: API reference from numpydoc docstrings, user guide, gallery."""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # document (and run the examples with) this checkout's sksmoe

import sksmoe  # noqa: E402

project = "sksmoe"
author = "the sksmoe developers"
copyright = "2026, the sksmoe developers"
version = release = sksmoe.__version__



def write_pretrained_table():
    """``generated/pretrained_table.txt``: the first set of ``benchmarks/results/pretrained.json``
    (MNI-T1 test slices) as a list-table, brain PSNR / SSIM per level, for performance.rst."""
    rows = next(iter(json.loads((ROOT / "benchmarks/results/pretrained.json").read_text())
                     ["sets"].values()))
    levels = list(rows["noisy"]["scores"]["brain_psnr"])
    lines = [".. list-table::", "   :header-rows: 1", "", "   * - method"]
    lines += [f"     - {level}%" for level in levels] + ["     - s / slice"]
    for label, row in rows.items():
        scores, seconds = row["scores"], row["s/slice"]
        lines.append(f"   * - {label}")
        lines += [f"     - {scores['brain_psnr'][level]['mean']:.2f} / "
                  f"{scores['brain_ssim'][level]['mean']:.3f}" for level in levels]
        lines.append(f"     - {seconds:.2g}" if seconds else "     -")
    out = Path(__file__).parent / "generated" / "pretrained_table.txt"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines) + "\n")


write_pretrained_table()

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
]

templates_path = ["_templates"]
exclude_patterns = ["_build"]
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

html_theme = "pydata_sphinx_theme"
html_title = f"sksmoe {release}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_static_path = []

plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "subsection_order": [
        "../examples/getting_started",
        "../examples/model_selection",
        "../examples/inspection",
        "../examples/comparison",
        "../examples/scale_out",
    ],
    "within_subsection_order": "FileNameSortKey",
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("sksmoe",),
    "remove_config_comments": True,
    "min_reported_time": 0,
    "image_scrapers": ("matplotlib",),
}
