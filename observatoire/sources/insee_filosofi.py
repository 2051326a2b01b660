"""INSEE Filosofi (revenus disponibles localisés): IRIS, communes/EPCI/départements/régions/France, and
quartiers prioritaires.

Real files read here (VERIFIED on ``../shared/data/real/insee_filosofi`` and ``insee_qpv2015``):
- ``BASE_TD_FILO_DISP_IRIS_<yyyy>.csv`` (2014–2019): ``IRIS;LIBIRIS;COM;LIBCOM;DISP_TP60yy;…``, the
  precaution note in ``note`` (2014) or ``DISP_NOTEyy``. INSEE **publishes** the values of a noted
  IRIS: the note is kept per figure (``notes``), never turned into secrecy.
- ``FILO<yyyy>_DISP_{COM,EPCI,DEP,REG,METROPOLE}.csv`` (2014–2019): ``CODGEO;LIBGEO;NBMENyy;…;Q2yy``
  (the median), ``RD`` and ``Q3_Q1`` without the year. These files carry no poverty rate: it comes with
  the ``FILO<yyyy>_DISP_Pauvres_<niveau>`` member of the same INSEE zip (``TP60yy``, ASSUMED), read the
  same way when present.
- ``data_filo<yy>_qp_revdis.csv`` (2016–2019): quartier figures, column names lower case with
  ``disp_q2_a16``/``tp60_a16`` in 2016–2017, upper case ``DISP_MED_A18``/``DISP_TP60_A18`` from 2018; a
  first row ``Ensemble`` (all QPV) kept as the reference ``ensemble_qpv2015_france``.
- INSEE's current zips (``revenus_pauvrete_2021_qp15_csv.zip`` members ``…_QP.csv``/``…_ENSQP.csv``,
  INFERRED; ``base-cc-filosofi-2021`` members ``cc_filosofi_2021_COM.csv``…, ASSUMED) use the same
  stems and are read by the same functions.

:data:`STEMS` is the ONE declared table of Filosofi column stems (a column is ``<stem><yy>`` or
``<stem>_A<yy>``, any case) → normalised variable. Producer values only: medians, quartiles and rates are
never summed by the engine.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import FormatError
from ..tidy import CODE_ENSEMBLE_FRANCE, CODE_FRANCE
from .table import SourceTable
from .tabular import missing_columns_error, normalise_code, parse_cells, read_table

#: Filosofi column stem (without vintage, upper case, ``DISP_`` prefix removed) → normalised variable.
STEMS: dict[str, str] = {
    "TP60": "DISP_TP60", "Q1": "DISP_Q1", "Q2": "DISP_MED", "MED": "DISP_MED", "Q3": "DISP_Q3",
    "EQ": "DISP_EQ", "Q1Q3Q2": "DISP_EQ", "Q3_Q1": "DISP_Q3_Q1",
    "D1": "DISP_D1", "D2": "DISP_D2", "D3": "DISP_D3", "D4": "DISP_D4", "D6": "DISP_D6", "D7": "DISP_D7",
    "D8": "DISP_D8", "D9": "DISP_D9", "RD": "DISP_RD", "D1D9": "DISP_RD", "S80S20": "DISP_S80S20",
    "GI": "DISP_GI", "GINI": "DISP_GI", "PACT": "DISP_PACT", "PTSA": "DISP_PTSA", "PTSAC": "DISP_PTSAC",
    "PCHO": "DISP_PCHO", "PBEN": "DISP_PBEN", "PPEN": "DISP_PPEN", "PPAT": "DISP_PPAT",
    "PPSOC": "DISP_PPSOC", "PPFAM": "DISP_PPFAM", "PPMINI": "DISP_PPMINI", "PPLOGT": "DISP_PPLOGT",
    "PIMPOT": "DISP_PIMPOT", "NBMEN": "NB_MENFISC", "NBMENFISC": "NB_MENFISC", "NBPERS": "NB_PERSMENFISC",
    "NBPERSMENFISC": "NB_PERSMENFISC", "NBUC": "NB_UC", "INCERT": "DISP_INCERT",
}
#: Variables a file of each kind must hold (checked; the message lists what was found).
REQUIRED = {"iris": ("DISP_MED", "DISP_TP60"), "cc": ("DISP_MED",), "qp": ("DISP_MED", "DISP_TP60")}

#: Level of a comparison file by the suffix of its name.
NIVEAUX_CC = {"COM": "commune", "EPCI": "epci", "DEP": "departement", "REG": "region",
              "METROPOLE": "france", "METRO": "france", "FRANCE": "france"}

_YY = r"(\d{2})"


def _split(col: str) -> tuple[str, str | None]:
    """``DISP_TP6019`` → (``TP60``, ``19``); ``disp_q2_a16`` → (``Q2``, ``16``); ``RD`` → (``RD``, None)."""
    c = col.upper()
    c = re.sub(r"^(DISP|DEC)_", "", c)
    m = re.match(rf"^(.+?)_A{_YY}$", c) or re.match(rf"^(.+?){_YY}$", c)
    if m and m.group(1) in STEMS:
        return m.group(1), m.group(2)
    return c, None


def _columns(cols: list[str]) -> tuple[dict[str, str], str | None, str | None]:
    """File column → variable, the 2-digit vintage, and the note column."""
    mapping, years = {}, []
    note = None
    for col in cols:
        up = col.upper()
        if up in ("NOTE", "DISP_NOTE") or re.match(rf"^(DISP_)?NOTE(_A)?{_YY}$", up):
            note = col
            continue
        stem, yy = _split(col)
        if stem in STEMS:
            if yy is not None:
                years.append(yy)
            elif stem not in ("RD", "Q3_Q1"):
                continue
            mapping.setdefault(col, STEMS[stem])
    yy = max(set(years), key=years.count) if years else None
    mapping = {c: v for c, v in mapping.items() if _split(c)[1] in (yy, None)}
    # one column per variable (first wins: ``Q2`` before ``MED``)
    seen, out = set(), {}
    for c, v in mapping.items():
        if v not in seen:
            out[c] = v
            seen.add(v)
    return out, yy, note


def _notes(df: pd.DataFrame, note_col: str | None, idx: pd.Index, variables: list[str]) -> pd.DataFrame:
    out = pd.DataFrame("", index=idx, columns=variables, dtype=object)
    if note_col is None:
        return out
    v = df[note_col].astype(str).str.strip().to_numpy()
    flagged = (v != "") & (v != "0")
    if flagged.any():
        text = np.where(flagged, np.char.add(f"{note_col.upper()}:", v.astype(str)), "")
        for c in variables:
            out[c] = text
    return out


def _table(df: pd.DataFrame, lines, fichier: str, codes: pd.Series, kind: str, niveau: str,
           source: str, simule: bool, geo_offset: int = 1, libelle_col: str | None = None) -> SourceTable:
    mapping, yy, note_col = _columns(list(df.columns))
    found = set(mapping.values())
    missing = [v for v in REQUIRED[kind] if v not in found]
    if yy is None or missing:
        raise missing_columns_error(fichier, [f"{v}xx" for v in (missing or REQUIRED[kind])], list(df.columns),
                                    "Filosofi", __name__)
    idx = pd.Index(codes.to_numpy(), name="code")
    data, statut = parse_cells(df[list(mapping)].rename(columns=mapping), fichier, idx, lines)
    notes = _notes(df, note_col, idx, list(data.columns))
    m = 2000 + int(yy)
    lib = pd.Series(df[libelle_col].to_numpy(), index=idx) if libelle_col and libelle_col in df.columns else None
    geo = 2015 if niveau == "qpv2015" else 2024 if niveau == "qpv2024" else m + geo_offset
    return SourceTable(source=source, niveau=niveau, millesime=m, millesime_geographie=geo, data=data,
                       statut=statut, simule=simule, libelles=lib, fichier=fichier, notes=notes)


def read_filosofi_iris(path: str | Path, communes: set[str] | None = None, *,
                       source: str = "insee_filosofi_iris", simule: bool = False) -> SourceTable:
    """Read Filosofi at IRIS (``BASE_TD_FILO_DISP_IRIS_<yyyy>.csv`` or the official zip), any vintage.

    Columns ``DISP_<VAR><yy>`` → ``DISP_<VAR>`` (``DISP_TP6019`` → ``DISP_TP60``), millesime 2000+yy,
    geography of 1 January yy+1. Codes ``s`` → secret, empty/``nd``/``ns``/``so`` → nd. The precaution
    note (``note``, ``DISP_NOTEyy``) is kept in ``notes``: the values of a noted IRIS stay published.
    """
    raw = read_table(path, member=r"^(?!meta).*\.(csv|xlsx)$", header_keys=("IRIS", "CODE_IRIS", "CODGEO"))
    df = raw.frame
    key = next(c for c in df.columns if c.upper() in ("IRIS", "CODE_IRIS", "CODGEO"))
    codes, _ = normalise_code(df[key], 9)
    lines = raw.lines
    if communes is not None:
        keep = codes.str[:5].isin(set(communes)).to_numpy()
        df, codes, lines = df[keep], codes[keep], lines[keep]
    lib = next((c for c in df.columns if c.upper() in ("LIBIRIS", "LIB_IRIS")), None)
    return _table(df, lines, raw.name, codes, "iris", "iris", source, simule, libelle_col=lib)


def niveau_cc(name: str) -> str | None:
    """Level of a Filosofi comparison file from its name (``FILO2019_DISP_EPCI.csv`` → ``epci``)."""
    m = re.search(r"_(COM|EPCI|DEP|REG|METROPOLE|METRO|FRANCE)(?:\.[A-Za-z]+)?$", Path(name).name, re.IGNORECASE)
    return NIVEAUX_CC[m.group(1).upper()] if m else None


def read_filosofi_cc(path: str | Path, niveau: str | None = None, codes: set[str] | None = None, *,
                     member: str | None = None, source: str = "insee_filosofi_cc",
                     simule: bool = False) -> SourceTable:
    """Read a Filosofi comparison file: communes, EPCI, départements, régions or France métropolitaine.

    ``FILO<yyyy>_DISP_<NIVEAU>.csv`` (VERIFIED 2014–2019) or its ``_Pauvres_`` twin (poverty rate,
    ASSUMED), or ``cc_filosofi_<yyyy>_<NIVEAU>.csv`` (ASSUMED). ``niveau`` defaults to the file-name
    suffix; the France row gets code ``FRM``. ``codes`` keeps only these territories.
    """
    raw = read_table(path, member=member, header_keys=("CODGEO",))
    niveau = niveau or niveau_cc(raw.name)
    if niveau is None:
        raise FormatError("Niveau géographique introuvable dans le nom du fichier Filosofi (COM, EPCI, DEP, REG "
                          "ou METROPOLE attendu).", fichier=raw.name,
                          correction="gardez le nom officiel du fichier (par exemple FILO2019_DISP_COM.csv)")
    df = raw.frame
    if "CODGEO" not in [c.upper() for c in df.columns]:
        raise missing_columns_error(raw.name, ["CODGEO"], list(df.columns), "Filosofi", __name__)
    key = next(c for c in df.columns if c.upper() == "CODGEO")
    width = {"commune": 5, "epci": 9, "departement": 2, "region": 2}.get(niveau, 0)
    code = normalise_code(df[key], width)[0] if width else df[key].astype(str).str.strip()
    if niveau == "departement":
        code = code.where(~code.str.fullmatch(r"\d"), code.str.zfill(2))
    if niveau == "france":
        code = pd.Series([CODE_FRANCE] * len(df), index=df.index)
    lines = raw.lines
    if codes is not None:
        keep = code.isin(set(codes)).to_numpy()
        df, code, lines = df[keep], code[keep], lines[keep]
    kind = "cc"
    if re.search(r"pauvres", raw.name, re.IGNORECASE):
        REQUIRED.setdefault("cc_pauvres", ("DISP_TP60",))
        kind = "cc_pauvres"
    lib = next((c for c in df.columns if c.upper() == "LIBGEO"), None)
    return _table(df, lines, raw.name, code, kind, niveau, source, simule, libelle_col=lib)


_MEMBRE_CC = re.compile(r"(?:FILO\d{4}_DISP(?:_PAUVRES)?|CC_FILOSOFI_\d{4})_(COM|EPCI|DEP|REG|METROPOLE|METRO)\.(CSV|XLSX)$",
                        re.IGNORECASE)


def members_cc(path: str | Path) -> list[str]:
    """Members of a Filosofi communal/supra zip that :func:`read_filosofi_cc` reads (or ``[path]`` for a
    plain file)."""
    import zipfile

    p = Path(path)
    if not zipfile.is_zipfile(p):
        return [p.name]
    with zipfile.ZipFile(p) as z:
        return sorted(n for n in z.namelist() if _MEMBRE_CC.search(Path(n).name))


def read_filosofi_zip(path: str | Path, codes: dict[str, set[str]] | None = None, *,
                      source: str = "insee_filosofi_cc", simule: bool = False) -> list[SourceTable]:
    """Every Filosofi comparison member of a zip (``indic-struct-distrib-revenu-<yyyy>-COMMUNES`` or
    ``-SUPRA``), or a plain ``FILO…`` file: one :class:`SourceTable` per member. ``codes``: per level
    (``commune``, ``epci``…), the territories to keep (a level absent from it is kept whole)."""
    import zipfile

    p = Path(path)
    if not zipfile.is_zipfile(p):
        t = read_filosofi_cc(p, source=source, simule=simule)
        keep = (codes or {}).get(t.niveau)
        return [_subset(t, keep)]
    out = []
    for name in members_cc(p):
        t = read_filosofi_cc(p, member=re.escape(Path(name).name) + "$", source=source, simule=simule)
        out.append(_subset(t, (codes or {}).get(t.niveau)))
    if not out:
        raise FormatError("L'archive Filosofi ne contient aucun membre FILO<année>_DISP_<niveau>.", fichier=str(p),
                          correction="utilisez l'archive officielle de l'Insee (indic-struct-distrib-revenu-…)")
    return out


def _subset(t: SourceTable, keep: set[str] | None) -> SourceTable:
    if keep is None:
        return t
    sel = t.data.index.isin(list(keep))
    t.data, t.statut = t.data[sel], t.statut[sel]
    t.notes = t.notes[sel] if t.notes is not None else None
    t.libelles = t.libelles[sel] if t.libelles is not None else None
    return t


def read_filosofi_qp(path: str | Path, quartiers: set[str] | None = None, *, member: str | None = None,
                     source: str = "insee_filosofi_qp", simule: bool = False) -> list[SourceTable]:
    """Read Filosofi by quartier: ``data_filo<yy>_qp_revdis.csv`` (any casing) or the official zip.

    Returns the quartiers (level ``qpv2015`` or ``qpv2024`` from the code shapes) and, when the file
    holds the ``Ensemble`` row (or an ``_ENSQP`` member), the reference ``ensemble_qpv<g>_france``
    (code ``FR``). ``quartiers`` keeps only these codes (the Ensemble row is always kept).
    """
    raw = read_table(path, member=member or r"^(?!meta).*(_QP|revdis)[^/]*\.(csv|xlsx)$",
                     header_keys=("CODGEO",))
    df = raw.frame
    key = next((c for c in df.columns if c.upper() == "CODGEO"), df.columns[0])
    code = df[key].astype(str).str.strip()
    ens = code.str.upper().isin(["ENSEMBLE", "00"]).to_numpy()
    geo = 2024 if code[~ens].str.startswith("QN").all() and (~ens).any() else 2015
    niveau = f"qpv{geo}"
    out = []
    sel = ~ens
    if quartiers is not None:
        sel = sel & code.isin(set(quartiers)).to_numpy()
    if sel.any():
        bad = code[sel][~code[sel].str.match(r"^Q[PN]")]
        if len(bad):
            raise FormatError(f"Codes de quartier inattendus : {', '.join(bad.head(3))}.", fichier=raw.name,
                              correction="utilisez le fichier Filosofi par quartier officiel")
        out.append(_table(df[sel], raw.lines[sel], raw.name, code[sel], "qp", niveau, source, simule))
    if ens.any():
        fr = pd.Series([CODE_ENSEMBLE_FRANCE] * int(ens.sum()))
        out.append(_table(df[ens].iloc[:1], raw.lines[ens][:1], raw.name, fr.iloc[:1], "qp",
                          f"ensemble_qpv{geo}_france", source, simule))
    return out


# ---------------------------------------------------------------------------------------------------
# Sources (registry declarations)
# ---------------------------------------------------------------------------------------------------

from .base import Gabarit, PagedUrl, Source  # noqa: E402

BASE_URL = "https://www.insee.fr/fr/statistiques/fichier"
#: insee.fr page of each Filosofi communal edition (INFERRED from public download scripts).
PAGES_CC = {2013: "2388413", 2015: "3560118", 2016: "4190006", 2018: "5009218", 2019: "6036907",
            2020: "6692220", 2021: "7756855"}
PAGES_IRIS = {2021: "8229323"}

SOURCES: list[Source] = [
    Source(id="insee_filosofi_iris", producteur="Insee", titre="Filosofi : revenus disponibles à l'IRIS",
           url=PagedUrl(f"{BASE_URL}/{{page}}/BASE_TD_FILO_DISP_IRIS_{{millesime}}_CSV.zip", PAGES_IRIS,
                        depuis={2020: f"{BASE_URL}/{{page}}/BASE_TD_FILO_IRIS_{{millesime}}_DISP_CSV.zip"}),
           fichier="BASE_TD_FILO_DISP_IRIS_{millesime}.csv", format="CSV ; (ou zip)", millesime_cle="filosofi",
           statut_format="VERIFIED", page="https://www.insee.fr/fr/statistiques/8229323",
           description="IRIS des communes de 5 000 habitants ou plus ; médiane, quartiles, taux de pauvreté ; "
                       "note de précaution par IRIS (valeurs publiées)."),
    Source(id="insee_filosofi_com", producteur="Insee", titre="Filosofi : revenus et pauvreté des communes",
           url=PagedUrl(f"{BASE_URL}/{{page}}/indic-struct-distrib-revenu-{{millesime}}-COMMUNES_csv.zip", PAGES_CC),
           fichier="indic-struct-distrib-revenu-{millesime}-COMMUNES_csv.zip", format="zip de CSV ;",
           millesime_cle="filosofi", statut_format="VERIFIED", optionnel=True,
           page="https://www.insee.fr/fr/statistiques/7756855",
           membres=("FILO{millesime}_DISP_COM.csv", "FILO{millesime}_DISP_Pauvres_COM.csv"),
           description="Membres FILO<année>_DISP_COM (vérifié) et FILO<année>_DISP_Pauvres_COM (taux de "
                       "pauvreté, forme supposée)."),
    Source(id="insee_filosofi_supra", producteur="Insee",
           titre="Filosofi : revenus et pauvreté des EPCI, départements, régions et de la France",
           url=PagedUrl(f"{BASE_URL}/{{page}}/indic-struct-distrib-revenu-{{millesime}}-SUPRA_csv.zip", PAGES_CC),
           fichier="indic-struct-distrib-revenu-{millesime}-SUPRA_csv.zip", format="zip de CSV ;",
           millesime_cle="filosofi", statut_format="VERIFIED", optionnel=True,
           page="https://www.insee.fr/fr/statistiques/7756855",
           membres=("FILO{millesime}_DISP_EPCI.csv", "FILO{millesime}_DISP_DEP.csv",
                    "FILO{millesime}_DISP_REG.csv", "FILO{millesime}_DISP_METROPOLE.csv"),
           description="Un membre par niveau (vérifiés) et leurs jumeaux _Pauvres_ (taux de pauvreté)."),
    Source(id="insee_filosofi_qp", producteur="Insee", titre="Filosofi : revenus et pauvreté des quartiers 2015",
           url="", fichier=Gabarit("data_filo{aa}_qp_revdis.csv"), format="CSV ;", millesime_cle="filosofi",
           statut_format="VERIFIED", optionnel=True, page="https://www.insee.fr/fr/statistiques/2500477",
           description="Une ligne par QP 2015 et la ligne « Ensemble » ; pas d'adresse stable : déposez le "
                       "fichier de l'Insee sous ce nom dans le miroir."),
    Source(id="insee_filosofi_qp2024", producteur="Insee", titre="Filosofi : revenus et pauvreté des quartiers 2024",
           url="", fichier=Gabarit("data_filo{aa}_qn_revdis.csv"), format="CSV ;", millesime_cle="filosofi_qp2024",
           statut_format="ASSUMED", optionnel=True, page="https://www.insee.fr/fr/statistiques/8243167",
           description="Forme SUPPOSÉE : celle des fichiers réels par QP 2015, codes QN ; aucun fichier réel ici."),
]
