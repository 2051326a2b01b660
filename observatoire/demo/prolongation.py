"""Filosofi editions the real files stop before (2021), SIMULATED by carrying the latest edition of the
mirror forward, in the layout the readers of :mod:`observatoire.sources.insee_filosofi` take.

The real Filosofi files of ``../shared`` stop at 2019 (IRIS, communes, EPCI, départements, régions,
France) while the 2024 quartier tables give 2021 figures: without a 2021 edition at every level, no 2021
quartier figure would have a reference. For every Filosofi vintage of the mirror that has no file yet
(2021 in the real world), :func:`carry_filosofi` writes, from the latest earlier file of the same source
in the mirror (the real 2019 extract, or the simulated 2019 of the fictitious territory):

- ``insee_filosofi_iris/BASE_TD_FILO_DISP_IRIS_<année>.csv``;
- ``insee_filosofi_com/indic-struct-distrib-revenu-<année>-COMMUNES_csv.zip`` (member
  ``FILO<année>_DISP_COM.csv`` and its poverty twin ``FILO<année>_DISP_PAUVRES_COM.csv``);
- ``insee_filosofi_supra/indic-struct-distrib-revenu-<année>-SUPRA_csv.zip`` (EPCI, DEP, REG, METROPOLE,
  each with its ``PAUVRES`` twin).

Each file keeps the layout of its base file (BOM, line endings, identifier columns, decimals per cell,
column order) with the 2-digit vintage of every column name moved (``DISP_MED19`` → ``DISP_MED21``,
``Q219`` → ``Q221``). Each value is the base value with a plausible drift (every value is INVENTED,
``simule: true`` in the manifest):

- medians, quartiles, deciles: × 1.04 (nominal growth of incomes over two years) and a small noise
  common to the row (deciles stay ordered); ``RD`` and ``EQ`` recomputed from them;
- poverty rate: ± a small noise (0.8 point at IRIS and commune, 0.3 above);
- shares of income: ± a small noise, ``PACT``, ``PPSOC`` and ``PIMPOT`` moved by the changes of their
  parts so that the sums of the base file still hold;
- empty or coded cells (``s``, ``nd``, ``ns``, ``so``) stay as they are: the secrecy pattern of the base
  edition is kept; notes (``DISP_NOTE``) are carried unchanged.

The communal and supra files of INSEE carry no poverty rate (it is in the ``_PAUVRES_`` member, absent
from the real copies). The ``PAUVRES`` members written here hold ``TP60<yy>`` derived from the base
edition's real deciles: the share of persons below 60 % of the national median, interpolated between
deciles and quartiles (checked on the 9,654 IRIS of Filosofi 2019 that publish both: mean absolute error
0.46 point, bias +0.04), then drifted like the other rates; empty where the deciles are withheld.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..sources.insee_filosofi import SOURCES as FILO_SOURCES
from ..sources.insee_filosofi import STEMS
from .ecriture import Miroir, zip_bytes

_FILO = {s.id: s for s in FILO_SOURCES}

#: Nominal growth of incomes from one edition to the next (2019 → 2021).
CROISSANCE = 1.04
BOM = b"\xef\xbb\xbf"

_MONNAIE = {"DISP_Q1", "DISP_MED", "DISP_Q3", "DISP_Q3_Q1"} | {f"DISP_D{k}" for k in range(1, 10)}
_EFFECTIFS = {"NB_MENFISC", "NB_PERSMENFISC", "NB_UC"}
_PARTS = {"DISP_PTSA", "DISP_PCHO", "DISP_PBEN", "DISP_PPEN", "DISP_PPAT", "DISP_PPFAM", "DISP_PPMINI",
          "DISP_PPLOGT", "DISP_PTSAC"}
#: Share → the shares it is the sum of (kept consistent by moving it with their changes).
_SOMMES = {"DISP_PACT": ("DISP_PTSA", "DISP_PCHO", "DISP_PBEN"),
           "DISP_PPSOC": ("DISP_PPFAM", "DISP_PPMINI", "DISP_PPLOGT")}
#: Percentile of each quantile the files publish (poverty rate interpolation).
_CENTILES = {"DISP_D1": 10, "DISP_D2": 20, "DISP_Q1": 25, "DISP_D3": 30, "DISP_D4": 40, "DISP_MED": 50,
             "DISP_D6": 60, "DISP_D7": 70, "DISP_Q3": 75, "DISP_D8": 80, "DISP_D9": 90}
_NUMBER = re.compile(r"^-?\d{1,3}(?:[\u202f\u00a0 ]\d{3})+(?:,\d+)?$|^-?\d+(?:,\d+)?$")


@dataclass(frozen=True)
class Bruit:
    """Standard deviations of the drift: income (relative), poverty rate and shares (points), counts."""

    revenu: float
    taux: float
    part: float
    effectif: float = 0.01


BRUIT_LOCAL = Bruit(revenu=0.010, taux=0.8, part=0.4)     # IRIS, communes
BRUIT_SUPRA = Bruit(revenu=0.004, taux=0.3, part=0.2, effectif=0.004)


# ---------------------------------------------------------------------------------------------------
# Cells and columns
# ---------------------------------------------------------------------------------------------------

def parse_cell(cell: str) -> tuple[float | None, int, bool]:
    """``"20,5"`` → (20.5, 1, False); ``"6 490"`` (narrow no-break space) → (6490.0, 0, True); an empty
    or coded cell (``s``, ``nd``…) → (None, 0, False)."""
    s = cell.strip()
    if not _NUMBER.match(s):
        return None, 0, False
    grouped = not s.lstrip("-").replace(",", "").isdigit()
    digits = re.sub(r"[\u202f\u00a0 ]", "", s)
    dec = len(digits.split(",")[1]) if "," in digits else 0
    return float(digits.replace(",", ".")), dec, grouped


def format_cell(value: float, dec: int, grouped: bool, tens: bool = False) -> str:
    """French number with ``dec`` decimals (``tens``: rounded to 10, as INSEE rounds incomes)."""
    if tens:
        value = round(value / 10.0) * 10.0
    s = f"{value:,.{dec}f}" if grouped else f"{value:.{dec}f}"
    return s.replace(",", "\u202f").replace(".", ",")


def column_variable(col: str) -> tuple[str | None, str | None]:
    """The normalised variable of a Filosofi column and its 2-digit vintage: ``DISP_TP6019`` →
    (``DISP_TP60``, ``19``), ``Q3_Q1`` → (``DISP_Q3_Q1``, None), ``DISP_NOTE19`` → (``NOTE``, ``19``),
    an identifier → (None, None). Same stems as the readers (:data:`~observatoire.sources.insee_filosofi.STEMS`)."""
    up = col.strip().upper()
    m = re.match(r"^(?:DISP_)?NOTE(?:_A)?(\d{2})?$", up)
    if m:
        return "NOTE", m.group(1)
    c = re.sub(r"^(DISP|DEC)_", "", up)
    m = re.match(r"^(.+?)_A(\d{2})$", c) or re.match(r"^(.+?)(\d{2})$", c)
    if m and m.group(1) in STEMS:
        return STEMS[m.group(1)], m.group(2)
    if c in ("RD", "Q3_Q1"):
        return STEMS[c], None
    return None, None


def rename_column(col: str, de: int, a: int) -> str:
    """``DISP_MED19`` → ``DISP_MED21`` (only columns carrying the vintage ``de``)."""
    var, yy = column_variable(col)
    if var is not None and yy == f"{de % 100:02d}":
        return col[:-2] + f"{a % 100:02d}"
    return col


# ---------------------------------------------------------------------------------------------------
# One CSV table
# ---------------------------------------------------------------------------------------------------

@dataclass
class Table:
    """A ``;`` CSV as published: its header, rows of cells, and how it was written."""

    header: list[str]
    rows: list[list[str]]
    bom: bool
    nl: str
    final_nl: bool

    @classmethod
    def parse(cls, data: bytes) -> "Table":
        bom = data.startswith(BOM)
        text = data[len(BOM):].decode("utf-8") if bom else data.decode("utf-8")
        nl = "\r\n" if "\r\n" in text else "\n"
        lines = text.split(nl)
        final_nl = lines[-1] == ""
        if final_nl:
            lines.pop()
        header = lines[0].split(";")
        rows = [ln.split(";") for ln in lines[1:]]
        return cls(header, rows, bom, nl, final_nl)

    def to_bytes(self) -> bytes:
        text = self.nl.join(";".join(r) for r in [self.header] + self.rows) + (self.nl if self.final_nl else "")
        return (BOM if self.bom else b"") + text.encode("utf-8")

    def values(self, row: list[str]) -> dict[str, float]:
        """Variable → value of the numeric cells of ``row``."""
        out = {}
        for col, cell in zip(self.header, row):
            var, _ = column_variable(col)
            if var is not None and var != "NOTE":
                v = parse_cell(cell)[0]
                if v is not None:
                    out.setdefault(var, v)
        return out


def drift_values(old: dict[str, float], bruit: Bruit, rng: np.random.Generator) -> dict[str, float]:
    """New values of one row from its base values (see the module docstring)."""
    new: dict[str, float] = {}
    g = CROISSANCE * float(np.exp(rng.normal(0.0, bruit.revenu)))
    e = float(np.exp(rng.normal(0.003, bruit.effectif)))
    for var, v in old.items():
        if var in _MONNAIE:
            new[var] = v * g
        elif var in _EFFECTIFS:
            new[var] = v * e
        elif var == "DISP_TP60":
            new[var] = float(np.clip(v + rng.normal(0.0, bruit.taux), 0.0, 100.0))
        elif var in _PARTS:
            new[var] = max(v + rng.normal(0.0, bruit.part), 0.0) if v >= 0 else v + rng.normal(0.0, bruit.part)
        elif var in ("DISP_S80S20", "DISP_GI"):
            new[var] = v * float(np.exp(rng.normal(0.0, 0.01)))
    for total, parts in _SOMMES.items():
        if total in old:
            if all(p in old for p in parts):
                new[total] = old[total] + sum(new[p] - old[p] for p in parts)
            else:
                new[total] = old[total] + rng.normal(0.0, bruit.part)
    if "DISP_PIMPOT" in old:
        moved = [k for k in ("DISP_PACT", "DISP_PPEN", "DISP_PPAT", "DISP_PPSOC") if k in old]
        new["DISP_PIMPOT"] = old["DISP_PIMPOT"] - sum(new[k] - old[k] for k in moved) if moved else \
            old["DISP_PIMPOT"] + rng.normal(0.0, bruit.part)
    if "DISP_RD" in old:
        new["DISP_RD"] = new["DISP_D9"] / new["DISP_D1"] if "DISP_D1" in new and "DISP_D9" in new and new["DISP_D1"] \
            else old["DISP_RD"] * float(np.exp(rng.normal(0.0, 0.01)))
    if "DISP_EQ" in old:
        new["DISP_EQ"] = (new["DISP_Q3"] - new["DISP_Q1"]) / new["DISP_MED"] \
            if all(k in new for k in ("DISP_Q1", "DISP_Q3", "DISP_MED")) and new["DISP_MED"] else old["DISP_EQ"]
    return new


def carry_table(data: bytes, de: int, a: int, rng: np.random.Generator, bruit: Bruit = BRUIT_LOCAL) -> bytes:
    """The Filosofi table ``data`` of edition ``de`` carried forward to edition ``a`` (same layout, column
    names moved to ``a``, every number drifted, empty and coded cells kept)."""
    t = Table.parse(data)
    variables = [column_variable(c)[0] for c in t.header]
    for row in t.rows:
        new = drift_values(t.values(row), bruit, rng)
        for k, (var, cell) in enumerate(zip(variables, row)):
            if var is None or var == "NOTE" or var not in new:
                continue
            v, dec, grouped = parse_cell(cell)
            if v is None:
                continue
            tens = var in _MONNAIE and dec == 0 and v % 10 == 0
            row[k] = format_cell(new[var], dec, grouped, tens=tens)
    t.header = [rename_column(c, de, a) for c in t.header]
    return t.to_bytes()


def carry_quartiers_2015(q24, q15, filo15: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Filosofi values of the 2024 quartiers carried forward from the real ones of the 2015 quartiers.

    Each 2024 quartier of ``q24`` that 2015 quartiers of ``q15`` with values in ``filo15`` (normalised
    variables, indexed by 2015 code) overlap gets the area-weighted mean of their values, drifted like
    an edition carried forward (:func:`drift_values`), and in column ``part`` the share of its area they
    cover (0–1). Returns one row per 2024 quartier so overlapped.
    """
    rows = {}
    known = q15[q15["code_qp"].astype(str).isin(filo15.index)].reset_index(drop=True)
    vals = filo15.loc[known["code_qp"].astype(str)].to_numpy(float)
    for code, g in zip(q24["code_qp"].astype(str), q24.geometry.values):
        w = known.geometry.intersection(g).area.to_numpy() / g.area if g.area > 0 else np.zeros(len(known))
        if w.sum() <= 0.01:
            continue
        ww = np.where(~np.isnan(vals), w[:, None], 0.0)
        tot = ww.sum(axis=0)
        mean = np.divide((np.nan_to_num(vals) * ww).sum(axis=0), tot, out=np.full(vals.shape[1], np.nan),
                         where=tot > 0)
        old = {v: float(x) for v, x in zip(filo15.columns, mean) if not np.isnan(x)}
        rows[code] = {**drift_values(old, BRUIT_LOCAL, rng), "part": float(min(w.sum(), 1.0))}
    return pd.DataFrame.from_dict(rows, orient="index")


# ---------------------------------------------------------------------------------------------------
# Poverty rate from the deciles
# ---------------------------------------------------------------------------------------------------

def poverty_rate(values: dict[str, float], seuil: float) -> float | None:
    """Share (%) of persons below ``seuil`` (€/UC/an), interpolated between the published deciles and
    quartiles; below the first decile, extrapolated along the first segment. ``None`` without the first
    decile and another quantile (withheld cells)."""
    pts = sorted((v, float(_CENTILES[k])) for k, v in values.items() if k in _CENTILES)
    if len(pts) < 2 or "DISP_D1" not in values:
        return None
    xs = np.array([p[0] for p in pts])
    ps = np.array([p[1] for p in pts])
    if seuil < xs[0]:
        if xs[1] == xs[0]:
            return None
        p = ps[0] - (xs[0] - seuil) * (ps[1] - ps[0]) / (xs[1] - xs[0])
    elif seuil > xs[-1]:
        return None
    else:
        p = float(np.interp(seuil, xs, ps))
    return float(max(p, 0.5))


def pauvres_table(data: bytes, de: int, a: int, seuil: float, rng: np.random.Generator,
                  bruit: Bruit = BRUIT_LOCAL) -> bytes:
    """``FILO<a>_DISP_PAUVRES_<NIVEAU>.csv``: identifiers of the base table ``data`` and ``TP60<aa>``, the
    poverty rate estimated from the base deciles (threshold ``seuil``) and drifted; empty when the deciles
    are withheld."""
    t = Table.parse(data)
    ids = [k for k, c in enumerate(t.header) if c.strip().upper() in ("CODGEO", "LIBGEO")] or [0]
    rows = []
    for row in t.rows:
        p = poverty_rate(t.values(row), seuil)
        cell = "" if p is None else format_cell(float(np.clip(p + rng.normal(0.0, bruit.taux), 0.0, 100.0)), 1, False)
        rows.append([row[k] for k in ids] + [cell])
    out = Table([t.header[k] for k in ids] + [f"TP60{a % 100:02d}"], rows, t.bom, t.nl, t.final_nl)
    return out.to_bytes()


