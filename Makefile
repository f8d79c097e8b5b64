# Two commands do all set-up: `make demo` runs the main job, `make test` runs the whole suite.
# Each creates (or reuses) the virtual environment in .venv and installs what it needs.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: demo test lint docs bench clean

$(VENV)/.run-installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml $(VENV)/.run-installed
	$(PY) -m pip install --quiet -e ".[test,dev,docs]"
	touch $@

# The peer packages pin older pandas/numpy, so benchmarks get their own environment and never
# change the one the tests run in.
BENCH_VENV ?= .venv-bench

$(BENCH_VENV)/.bench-installed: pyproject.toml
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e ".[bench]"
	touch $@

demo: $(VENV)/.run-installed
	$(VENV)/bin/riskeval demo

# ruff, and the layers of the package (pyproject.toml [tool.importlinter]: each layer imports
# only those below it, and no module cycles)
lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check src tests benchmarks notebooks papers docs
	$(VENV)/bin/lint-imports --no-cache

# The documentation site, docs/_build/html: the API reference, the guides and the notebooks,
# executed (unchanged ones come from the cache in docs/_build/.jupyter_cache). Any warning
# is an error.
SPHINX := $(PY) -m sphinx -b html -W --keep-going -j auto docs docs/_build/html

docs: $(VENV)/.test-installed
	$(SPHINX)

# The site is built first, executing every notebook and guide afresh: that is their test
# (a failing cell fails the build), so pytest does not run them again; tests/test_docs.py
# then checks the built site in a browser. pytest runs on every core, one test module per
# worker (--dist loadscope), so a module's shared fixtures are built once.
test: $(VENV)/.test-installed lint
	rm -rf docs/_build/html   # (its .doctrees too) no page of a removed document survives
	RISKEVAL_DOCS_EXECUTE=force $(SPHINX)
	$(PY) -m pytest -n auto --dist loadscope --doctest-modules src/riskeval tests

bench: $(BENCH_VENV)/.bench-installed
	$(BENCH_VENV)/bin/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) build dist src/*.egg-info .pytest_cache .ruff_cache .hypothesis \
		docs/_build docs/api/generated docs/jupyter_execute
