"""Assurance Maladie (CPAM): Complémentaire santé solidaire (C2S, ex-CMU-C / ACS) by commune and QPV.

NO open file exists (``../shared/data/formats/cpam_css_cmuc_commune.txt``: no data.ameli.fr dataset by
commune or quartier; the API « Complémentaire santé solidaire » is an individual eligibility check).
The source is therefore a PRESET of the partner-table import: the analyst requests the table from
the CPAM (here the CPAM du Hainaut) or the ANCT SIG Ville and saves it in the shape below, which is
ASSUMED after INSEE's QPV « données par source » tables (one ``;`` CSV, one row per territory):

``CODGEO;LIBGEO;POP_PROTEGEE;BENEF_C2S;BENEF_C2S_NP;BENEF_C2S_P``

- ``CODGEO``: quartier code (QN…: QPV 2024, QP…: QPV 2015) or commune code; one level per file;
- ``POP_PROTEGEE``: population protégée (consommants) du régime général;
- ``BENEF_C2S``: bénéficiaires de la C2S (all), ``_NP`` sans participation (ex-CMU-C), ``_P`` avec
  participation (ex-ACS); « s » = secret, « nd » = not available, decimal « , » or « . ».

Coverage share = BENEF_C2S / POP_PROTEGEE (the 2015 contract's CPAM table computed CMU-C / population
protégée the same way). Columns → variables: :data:`COLONNES` (one-line fix for a different file).
"""

from __future__ import annotations

from pathlib import Path

from .base import Source
from .insee import read_donnees_par_source
from .table import SourceTable

#: File column → normalised variable (ASSUMED shape).
COLONNES: dict[str, str] = {
    "POP_PROTEGEE": "POP_PROTEGEE",
    "BENEF_C2S": "NB_BENEF_C2S",
    "BENEF_C2S_NP": "NB_BENEF_C2S_NP",
    "BENEF_C2S_P": "NB_BENEF_C2S_P",
}

_URL = "https://sig.ville.gouv.fr"
_DESC = ("Aucun fichier ouvert : table à demander à la CPAM (service statistique / SIG Ville) puis à "
         "enregistrer sous ce nom au format SUPPOSÉ CODGEO;LIBGEO;POP_PROTEGEE;BENEF_C2S;BENEF_C2S_NP;"
         "BENEF_C2S_P (séparateur « ; »), comme les tableaux Insee « données par source » des QPV.")

SOURCES: list[Source] = [
    Source(id="cnam_c2s_commune", producteur="Assurance Maladie (CPAM)",
           titre="Bénéficiaires de la Complémentaire santé solidaire (C2S) par commune",
           url=_URL, fichier="cnam_c2s_commune_{millesime}.csv", format="CSV ; (forme supposée)",
           millesime_cle="cnam", statut_format="ASSUMED", optionnel=True,
           page="https://www.ameli.fr/assure/droits-demarches/difficultes-acces-droits-soins/"
                "complementaire-sante", description=_DESC),
    Source(id="cnam_c2s_qpv", producteur="Assurance Maladie (CPAM)",
           titre="Bénéficiaires de la Complémentaire santé solidaire (C2S) par quartier prioritaire",
           url=_URL, fichier="cnam_c2s_qpv_{millesime}.csv", format="CSV ; (forme supposée)",
           millesime_cle="cnam", statut_format="ASSUMED", optionnel=True, description=_DESC),
]


def read_c2s(path: str | Path, millesime: int, niveau: str | None = None,
             simule: bool = False) -> SourceTable:
    """Read a C2S table (shape ASSUMED, see the module docstring).

    ``niveau`` (qpv2024, qpv2015, commune) is detected from the codes when omitted. Variables:
    ``POP_PROTEGEE``, ``NB_BENEF_C2S``, ``NB_BENEF_C2S_NP``, ``NB_BENEF_C2S_P``.
    """
    t = read_donnees_par_source(path, COLONNES, "cnam_c2s", millesime, niveau=niveau, simule=simule)
    t.source = "cnam_c2s_commune" if t.niveau == "commune" else "cnam_c2s_qpv"
    return t
