"""Sphinx configuration: API reference from numpydoc docstrings, user guide, gallery."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # document (and run the examples with) this checkout's sksmoe

import sksmoe  # noqa: E402

project = "sksmoe"
author = "the sksmoe developers"
copyright = "2026, the sksmoe developers"
version = release = sksmoe.__version__

# Every number the guide states comes from benchmarks/results/*.json (docs/_numbers.py):
# tables as generated/*.txt include files, numbers in prose as |substitutions|.
sys.path.insert(0, str(Path(__file__).parent))
import _numbers  # noqa: E402

_numbers.write_tables()
rst_epilog = _numbers.substitutions()

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