def national_median(data: bytes) -> float | None:
    """The median of the first row of a ``FILO<yyyy>_DISP_METROPOLE.csv`` table."""
    t = Table.parse(data)
    return t.values(t.rows[0]).get("DISP_MED") if t.rows else None


# ---------------------------------------------------------------------------------------------------
# The mirror's files
# ---------------------------------------------------------------------------------------------------

def _read_zip(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _rel(source_id: str, year: int) -> str:
    return f"{source_id}/{_FILO[source_id].fichier.format(millesime=year)}"


def _base_year(m: Miroir, source_id: str, year: int, years: list[int]) -> int | None:
    """The latest vintage whose file of ``source_id`` is in the mirror, when ``year`` comes after it: only
    the editions after the last one are carried forward, never a gap between two (no simulated 2017
    communal file between the real 2016 and 2018)."""
    have = [y for y in years if _rel(source_id, y) in m.entries]
    return max(have) if have and max(have) < year else None


def _note(m: Miroir, rel_base: str, de: int, a: int, quoi: str) -> str:
    kind = "simulé" if m.entries[rel_base]["simule"] else "réel"
    return (f"simulé : prolongation du dernier millésime {kind} ({de}) de Filosofi ({quoi}) vers {a} — "
            f"médianes, quartiles et déciles +{round((CROISSANCE - 1) * 100)} % environ (revenus nominaux), "
            "taux de pauvreté et parts de revenu ± un bruit léger, mêmes cases vides ou secrètes ; "
            f"aucune valeur {a} n'est réelle")


_NOTE_PAUVRES = (" ; membres PAUVRES : taux de pauvreté estimé depuis les déciles {de} (part des personnes sous "
                 "60 % de la médiane nationale, interpolée), vide où les déciles sont secrets")


def _member_name(name: str, de: int, a: int) -> str:
    return name.replace(f"FILO{de}_", f"FILO{a}_")


def _pauvres_name(name: str, a: int) -> str:
    """``FILO2021_DISP_COM.csv`` → ``FILO2021_DISP_PAUVRES_COM.csv`` (the 2021 archives' spelling)."""
    return re.sub(rf"^(FILO{a}_DISP)_", r"\1_PAUVRES_", name)


def carry_filosofi(m: Miroir, years: list[int], rng: np.random.Generator) -> list[str]:
    """Write every Filosofi IRIS, communal and supra file of ``years`` that the mirror lacks, carried
    forward from the latest earlier file of the same source in the mirror; returns the files written."""
    written = []
    for a in sorted(years):
        for source_id, bruit in (("insee_filosofi_supra", BRUIT_SUPRA), ("insee_filosofi_com", BRUIT_LOCAL),
                                 ("insee_filosofi_iris", BRUIT_LOCAL)):
            rel = _rel(source_id, a)
            de = _base_year(m, source_id, a, years)
            if rel in m.entries or de is None:
                continue
            base = _rel(source_id, de)
            if source_id == "insee_filosofi_iris":
                m.write(rel, carry_table((m.dest / base).read_bytes(), de, a, rng, bruit), simule=True,
                        note=_note(m, base, de, a, "IRIS"))
            else:
                _carry_zip(m, source_id, de, a, rng, bruit)
            written.append(rel)
    return written


def _seuil(m: Miroir, de: int) -> float | None:
    """60 % of the national median of edition ``de`` (from the mirror's supra file)."""
    rel = _rel("insee_filosofi_supra", de)
    if rel not in m.entries:
        return None
    for name, data in _read_zip(m.dest / rel).items():
        if re.search(r"_METROPOLE\.csv$", name, re.IGNORECASE) and "PAUVRES" not in name.upper():
            med = national_median(data)
            return None if med is None else 0.6 * med
    return None


_LEVEL = re.compile(r"^FILO\d{4}_DISP_(COM|EPCI|DEP|REG|METROPOLE)\.csv$", re.IGNORECASE)


def _carry_zip(m: Miroir, source_id: str, de: int, a: int, rng, bruit: Bruit) -> None:
    """The communal or supra zip of edition ``a`` from that of edition ``de``: each level member carried
    forward, and its ``PAUVRES`` twin when the national median of ``de`` is known."""
    base = _rel(source_id, de)
    seuil = _seuil(m, de)
    members = {}
    for name, data in _read_zip(m.dest / base).items():
        if not _LEVEL.match(Path(name).name):
            continue
        new = _member_name(name, de, a)
        members[new] = carry_table(data, de, a, rng, bruit)
        if seuil is not None:
            members[_pauvres_name(new, a)] = pauvres_table(data, de, a, seuil, rng, bruit)
    quoi = "communes" if source_id == "insee_filosofi_com" else "EPCI, départements, régions, France métropolitaine"
    note = _note(m, base, de, a, quoi) + (_NOTE_PAUVRES.format(de=de) if seuil is not None else "")
    m.write(_rel(source_id, a), zip_bytes(members), simule=True, note=note)
