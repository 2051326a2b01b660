# Observatoire des quartiers — pipeline annuel.
#   make               tout le pipeline pour le territoire configuré (observatoire.toml)
#   make demo          miroir de démonstration puis tout le pipeline, hors ligne
#                      (make demo EPCI=<siren> | DEPARTEMENT=<code> | COMMUNES=59606,59014)
#   make test          toute la suite de tests ; make test-rapide (ou make test TEST=rapide) : < 1 min
#   make clean         supprime les sorties et les fichiers partiels d'une exécution interrompue
#   make prerequis     vérifie Python, l'espace disque et Chromium ; make bench : bancs d'essai
#
# Étapes et témoins : chaque étape écrit son fichier témoin en dernier, seulement si elle a réussi ;
# une étape échouée ou interrompue est donc refaite au make suivant.
#   fetch      $(DOSSIER_RAW)/.etape-fetch             build  $(DOSSIER_PROCESSED)/.etape-build
#   cartes     $(DOSSIER_CARTES)/.etape-cartes
#   portraits  $(DOSSIER_PORTRAITS)/.etape-html-<géo>  et .etape-pdf-<géo> (géo : 2024, 2015, zones)
# Une étape se refait quand une de ses entrées change : son code, le miroir et son manifeste, le
# manifeste des fichiers bruts, les fichiers nommés par la configuration (tables partenaires, zones,
# raster) et la partie de la configuration qu'elle lit (« observatoire empreinte ») : changer [cartes]
# ne refait que les cartes ; passer de la démonstration à observatoire.toml est détecté. Une note
# notes/<code>.md ne refait que le portrait <code> (HTML puis PDF).
#
# Pour les essais (tests/test_make.py), les commandes sont des variables : OBS (l'outil
# observatoire), CHROMIUM (vide = absent), PYTHON, VENV.

SHELL := /bin/bash
.DELETE_ON_ERROR:
.SUFFIXES:
MAKEFLAGS += --no-builtin-rules

PYTHON     ?= python3
VENV       ?= .venv
BIN        := $(VENV)/bin
OBS        ?= $(BIN)/observatoire
CONFIG     ?= observatoire.toml
MIRROR     ?=
SHARED     ?= ../shared
DEMO_DIR   := data/mirror/demo
DEMO_CONFIG := $(DEMO_DIR)/observatoire.toml
ESPACE_MIN_GO ?= 2
TEST       ?=

INSTALLED  := $(VENV)/.installed
# Make's own state: the configuration in use, what each stage reads of it, the quartiers built.
ETAT       := data/processed/.make

# Chromium for the PDFs (the same candidates as observatoire/portraits/pdf.py, plus google-chrome).
CHROMIUM ?= $(firstword $(OBSERVATOIRE_CHROMIUM) \
              $(wildcard $(foreach d,$(subst :, ,$(PATH)),$(d)/chromium $(d)/chromium-browser $(d)/google-chrome)) \
              $(wildcard /usr/bin/chromium))

.PHONY: all demo test test-rapide bench install prerequis clean clean-all FORCE
.DEFAULT_GOAL := all

# ------------------------------------------------------------------ configuration in effect
# Defaults, replaced by $(ETAT)/config.mk, which « observatoire empreinte » writes from the
# configuration (make remakes it when the configuration changes, then starts again).
DOSSIER_RAW       := data/raw
DOSSIER_PROCESSED := data/processed
DOSSIER_CARTES    := maps
DOSSIER_PORTRAITS := portraits
DOSSIER_NOTES     := notes
GEOGRAPHIES       := 2024 2015
PDF               := oui
MANIFESTE_MIROIR  :=
FICHIERS_NOMMES   :=

SANS_PIPELINE := demo test test-rapide bench install prerequis clean clean-all
PIPELINE := $(if $(MAKECMDGOALS),$(filter-out $(SANS_PIPELINE),$(MAKECMDGOALS)),all)
MIRROR_OPT := $(if $(MIRROR),--mirror $(MIRROR))
OPTS := --config $(CONFIG) $(MIRROR_OPT)

ifneq ($(PIPELINE),)
include $(ETAT)/config.mk
-include $(ETAT)/quartiers.mk
$(if $(wildcard $(ETAT)/.),,$(shell mkdir -p $(ETAT)))
# Which configuration and mirror, and which of the files it names exist: any change rewrites
# $(ETAT)/choix, hence config.mk and the footprints (written here, without a shell: cheap).
CHOIX := $(abspath $(CONFIG)) $(abspath $(MIRROR)) $(OBSERVATOIRE_MIRROR) | $(wildcard $(FICHIERS_NOMMES))
ifneq ($(strip $(CHOIX)),$(strip $(file < $(ETAT)/choix)))
$(file > $(ETAT)/choix,$(CHOIX))
endif

