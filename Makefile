# Two commands do everything on a fresh machine (Python >= 3.10 with venv and pip):
#   make demo   -- install into .venv, then run the main job on the built-in synthetic default
#   make test   -- install into .venv (with test extras), then run the test suite
# TORCH pins torch's CPU wheel; a GPU machine can pass e.g. TORCH="torch==2.13.0" with its own index.
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.heartlang-installed

.PHONY: demo test install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[test,plot,distributed]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/heartlang-sk demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

clean:
	rm -rf $(VENV) heartlang-sk-output
