# Observatoire des quartiers — pipeline annuel.
#   make          tout le pipeline pour le territoire configuré (observatoire.toml)
#   make test     la suite de tests
#   make demo     miroir de démonstration (data/mirror/demo) puis tout le pipeline hors ligne
#   make bench    bancs d'essai (estimation, classification, tailles des cartes)
# Chaque étape ne se relance que si ses entrées ont changé : un second « make » ne refait rien.

SHELL      := /bin/bash
PYTHON     ?= python3
VENV       := .venv
BIN        := $(VENV)/bin
OBS        := $(BIN)/observatoire
CONFIG     ?= observatoire.toml
MIRROR     ?=
DEMO_DIR   := data/mirror/demo
SHARED     ?= ../shared

INSTALLED  := $(VENV)/.installed
RAW        := data/raw/manifest.json
ORIGIN     := data/raw/.origine
GPKG       := data/processed/observatoire.gpkg
MAPS       := maps/index.html
PORTRAITS  := portraits/index.html

CODE_CORE      := $(shell find observatoire -name '*.py' -not -path '*/maps/*' -not -path '*/portraits/*' -not -path '*/demo/*') \
                  $(wildcard observatoire/catalogue/*.yaml)
CODE_MAPS      := $(shell find observatoire/maps -type f -not -name '*.pyc')
CODE_PORTRAITS := $(shell find observatoire/portraits -type f -not -name '*.pyc')
CODE_DEMO      := $(shell find observatoire/demo -name '*.py') scripts/build_demo_mirror.py observatoire.toml \
                  $(wildcard $(SHARED)/data/valenciennes/*)
MIRROR_OPT     := $(if $(MIRROR),--mirror $(MIRROR))

.PHONY: all test demo bench install clean clean-all
.DEFAULT_GOAL := all

all: $(MAPS) $(PORTRAITS)

install: $(INSTALLED)
$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $@

# Where the raw files come from (network or which mirror): refetch when it changes.
$(ORIGIN): FORCE
	@mkdir -p $(@D)
	@echo "$(abspath $(MIRROR))" | cmp -s - $@ || echo "$(abspath $(MIRROR))" > $@

$(RAW): $(CONFIG) $(ORIGIN) $(INSTALLED) $(if $(MIRROR),$(MIRROR)/manifest.json)
	$(OBS) fetch --config $(CONFIG) $(MIRROR_OPT)
	@touch $@

$(GPKG): $(RAW) $(CONFIG) $(CODE_CORE) $(INSTALLED)
	$(OBS) build --config $(CONFIG) $(MIRROR_OPT)

$(MAPS): $(GPKG) $(CODE_MAPS) $(CONFIG)
	$(OBS) maps --config $(CONFIG) $(MIRROR_OPT)

$(PORTRAITS): $(GPKG) $(CODE_PORTRAITS) $(CONFIG)
	$(OBS) portraits --config $(CONFIG) $(MIRROR_OPT)

# Demo mirror: real files from ../shared where they exist, simulated ones in the official formats.
$(DEMO_DIR)/manifest.json: $(CODE_DEMO) $(INSTALLED)
	$(BIN)/python scripts/build_demo_mirror.py $(DEMO_DIR) \
	  $(if $(wildcard $(SHARED)/data/valenciennes),--shared $(SHARED)/data,--sans-shared)

# The demo runs the configuration written by the mirror builder: observatoire.toml with the mirror's
# territory (Valenciennes Métropole with ../shared, a simulated one without) and a demo watch zone.
DEMO_CONFIG := $(DEMO_DIR)/observatoire.toml
demo: $(DEMO_DIR)/manifest.json
	@$(MAKE) --no-print-directory all MIRROR=$(DEMO_DIR) CONFIG=$(DEMO_CONFIG)

test: $(INSTALLED)
	$(BIN)/python -m pytest -q

bench: $(INSTALLED)
	$(BIN)/python scripts/bench_spatial.py
	$(BIN)/python scripts/bench_maps.py

clean:
	rm -rf data/raw/* data/processed/* maps/* portraits/* $(DEMO_DIR)
	@git checkout -- data/raw/README.md data/processed/README.md maps/README.md 2>/dev/null || true

clean-all: clean
	rm -rf $(VENV)

FORCE:
