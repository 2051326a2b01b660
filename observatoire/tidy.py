"""The tidy indicator table: the contract between computing and presenting (docs/contracts.md).

One definition of its columns, statuses, territory types and methods, imported by the engine, the
partner import, the exports, the maps and the portraits, so that a label or a method name cannot drift
between them.
"""

from __future__ import annotations

import re

TIDY_COLUMNS = ["type_territoire", "code_territoire", "libelle_territoire", "indicateur", "millesime",
                "millesime_geographie", "valeur", "numerateur", "denominateur", "statut", "methode",
                "qualite", "couverture", "simule", "note_producteur", "motif", "source"]

#: ``statut``: ``ok`` (a figure), ``estime`` (a figure from an estimation method), ``secret``
#: (withheld by the producer), ``nd`` (not available; ``motif`` says why). Lower rank wins.
STATUTS = ("secret", "nd", "estime", "ok")
STATUT_RANG = {"secret": 0, "nd": 1, "estime": 3, "ok": 4}

#: Territory types. A quartier set has its geography in its type: a 2024 sheet never reads a 2015 set.
TYPES_TERRITOIRE = (
    "iris", "commune", "epci", "departement", "france",
    "qpv2015", "qpv2024", "partie_qpv2024", "zone",
    "ensemble_qpv2015_epci", "ensemble_qpv2024_epci",
    "ensemble_qpv2015_departement", "ensemble_qpv2024_departement",
    "ensemble_qpv2015_france", "ensemble_qpv2024_france",
)

#: Reference territories of a quartier sheet, in display order, by geography of the quartier.
REFERENCES = {
    "2024": ("commune", "epci", "ensemble_qpv2024_epci", "ensemble_qpv2024_departement",
             "departement", "ensemble_qpv2024_france", "france"),
    "2015": ("commune", "epci", "ensemble_qpv2015_epci", "ensemble_qpv2015_departement",
             "departement", "ensemble_qpv2015_france", "france"),
}
REFERENCES["zones"] = REFERENCES["2024"]

#: Type of the quartiers of each geography, and the quartier set of each set type.
TYPE_QUARTIER = {"2024": "qpv2024", "2015": "qpv2015", "zones": "zone"}

#: French labels of the territory types (column heads, legends, workbook).
TYPES_LIBELLES = {
    "iris": "IRIS", "commune": "Commune", "epci": "EPCI", "departement": "Département",
    "france": "France métropolitaine", "qpv2015": "Quartier prioritaire 2015",
    "qpv2024": "Quartier prioritaire 2024", "partie_qpv2024": "Partie communale d'un quartier 2024",
    "zone": "Zone d'étude",
    "ensemble_qpv2015_epci": "Ensemble des QPV 2015 de l'EPCI",
    "ensemble_qpv2024_epci": "Ensemble des QPV 2024 de l'EPCI",
    "ensemble_qpv2015_departement": "Ensemble des QPV 2015 du département",
    "ensemble_qpv2024_departement": "Ensemble des QPV 2024 du département",
    "ensemble_qpv2015_france": "Ensemble des QPV 2015 de France (Insee)",
    "ensemble_qpv2024_france": "Ensemble des QPV 2024 de France (Insee)",
}

#: A figure is an estimate iff its ``methode`` is one of these.
METHODES_ESTIMATION = ("surface", "dasymetrique", "transposition_2015_2024")

#: French wording of each method, as users read it (tooltips, sheets, workbook).
METHODES_LIBELLES = {
    "producteur": "chiffre du producteur",
    "somme": "somme des numérateurs et dénominateurs des parties",
    "somme_ponderee": "taux publiés pondérés par leur dénominateur publié",
    "surface": "pondération par la surface",
    "dasymetrique": "pondération par la population carroyée",
    "transposition_2015_2024": "transposition des périmètres 2015 vers 2024",
    "partenaire": "chiffre publié par un partenaire",
}

#: Quality classes of estimates (and of aggregates built from estimates), best first.
QUALITES = ("bonne", "moyenne", "faible")

