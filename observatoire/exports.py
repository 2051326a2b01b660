"""Exports of the tidy indicator table: CSV for analysts' Excel, XLSX by theme, catalogue listing.

- :func:`write_csv`: UTF-8 **with BOM** (so that Excel detects the encoding), ``;`` separator (what a
  French Excel expects), ``.`` decimal point (unambiguous for scripts; documented in the README),
  one header line, the columns of the contract in order. Withheld values (statut ``secret``/``nd``)
  are empty cells, never 0.
- :func:`write_xlsx`: one sheet per theme (THEMES order) with French headers, a title area (with
  « données simulées » when any input was simulated), the source line under each sheet's table,
  a « Chiffres partenaires » sheet for partner ids outside the catalogue, and an « À lire » sheet
  with the definitions, limits and secrecy rules of every indicator.
- :func:`catalogue_rows`: the rows ``observatoire indicateurs`` prints.

Both writers write to a temporary file in the target folder, then rename it: an interrupted run
never leaves a half-written file.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from .catalogue import THEMES, Indicateur
from .store import atomic_path
from .tidy import METHODES_ESTIMATION, METHODES_LIBELLES, TIDY_COLUMNS, TYPES_LIBELLES


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

LIBELLES_STATUT = {"ok": "", "secret": "secret statistique", "nd": "non disponible",
                   "simule": "donnée simulée", "estime": "estimation"}

LIBELLES_METHODE = {k: (f"estimation ({v})" if k in METHODES_ESTIMATION else v)
                    for k, v in METHODES_LIBELLES.items()}

#: Sheet names (Excel: 31 characters at most); the full theme label is the sheet's title.
FEUILLES = {"demographie": "Population et ménages", "revenus": "Revenus et pauvreté",
            "insertion": "Insertion", "education": "Réussite éducative",
            "familles": "Familles et prestations", "sante": "Santé et accès aux droits",
            "logement": "Logement et cadre de vie", "mobilite": "Mobilité"}

FEUILLE_PARTENAIRES = "Chiffres partenaires"
FEUILLE_A_LIRE = "À lire"


def _blank_withheld(tidy: pd.DataFrame) -> pd.DataFrame:
    t = tidy.copy()
    withheld = t["statut"].isin(["secret", "nd"])
    for c in ("valeur", "numerateur", "denominateur"):
        t[c] = t[c].astype(float)
        t.loc[withheld, c] = np.nan
    return t


def write_csv(tidy: pd.DataFrame, path: str | Path) -> Path:
    """Write the tidy table as ``;``-separated UTF-8 with BOM, ``.`` decimals (atomic).

    Missing numbers (withheld or not applicable) are empty cells.
    """
    with atomic_path(path) as tmp:
        t = _blank_withheld(tidy)[TIDY_COLUMNS]
        t.to_csv(tmp, sep=";", index=False, encoding="utf-8-sig", decimal=".", na_rep="",
                 lineterminator="\n")
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


def _cell(v):
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, (np.floating,)):
        return None if np.isnan(v) else float(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if v is pd.NA:
        return None
    return v


def _number_format(unite: str, decimales: int | None) -> str:
    d = decimales if decimales is not None else (1 if unite == "%" else 0)
    return "#,##0" + ("." + "0" * d if d > 0 else "")


def write_xlsx(tidy: pd.DataFrame, catalogue: dict[str, Indicateur], path: str | Path,
               simulated: bool, libelles: dict[str, str] | None = None) -> Path:
    """Write the tidy table as an XLSX workbook, one sheet per theme (atomic).

    Parameters
    ----------
    tidy : DataFrame
        The tidy table (columns of the contract).
    catalogue : dict
        ``{id: Indicateur}``: labels, units, themes, definitions, source lines.
    path : path
        Target ``.xlsx``.
    simulated : bool
        When True, every sheet's title area says « données simulées ».
    libelles : dict, optional
        Labels of indicator ids outside the catalogue (partner figures, see
        :func:`observatoire.sources.partner.partner_labels`); the id is shown otherwise.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill

    t = _blank_withheld(tidy)
    wb = Workbook(write_only=True)
    used: set[str] = set()
    bold = Font(bold=True)
    title_font = Font(bold=True, size=14)
    warn_font = Font(bold=True, color="B00020")
    header_fill = PatternFill("solid", fgColor="DDE5F0")
    columns = ["type_territoire", "code_territoire", "libelle_territoire", "libelle_indicateur", "indicateur",
               "unite", "millesime", "millesime_geographie", "valeur", "numerateur", "denominateur",
               "statut", "methode", "qualite", "simule", "motif", "source"]
    widths = [24, 14, 40, 48, 30, 8, 8, 11, 12, 14, 14, 18, 30, 14, 10, 30, 26]

    def styled(ws, value, font=None, fill=None, fmt=None, wrap=False):
        c = WriteOnlyCell(ws, value=_cell(value))
        if font is not None:
            c.font = font
        if fill is not None:
            c.fill = fill
        if fmt is not None:
            c.number_format = fmt
        if wrap:
            c.alignment = Alignment(wrap_text=True, vertical="top")
        return c

    has_partners = bool((t["methode"] == "partenaire").any())

    def title_area(ws, title: str, simule: bool = simulated):
        ws.append([styled(ws, title, title_font)])
        if simule:
            ws.append([styled(ws, "Données simulées : ces chiffres servent de démonstration et ne décrivent "
                                  "pas le territoire réel"
                                  + (" (sauf les chiffres publiés par un partenaire, qui sont réels)."
                                     if has_partners else "."), warn_font)])
        ws.append([styled(ws, "Valeur vide : secret statistique ou donnée non disponible (voir la colonne "
                              "Statut) ; « estimation » : chiffre calculé à partir des IRIS ou des quartiers "
                              "2015, avec sa qualité ; pourcentages en points de pourcentage (0 à 100).")])
        ws.append([])

    def table(ws, rows: pd.DataFrame, source_line: str):
        for i, w in enumerate(widths):
            ws.column_dimensions[chr(ord("A") + i)].width = w
        ws.append([styled(ws, ENTETES[c], bold, header_fill) for c in columns])
        for r in rows.itertuples(index=False):
            ind = catalogue.get(r.indicateur)
            unite = ind.unite if ind is not None else getattr(r, "unite", "")
            fmt_v = _number_format(unite, ind.decimales if ind is not None else None)
            values = {
                "type_territoire": LIBELLES_TYPE.get(r.type_territoire, r.type_territoire),
                "code_territoire": r.code_territoire, "libelle_territoire": r.libelle_territoire,
                "libelle_indicateur": ind.libelle if ind is not None else (libelles or {}).get(r.indicateur, r.indicateur),
                "indicateur": r.indicateur, "unite": unite, "millesime": r.millesime,
                "millesime_geographie": r.millesime_geographie, "valeur": r.valeur,
                "numerateur": r.numerateur, "denominateur": r.denominateur,
                "statut": LIBELLES_STATUT.get(r.statut, r.statut) or "ok",
                "methode": LIBELLES_METHODE.get(r.methode, r.methode), "qualite": r.qualite,
                "simule": "oui" if bool(getattr(r, "simule", False)) else "non",
                "motif": getattr(r, "motif", "") or "", "source": r.source,
            }
            cells = []
            for c in columns:
                fmt = fmt_v if c == "valeur" else ("#,##0.0" if c in ("numerateur", "denominateur") else None)
                cells.append(styled(ws, values[c], fmt=fmt))
            ws.append(cells)
        ws.append([])
        ws.append([styled(ws, source_line, Font(italic=True))])

    order = {k: i for i, k in enumerate(["qpv2024", "partie_qpv2024", "qpv2015", "zone", "iris", "commune",
                                         "epci", "ensemble_qpv2024_epci", "ensemble_qpv2015_epci",
                                         "ensemble_qpv2024_departement", "ensemble_qpv2015_departement",
                                         "departement", "ensemble_qpv2024_france", "ensemble_qpv2015_france",
                                         "france"])}
    t = t.assign(_o=t["type_territoire"].map(order).fillna(99),
                 _i=t["indicateur"].map({k: i for i, k in enumerate(catalogue)}).fillna(10_000))
    t = t.sort_values(["_i", "_o", "code_territoire", "millesime", "source"], kind="stable")
    in_cat = t["indicateur"].isin(list(catalogue))
    with atomic_path(path) as tmp:
        ws = wb.create_sheet(_sheet_name(FEUILLE_A_LIRE, used))
        ws.column_dimensions["A"].width = 34
        ws.column_dimensions["B"].width = 48
        for col in "CDEFGHIJ":
            ws.column_dimensions[col].width = 40
        ws.append([styled(ws, "À lire : définitions des indicateurs", title_font)])
        if simulated:
            ws.append([styled(ws, "Données simulées : classeur produit à partir de fichiers de démonstration.",
                              warn_font)])
        ws.append([styled(ws, "Fichier CSV équivalent : indicateurs.csv (UTF-8, séparateur « ; », point décimal). "
                              "Un taux d'un ensemble de territoires est la somme des numérateurs divisée par "
                              "la somme des dénominateurs, jamais une moyenne de taux ; médianes et quartiles "
                              "viennent du producteur.", wrap=False)])
        ws.append([])
        heads = ["Identifiant", "Indicateur", "Thème", "Unité", "Définition", "Limites", "Secret statistique",
                 "Source", "Numérateur", "Dénominateur"]
        ws.append([styled(ws, h, bold, header_fill) for h in heads])
        for ind in catalogue.values():
            ws.append([styled(ws, ind.id), styled(ws, ind.libelle, wrap=True),
                       styled(ws, ind.libelle_theme), styled(ws, ind.unite),
                       styled(ws, ind.definition, wrap=True), styled(ws, ind.limites, wrap=True),
                       styled(ws, ind.secret, wrap=True), styled(ws, ind.source_libelle),
                       styled(ws, ind.numerateur or ind.variable or ""), styled(ws, ind.denominateur or "")])
        for theme, libelle in THEMES.items():
            ids = [k for k, v in catalogue.items() if v.theme == theme]
            rows = t[t["indicateur"].isin(ids)]
            ws = wb.create_sheet(_sheet_name(FEUILLES.get(theme, libelle), used))
            title_area(ws, f"{libelle}{' — données simulées' if simulated else ''}")
            sources = sorted({catalogue[i].source_libelle or catalogue[i].source for i in ids
                              if i in set(rows["indicateur"])})
            partners = sorted(set(rows.loc[rows["methode"] == "partenaire", "source"]))
            line = "Source : " + ("; ".join(sources) if sources else "aucune donnée pour ce thème")
            if partners:
                line += " ; chiffres publiés par les partenaires : " + ", ".join(partners)
            if simulated:
                line += " (données simulées)"
            table(ws, rows, line)
        others = t[~in_cat]
        if len(others):
            ws = wb.create_sheet(_sheet_name(FEUILLE_PARTENAIRES, used))
            # partner tables are the analysts' real files: never labelled simulated
            title_area(ws, "Chiffres des partenaires hors catalogue", simule=False)
            table(ws, others, "Source : tables partenaires déclarées dans la configuration ("
                  + ", ".join(sorted(set(others["source"]))) + ")")
        wb.save(tmp)
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
