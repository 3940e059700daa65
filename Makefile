# Entry points (see README): `make run`, `make test`, and `make test-fast` for the inner loop.
VENV ?= .venv
STAMP := $(VENV)/.privsynth-installed

.PHONY: install run test test-fast coverage lint rulegraph clean

$(STAMP): pyproject.toml tools/install.sh $(wildcard tools/install_python_*.sh)
	bash tools/install.sh
	touch $@

install: $(STAMP)

## run the pipeline on config/config.yaml (profiles/default is picked up automatically)
run: install
	$(VENV)/bin/snakemake --profile profiles/default

# pytest-xdist: 2 workers; the SLURM tests, the Chromium ones, and the tests of each shared
# workflow run each stay on one worker (xdist_group markers from their fixtures, tests/conftest.py
# XDIST_GROUPS). --no-loadscope-reorder: the workers take tests in conftest's start order (the
# longest first), not xdist's biggest-group-first. The 30 slowest are printed.
PYTEST := $(VENV)/bin/python -m pytest -n $(or $(PYTEST_WORKERS),2) --dist loadgroup --no-loadscope-reorder --durations=30

## install everything, run the linters, then the test suite (CI: .ci/run)
test: lint
	bash tools/install_system.sh
	$(PYTEST)

## the inner loop: every test that neither runs the workflow (e2e) nor a heavy engine (heavy); no linters
test-fast: install
	$(PYTEST) -m "not e2e and not heavy"

## line coverage of src/privsynth over the whole suite, the workflow's jobs included
## ([tool.coverage.run] in pyproject.toml: coverage's patch = subprocess measures every Python subprocess)
coverage: install
	$(PYTEST) --cov=privsynth --cov-report=term

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
