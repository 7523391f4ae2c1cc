# Two commands do everything on a fresh machine (Python >= 3.10 with venv and pip):
#   make demo   -- install into $(VENV), then run the main job on the built-in synthetic default
#   make test   -- install into $(VENV) (with test extras), then run the test suite
# VENV is where the virtual environment goes (default .venv in the repository), e.g.
#   make test VENV=$HOME/venvs/heartlang     PYTHON picks the interpreter: make demo PYTHON=python3.12
# TORCH pins torch's CPU wheel; a GPU machine can pass e.g. TORCH="torch==2.13.0" with its own index.
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.heartlang-installed

.PHONY: demo test install clean

$(STAMP): pyproject.toml
	@echo "==> [1/4] creating the virtual environment $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	@echo "==> [2/4] upgrading pip"
	$(BIN)/pip install --quiet --upgrade pip
	@echo "==> [3/4] installing $(TORCH) (a download of several hundred MB: the slow step, 1-3 minutes)"
	$(BIN)/pip install --progress-bar on "$(TORCH)"
	@echo "==> [4/4] installing heartlang-sk and its dependencies (editable, extras test, plot, distributed)"
	$(BIN)/pip install --progress-bar on -e ".[test,plot,distributed]"
	touch $(STAMP)
	@echo "==> installed into $(VENV); later make commands reuse it (make clean removes it)"

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/heartlang-sk demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

clean:
	rm -rf $(VENV) heartlang-sk-output
