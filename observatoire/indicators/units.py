"""Unit frames: every indicator of every territory of one level and one millésime, in one long table.

A *unit frame* has one row per territory × indicator and the columns :data:`COLS`:

- ``code``, ``ind``, ``mil`` (millésime); ``num``, ``den`` (counts, or a published rate × its published denominator),
  ``val`` (the figure);
- ``rang``: 0 secret, 1 not available, 2 known (the worst input cell wins);
- ``nature``: ``compte`` (a ratio of counts or a count: summable), ``pondere`` (a published rate with
  its published denominator: summable as a weighted rate), ``taux`` (a published rate without
  denominator: not summable), ``valeur`` (median, quartile, index: not summable);
- ``simule`` (needs a simulated input), ``protege`` (built from a row that holds a withheld cell:
  exact counts are not published, see :mod:`observatoire.indicators.secrecy`), ``note`` (producer's
  note), ``source``, ``geo`` (geography vintage), ``methode``, ``qualite`` (0 none, 1 bonne, 2 moyenne,
  3 faible), ``couverture``, ``motif``.

:func:`evaluate_group` builds the unit frame of one group of producer tables: expressions are evaluated
once per distinct expression on whole columns (numpy), never row by row.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..catalogue import Indicateur
from ..catalogue.validate import alternatives, evaluate, expression_variables
from ..sources.table import SourceTable

COLS = ["code", "ind", "mil", "num", "den", "val", "rang", "nature", "simule", "protege", "note", "source",
        "geo", "methode", "qualite", "couverture", "motif"]
#: Keys of a unit frame row: territory, indicator, millésime.
KEY = ["code", "ind", "mil"]
SUMMABLE = ("compte", "pondere")
QUALITE_CODES = {None: 0, "": 0, "bonne": 1, "moyenne": 2, "faible": 3}
QUALITE_NOMS = {0: None, 1: "bonne", 2: "moyenne", 3: "faible"}
RANG_STATUT = {0: "secret", 1: "nd", 2: "ok"}


_DTYPES = dict(zip(COLS, (object, object, "int64", float, float, float, "int8", object, bool, bool, object, object,
                         "int64", object, "int8", float, object)))
_EMPTY = pd.DataFrame({c: pd.Series(dtype=t) for c, t in _DTYPES.items()})


def empty_units() -> pd.DataFrame:
    return _EMPTY.copy()


@dataclass
class Group:
    """Tables of one level and millésime side by side (a variable present in several tables keeps the
    first table's cells and takes from the others only the codes the first lacks)."""

    niveau: str
    millesime: int
    geo: int
    data: pd.DataFrame
    rang: pd.DataFrame            # int8 0/1/2
    notes: pd.DataFrame           # str
    var_source: dict[str, str]
    var_simule: dict[str, bool]
    protege: pd.DataFrame         # bool: the cell's row holds a withheld count in the cell's table
    libelles: pd.Series | None


def _rang(statut: np.ndarray) -> np.ndarray:
    return np.where(statut == "ok", 2, np.where(statut == "secret", 0, 1)).astype(np.int8)


def group_tables(tables: list[SourceTable], count_vars: set[str] | None = None) -> dict[tuple[str, int], Group]:
    """Group producer tables by (level, millésime).

    ``count_vars``: the variables the catalogue sums (counts); a row holding a withheld cell among
    them in one table is *protected* for every variable of that table (:mod:`.secrecy`).
    """
    by: dict[tuple[str, int], list[SourceTable]] = {}
    for t in tables:
        by.setdefault((t.niveau, int(t.millesime)), []).append(t)
    return {key: _group(key, ts, count_vars) for key, ts in by.items()}


def _group(key, ts: list[SourceTable], count_vars: set[str] | None) -> Group:
    index = pd.Index(sorted(set().union(*(set(map(str, t.data.index)) for t in ts))), dtype=object, name="code")
    n = len(index)
    store: dict[str, list[np.ndarray]] = {}   # var → [data, rang, notes, protection, covered]
    var_source, var_simule = {}, {}
    libs = None
    for t in ts:
        codes = pd.Index(t.data.index.astype(str), dtype=object)
        keep = ~codes.duplicated()
        rows = index.get_indexer(codes[keep])
        data = t.data.to_numpy(float)[keep]
        rang = _rang(t.statut.to_numpy()[keep])
        notes = t.notes.to_numpy(object)[keep] if t.notes is not None else None
        cols = list(t.data.columns)
        counted = [k for k, c in enumerate(cols) if count_vars is None or c in count_vars]
        row_prot = (rang[:, counted] < 2).any(axis=1) if counted else np.zeros(len(rows), bool)
        for k, c in enumerate(cols):
            if c not in store:
                store[c] = [np.full(n, np.nan), np.ones(n, np.int8), np.full(n, "", dtype=object),
                            np.zeros(n, bool), np.zeros(n, bool)]
                var_source[c], var_simule[c] = t.source, bool(t.simule)
                sel = rows
            else:  # codes the earlier tables lack take this table's cells
                var_simule[c] = var_simule[c] or bool(t.simule)
                free = ~store[c][4][rows]
                sel = rows[free]
                if not len(sel):
                    continue
                kk = np.flatnonzero(free)
            d_, r_, n_, p_, h_ = store[c]
            src_rows = slice(None) if sel is rows else kk
            d_[sel] = data[src_rows, k]
            r_[sel] = rang[src_rows, k]
            if notes is not None:
                n_[sel] = notes[src_rows, k]
            p_[sel] = row_prot[src_rows]
            h_[sel] = True
        if t.libelles is not None:
            lib = t.libelles.copy()
            lib.index = lib.index.astype(str)
            lib = lib[~lib.index.duplicated()]
            libs = lib if libs is None else libs.combine_first(lib)
    names = list(store)
    R = pd.DataFrame({c: store[c][1] for c in names}, index=index)
    D = pd.DataFrame({c: np.where(store[c][1] == 2, store[c][0], np.nan) for c in names}, index=index)
    N = pd.DataFrame({c: pd.Series(store[c][2], index=index, dtype=object) for c in names}, index=index)
    P = pd.DataFrame({c: store[c][3] for c in names}, index=index)
    geo = max(int(t.millesime_geographie) for t in ts)
    return Group(key[0], key[1], geo, D, R, N, var_source, var_simule, P, libs)


@functools.lru_cache(maxsize=4096)
def _variables(expr: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((alt, tuple(expression_variables(alt))) for alt in alternatives(expr))


def pick(expr: str | None, available) -> str | None:
    """First alternative of ``expr`` (``A | B``) whose variables are all available (None if none)."""
    if not expr:
        return None
    for alt, names in _variables(expr):
        if all(v in available for v in names):
            return alt
    return None


class _Evaluator:
    """Evaluates expressions on a group's columns, each distinct expression once."""

    def __init__(self, g: Group):
        self.g = g
        self.cache: dict[str, tuple[np.ndarray, np.ndarray, bool, str, np.ndarray]] = {}

    def __call__(self, expr: str):
        if expr not in self.cache:
            names = list(_variables(expr)[0][1])
            env = {n: self.g.data[n].to_numpy(dtype=float) for n in names}
            vals = np.asarray(evaluate(expr, env), dtype=float)
            if vals.ndim == 0:
                vals = np.full(len(self.g.data), float(vals))
            rang = np.min(np.stack([self.g.rang[n].to_numpy() for n in names]), axis=0)
            simule = any(self.g.var_simule.get(n, False) for n in names)
            notes = _join_notes([self.g.notes[n].to_numpy() for n in names])
            prot = np.any(np.stack([self.g.protege[n].to_numpy() for n in names]), axis=0)
            self.cache[expr] = (vals, rang.astype(np.int8), simule, self.g.var_source.get(names[0], ""), notes, prot)
        return self.cache[expr]


def _join_notes(cols: list[np.ndarray]) -> np.ndarray:
    out = cols[0].astype(object)
    for c in cols[1:]:
        both = (out != "") & (c != "") & (out != c)
        out = np.where(both, out + ";" + c, np.where(out == "", c, out))
    return out


def _denominator_group(ind: Indicateur, g: Group, groups: dict) -> Group | None:
    """Group of the same level holding the denominator, for ``source_denominateur``: the most recent
    millésime not after the numerator's, else the nearest later one."""
    cands = [o for (niv, _), o in groups.items() if niv == g.niveau and o is not g
             and pick(ind.denominateur, set(o.data.columns)) is not None]
    if not cands:
        return None
    before = [o for o in cands if o.millesime <= g.millesime]
    return max(before, key=lambda o: o.millesime) if before else min(cands, key=lambda o: o.millesime)


class _Collector:
    """Arrays of every indicator of a group, assembled into one unit frame at the end."""

    def __init__(self, g: Group):
        self.g = g
        self.parts: list[tuple] = []

    def add(self, ind: Indicateur, num, den, val, rang, nature: str, simule: bool, source: str, notes, prot) -> None:
        self.parts.append((ind.id, num, den, val, rang, nature, simule, source, notes, prot))

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return empty_units()
        n, k = len(self.g.data), len(self.parts)
        cat = np.concatenate
        return pd.DataFrame({
            "code": np.tile(self.g.data.index.to_numpy(), k),
            "ind": np.repeat([p[0] for p in self.parts], n),
            "mil": np.full(n * k, self.g.millesime, dtype=np.int64),
            "num": cat([np.broadcast_to(p[1], n) for p in self.parts]).astype(float),
            "den": cat([np.broadcast_to(p[2], n) for p in self.parts]).astype(float),
            "val": cat([np.broadcast_to(p[3], n) for p in self.parts]).astype(float),
            "rang": cat([p[4] for p in self.parts]).astype(np.int8),
            "nature": np.repeat([p[5] for p in self.parts], n).astype(object),
            "simule": np.repeat([p[6] for p in self.parts], n),
            "protege": cat([p[9] for p in self.parts]).astype(bool),
            "note": cat([p[8] for p in self.parts]).astype(object),
            "source": np.repeat([p[7] for p in self.parts], n).astype(object),
            "geo": np.full(n * k, self.g.geo, dtype=np.int64),
            "methode": "producteur", "qualite": np.zeros(n * k, np.int8), "couverture": np.nan, "motif": "",
        })


def evaluate_group(g: Group, catalogue: dict[str, Indicateur], groups: dict) -> pd.DataFrame:
    """Unit frame of every catalogue indicator computable from the group ``g``.

    Per indicator, in order of preference: counts (``numerateur``/``denominateur``, or ``variable``
    for a count), then the producer's published rate (``taux_publie``, with ``denominateur_publie``
    when the same tables give it), then the producer's value (``valeur_producteur``).
    """
    ev = _Evaluator(g)
    avail = set(g.data.columns)
    out = _Collector(g)
    nan = np.full(len(g.data), np.nan)
    for ind in catalogue.values():
        if ind.type == "valeur_producteur":
            var = pick(ind.variable, avail)
            if var is not None:
                v, r, sim, src, notes, prot = ev(var)
                out.add(ind, nan, nan, v * float(ind.facteur), r, "valeur", sim, src, notes, prot)
        elif ind.type == "effectif":
            expr = pick(ind.variable or ind.numerateur, avail)
            if expr is not None:
                v, r, sim, src, notes, prot = ev(expr)
                out.add(ind, v, nan, v * float(ind.facteur), r, "compte", sim, src, notes, prot)
        else:
            _ratio(g, ind, ev, avail, groups, nan, out)
    return out.frame()


def _ratio(g: Group, ind: Indicateur, ev: _Evaluator, avail: set, groups: dict, nan, out: _Collector) -> None:
    num_expr = pick(ind.numerateur, avail)
    den_expr = pick(ind.denominateur, avail)
    mult = 100.0 if ind.unite == "%" else float(ind.facteur)
    if num_expr is not None and (den_expr is not None or ind.extra.get("source_denominateur")):
        n, rn, sn, src, notes, pn = ev(num_expr)
        if den_expr is not None:
            d, rd, sd, _, dnotes, pd_ = ev(den_expr)
        else:
            other = _denominator_group(ind, g, groups)
            if other is None:
                return
            d, rd, sd, _, dnotes, pd_ = _Evaluator(_aligned(other, g))(pick(ind.denominateur, set(other.data.columns)))
        rang = np.minimum(rn, rd)
        with np.errstate(divide="ignore", invalid="ignore"):
            val = np.where((rang == 2) & (np.abs(d) > 0), n / d * mult, np.nan)
        out.add(ind, n, d, val, rang, "compte", sn or sd, src, _join_notes([notes, dnotes]), pn | pd_)
        return
    if ind.taux_publie and ind.taux_publie in avail:
        v, r, sim, src, notes, prot = ev(ind.taux_publie)
        if ind.denominateur_publie and ind.denominateur_publie in avail:
            d, rd, sd, _, _, pd_ = ev(ind.denominateur_publie)
            out.add(ind, v * d / mult, d, v, np.minimum(r, rd), "pondere", sim or sd, src, notes, prot | pd_)
        else:
            out.add(ind, nan, nan, v, r, "taux", sim, src, notes, prot)


def _aligned(other: Group, g: Group) -> Group:
    """``other``'s columns on ``g``'s codes (a code ``other`` lacks is not available)."""
    return Group(other.niveau, other.millesime, other.geo, other.data.reindex(g.data.index),
                 other.rang.reindex(g.data.index).fillna(1).astype(np.int8),
                 other.notes.reindex(g.data.index).fillna("").astype(object), other.var_source,
                 other.var_simule, other.protege.reindex(g.data.index).fillna(False).astype(bool), None)


def ratio_values(u: pd.DataFrame, catalogue: dict[str, Indicateur]) -> np.ndarray:
    """``val`` recomputed from ``num``/``den`` for summed rows (ratios), from ``num`` for counts."""
    ids = u["ind"]
    mult = ids.map({k: 100.0 if i.unite == "%" else float(i.facteur) for k, i in catalogue.items()}).to_numpy(float)
    is_ratio = ids.map({k: i.type == "ratio" for k, i in catalogue.items()}).to_numpy(bool)
    fac = ids.map({k: float(i.facteur) for k, i in catalogue.items()}).to_numpy(float)
    num = u["num"].to_numpy(float)
    den = u["den"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(np.abs(den) > 0, num / den * mult, np.nan)
    return np.where(is_ratio, ratio, num * fac)
