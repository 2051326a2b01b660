"""Exports of the tidy indicator table: CSV for analysts' Excel, Parquet for scripts and QGIS, XLSX by
theme, catalogue listing.

- :func:`write_csv`: UTF-8 **with BOM** (so that Excel detects the encoding), ``;`` separator (what a
  French Excel expects), ``.`` decimal point (unambiguous for scripts; documented in the README),
  one header line, the columns of the contract in order. Withheld values (statut ``secret``/``nd``)
  are empty cells, never 0. A text cell that a spreadsheet would run as a formula (starting with
  ``= + - @``, a tab or a carriage return: a quartier named ``=HYPERLINK(…)``) is prefixed with ``'``.
- :func:`write_parquet`: the whole table, typed (pyarrow), for pandas, DuckDB and QGIS.
- :func:`write_xlsx`: one sheet per theme (THEMES order) with French headers, a title area, the source
  line under each sheet's table, a « Chiffres partenaires » sheet for partner ids outside the catalogue,
  and an « À lire » sheet with the definitions, limits and secrecy rules of every indicator. Written
  with XlsxWriter column by column in constant memory (native types, one format per indicator block;
  about 30 times faster than cell-by-cell openpyxl on 15 000 rows); strings are never written as
  formulas. A table too large for a workbook keeps its IRIS rows in the CSV/Parquet only (said in
  « À lire »).
- :func:`catalogue_rows`: the rows ``observatoire indicateurs`` prints.

Every writer writes to a temporary file in the target folder, then renames it: an interrupted run never
leaves a half-written file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .catalogue import THEMES, Indicateur
from .store import atomic_path, output_error
from .tidy import METHODES_ESTIMATION, METHODES_LIBELLES, TIDY_COLUMNS, TYPES_LIBELLES, note_libelle

ENTETES = {
    "type_territoire": "Type de territoire", "code_territoire": "Code", "libelle_territoire": "Territoire",
    "indicateur": "Identifiant", "libelle_indicateur": "Indicateur", "unite": "Unité",
    "millesime": "Année", "millesime_geographie": "Géographie", "valeur": "Valeur",
    "numerateur": "Numérateur", "denominateur": "Dénominateur", "statut": "Statut",
    "methode": "Méthode", "qualite": "Qualité de l'estimation", "source": "Source",
    "couverture": "Couverture", "simule": "Donnée simulée", "note_producteur": "Note du producteur",
    "motif": "Motif",
}

LIBELLES_TYPE = TYPES_LIBELLES

LIBELLES_STATUT = {"ok": "", "secret": "secret statistique", "nd": "non disponible", "estime": "estimation"}

LIBELLES_METHODE = {k: (f"estimation ({v})" if k in METHODES_ESTIMATION else v)
                    for k, v in METHODES_LIBELLES.items()}

#: Sheet names (Excel: 31 characters at most); the full theme label is the sheet's title.
FEUILLES = {"demographie": "Population et ménages", "revenus": "Revenus et pauvreté",
            "insertion": "Insertion", "education": "Réussite éducative",
            "familles": "Familles et prestations", "sante": "Santé et accès aux droits",
            "logement": "Logement et cadre de vie", "mobilite": "Mobilité"}

FEUILLE_PARTENAIRES = "Chiffres partenaires"
FEUILLE_A_LIRE = "À lire"

#: Above this many rows, the workbook leaves the IRIS rows to the CSV and Parquet files.
MAX_LIGNES_XLSX = 100_000

_TEXT_COLUMNS = ("type_territoire", "code_territoire", "libelle_territoire", "indicateur", "statut",
                 "methode", "qualite", "note_producteur", "motif", "source")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(values: pd.Series) -> pd.Series:
    """Text that a spreadsheet would read as a formula, prefixed with ``'`` (OWASP CSV injection).

    >>> neutralise(pd.Series(["=HYPERLINK(\\"x\\")", "Anzin", "-1", None], dtype=object)).tolist()
    ['\\'=HYPERLINK("x")', 'Anzin', "'-1", None]
    """
    s = values.astype(object)
    mask = s.str.startswith(_FORMULA_START).fillna(False).astype(bool) if len(s) else pd.Series([], dtype=bool)
    if mask.any():
        s = s.copy()
        s[mask] = "'" + s[mask]
    return s


def _blank_withheld(tidy: pd.DataFrame) -> pd.DataFrame:
    """The contract's columns, numbers of withheld rows blanked: only the three number columns are new
    (a shallow copy: no second copy of a table of millions of rows)."""
    t = tidy[TIDY_COLUMNS].copy(deep=False)
    withheld = t["statut"].isin(["secret", "nd"]).to_numpy()
    for c in ("valeur", "numerateur", "denominateur"):
        t[c] = np.where(withheld, np.nan, t[c].to_numpy(dtype=float))
    return t


def write_csv(tidy: pd.DataFrame, path: str | Path) -> Path:
    """Write the tidy table as ``;``-separated UTF-8 with BOM, ``.`` decimals (atomic).

    Missing numbers (withheld or not applicable) and missing texts are empty cells; texts are quoted
    (RFC 4180), numbers in their shortest exact form (``91``, ``45.5``), booleans ``true``/``false``;
    text cells never start a formula. Written by Arrow's C++ CSV writer (pyarrow): 2,5 s instead of
    43 s with pandas for a 4,7-million-row table, the same values read back.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    t = _blank_withheld(tidy)
    for c in _TEXT_COLUMNS:
        t[c] = neutralise(t[c])
    table = pa.Table.from_pandas(t, preserve_index=False)
    for c in _TEXT_COLUMNS:                       # "" → empty cell, like a missing text
        i = table.schema.get_field_index(c)
        col = table.column(i).cast(pa.large_string())
        table = table.set_column(i, c, pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.large_string()), col))
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(b"\xef\xbb\xbf")
            pcsv.write_csv(table, f, write_options=pcsv.WriteOptions(delimiter=";", quoting_style="needed"))
    return Path(path)


