"""The tidy indicator table: the contract between computing and presenting (docs/contracts.md).

One definition of its columns, statuses and methods, imported by the engine, the partner import, the
exports, the maps and the portraits, so that a label or a method name cannot drift between them.
"""

from __future__ import annotations

TIDY_COLUMNS = ["type_territoire", "code_territoire", "libelle_territoire", "indicateur", "millesime",
                "millesime_geographie", "valeur", "numerateur", "denominateur", "statut", "methode",
                "qualite", "source"]

#: Statuses by priority when several apply (lower rank wins).
STATUT_RANG = {"secret": 0, "nd": 1, "simule": 2, "estime": 3, "ok": 4}

#: A figure is an estimate iff its ``methode`` is one of these (whatever its ``statut``).
METHODES_ESTIMATION = ("surface", "dasymetrique", "transposition_2015_2024")

#: French wording of each method, as users read it (tooltips, sheets, workbook).
METHODES_LIBELLES = {
    "producteur": "chiffre du producteur",
    "somme": "somme des parties",
    "surface": "pondération par la surface",
    "dasymetrique": "pondération par la population carroyée",
    "transposition_2015_2024": "transposition des périmètres 2015 vers 2024",
    "partenaire": "chiffre publié par un partenaire",
}

#: Code of France métropolitaine in ``code_territoire``.
CODE_FRANCE = "FRM"
