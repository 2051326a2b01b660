"""INSEE intercommunality reference file: which communes make up each EPCI.

The territory (EPCI → communes) always comes from this official file, never from a hand-written list.

Official file (STATUS: the columns are VERIFIED on a real CSV export of the 2020 file; the XLSX layout
is INFERRED from public code that reads it):
« Intercommunalité - Métropole au 01-01-{millesime} », page https://www.insee.fr/fr/information/2510634,
download ``https://www.insee.fr/fr/statistiques/fichier/2510634/Intercommunalite_Metropole_au_01-01-{millesime}.zip``.
The zip holds one Excel workbook (its name has varied over the years, e.g.
``Intercommunalite-Metropole_au_01-01-2021.xlsx``; ``EPCI_au_01-01-{millesime}.xlsx``) with two sheets,
``EPCI`` and ``Composition_communale``. Each sheet starts with a few title rows (five in the public code
seen, ``skip = 5``), then the header ``CODGEO, LIBGEO, EPCI, LIBEPCI, DEP, REG``. The reader therefore
locates the header row by looking for ``CODGEO`` instead of trusting a fixed number of title rows, and
finds the workbook inside the zip by its extension.
Communes outside any EPCI carry ``EPCI = "ZZZZZZZZZ"``.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pandas as pd

from ..errors import FormatError
from .base import Source
from ..validation import CODE_PATTERNS
from .tabular import dedupe_rows, normalise_code, open_zip, read_table, refuse_bad_codes

SHEET = "Composition_communale"
HEADER = ("CODGEO", "LIBGEO", "EPCI", "LIBEPCI", "DEP", "REG")
#: official column → column returned by :func:`read_epci_composition`
COLUMNS = {"CODGEO": "code_insee", "LIBGEO": "nom_commune", "EPCI": "siren_epci",
           "LIBEPCI": "nom_epci", "DEP": "dep", "REG": "reg"}
SANS_EPCI = "ZZZZZZZZZ"

EPCI_SOURCE = Source(
    id="insee_epci",
    producteur="INSEE",
    titre="Intercommunalité - Métropole au 1er janvier (composition communale des EPCI)",
    url="https://www.insee.fr/fr/statistiques/fichier/2510634/Intercommunalite_Metropole_au_01-01-{millesime}.zip",
    fichier="Intercommunalite_Metropole_au_01-01-{millesime}.zip",
    format="zip (xlsx), feuille Composition_communale",
    millesime_cle="cog",
    par="france",
    statut_format="INFERRED",
    page="https://www.insee.fr/fr/information/2510634",
    description="Appartenance de chaque commune à un EPCI à fiscalité propre ; sert à résoudre le territoire.",
    membres=("EPCI_au_01-01-{millesime}.xlsx",),
)



def _workbook_member(path: str) -> str | None:
    """The member of the composition zip to read: its workbook (or CSV export); refused when it has none."""
    import zipfile

    if not zipfile.is_zipfile(path) and not path.lower().endswith(".zip"):
        return None
    with open_zip(path) as z:
        names = [n for n in z.namelist() if not n.startswith("__MACOSX") and not n.endswith("/")]
    tables = [n for n in names if n.lower().endswith((".xlsx", ".csv"))]
    if not tables:
        raise FormatError(f"L'archive ne contient ni classeur .xlsx ni export .csv de la composition communale des "
                          f"EPCI (membres : {', '.join(names) or 'aucun'}).", fichier=path,
                          correction="utilisez l'archive officielle de l'Insee « Intercommunalité - Métropole » "
                                     "(observatoire fetch --force)")
    return re.escape(Path(tables[0]).name) + "$" if len(tables) == 1 else None


@functools.lru_cache(maxsize=4)
def _read_cached(path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    raw = read_table(path, member=_workbook_member(path), sheet=SHEET, header_keys=("CODGEO",))
    header = [c.strip().upper() for c in raw.frame.columns]
    body = raw.frame.copy()
    body.columns = header
    missing = [c for c in HEADER if c not in header]
    if missing:
        raise FormatError(f"Colonnes absentes de la composition communale des EPCI : {', '.join(missing)} "
                          f"(trouvé : {', '.join(x for x in header if x)}).", fichier=raw.chemin,
                          correction="utilisez le fichier Insee « Intercommunalité - Métropole » (feuille "
                                     "Composition_communale, ou son export CSV)")
    body = body[list(HEADER)].rename(columns=COLUMNS)
    filled = (body["code_insee"].astype(str).str.strip() != "").to_numpy()
    body, lines = body[filled], raw.lines[filled]
    for c in body.columns:
        body[c] = body[c].astype(str).str.strip()
    body["code_insee"], _ = normalise_code(body["code_insee"], 5)
    body["siren_epci"], _ = normalise_code(body["siren_epci"], 9)
    body["dep"] = body["dep"].where(body["dep"].str.len() != 1, body["dep"].str.zfill(2))
    refuse_bad_codes(body["code_insee"], CODE_PATTERNS["commune"], lines, raw.chemin,
                     "Composition communale des EPCI", "un code commune à 5 caractères (59606, 2A004)")
    refuse_bad_codes(body["siren_epci"], rf"{CODE_PATTERNS['epci']}|{SANS_EPCI}", lines, raw.chemin,
                     "Composition communale des EPCI", f"un SIREN d'EPCI à 9 chiffres ou {SANS_EPCI}")
    body, _ = dedupe_rows(body, "code_insee", lines, raw.chemin, "Commune")
    return body.reset_index(drop=True)


def read_epci_composition(path: str | Path) -> pd.DataFrame:
    """Read the ``Composition_communale`` sheet of INSEE's intercommunality file.

    Parameters
    ----------
    path : the official zip, the .xlsx itself (title rows above the header are skipped) or a CSV export
        (``CODGEO;LIBGEO;EPCI;LIBEPCI;DEP;REG``, VERIFIED on a real copy of the 2020 file).

    Returns
    -------
    DataFrame with string columns ``code_insee, nom_commune, siren_epci, nom_epci, dep, reg``, one row
    per commune. Results are cached per (path, modification time, size): the national file has about
    35 000 rows and takes a few seconds to parse.

    Raises
    ------
    FormatError : not a readable zip/xlsx/CSV, no ``Composition_communale`` sheet, no ``CODGEO…`` header,
        a commune listed twice.
    """
    p = Path(path)
    st = p.stat()
    return _read_cached(str(p.resolve()), st.st_mtime_ns, st.st_size).copy()


# ---------------------------------------------------------------------------------------------------
# IRIS reference table (« Table d'appartenance géographique des IRIS »)
# ---------------------------------------------------------------------------------------------------

IRIS_COLUMNS = {"CODE_IRIS": "code_iris", "LIB_IRIS": "nom_iris", "TYP_IRIS": "type_iris",
                "DEPCOM": "code_insee", "LIBCOM": "nom_commune", "DEP": "dep", "REG": "reg"}

IRIS_SOURCE = Source(
    id="insee_iris_reference",
    producteur="INSEE",
    titre="Table d'appartenance géographique des IRIS (codes, noms, types, communes)",
    url="https://www.insee.fr/fr/statistiques/fichier/7708995/reference_IRIS_geo{millesime}.zip",
    fichier="reference_IRIS_geo{millesime}.zip",
    format="zip (xlsx avec lignes de titre) ou CSV ;",
    millesime_cle="iris",
    statut_format="VERIFIED",
    optionnel=True,
    page="https://www.insee.fr/fr/information/7708995",
    description="Liste officielle des IRIS : sert à vérifier qu'une commune est couverte par tous ses IRIS "
                "et à nommer les IRIS (colonnes vérifiées sur une copie réelle CSV de 2021).",
)

SOURCES = [EPCI_SOURCE, IRIS_SOURCE]


def read_iris_reference(path: str | Path, communes: set[str] | None = None) -> pd.DataFrame:
    """Read INSEE's IRIS reference table (XLSX with title rows, zip, or CSV export).

    Returns ``code_iris, nom_iris, type_iris, code_insee, nom_commune, dep, reg`` (strings), one row per
    IRIS (a commune without IRIS has one row ``<commune>0000``), filtered to ``communes`` when given.
    """
    raw = read_table(path, header_keys=("CODE_IRIS",))
    df = raw.frame.copy()
    df.columns = [c.strip().upper() for c in df.columns]
    missing = [c for c in ("CODE_IRIS", "LIB_IRIS", "DEPCOM") if c not in df.columns]
    if missing:
        raise FormatError(f"Colonnes absentes de la table des IRIS : {', '.join(missing)}.", fichier=raw.chemin,
                          correction="utilisez la table d'appartenance géographique des IRIS de l'Insee")
    df = df[[c for c in IRIS_COLUMNS if c in df.columns]].rename(columns=IRIS_COLUMNS)
    df["code_iris"], _ = normalise_code(df["code_iris"], 9)
    df["code_insee"], _ = normalise_code(df["code_insee"], 5)
    lines = raw.lines
    if communes is not None:
        keep = df["code_insee"].isin(set(communes)).to_numpy()
        df, lines = df[keep], lines[keep]
    refuse_bad_codes(df["code_iris"], CODE_PATTERNS["iris"], lines, raw.chemin, "Table des IRIS",
                     "un code IRIS à 9 caractères (590140101)")
    df, _ = dedupe_rows(df, "code_iris", lines, raw.chemin, "IRIS")
    return df.reset_index(drop=True)