def write_parquet(tidy: pd.DataFrame, path: str | Path) -> Path:
    """Write the whole tidy table as Parquet (atomic), typed as the contract says."""
    t = _blank_withheld(tidy)
    for c in _TEXT_COLUMNS:
        t[c] = t[c].astype("string")
    with atomic_path(path) as tmp:
        t.to_parquet(tmp, index=False, engine="pyarrow")
    return Path(path)


def _sheet_name(name: str, used: set[str]) -> str:
    bad = '[]:*?/\\'
    n = "".join("-" if ch in bad else ch for ch in name)[:31]
    base, i = n, 2
    while n in used:
        suffix = f" ({i})"
        n = base[:31 - len(suffix)] + suffix
        i += 1
    used.add(n)
    return n


def _number_format(unite: str, decimales: int | None) -> str:
    d = decimales if decimales is not None else (1 if unite == "%" else 0)
    return "#,##0" + ("." + "0" * d if d > 0 else "")


_COLUMNS = ["type_territoire", "code_territoire", "libelle_territoire", "libelle_indicateur", "indicateur",
            "unite", "millesime", "millesime_geographie", "valeur", "numerateur", "denominateur",
            "statut", "methode", "qualite", "couverture", "simule", "note_producteur", "motif", "source"]
_WIDTHS = [24, 14, 40, 48, 30, 8, 8, 11, 12, 14, 14, 18, 30, 14, 11, 10, 30, 30, 26]
_ORDER = ["qpv2024", "partie_qpv2024", "qpv2015", "zone", "iris", "commune", "epci", "ensemble_qpv2024_epci",
          "ensemble_qpv2015_epci", "ensemble_qpv2024_departement", "ensemble_qpv2015_departement", "departement",
          "ensemble_qpv2024_france", "ensemble_qpv2015_france", "france"]


