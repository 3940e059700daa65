# Entry points (see README): `make run`, `make test`, and `make test-fast` for the inner loop.
VENV ?= .venv
STAMP := $(VENV)/.privsynth-installed

.PHONY: install run test test-fast lint rulegraph clean

$(STAMP): pyproject.toml tools/install.sh $(wildcard tools/install_python_*.sh)
	bash tools/install.sh
	touch $@

install: $(STAMP)

## run the pipeline on config/config.yaml (profiles/default is picked up automatically)
run: install
	$(VENV)/bin/snakemake --profile profiles/default

# pytest-xdist: 2 workers; the SLURM tests, and the Chromium ones, each stay on one worker
# (xdist_group markers from their fixtures, tests/conftest.py). The 30 slowest are printed.
PYTEST := $(VENV)/bin/python -m pytest -n $(or $(PYTEST_WORKERS),2) --dist loadgroup --durations=30

## install everything, run the linters, then the test suite (CI: .ci/run)
test: lint
	bash tools/install_system.sh
	$(PYTEST)

## the inner loop: every test that neither runs the workflow (e2e) nor a heavy engine (heavy); no linters
test-fast: install
	$(PYTEST) -m "not e2e and not heavy"

## linters (configured in pyproject.toml [tool.ruff], [tool.snakefmt]) and snakemake's own lint
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/snakefmt --check Snakefile workflow/rules
	$(VENV)/bin/snakemake --lint

## regenerate docs/rulegraph.png (needs graphviz)
rulegraph: install
	$(VENV)/bin/snakemake --rulegraph | dot -Tpng -Gdpi=110 > docs/rulegraph.png

clean:
	rm -rf results .snakemake
