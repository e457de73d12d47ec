# Set-up and the two jobs of the README. Every target builds its own virtual environment
# (.venv) from this project's files; nothing is installed outside it.
# The first Python 3.8-3.11 on PATH (python3.11 first); `make PYTHON=...` chooses another.
PYTHON ?= $(shell sh tools/find_python.sh)
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: demo test bench notebooks check-python clean

# MXNet 1.9.1 (the last release) has wheels for Python 3.8-3.11 only: stop with one clear
# line instead of a pip resolver dump.
check-python:
	@if [ -z "$(PYTHON)" ]; then sh tools/find_python.sh --explain; exit 1; fi
	@$(PYTHON) tools/check_python.py

$(VENV)/.installed: setup.cfg pyproject.toml | check-python
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e '.[cpu,test]'
	touch $@

## demo: train the book's scratch GRU on the lyrics corpus (160 epochs), print perplexity and lyrics
demo: $(VENV)/.installed
	$(PY) -m d2l_rnn train --model gru --impl scratch

## test: run the whole test suite (notebooks in fast mode included)
test: $(VENV)/.installed
	$(PY) -m pytest -q $(PYTEST_ARGS)

## bench: time the book's library, ours and PyTorch (if installed) on the chapter's task
bench: $(VENV)/.installed
	$(PY) benchmarks/bench.py

## notebooks: execute every notebook in full mode (papermill) and save it with its outputs;
## a notebook is replaced only when its run completes. One: make notebooks NB=notebooks/gru.ipynb
NB ?= notebooks/*.ipynb
notebooks: $(VENV)/.installed
	@for nb in $(NB); do \
	  tmp="$$(dirname $$nb)/.$$(basename $$nb .ipynb).running.ipynb"; \
	  echo "executing $$nb"; \
	  if $(VENV)/bin/papermill --cwd "$$(dirname $$nb)" --no-progress-bar "$$nb" "$$tmp"; \
	  then mv "$$tmp" "$$nb"; else rm -f "$$tmp"; exit 1; fi; \
	done

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