class _Book:
    """An XlsxWriter workbook with the observatory's formats."""

    def __init__(self, path: Path, simulated: bool, has_partners: bool):
        import xlsxwriter

        self.wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                                  "strings_to_urls": False, "strings_to_numbers": False,
                                                  "nan_inf_to_errors": False})
        self.simulated = simulated
        self.has_partners = has_partners
        self.used: set[str] = set()
        f = self.wb.add_format
        self.title = f({"bold": True, "font_size": 14})
        self.warn = f({"bold": True, "font_color": "#B00020"})
        self.head = f({"bold": True, "bg_color": "#DDE5F0"})
        self.italic = f({"italic": True})
        self.wrap = f({"text_wrap": True, "valign": "top"})
        self.counts = f({"num_format": "#,##0.0"})
        self.share = f({"num_format": "0%"})
        self.formats: dict[str, object] = {}

    def number(self, fmt: str):
        if fmt not in self.formats:
            self.formats[fmt] = self.wb.add_format({"num_format": fmt})
        return self.formats[fmt]

    def sheet(self, name: str):
        return self.wb.add_worksheet(_sheet_name(name, self.used))

    def title_area(self, ws, title: str, simule: bool | None = None) -> int:
        simule = self.simulated if simule is None else simule
        ws.write_string(0, 0, title, self.title)
        row = 1
        if simule:
            ws.write_string(row, 0, "Données simulées pour une partie des chiffres : la colonne « Donnée simulée » "
                            "dit lesquels" + (" (les chiffres publiés par un partenaire sont réels)."
                                              if self.has_partners else "."), self.warn)
            row += 1
        ws.write_string(row, 0, "Valeur vide : secret statistique ou donnée non disponible (voir les colonnes Statut "
                        "et Motif) ; « estimation » : chiffre calculé à partir des IRIS ou des quartiers 2015, avec "
                        "sa qualité et sa couverture ; pourcentages en points de pourcentage (0 à 100).")
        return row + 2


def _rows(t: pd.DataFrame, catalogue: dict[str, Indicateur], libelles: dict[str, str]) -> pd.DataFrame:
    """The workbook's columns, as written (French labels)."""
    unite = t["indicateur"].map({k: i.unite for k, i in catalogue.items()})
    if "unite" in t.columns:
        unite = unite.fillna(t["unite"])
    noms = {**libelles, **{k: i.libelle for k, i in catalogue.items()}}     # the catalogue's label first
    lib = t["indicateur"].map(noms)
    return pd.DataFrame({
        "type_territoire": t["type_territoire"].map(LIBELLES_TYPE).fillna(t["type_territoire"]),
        "code_territoire": t["code_territoire"], "libelle_territoire": t["libelle_territoire"],
        "libelle_indicateur": lib.fillna(t["indicateur"]), "indicateur": t["indicateur"],
        "unite": unite.fillna(""), "millesime": t["millesime"], "millesime_geographie": t["millesime_geographie"],
        "valeur": t["valeur"], "numerateur": t["numerateur"], "denominateur": t["denominateur"],
        "statut": t["statut"].map(LIBELLES_STATUT).fillna(t["statut"]).replace("", "ok"),
        "methode": t["methode"].map(LIBELLES_METHODE).fillna(t["methode"]), "qualite": t["qualite"],
        "couverture": t["couverture"], "simule": np.where(t["simule"].astype(bool), "oui", "non"),
        "note_producteur": t["note_producteur"].map(note_libelle), "motif": t["motif"], "source": t["source"],
    })