$(ETAT)/config.mk: $(ETAT)/choix $(CONFIG) $(wildcard observatoire/config.py observatoire/cli.py) | $(INSTALLED)
	@$(OBS) empreinte $(OPTS) --ecrire $(ETAT)

# <stage>.config is rewritten by the rule above only when that stage's footprint changes.
$(ETAT)/%.config: ;
endif

ifneq ($(CONFIG),$(DEMO_CONFIG))
$(CONFIG):
	@echo "Fichier de configuration introuvable : $(CONFIG). Copiez observatoire.toml du dépôt, ou essayez" \
	      "d'abord « make demo » (données de démonstration hors ligne)." >&2; exit 2
endif

# ------------------------------------------------------------------------- prerequisites
# Checked before any work (here, while make reads this file), silent when all is there.
ifneq ($(PIPELINE)$(filter install demo,$(MAKECMDGOALS)),)
ifndef MAKE_RESTARTS
ifndef PREREQUIS_VERIFIES
$(shell command -v $(PYTHON) >/dev/null || { echo "Python est introuvable ($(PYTHON)) : sudo apt-get install \
  python3 python3-venv (version 3.11 ou plus récente)." >&2; exit 9; }; \
  $(PYTHON) scripts/prerequis.py --dossier data --espace-min $(ESPACE_MIN_GO) \
  $(if $(wildcard $(BIN)/python),,--installation) \
  $(if $(CHROMIUM),,--chromium absent --config $(CONFIG)) >&2)
ifneq ($(.SHELLSTATUS),0)
$(error Prérequis manquants (voir ci-dessus))
endif
export PREREQUIS_VERIFIES := 1
endif
endif
endif

prerequis:
	@$(PYTHON) scripts/prerequis.py --dossier data --espace-min $(ESPACE_MIN_GO) \
	  $(if $(CHROMIUM),,--chromium absent --config $(CONFIG)) && \
	  echo "Prérequis indispensables (Python $$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])'), espace disque) : en place."

# ---------------------------------------------------------------------------- environment
install: $(INSTALLED)
$(INSTALLED): pyproject.toml
	@echo "Installation de l'environnement Python dans $(VENV)/ (première fois : quelques minutes," \
	      "paquets téléchargés depuis PyPI)…"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --upgrade pip && $(BIN)/python -m pip install -e '.[dev]' || { \
	  echo "L'installation des paquets Python a échoué (voir ci-dessus). Sans réseau : configurez un" \
	       "miroir PyPI (PIP_INDEX_URL) ou installez depuis un dossier de paquets (PIP_FIND_LINKS)." >&2; \
	  exit 1; }
	@$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $@

