"""France Travail (ex-Pôle emploi) / DARES: jobseekers (DEFM) by quartier prioritaire.

NO open file exists (``../shared/data/formats/france_travail_demandeurs_qpv.txt``: DARES publishes
DEFM by région, département and commune, not by QPV; QPV figures were diffused through the SIG Ville
and INSEE/ANCT QPV tables). The source is a PRESET of the partner-table import: the analyst requests
the table (France Travail regional statistics department, SIG Ville) and saves it in the shape below,
ASSUMED after INSEE's QPV « données par source » tables (one ``;`` CSV, one row per quartier or commune,
jobseekers registered at the end of December of the year):

``CODGEO;LIBGEO;DEFM_A;DEFM_ABC;DEFM_ABC_F;DEFM_ABC_M26;DEFM_ABC_1AN;DEFM_ABC_2ANS``

- ``DEFM_A``: catégorie A; ``DEFM_ABC``: catégories A, B, C; ``_F``: women; ``_M26``: under 26;
- ``DEFM_ABC_1AN``: registered for 1 year or more (longue durée); ``DEFM_ABC_2ANS``: 2 years or more;
- « s » = secret (France Travail withholds small counts), « nd » = not available.

Long-term share = DEFM_ABC_1AN / DEFM_ABC. Mapping: :data:`COLONNES` (one-line fix).
"""

from __future__ import annotations

from pathlib import Path

from .base import Source
from .insee import read_donnees_par_source
from .table import SourceTable

#: File column → normalised variable (ASSUMED shape).
COLONNES: dict[str, str] = {
    "DEFM_A": "DEFM_A",
    "DEFM_ABC": "DEFM_ABC",
    "DEFM_ABC_F": "DEFM_ABC_F",
    "DEFM_ABC_M26": "DEFM_ABC_M26",
    "DEFM_ABC_1AN": "DEFM_ABC_1AN",
    "DEFM_ABC_2ANS": "DEFM_ABC_2ANS",
}

SOURCES: list[Source] = [
    Source(id="france_travail_defm_qpv", producteur="France Travail / Dares",
           titre="Demandeurs d'emploi (catégories A, B, C ; ancienneté) par quartier prioritaire",
           url="https://statistiques.francetravail.org", fichier="france_travail_defm_qpv_{millesime}.csv",
           format="CSV ; (forme supposée)", millesime_cle="france_travail", statut_format="ASSUMED",
           optionnel=True, page="https://sig.ville.gouv.fr",
           description="Aucun fichier ouvert par QPV : table à demander à France Travail (direction "
                       "régionale, service statistique) ou à extraire du SIG Ville, puis à enregistrer "
                       "sous ce nom au format SUPPOSÉ CODGEO;LIBGEO;DEFM_A;DEFM_ABC;DEFM_ABC_F;"
                       "DEFM_ABC_M26;DEFM_ABC_1AN;DEFM_ABC_2ANS (séparateur « ; »)."),
]


def read_defm(path: str | Path, millesime: int, niveau: str | None = None,
              simule: bool = False) -> SourceTable:
    """Read a jobseekers table (shape ASSUMED, see the module docstring); niveau from the codes."""
    return read_donnees_par_source(path, COLONNES, "france_travail_defm_qpv", millesime, niveau=niveau,
                                   simule=simule)