def _write_table(book: _Book, ws, start: int, t: pd.DataFrame, catalogue, libelles, source_line: str) -> None:
    """Header and rows, written row after row (XlsxWriter's constant-memory mode needs that order)."""
    for j, w in enumerate(_WIDTHS):
        ws.set_column(j, j, w)
    for j, c in enumerate(_COLUMNS):
        ws.write_string(start, j, ENTETES[c], book.head)
    rows = _rows(t, catalogue, libelles)
    fmt_of = {k: book.number(_number_format(i.unite, i.decimales)) for k, i in catalogue.items()}
    default = book.number(_number_format("", None))
    value_fmt = [fmt_of.get(i, default) for i in t["indicateur"].tolist()]
    fixed = {"numerateur": book.counts, "denominateur": book.counts, "couverture": book.share}
    numeric = {"millesime", "millesime_geographie", "valeur", "numerateur", "denominateur", "couverture"}
    cols = []
    for j, c in enumerate(_COLUMNS):
        if c in numeric:
            v = pd.to_numeric(rows[c], errors="coerce").to_numpy(float)
            cols.append((j, c, True, np.where(np.isnan(v), None, v).tolist()))
        else:
            v = rows[c].astype(object)
            cols.append((j, c, False, v.where(v.notna() & (v.astype(str) != ""), None).tolist()))
    write_number, write_string = ws.write_number, ws.write_string
    r = start
    for k in range(len(rows)):
        r = start + 1 + k
        for j, c, is_num, values in cols:
            v = values[k]
            if v is None:
                continue
            if is_num:
                write_number(r, j, v, value_fmt[k] if c == "valeur" else fixed.get(c))
            else:
                write_string(r, j, str(v))
    ws.write_string(r + 2, 0, source_line, book.italic)


def _sorted(tidy: pd.DataFrame, catalogue: dict[str, Indicateur]) -> pd.DataFrame:
    order = {k: i for i, k in enumerate(_ORDER)}
    t = tidy.assign(_o=tidy["type_territoire"].map(order).fillna(99),
                    _i=tidy["indicateur"].map({k: i for i, k in enumerate(catalogue)}).fillna(10_000))
    return t.sort_values(["_i", "_o", "code_territoire", "millesime", "source"], kind="stable")


def _a_lire(book: _Book, catalogue: dict[str, Indicateur], iris_omis: int) -> None:
    ws = book.sheet(FEUILLE_A_LIRE)
    ws.set_column(0, 0, 34)
    ws.set_column(1, 1, 48)
    ws.set_column(2, 9, 40)
    ws.write_string(0, 0, "À lire : définitions des indicateurs", book.title)
    row = 1
    if book.simulated:
        ws.write_string(row, 0, "Données simulées pour une partie des chiffres (colonne « Donnée simulée »).", book.warn)
        row += 1
    ws.write_string(row, 0, "Fichiers équivalents : indicateurs.csv (UTF-8, séparateur « ; », point décimal) et "
                    "indicateurs.parquet. Un taux d'un ensemble de territoires est la somme des numérateurs divisée "
                    "par la somme des dénominateurs, jamais une moyenne de taux ; médianes, quartiles et taux publiés "
                    "sans effectifs viennent du producteur.")
    row += 1
    if iris_omis:
        ws.write_string(row, 0, f"Les {iris_omis} lignes des IRIS sont dans indicateurs.csv et indicateurs.parquet "
                        "(classeur limité aux autres niveaux).", book.warn)
        row += 1
    row += 1
    heads = ["Identifiant", "Indicateur", "Thème", "Unité", "Définition", "Limites", "Secret statistique",
             "Source", "Numérateur", "Dénominateur"]
    for j, h in enumerate(heads):
        ws.write_string(row, j, h, book.head)
    for ind in catalogue.values():
        row += 1
        cells = [ind.id, ind.libelle, ind.libelle_theme, ind.unite, ind.definition, ind.limites, ind.secret,
                 ind.source_libelle, ind.numerateur or ind.variable or "", ind.denominateur or ""]
        for j, v in enumerate(cells):
            ws.write_string(row, j, str(v or ""), book.wrap if j in (1, 4, 5, 6) else None)


