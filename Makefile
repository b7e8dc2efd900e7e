# convgrad: two commands on a fresh machine.
#
#   make book    set everything up, build the site: _build/html/index.html
#   make test    set everything up (plus PyTorch CPU, the tests' oracle), run the test suite
#
# Each does its own set-up and repeats a step only when its inputs changed: the virtual
# environment (.venv, from the pinned requirements.txt), MathJax (npm ci, package-lock.json) and
# the Debian packages a step needs when they are missing (apt-get, as root or with sudo).
# `make help` lists the other targets.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
SITE := _build/html
TORCH := torch==2.13.0+cpu
TORCH_INDEX := https://download.pytorch.org/whl/cpu
# Debian packages, installed when the command that needs them is missing.
APT := tools/apt_need.sh

.PHONY: help book pdf test test-package test-book lint site-check ci serve lab clean distclean

help:
	@echo "make book          set up and build the site (_build/html)"
	@echo "make test          set up (with PyTorch CPU) and run every test: package + notebooks"
	@echo "make test-package  only the package's tests (pytest tests)"
	@echo "make test-book     only the notebooks, re-run and compared by nbval (pytest book)"
	@echo "make lint          ruff"
	@echo "make site-check    open every page in headless Chromium and check it (+ self-test)"
	@echo "make pdf           the book and the formula card as PDFs (_build/pdf), checked"
	@echo "make ci            what CI runs: lint, the offline build, the site check, the PDFs, the tests"
	@echo "make serve         serve the built site on http://127.0.0.1:$(PORT)/"
	@echo "make lab           JupyterLab on the book's notebooks"
	@echo "make clean         remove the build and caches (make distclean: also .venv, node_modules)"

# --- set-up ------------------------------------------------------------------------------------

$(VENV)/.requirements: requirements.txt pyproject.toml
	@bash $(APT) venv
	@echo "== $(VENV): the pinned requirements (and convgrad itself, editable)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

# The CPU build of PyTorch, only for the tests. Where the wheel is on this machine's disk pip
# takes it; elsewhere it comes from PyTorch's CPU index (never a CUDA build from PyPI).
$(VENV)/.torch: $(VENV)/.requirements
	@echo "== PyTorch CPU (the tests' outside oracle)"
	$(BIN)/pip install --quiet "$(TORCH)" 2>/dev/null \
	  || $(BIN)/pip install --quiet "$(TORCH)" --extra-index-url $(TORCH_INDEX)
	$(BIN)/python -c 'import torch; assert torch.version.cuda is None, torch.__version__; print("torch", torch.__version__)'
	@touch $@

node_modules/.installed: package-lock.json
	@bash $(APT) npm
	@echo "== MathJax (npm ci: the version pinned in package-lock.json; the site serves it itself)"
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# --- the two commands --------------------------------------------------------------------------

# OFFLINE=1 builds in a network namespace of its own where the kernel allows it (CI does): proof
# that the build downloads nothing.
book: $(VENV)/.requirements node_modules/.installed
	@echo "== the book (warnings are errors)"
	@rm -rf $(SITE)
	@if [ -n "$${OFFLINE:-}" ] && unshare --net --map-root-user true 2>/dev/null; then \
	  echo "(no network: unshare --net)"; \
	  unshare --net --map-root-user $(BIN)/jupyter-book build . -W -n --keep-going; \
	else \
	  $(BIN)/jupyter-book build . -W -n --keep-going; \
	fi
	@test -f $(SITE)/index.html
	@echo
	@echo "The site: $(CURDIR)/$(SITE)/index.html   (make serve: http://127.0.0.1:$(PORT)/)"

test: $(VENV)/.torch
	$(BIN)/pytest

test-package: $(VENV)/.torch
	$(BIN)/pytest tests

test-book: $(VENV)/.requirements
	$(BIN)/pytest book

# --- the book as PDF ---------------------------------------------------------------------------

# The book (and the formula card, once the book has book/formula_card) through Sphinx's LaTeX
# builder and XeLaTeX, into _build/pdf/: convgrad.pdf, formula-card.pdf. TeX comes from Debian's
# packages. Fails on a LaTeX error, a character missing from the fonts, an unresolved reference;
# tools/check_pdf.py then checks the PDFs against the sources. OFFLINE=1 as for `make book`.
pdf: $(VENV)/.requirements node_modules/.installed
	@bash $(APT) tex
	@if [ -n "$${OFFLINE:-}" ] && unshare --net --map-root-user true 2>/dev/null; then \
	  echo "(no network: unshare --net)"; \
	  unshare --net --map-root-user $(BIN)/python tools/build_pdf.py; \
	else \
	  $(BIN)/python tools/build_pdf.py; \
	fi
	$(BIN)/python tools/check_pdf.py
	@echo
	@echo "The PDFs: $(CURDIR)/_build/pdf/"

# --- what else CI checks -----------------------------------------------------------------------

lint: $(VENV)/.requirements
	$(BIN)/ruff check .

site-check: $(VENV)/.requirements
	@bash $(APT) chromium
	@test -f $(SITE)/index.html || $(MAKE) --no-print-directory book
	$(BIN)/python tools/check_site.py $(SITE) --screenshot book/channels_batch.html
	$(BIN)/python tools/check_site.py $(SITE) --self-test

ci:
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory book OFFLINE=1
	$(MAKE) --no-print-directory site-check
	$(MAKE) --no-print-directory pdf OFFLINE=1
	$(MAKE) --no-print-directory test

# --- reading and running -----------------------------------------------------------------------

serve:
	@test -f $(SITE)/index.html || $(MAKE) --no-print-directory book
	@echo "Serving $(SITE) on http://127.0.0.1:$(PORT)/ (only this machine; Ctrl-C stops)"
	$(BIN)/python -m http.server --bind 127.0.0.1 --directory $(SITE) $(PORT)

# JupyterLab on the notebooks (it listens on 127.0.0.1); as root it needs --allow-root.
lab: $(VENV)/.requirements
	$(BIN)/jupyter lab --notebook-dir=book $(if $(filter 0,$(shell id -u)),--allow-root,)

clean:
	rm -rf _build .pytest_cache .hypothesis
	find . -path ./$(VENV) -prune -o -path ./node_modules -prune -o \
	  \( -name __pycache__ -o -name .ipynb_checkpoints \) -type d -print0 | xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV) node_modules
