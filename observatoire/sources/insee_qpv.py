"""INSEE's tables by quartier prioritaire: « données par thématique » (DEMO, IPRO, REVN) and « données
par source » (``data_DEMO_2019_V1_QP``, ``data_CAF_2020_IRIS``…), any edition, any geography.

Real files read here (VERIFIED on the copies of ``../shared/data/real/``): ``DEMO_2017…2022.csv``,
``IPRO_2017…2022.csv``, ``REVN_2017…2022.csv``, ``data_DEMO_2019…2021_V1_QP.csv`` (QPV 2015 geography,
codes ``QPdddnnn`` even in the 2022 files) and ``data_CAF_2016…2020_IRIS.csv`` (Cnaf allocataires by
IRIS of the communes INSEE covers). The same shapes with 2024 codes (``QN…``) and the commune/EPCI
members of the « données par source » zips (``data_CAF_2020_COM.csv``…) are read the same way: their
columns are ASSUMED to be those of the verified files.

What the real files show, and how it is read:
- ``;`` CSV, UTF-8 with or without BOM, CRLF, dozens of trailing empty columns; numbers in French
  (decimal comma, thousands grouped by U+202F or not at all); XLSX with title rows is accepted too.
- Each table mixes **sources** (« familles »): census (``rp``), Cnaf, Pôle emploi / France Travail
  (``pe``), Cnam, Filosofi, ASP. Each family becomes its own :class:`SourceTable` with its own vintage.
- Most quartier figures are **rates** published by INSEE (``TX_…``, ``TP60``, medians): they are kept as
  the producer's values, never recomputed; counts (``POP_MUN``, ``A``, ``ABC``, ``CC2S``…) are summable.
- A first data row ``Ensemble`` (« Ensemble des QPV »: every quartier of the file, overseas included)
  sits inside some files: it becomes the reference ``ensemble_qpv<g>_france`` (code ``FR``), never a
  quartier.
- Withheld cells are empty: statut ``nd``, never 0. ``NOTE_*`` columns carry the producer's quality
  note of each family (0 = no remark): kept per figure (``notes``), never turned into secrecy.

Vintages: a table of edition ``N`` holds each family's figures of its own year. Verified: the Filosofi
figures of ``REVN_N`` are Filosofi ``N-4`` (``REVN_2021`` and ``REVN_2022`` medians equal those of
``data_filo17`` and ``data_filo18``): :data:`DECALAGES`. The other families carry the edition year
(the files do not say more).

:data:`TABLES` is the ONE declared table of columns by table kind and edition: a new edition is a line
or two there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import FormatError
from ..tidy import CODE_ENSEMBLE_FRANCE
from .table import SourceTable
from .tabular import missing_columns_error, normalise_code, parse_cells, read_table


@dataclass(frozen=True)
class Colonne:
    """A column of an INSEE quartier table: its normalised variable, its source family, its nature
    (``effectif`` a count, ``taux`` a rate in %, ``valeur`` a median/index) and the editions that hold
    it (``None``: open bound). A file of an edition inside the bounds must have the column."""

    variable: str
    famille: str
    nature: str = "effectif"
    editions: tuple[int | None, int | None] = (None, None)

    def attendue(self, edition: int | None) -> bool:
        lo, hi = self.editions
        return edition is not None and (lo is None or edition >= lo) and (hi is None or edition <= hi)


C = Colonne
_CNAF = {
    "A": C("CNAF_A", "cnaf"), "PERCOU": C("CNAF_PERCOU", "cnaf"), "AM": C("CNAF_AM", "cnaf"),
    "AI": C("CNAF_AI", "cnaf"), "ACSSENF": C("CNAF_ACSSENF", "cnaf"), "ACAVENF": C("CNAF_ACAVENF", "cnaf"),
    "AC3ENF": C("CNAF_AC3ENF", "cnaf"), "A_NETUD_24": C("CNAF_A_NETUD_24", "cnaf"),
    "A_ETUD": C("CNAF_A_ETUD", "cnaf"), "ENF": C("CNAF_ENF", "cnaf"), "ENF_2": C("CNAF_ENF_0002", "cnaf"),
    "ENF_3_5": C("CNAF_ENF_0305", "cnaf"), "ENF_6_10": C("CNAF_ENF_0610", "cnaf"),
    "ENF_11_14": C("CNAF_ENF_1114", "cnaf"), "ENF_15_17": C("CNAF_ENF_1517", "cnaf"),
    "ENF_18_24": C("CNAF_ENF_1824", "cnaf"),
}
_CNAF_PRESTATIONS = {
    "AAL": C("CNAF_AAL", "cnaf"), "AAPL": C("CNAF_AAPL", "cnaf"), "AAAH": C("CNAF_AAAH", "cnaf"),
    "APPA": C("CNAF_APPA", "cnaf"), "ARSAS": C("CNAF_ARSAS", "cnaf"), "ARSA": C("CNAF_ARSA", "cnaf"),
    "APRES50": C("CNAF_APRES50", "cnaf"), "APRES100": C("CNAF_APRES100", "cnaf"),
}
_RP_QP = {
    "POP_MUN": C("P_POP", "rp"),
    "TX_F": C("TX_F", "rp", "taux"), "TX_TOT_0A24": C("TX_0024", "rp", "taux"),
    "TX_F_0A24": C("TX_F_0024", "rp", "taux"), "TX_TOT_60ETPLUS": C("TX_60P", "rp", "taux"),
    "TX_F_60ETPLUS": C("TX_F_60P", "rp", "taux"), "IND_JEUNE": C("IND_JEUNESSE", "rp", "valeur"),
    "TX_TOT_MEN1": C("TX_MEN1", "rp", "taux"), "TX_TOT_MEN6": C("TX_MEN6P", "rp", "taux"),
    "TX_TOT_ET": C("TX_ETR", "rp", "taux"), "TX_F_ET": C("TX_F_ETR", "rp", "taux"),
}

#: Table kind → file column → :class:`Colonne`. Kinds: ``DEMO`` (census shares + Cnaf), ``IPRO``
#: (employment rates, Pôle emploi jobseekers), ``REVN`` (Filosofi, Cnam, Cnaf benefits), ``CAF``
#: (« données par source » Cnaf, IRIS/commune members), ``CNAM`` (« données par source » Cnam, ASSUMED
#: after REVN's Cnam columns), ``RP`` (census table of the 2024 quartiers, ASSUMED: DEMO's census
#: columns plus the counts the 2024 quartier projects quote).
TABLES: dict[str, dict[str, Colonne]] = {
    "DEMO": {**_RP_QP, **_CNAF},
    "IPRO": {
        "TX_TOT_EMPL": C("TX_EMPL_1564", "rp", "taux"), "TX_F_EMPL": C("TX_EMPL_F", "rp", "taux"),
        "TX_ET_EMPL": C("TX_EMPL_ETR", "rp", "taux"),
        # « emplois précaires » until the 2020 edition, « emplois à durée limitée » from 2021 (same scope)
        "TX_TOT_EPREC": C("TX_EMPL_PREC", "rp", "taux", (None, 2020)),
        "TX_F_EPREC": C("TX_EMPL_PREC_F", "rp", "taux", (None, 2020)),
        "TX_TOT_EDLIM": C("TX_EMPL_PREC", "rp", "taux", (2021, None)),
        "TX_F_EDLIM": C("TX_EMPL_PREC_F", "rp", "taux", (2021, None)),
        "ABCDE": C("PE_ABCDE", "pe"), "ABC": C("PE_ABC", "pe"), "ABC_F": C("PE_ABC_F", "pe"),
        "ABC_H": C("PE_ABC_H", "pe"), "A": C("PE_A", "pe"), "ABC_RSA": C("PE_ABC_RSA", "pe"),
        "ABC_25": C("PE_ABC_M26", "pe"), "ABC_2649": C("PE_ABC_2649", "pe"), "ABC_50": C("PE_ABC_50P", "pe"),
        "ABC_E": C("PE_ABC_ETR", "pe"),
        # seniority of registration: < 6 months, 6-12 months, 1-2 years, 2 years or more (INFERRED:
        # the national row gives 52 % under one year, as France Travail publishes)
        "ABC_DUR1": C("PE_ABC_DUR1", "pe"), "ABC_DUR2": C("PE_ABC_DUR2", "pe"),
        "ABC_DUR3": C("PE_ABC_DUR3", "pe"), "ABC_DUR4": C("PE_ABC_DUR4", "pe"),
    },
    "REVN": {
        "PMIMP": C("DISP_PMIMP", "filosofi", "taux"),
        "DECUC_Q1": C("DEC_Q1", "filosofi", "valeur"), "DECUC_Q2": C("DEC_MED", "filosofi", "valeur"),
        "DECUC_Q3": C("DEC_Q3", "filosofi", "valeur"),
        "DISP_Q1": C("DISP_Q1", "filosofi", "valeur"), "DISP_Q2": C("DISP_MED", "filosofi", "valeur"),
        "DISP_Q3": C("DISP_Q3", "filosofi", "valeur"), "DISP_D1": C("DISP_D1", "filosofi", "valeur"),
        "DISP_D9": C("DISP_D9", "filosofi", "valeur"),
        "DISP_D1D9": C("DISP_RD", "filosofi", "valeur", (2021, None)),
        "TP60": C("DISP_TP60", "filosofi", "taux"), "PACT": C("DISP_PACT", "filosofi", "taux"),
        "PPEN": C("DISP_PPEN", "filosofi", "taux"), "PPSOC": C("DISP_PPSOC", "filosofi", "taux"),
        "PIMPOT": C("DISP_PIMPOT", "filosofi", "taux"), "PPAT": C("DISP_PPAT", "filosofi", "taux"),
        "CCMUC": C("CNAM_CMUC", "cnam", "effectif", (None, 2019)),
        "C": C("CNAM_C", "cnam", "effectif", (2021, None)),
        "CC2S": C("CNAM_C2S", "cnam", "effectif", (2021, 2021)),
        "C_C2SNP": C("CNAM_C2S_NP", "cnam", "effectif", (2022, None)),
        "C_C2SP": C("CNAM_C2S_P", "cnam", "effectif", (2022, None)),
        "A": C("CNAF_A", "cnaf"),
        "APRES50": C("CNAF_APRES50", "cnaf", "effectif", (None, 2019)),
        "APRES100": C("CNAF_APRES100", "cnaf", "effectif", (None, 2019)),
        "ARSA": C("CNAF_ARSA", "cnaf", "effectif", (None, 2017)),
        "APPA": C("CNAF_APPA", "cnaf", "effectif", (2018, None)),
        "ARSAS": C("CNAF_ARSAS", "cnaf"), "AAAH": C("CNAF_AAAH", "cnaf"),
    },
    "CAF": {**_CNAF, **_CNAF_PRESTATIONS},
    "CNAM": {"C": C("CNAM_C", "cnam"), "CC2S": C("CNAM_C2S", "cnam"), "C_C2SNP": C("CNAM_C2S_NP", "cnam"),
             "C_C2SP": C("CNAM_C2S_P", "cnam")},
    "RP": {**_RP_QP, "POP_1625": C("P_POP1625", "rp"), "NEET_1625": C("P_NEET1625", "rp"),
           "POP_1564": C("P_POP1564", "rp"), "ACTOCC_1564": C("P_ACTOCC1564", "rp")},
}

#: Note column → family it qualifies (``NOTE`` alone: the family of the « données par source » file).
NOTES: dict[str, str] = {"NOTE_RP": "rp", "NOTE_CNAF": "cnaf", "NOTE_PE": "pe", "NOTE_CNAM": "cnam",
                         "NOTE_FILO": "filosofi", "NOTE_ASP": "asp"}
FAMILLE_DU_FICHIER = {"CAF": "cnaf", "CNAM": "cnam"}

#: (table kind, family) → years between the edition and the family's figures (VERIFIED for REVN).
DECALAGES: dict[tuple[str, str], int] = {("REVN", "filosofi"): -4}

#: Families' labels (sources lines) and the registry source id prefix they belong to.
FAMILLES = {"rp": "Insee, recensement de la population", "cnaf": "Cnaf, allocataires",
            "pe": "France Travail (Pôle emploi) et Dares, demandeurs d'emploi", "cnam": "Cnam, bénéficiaires",
            "filosofi": "Insee, Filosofi", "asp": "ASP"}

_KIND = re.compile(r"(?:^|_)(DEMO|IPRO|REVN|CAF|CNAM|RP)(?:_|\d)", re.IGNORECASE)
_LEVEL = re.compile(r"_(QP|QPV|QN|IRIS|COM|EPCI|DEP)(?:\.[a-z]+)?$", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(20\d{2})(?!\d)")
_QP = re.compile(r"^QP(\d{3}|02[AB])\d{3}$")
_QN = re.compile(r"^QN(\d{3}|02[AB])\d{2}[A-Z]$")


def table_kind(name: str) -> str | None:
    """``DEMO`` / ``IPRO`` / ``REVN`` / ``CAF`` / ``CNAM`` / ``RP`` from a file or member name."""
    m = _KIND.search(Path(name).name)
    return m.group(1).upper() if m else None


def edition_of(name: str) -> int | None:
    years = _YEAR.findall(Path(name).name)
    return int(years[-1]) if years else None


def _level_from_name(name: str) -> str | None:
    m = _LEVEL.search(Path(name).stem + Path(name).suffix.lower())
    if not m:
        m = _LEVEL.search(Path(name).stem)
    if not m:
        return None
    return {"QP": None, "QPV": None, "QN": "qpv2024", "IRIS": "iris", "COM": "commune", "EPCI": "epci",
            "DEP": "departement"}[m.group(1).upper()]


def _level_of_codes(codes: pd.Series, fichier: str) -> str:
    real = codes[codes.str.upper() != "ENSEMBLE"]
    if len(real) and real.str.match(_QP).all():
        return "qpv2015"
    if len(real) and real.str.match(_QN).all():
        return "qpv2024"
    if len(real) and real.str.fullmatch(r"\d[\dAB]\d{7}").all():
        return "iris"
    if len(real) and real.str.fullmatch(r"\d[\dAB]\d{3}").all():
        return "commune"
    bad = real[~real.str.match(_QP) & ~real.str.match(_QN)].head(3).tolist()
    raise FormatError(f"Codes de territoire inattendus ou mêlés dans la colonne CODGEO (exemples : "
                      f"{', '.join(bad) or '—'}) : un fichier par niveau (QPV 2015, QPV 2024, IRIS, communes).",
                      fichier=fichier, correction="utilisez le fichier officiel de l'Insee, non modifié")


def read_insee_qpv(path: str | Path, *, kind: str | None = None, edition: int | None = None,
                   source: str | None = None, member: str | None = None, sheet: str | None = None,
                   communes: set[str] | None = None, simule: bool = False,
                   variables: set[str] | None = None) -> list[SourceTable]:
    """Read one INSEE quartier table (or IRIS/commune member of a « données par source » file).

    Parameters
    ----------
    path : CSV, XLSX (title rows above the header are skipped) or zip.
    kind : ``DEMO``, ``IPRO``, ``REVN``, ``CAF``, ``CNAM`` or ``RP``; default from the file name.
    edition : edition year; default the last 4-digit year of the file name.
    source : registry source id written in the tables (default ``insee_qp_<kind>``).
    communes : for IRIS members, keep only the IRIS of these communes (commune members stay whole:
        the département's sums need every commune).
    variables : parse only the columns of these variables (the catalogue's; ``None``: every declared
        column). The columns the edition must hold are checked whatever the selection.

    Returns
    -------
    One :class:`SourceTable` per family of the file (and one for the ``Ensemble`` row when present), at
    level ``qpv2015``/``qpv2024`` (by code shape), ``iris``, ``commune`` or ``epci`` (by member name),
    ``ensemble_qpv<g>_france`` for the Ensemble row. Columns not declared in :data:`TABLES` are ignored.

    Raises
    ------
    FormatError : unknown kind, no ``CODGEO`` column, a column the edition must hold is missing, an
        unreadable cell (the message names the line, the column and the territory).
    """
    raw = read_table(path, member=member, sheet=sheet, header_keys=("CODGEO",))
    fichier = raw.name
    kind, edition = _kind_and_edition(fichier, kind, edition)
    df = raw.frame
    df.columns = [c.upper() for c in df.columns]
    spec = TABLES[kind]
    present = _declared_columns(df, spec, kind, edition, fichier)
    codes, level, ens = _codes_and_level(df, fichier)
    lines = raw.lines
    if communes is not None and level == "iris":  # commune tables stay whole: département sums need them
        keep = codes.str[:5].isin(set(communes)).to_numpy() | ens
        df, codes, lines, ens = df[keep], codes[keep], lines[keep], ens[keep]
    if variables is not None:
        present = [c for c in present if spec[c].variable in variables]
    if not len(df) or not present:
        return []
    idx = pd.Index(codes.to_numpy(), name="code")
    data, statut = parse_cells(df[present], fichier, idx, lines)
    notes = _notes(df, present, spec, kind, idx)
    lib = pd.Series(df["LIBGEO"].to_numpy(), index=idx) if "LIBGEO" in df.columns else None
    return [t for famille in dict.fromkeys(spec[c].famille for c in present)
            for t in _family_tables(famille, [c for c in present if spec[c].famille == famille], spec,
                                    (data, statut, notes), lib, ens, level=level, kind=kind, edition=edition,
                                    source=source or f"insee_qp_{kind.lower()}", fichier=fichier, simule=simule)]


def _kind_and_edition(fichier: str, kind: str | None, edition: int | None) -> tuple[str, int]:
    """The table's kind (DEMO, IPRO…) and edition, given or read from the official file name."""
    kind = (kind or table_kind(fichier) or "").upper()
    if kind not in TABLES:
        raise FormatError(f"Type de tableau Insee par quartier inconnu pour « {Path(fichier).name} » (DEMO, IPRO, "
                          "REVN, CAF, CNAM ou RP attendu dans le nom).", fichier=fichier,
                          correction="gardez le nom officiel du fichier (par exemple DEMO_2022.csv)")
    edition = edition if edition is not None else edition_of(fichier)
    if edition is None:
        raise FormatError("Année d'édition introuvable dans le nom du fichier.", fichier=fichier,
                          correction="gardez le nom officiel du fichier, qui porte l'année (DEMO_2022.csv)")
    return kind, edition


def _declared_columns(df: pd.DataFrame, spec: dict[str, Colonne], kind: str, edition: int,
                      fichier: str) -> list[str]:
    """The declared columns the file holds; error when ``CODGEO`` or a column of the edition is missing."""
    if "CODGEO" not in df.columns:
        raise missing_columns_error(fichier, ["CODGEO"], list(df.columns), "Insee par quartier", __name__)
    expected = [c for c, col in spec.items() if col.attendue(edition) and col.editions != (None, None)]
    missing = [c for c in expected if c not in df.columns]
    present = [c for c in spec if c in df.columns]
    if missing or not present:
        raise missing_columns_error(fichier, missing or list(spec)[:6], list(df.columns),
                                    f"Insee par quartier {kind} {edition}", __name__)
    return present


def _codes_and_level(df: pd.DataFrame, fichier: str) -> tuple[pd.Series, str, np.ndarray]:
    """Normalised codes, the level (from the member name, else from the codes' shape) and the mask of
    the « Ensemble » row (all quartiers of France)."""
    level_name = _level_from_name(fichier)
    codes, _ = normalise_code(df["CODGEO"], 5 if level_name == "commune" else 9 if level_name == "iris" else 0)
    ens = codes.str.upper().eq("ENSEMBLE").to_numpy()
    level = level_name or _level_of_codes(codes, fichier)
    if level == "iris" and codes[~ens].str.len().ne(9).any():
        level = _level_of_codes(codes, fichier)
    return codes, level, ens


def _family_tables(famille: str, cols: list[str], spec: dict[str, Colonne], parsed, lib: pd.Series | None,
                   ens: np.ndarray, *, level: str, kind: str, edition: int, source: str, fichier: str,
                   simule: bool) -> list[SourceTable]:
    """The tables of one family of columns: the quartiers (or IRIS, communes) and the Ensemble row.

    A family's vintage is the edition shifted by :data:`DECALAGES` (income tables describe the year
    before); two columns of one variable keep the first."""
    names = {c: spec[c].variable for c in cols}
    d, s, n = (x[cols].rename(columns=names) for x in parsed)
    first = ~d.columns.duplicated()
    d, s, n = d.loc[:, first], s.loc[:, first], n.loc[:, first]
    millesime = edition + DECALAGES.get((kind, famille), 0)
    geo = 2024 if level == "qpv2024" else 2015 if level == "qpv2015" else edition + 1
    out = []
    for sel, niveau, code_idx in ((~ens, level, None),
                                  (ens, f"ensemble_qpv{2024 if level == 'qpv2024' else 2015}_france",
                                   CODE_ENSEMBLE_FRANCE)):
        if not sel.any() or (code_idx is not None and level not in ("qpv2015", "qpv2024")):
            continue
        dd, ss, nn = d[sel].copy(), s[sel].copy(), n[sel].copy()
        if code_idx is not None:
            dd.index = ss.index = nn.index = pd.Index([code_idx], name="code")
        ll = lib[sel] if lib is not None and code_idx is None else None
        out.append(SourceTable(source=source, niveau=niveau, millesime=millesime, millesime_geographie=geo,
                               data=dd.astype(float), statut=ss.astype(object), simule=simule,
                               libelles=ll, fichier=fichier, notes=nn.astype(object)))
    return out


def _notes(df: pd.DataFrame, present: list[str], spec: dict[str, Colonne], kind: str,
           idx: pd.Index) -> pd.DataFrame:
    """The producer's note of each cell: ``NOTE_<FAMILLE>:<value>`` where the note is neither empty
    nor 0, else an empty string."""
    out = pd.DataFrame("", index=idx, columns=present, dtype=object)
    note_cols = {c: f for c, f in NOTES.items() if c in df.columns}
    if "NOTE" in df.columns and kind in FAMILLE_DU_FICHIER:
        note_cols["NOTE"] = FAMILLE_DU_FICHIER[kind]
    for col, famille in note_cols.items():
        v = df[col].astype(str).str.strip().to_numpy()
        flagged = (v != "") & (v != "0")
        if not flagged.any():
            continue
        text = np.where(flagged, np.char.add(f"{col}:", v.astype(str)), "")
        for c in present:
            if spec[c].famille == famille:
                out[c] = text
    return out


# ---------------------------------------------------------------------------------------------------
# Sources (registry declarations)
# ---------------------------------------------------------------------------------------------------

from .base import Gabarit, Source  # noqa: E402  (declarations after the reader they describe)

PAGE_QPV2015 = "https://www.insee.fr/fr/statistiques/2500477"
PAGE_QPV2024 = "https://www.insee.fr/fr/statistiques/8186144"
_MANUEL = ("Pas d'adresse de téléchargement stable (une page insee.fr par édition) : téléchargez le "
           "fichier depuis la page indiquée et déposez-le sous ce nom dans le miroir.")


def _qp_source(id_: str, kind: str, titre: str, fichier: str, cle: str, statut: str, page: str,
               optionnel: bool = True, description: str = "") -> Source:
    return Source(id=id_, producteur="Insee", titre=titre, url="", fichier=Gabarit(fichier),
                  format="CSV ; (ou XLSX avec lignes de titre)", millesime_cle=cle, statut_format=statut,
                  page=page, optionnel=optionnel, description=(description + " " + _MANUEL).strip())


SOURCES: list[Source] = [
    _qp_source("insee_qp_demo", "DEMO", "Quartiers 2015 : démographie (recensement et Cnaf), données par thème",
               "DEMO_{millesime}.csv", "qp_insee", "VERIFIED", PAGE_QPV2015,
               description="Une ligne par QP 2015 (et la ligne « Ensemble » de certaines éditions)."),
    _qp_source("insee_qp_demo_source", "DEMO", "Quartiers 2015 : démographie, données par source",
               "data_DEMO_{millesime}_V1_QP.csv", "qp_insee", "VERIFIED", PAGE_QPV2015,
               description="Même contenu que DEMO_<année> (la seule forme publiée de l'édition 2020)."),
    _qp_source("insee_qp_ipro", "IPRO", "Quartiers 2015 : insertion professionnelle (emploi, demandeurs "
               "d'emploi), données par thème", "IPRO_{millesime}.csv", "qp_insee", "VERIFIED", PAGE_QPV2015),
    _qp_source("insee_qp_revn", "REVN", "Quartiers 2015 : revenus et ressources (Filosofi, Cnam, Cnaf), données "
               "par thème", "REVN_{millesime}.csv", "qp_insee", "VERIFIED", PAGE_QPV2015,
               description="Les chiffres Filosofi de l'édition N sont ceux de Filosofi N-4 (vérifié)."),
    _qp_source("insee_cnaf_iris", "CAF", "Cnaf : allocataires par IRIS (données par source de l'Insee)",
               "data_CAF_{millesime}_IRIS.csv", "caf", "VERIFIED", PAGE_QPV2015,
               description="IRIS des communes couvertes par l'Insee (celles d'au moins 10 000 habitants ou avec un "
                           "quartier) : les autres communes n'y figurent pas."),
    _qp_source("insee_cnaf_com", "CAF", "Cnaf : allocataires par commune (données par source de l'Insee)",
               "data_CAF_{millesime}_COM.csv", "caf", "ASSUMED", PAGE_QPV2015,
               description="Forme SUPPOSÉE : colonnes du fichier IRIS, une ligne par commune."),
    _qp_source("insee_cnaf_epci", "CAF", "Cnaf : allocataires par EPCI (données par source de l'Insee)",
               "data_CAF_{millesime}_EPCI.csv", "caf", "ASSUMED", PAGE_QPV2015,
               description="Forme SUPPOSÉE : colonnes du fichier IRIS, une ligne par EPCI."),
    _qp_source("insee_cnam_com", "CNAM", "Cnam : bénéficiaires et Complémentaire santé solidaire par commune "
               "(données par source de l'Insee)", "data_CNAM_{millesime}_COM.csv", "cnam", "ASSUMED",
               PAGE_QPV2015, description="Forme SUPPOSÉE d'après les colonnes Cnam des fichiers REVN (C, CC2S)."),
    _qp_source("insee_cnam_iris", "CNAM", "Cnam : bénéficiaires et C2S par IRIS (données par source de l'Insee)",
               "data_CNAM_{millesime}_IRIS.csv", "cnam", "ASSUMED", PAGE_QPV2015,
               description="Forme SUPPOSÉE d'après les colonnes Cnam des fichiers REVN (C, CC2S)."),
    _qp_source("insee_qp2024_rp", "RP", "Quartiers 2024 : recensement (population, âges, emploi, NEET)",
               "RP_{millesime}_QN.csv", "qp2024", "ASSUMED", PAGE_QPV2024,
               description="Forme SUPPOSÉE : colonnes des tableaux DEMO réels, codes QN ; aucun fichier réel ici."),
    _qp_source("insee_qp2024_caf", "CAF", "Quartiers 2024 : allocataires Cnaf (données par source)",
               "data_CAF_{millesime}_QN.csv", "qp2024", "ASSUMED", PAGE_QPV2024,
               description="Forme SUPPOSÉE : colonnes du fichier Cnaf par IRIS réel, codes QN."),
]

#: Source id → table kind read by :func:`read_insee_qpv`.
KINDS = {"insee_qp_demo": "DEMO", "insee_qp_demo_source": "DEMO", "insee_qp_ipro": "IPRO",
         "insee_qp_revn": "REVN", "insee_cnaf_iris": "CAF", "insee_cnaf_com": "CAF", "insee_cnaf_epci": "CAF",
         "insee_cnam_com": "CNAM", "insee_cnam_iris": "CNAM", "insee_qp2024_rp": "RP",
         "insee_qp2024_caf": "CAF"}