def write_xlsx(tidy: pd.DataFrame, catalogue: dict[str, Indicateur], path: str | Path,
               simulated: bool, libelles: dict[str, str] | None = None) -> Path:
    """Write the tidy table as an XLSX workbook, one sheet per theme (atomic).

    Parameters
    ----------
    tidy : the tidy table (columns of the contract).
    catalogue : ``{id: Indicateur}``: labels, units, themes, definitions, source lines.
    path : target ``.xlsx``.
    simulated : some inputs were simulated: the title areas say which column tells.
    libelles : labels of indicator ids outside the catalogue (partner figures); the id otherwise.

    Raises
    ------
    OutputError : the workbook cannot be written (full disk, read-only folder, file open in Excel on a
        shared drive…): the previous workbook is left intact.
    """
    from xlsxwriter import exceptions as xlsx_errors

    libelles = libelles or {}
    t = _blank_withheld(tidy)
    iris_omis = 0
    if len(t) > MAX_LIGNES_XLSX:
        iris = t["type_territoire"] == "iris"
        iris_omis = int(iris.sum())
        t = t[~iris]
    t = _sorted(t, catalogue)
    in_cat = t["indicateur"].isin(list(catalogue))
    with atomic_path(path) as tmp:
        book = _Book(Path(tmp), simulated, bool((t["methode"] == "partenaire").any()))
        _a_lire(book, catalogue, iris_omis)
        for theme, libelle in THEMES.items():
            ids = [k for k, v in catalogue.items() if v.theme == theme]
            rows = t[t["indicateur"].isin(ids)]
            ws = book.sheet(FEUILLES.get(theme, libelle))
            start = book.title_area(ws, libelle, simule=bool(rows["simule"].any()))
            present = set(rows["indicateur"])
            sources = sorted({catalogue[i].source_libelle or catalogue[i].source for i in ids if i in present})
            partners = sorted(set(rows.loc[rows["methode"] == "partenaire", "source"]))
            line = "Source : " + ("; ".join(sources) if sources else "aucune donnée pour ce thème")
            if partners:
                line += " ; chiffres publiés par les partenaires : " + ", ".join(partners)
            _write_table(book, ws, start, rows, catalogue, libelles, line)
        others = t[~in_cat]
        if len(others):
            ws = book.sheet(FEUILLE_PARTENAIRES)
            # partner tables are the analysts' real files: never labelled simulated
            start = book.title_area(ws, "Chiffres des partenaires hors catalogue", simule=False)
            _write_table(book, ws, start, others, catalogue, libelles, "Source : tables partenaires déclarées dans la "
                         "configuration (" + ", ".join(sorted(set(others["source"]))) + ")")
        try:
            book.wb.close()
        except xlsx_errors.FileCreateError as e:  # wraps the OSError of the file system
            cause = e.args[0] if e.args and isinstance(e.args[0], OSError) else OSError(str(e))
            raise output_error(path, cause) from e
    return Path(path)


def catalogue_rows(catalogue: dict[str, Indicateur]) -> list[dict]:
    """One dict per indicator for ``observatoire indicateurs`` (French keys, display order).

    Keys: ``id``, ``libelle``, ``theme`` (libellé), ``unite``, ``type``, ``source``, ``echelles``
    (« iris, commune, … »), ``polarite`` (« plus élevé = plus fragile » …), ``definition``.
    """
    pol = {1: "valeur élevée = plus fragile", -1: "valeur élevée = plus favorable", 0: "neutre"}
    order = {k: i for i, k in enumerate(THEMES)}
    inds = sorted(catalogue.values(), key=lambda i: order.get(i.theme, 99))
    return [{"id": i.id, "libelle": i.libelle, "theme": i.libelle_theme, "unite": i.unite, "type": i.type,
             "source": i.source_libelle or i.source, "echelles": ", ".join(i.echelles),
             "polarite": pol.get(i.polarite, str(i.polarite)), "definition": i.definition} for i in inds]
