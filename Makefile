# Two entry points (see README): `make run` and `make test`.
VENV ?= .venv
STAMP := $(VENV)/.privsynth-installed

.PHONY: install run test lint rulegraph clean

$(STAMP): pyproject.toml tools/install.sh $(wildcard tools/install_python_*.sh)
	bash tools/install.sh
	touch $@

install: $(STAMP)

## run the pipeline on config/config.yaml (profiles/default is picked up automatically)
run: install
	$(VENV)/bin/snakemake --profile profiles/default

## install everything, run the linters, then the test suite (CI: .ci/run)
test: lint
	bash tools/install_system.sh
	$(VENV)/bin/python -m pytest

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