#: Code of France métropolitaine in ``code_territoire``.
CODE_FRANCE = "FRM"
LIBELLE_FRANCE = "France métropolitaine"
#: Code of the « Ensemble des QPV » sets of France (``ensemble_qpv2015_france``…): INSEE's « Ensemble »
#: row covers every quartier of its file, overseas ones included when the source covers them.
CODE_ENSEMBLE_FRANCE = "FR"

#: Official code pattern of each territory type (INSEE, ANCT, Banatic). Codes become file names and
#: HTML ids: anything else (« ../ », spaces, a spreadsheet's « 590140101.0 ») is refused where it is read.
_COMMUNE = r"(?:\d{5}|2[AB]\d{3})"
_DEP = r"(?:\d{2}|2[AB]|97\d)"
CODE_PATTERNS = {
    "iris": rf"{_COMMUNE}\d{{4}}",
    "commune": _COMMUNE,
    "epci": r"\d{9}",
    "departement": _DEP,
    "france": CODE_FRANCE,
    "qpv2015": r"QP(?:\d{3}|02[AB])\d{3}",
    "qpv2024": r"QN(?:\d{3}|02[AB])[0-9A-Z]{3}",
    "partie_qpv2024": rf"QN(?:\d{{3}}|02[AB])[0-9A-Z]{{3}}_{_COMMUNE}",
    "zone": r"[A-Za-z0-9][A-Za-z0-9_\-]{0,63}",
    **{f"ensemble_qpv{g}_epci": r"\d{9}" for g in (2015, 2024)},
    **{f"ensemble_qpv{g}_departement": _DEP for g in (2015, 2024)},
    **{f"ensemble_qpv{g}_france": CODE_ENSEMBLE_FRANCE for g in (2015, 2024)},
}
_CODE_RE = {k: re.compile(rf"^{v}$") for k, v in CODE_PATTERNS.items()}


def code_valide(type_territoire: str, code: str) -> bool:
    """Whether ``code`` has the official form of a ``type_territoire`` code.

    >>> code_valide("qpv2015", "QP02A001"), code_valide("qpv2024", "QN05920M")
    (True, True)
    >>> code_valide("qpv2024", "QP059020"), code_valide("iris", "590140101.0"), code_valide("zone", "../x")
    (False, False, False)
    """
    pattern = _CODE_RE.get(type_territoire)
    return bool(pattern and pattern.match(str(code)))


#: Producers named in ``note_producteur`` (``NOTE_CNAF:1`` → « Cnaf »).
_NOTE_PRODUCTEURS = {"CNAF": "Cnaf", "CNAM": "Cnam", "PE": "France Travail (Pôle emploi)",
                     "PE_T": "France Travail (Pôle emploi)", "ASP": "ASP", "ASP_E": "ASP",
                     "RP": "Insee (recensement)", "FILO": "Insee (Filosofi)", "FILOSOFI": "Insee (Filosofi)"}


def note_libelle(note: str | None) -> str:
    """French footnote for a ``note_producteur`` value (empty string when there is none).

    The value is ``<COLONNE>:<note>`` joined by ``;`` when several apply, e.g. ``NOTE_CNAF:1``.

    >>> note_libelle("NOTE_CNAF:1")
    'note de qualité 1 du producteur (Cnaf) : chiffre à interpréter avec précaution'
    >>> note_libelle("")
    ''
    """
    if not note or (isinstance(note, float) and note != note):
        return ""
    parts = []
    for item in str(note).split(";"):
        col, _, val = item.partition(":")
        m = re.match(r"^(?:DISP_)?NOTE_?(.*?)(?:\d{2})?$", col.strip(), re.IGNORECASE)
        key = (m.group(1) if m else col).upper().strip("_") or "FILO"
        who = _NOTE_PRODUCTEURS.get(key, key.title())
        parts.append(f"note de qualité {val.strip()} du producteur ({who})")
    return " ; ".join(parts) + " : chiffre à interpréter avec précaution"