# ------------------------------------------------------------------------- stage inputs
EXISTANTS = $(wildcard $(1))
CODE_COMMUN    := $(call EXISTANTS,observatoire/__init__.py observatoire/cli.py observatoire/config.py \
                    observatoire/errors.py observatoire/fr.py observatoire/store.py observatoire/tidy.py \
                    observatoire/catalogue/*)
CODE_FETCH     := $(CODE_COMMUN) $(call EXISTANTS,observatoire/sources/*.py observatoire/territory.py)
CODE_BUILD     := $(CODE_COMMUN) $(filter-out observatoire/cli_fr.py observatoire/progress.py \
                    observatoire/__main__.py,$(wildcard observatoire/*.py)) \
                  $(call EXISTANTS,observatoire/sources/*.py observatoire/spatial/*.py)
CODE_CARTES    := $(CODE_COMMUN) $(call EXISTANTS,observatoire/maps/*.py observatoire/maps/assets/*)
CODE_PORTRAITS := $(CODE_COMMUN) $(call EXISTANTS,observatoire/portraits/*.py observatoire/portraits/templates/* \
                    observatoire/sources/partner.py)

T_FETCH  := $(DOSSIER_RAW)/.etape-fetch
T_BUILD  := $(DOSSIER_PROCESSED)/.etape-build
T_CARTES := $(DOSSIER_CARTES)/.etape-cartes
T_HTML    = $(DOSSIER_PORTRAITS)/.etape-html-$(1)
T_PDF     = $(DOSSIER_PORTRAITS)/.etape-pdf-$(1)
AVEC_PDF := $(and $(filter oui,$(PDF)),$(CHROMIUM))
# One sheet per quartier of $(ETAT)/quartiers.mk (QUARTIERS_<géo>, written after the build).
FICHES_HTML := $(foreach g,$(GEOGRAPHIES),$(patsubst %,$(DOSSIER_PORTRAITS)/%.html,$(QUARTIERS_$(g))))
FICHES_PDF  := $(FICHES_HTML:.html=.pdf)

# The one place the PDFs are made: $(1) geography, $(2) more options (--quartier CODE).
FAIRE_PDF = OBSERVATOIRE_CHROMIUM=$(CHROMIUM) $(OBS) pdf $(OPTS) --geographie $(1) $(2)

CONSEIL_DEMO := Pas de réseau ni de miroir : essayez d'abord « make demo » (données de démonstration \
  hors ligne, aucun téléchargement), ou indiquez un miroir : make MIRROR=/chemin/du/miroir.

# ------------------------------------------------------------------------------- stages
all: $(T_CARTES) $(foreach g,$(GEOGRAPHIES),$(call T_HTML,$(g))) $(FICHES_HTML) $(ETAT)/notes.liste \
     $(if $(AVEC_PDF),$(foreach g,$(GEOGRAPHIES),$(call T_PDF,$(g))) $(FICHES_PDF))
ifeq ($(filter oui,$(PDF)),oui)
ifeq ($(CHROMIUM),)
all: pdf-en-attente
.PHONY: pdf-en-attente
pdf-en-attente: $(T_CARTES) $(foreach g,$(GEOGRAPHIES),$(call T_HTML,$(g))) $(FICHES_HTML)
	@echo "Portraits écrits en HTML. PDF non produits : Chromium est absent. Installez-le" \
	      "(sudo apt-get install chromium), puis relancez make : seuls les PDF seront faits." >&2
endif
endif

$(T_FETCH): $(ETAT)/fetch.config $(wildcard $(MANIFESTE_MIROIR)) $(CODE_FETCH) | $(INSTALLED)
	@mkdir -p $(@D)
	@$(OBS) fetch $(OPTS) || { code=$$?; if [ $$code -eq 3 ] && [ -z "$(MIRROR)$(MANIFESTE_MIROIR)" ]; then \
	  printf '\n→ %s\n' "$(CONSEIL_DEMO)" >&2; fi; exit $$code; }
	@touch $@

$(T_BUILD): $(T_FETCH) $(wildcard $(DOSSIER_RAW)/manifest.json) $(ETAT)/build.config $(FICHIERS_build) \
            $(CODE_BUILD) | $(INSTALLED)
	@$(OBS) build $(OPTS)
	@$(OBS) quartiers $(OPTS) --mk $(ETAT)/quartiers.mk
	@touch $@

$(T_CARTES): $(T_BUILD) $(ETAT)/cartes.config $(CODE_CARTES) | $(INSTALLED)
	@$(OBS) maps $(OPTS)
	@mkdir -p $(@D) && touch $@

# One geography's portraits: every sheet and its index (HTML), then the PDFs.
define GEOGRAPHIE
$(call T_HTML,$(1)): $(T_BUILD) $(ETAT)/portraits.config $(FICHIERS_portraits) $(CODE_PORTRAITS) | $(INSTALLED)
	@$(OBS) portraits $(OPTS) --sans-pdf --geographie $(1)
	@mkdir -p $$(@D) && touch $$@

$(call T_PDF,$(1)): $(call T_HTML,$(1))
	@$(call FAIRE_PDF,$(1))
	@touch $$@
endef
$(foreach g,$(GEOGRAPHIES),$(eval $(call GEOGRAPHIE,$(g))))

# One sheet (codes from $(ETAT)/quartiers.mk, written after the build): its note rebuilds it alone.
# A note that disappeared since the last run (notes.liste) rebuilds its sheet too.
NOTES_PRESENTES := $(sort $(basename $(notdir $(wildcard $(DOSSIER_NOTES)/*.md))))
NOTES_AVANT     := $(if $(PIPELINE),$(file < $(ETAT)/notes.liste))
NOTES_RETIREES  := $(filter-out $(NOTES_PRESENTES),$(NOTES_AVANT))
# (A quartier gone from the build that has just run in this same make is left alone.)
define FICHE
$(DOSSIER_PORTRAITS)/$(2).html: $(wildcard $(DOSSIER_NOTES)/$(2).md) $(if $(filter $(2),$(NOTES_RETIREES)),FORCE) \
                               | $(call T_HTML,$(1))
	@if grep -qw -- '$(2)' $(ETAT)/quartiers.mk; then \
	  $(OBS) portraits $(OPTS) --sans-pdf --geographie $(1) --quartier $(2); fi

$(DOSSIER_PORTRAITS)/$(2).pdf: $(DOSSIER_PORTRAITS)/$(2).html | $(call T_PDF,$(1))
	@if grep -qw -- '$(2)' $(ETAT)/quartiers.mk; then $(call FAIRE_PDF,$(1),--quartier $(2)); fi
endef
$(foreach g,$(GEOGRAPHIES),$(foreach c,$(QUARTIERS_$(g)),$(eval $(call FICHE,$(g),$(c)))))

# Written after the sheets (order only: the PDF stage rewrites the sheets), when the list changed.
$(ETAT)/notes.liste: $(if $(filter-out $(NOTES_AVANT),$(NOTES_PRESENTES))$(NOTES_RETIREES),FORCE) \
                     | $(foreach g,$(GEOGRAPHIES),$(call T_HTML,$(g))) $(FICHES_HTML)
	@printf '%s\n' $(NOTES_PRESENTES) > $@

# --------------------------------------------------------------------------------- demo
# The demo mirror: real files from ../shared where they exist, simulated ones in the official
# formats; rebuilt when its code or its arguments (EPCI, DEPARTEMENT, COMMUNES) change. Its
# configuration (observatoire.toml with the mirror's territory) is rewritten alone when only
# observatoire.toml changed, so a [cartes] change reruns only the maps of the demo.
DEMO_ARGS := $(if $(wildcard $(SHARED)/data/valenciennes),--shared $(SHARED)/data,--sans-shared) \
             $(if $(EPCI),--epci $(EPCI)) $(if $(DEPARTEMENT),--departement $(DEPARTEMENT)) \
             $(if $(COMMUNES),--communes $(COMMUNES))
T_MIROIR  := $(DEMO_DIR)/.etape-miroir
ARGS_DEMO := data/mirror/.arguments-demo
ifneq ($(filter demo,$(MAKECMDGOALS)),)
$(if $(wildcard data/mirror/.),,$(shell mkdir -p data/mirror))
ifneq ($(strip $(DEMO_ARGS)),$(strip $(file < $(ARGS_DEMO))))
$(file > $(ARGS_DEMO),$(DEMO_ARGS))
endif
CODE_DEMO := $(call EXISTANTS,observatoire/demo/*.py scripts/build_demo_mirror.py $(SHARED)/data/valenciennes/*)

$(T_MIROIR): $(ARGS_DEMO) $(CODE_DEMO) | $(INSTALLED)
	$(BIN)/python scripts/build_demo_mirror.py $(DEMO_DIR) $(strip $(DEMO_ARGS))
	@touch $@

$(DEMO_CONFIG): observatoire.toml scripts/make_config_demo.py | $(T_MIROIR)
	@$(BIN)/python scripts/make_config_demo.py $(DEMO_DIR)

demo: $(T_MIROIR) $(DEMO_CONFIG)
	@$(MAKE) --no-print-directory all MIRROR=$(DEMO_DIR) CONFIG=$(DEMO_CONFIG)
endif

# -------------------------------------------------------------------------------- tests
# Quick subset (about 50 s of CPU): no browser, no slow test (Make contract included), no test
# needing ../shared, no end-to-end run of the demo pipeline.
RAPIDE := -m "not slow and not browser and not shared" --ignore=tests/test_pipeline_e2e.py
# On every core when pytest-xdist is installed (one worker per test file: module fixtures run once).
PARALLELE = $$($(BIN)/python -c 'import xdist' 2>/dev/null && echo "-n auto --dist loadfile")
test: $(INSTALLED)
	$(BIN)/python -m pytest -q $(PARALLELE) $(if $(filter rapide,$(TEST)),$(RAPIDE))

test-rapide: $(INSTALLED)
	$(BIN)/python -m pytest -q $(PARALLELE) $(RAPIDE)

# Bancs d'essai de bout en bout, hors ligne : tableau dans docs/benchmarks.md (≈ 45 min à 1 h sur 2 cœurs).
#   make bench BENCH=--rapide            une exécution, France réduite
#   make bench BENCH="--seulement B1,B2" quelques mesures (les autres lignes sont gardées)
bench: $(INSTALLED)
	$(BIN)/python scripts/bench.py $(BENCH)
	$(BIN)/python scripts/bench_verification.py $(if $(findstring --rapide,$(BENCH)),--rapide)

# -------------------------------------------------------------------------------- clean
# Generated outputs (every README.md stays), the demo mirror, and the partial files (*.tmp, *.part)
# an interrupted run may have left elsewhere (notes/, the project's root).
clean:
	@find data/raw data/processed maps portraits -mindepth 1 -maxdepth 1 ! -name README.md \
	  -exec rm -rf {} + 2>/dev/null || true
	rm -rf data/mirror
	@find . -path ./$(VENV) -prune -o \( -name '*.tmp' -o -name '*.part' \) -type f -print -exec rm -f {} + \
	  2>/dev/null || true
	@echo "Sorties supprimées (data/raw, data/processed, maps, portraits, data/mirror)."

clean-all: clean
	rm -rf $(VENV) bench

FORCE:
