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

## install everything and run the test suite
test: install
	bash tools/install_system.sh
	$(VENV)/bin/python -m pytest

lint: install
	$(VENV)/bin/snakemake --lint

## regenerate docs/rulegraph.png (needs graphviz)
rulegraph: install
	$(VENV)/bin/snakemake --rulegraph | dot -Tpng -Gdpi=110 > docs/rulegraph.png

clean:
	rm -rf results .snakemake
