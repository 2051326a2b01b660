"""INSEE intercommunality reference file: which communes make up each EPCI.

The territory (EPCI → communes) always comes from this official file, never from a hand-written list.

Official file (STATUS: INFERRED from public code that reads it, not from the file itself):
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
import io
import zipfile
from pathlib import Path

import pandas as pd

from ..errors import FormatError
from .base import Source

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

SOURCES = [EPCI_SOURCE]


def _workbook_bytes(path: Path) -> bytes:
    """The bytes of the Excel workbook: ``path`` itself, or the only .xlsx member of a zip."""
    if path.suffix.lower() == ".xlsx":
        return path.read_bytes()
    try:
        with zipfile.ZipFile(path) as z:
            names = [n for n in z.namelist() if n.lower().endswith(".xlsx") and not n.startswith("__MACOSX")]
            if not names:
                olds = [n for n in z.namelist() if n.lower().endswith(".xls")]
                hint = (f" (classeur .xls ancien trouvé : {olds[0]} ; ouvrez-le et enregistrez-le en .xlsx)"
                        if olds else "")
                raise FormatError(f"L'archive ne contient aucun classeur .xlsx{hint}.", fichier=str(path),
                                  correction="téléchargez à nouveau le fichier INSEE « Intercommunalité - "
                                  "Métropole » (observatoire fetch --force)")
            return z.read(sorted(names, key=lambda n: ("epci" not in n.lower(), n))[0])
    except zipfile.BadZipFile as e:
        raise FormatError("Le fichier n'est pas une archive zip valide (not a valid zip).", fichier=str(path),
                          correction="supprimez-le et relancez observatoire fetch") from e


def find_header_row(raw: pd.DataFrame, first: str = "CODGEO") -> int:
    """Index of the first row whose first non-empty cell is ``first`` (title rows come before it)."""
    for i, row in enumerate(raw.itertuples(index=False)):
        cells = [str(c).strip() for c in row if c is not None and str(c).strip() not in ("", "nan")]
        if cells and cells[0].upper() == first:
            return i
    return -1


@functools.lru_cache(maxsize=4)
def _read_cached(path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    p = Path(path)
    data = _workbook_bytes(p)
    try:
        raw = pd.read_excel(io.BytesIO(data), sheet_name=SHEET, header=None, dtype=str, engine="openpyxl")
    except ValueError as e:
        raise FormatError(f"Le classeur n'a pas de feuille « {SHEET} » (sheet missing).", fichier=str(p),
                          correction="vérifiez qu'il s'agit bien du fichier INSEE « Intercommunalité - Métropole »"
                          ) from e
    h = find_header_row(raw)
    if h < 0:
        raise FormatError(f"En-tête introuvable dans la feuille {SHEET} : aucune ligne ne commence par CODGEO.",
                          fichier=str(p), correction="vérifiez le fichier ou signalez le changement de format")
    header = [str(c).strip().upper() if c is not None else "" for c in raw.iloc[h]]
    missing = [c for c in HEADER if c not in header]
    if missing:
        raise FormatError(f"Colonnes absentes de la feuille {SHEET} : {', '.join(missing)} "
                          f"(trouvé : {', '.join(x for x in header if x and x != 'NAN')}).", fichier=str(p),
                          correction="vérifiez le fichier ou signalez le changement de format")
    body = raw.iloc[h + 1:].copy()
    body.columns = header
    body = body[list(HEADER)].rename(columns=COLUMNS)
    body = body[body["code_insee"].notna() & (body["code_insee"].astype(str).str.strip() != "")]
    for c in body.columns:
        body[c] = body[c].astype(str).str.strip()
    body["code_insee"] = body["code_insee"].str.zfill(5)
    body["dep"] = body["dep"].where(body["dep"].str.len() != 1, body["dep"].str.zfill(2))
    return body.reset_index(drop=True)


def read_epci_composition(path: str | Path) -> pd.DataFrame:
    """Read the ``Composition_communale`` sheet of INSEE's intercommunality file.

    Parameters
    ----------
    path : the official zip (or the .xlsx itself).

    Returns
    -------
    DataFrame with string columns ``code_insee, nom_commune, siren_epci, nom_epci, dep, reg``, one row
    per commune. Results are cached per (path, modification time, size): the national file has about
    35 000 rows and takes a few seconds to parse.

    Raises
    ------
    FormatError : not a zip/xlsx, no ``Composition_communale`` sheet, or no ``CODGEO…`` header.
    """
    p = Path(path)
    st = p.stat()
    return _read_cached(str(p.resolve()), st.st_mtime_ns, st.st_size).copy()
