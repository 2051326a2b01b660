"""The indicator engine: producer tables (:class:`SourceTable`) + catalogue → the tidy table.

The tidy table (``docs/contracts.md``) has one row per territory × indicator × millésime, with the
columns :data:`TIDY_COLUMNS` in that order. :func:`compute_indicators` builds it; :func:`evolution`
and :func:`add_evolutions` compute changes between millésimes.

Rules
-----
- **Ratios** are ``sum(numerators) / sum(denominators)`` at every aggregate level, never a mean of
  rates; for unit ``%`` the value is ``100 × numerateur / denominateur``, otherwise
  ``facteur × numerateur / denominateur``. Effectifs are sums (× ``facteur``).
- **Producer values** (medians, quartiles, published rates: type ``valeur_producteur``) come only from
  a table at the level the producer publishes (IRIS, commune, EPCI, 2015 quartier, département,
  France), else they are absent. The one exception is the 2024 quartier, where a figure published on
  the 2015 quartiers is carried over (mean of the 2015 values weighted by the crosswalk weights,
  method ``transposition_2015_2024``, statut ``estime``, quality from
  :func:`observatoire.spatial.estimate.transpose`): it is flagged as an estimate everywhere.
- **Secrecy**: a cell the producer withheld has statut ``secret`` (INSEE « s », small counts) or
  ``nd`` (not available). A ratio or sum any of whose inputs is withheld is not computed: its
  ``valeur``, ``numerateur`` and ``denominateur`` stay empty and its statut is the withheld one
  (``secret`` wins over ``nd``). Missing parts of an aggregate count as ``nd`` (unknown, not zero).
- **Statut** priority: ``secret`` > ``nd`` > ``simule`` > ``estime`` > ``ok``.
- **Quartiers** (``qpv2024``, ``qpv2015``): the producer's own figure wins (methode ``producteur``);
  else an estimate from IRIS counts through the crosswalk (:func:`estimate_counts`, methode
  ``dasymetrique`` or ``surface``, with ``qualite``); else, for 2024 quartiers, the 2015 quartiers'
  figures transposed (methode ``transposition_2015_2024``). Commune parts of quartiers
  (``partie_qpv2024``) and custom zones (``zone``) are IRIS estimates.
- **Reference territories**: ``commune`` (commune table, else sum of its IRIS), ``epci`` (producer
  row, else sum of the territory's communes, else of its IRIS), ``ensemble_qpv_epci`` (sum of the
  numerators and denominators of the quartiers touching the territory — a quartier that spills
  outside the EPCI is counted whole, as INSEE counts quartiers; absent unless every quartier has a
  figure), ``ensemble_qpv_departement`` (sum over the producer's QPV-level rows of every quartier of
  the département, when a QPV table covers them — a table holding only the territory's quartiers
  does not give this reference), ``departement`` (producer row, else sum of the
  commune table over the département), ``france`` (France métropolitaine, code ``FRM``: producer
  row, else sum of the commune table over metropolitan communes, only when that table covers more
  than one département).
- **Cross-source ratios**: an entry with ``source_denominateur`` takes its denominator from another
  source at the same level, the most recent millésime not after the numerator's (else the nearest).
- **Alternatives**: ``numerateur: "P_POP60P | P_POP6074 + P_POP75P"`` uses the first alternative
  whose variables are all in the table.
- ``echelles`` of the catalogue filters the levels written.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .catalogue import Indicateur, load_catalogue
from .catalogue.validate import alternatives, evaluate, expression_variables
from .sources.table import SourceTable
from .tidy import CODE_FRANCE, METHODES_ESTIMATION, STATUT_RANG, TIDY_COLUMNS  # noqa: F401 (re-exported)


from .tidy import TYPES_TERRITOIRE  # noqa: E402

#: Statut priority (lower rank wins when several apply).
LIBELLE_FRANCE = "France métropolitaine"

#: Sources whose editions follow INSEE's rule « do not compare census editions less than 5 years
#: apart » (prefix of the table's source id, or catalogue source family).
SOURCES_RECENSEMENT = ("insee_rp", "insee_qpv2024_population")


@dataclass
class IndicatorInputs:
    """Everything the engine needs besides the catalogue.

    Frames may be ``None`` (absent); codes are strings. ``crosswalks`` keys: ``qpv2024``,
    ``qpv2015``, ``partie_qpv2024``, ``zone`` (IRIS → zone: ``code_iris, code_zone, poids_surface``
    and optionally ``poids_dasymetrique``) and ``qpv2015_qpv2024`` (``code_source, code_zone,
    poids_surface``). ``departement``: DataFrame ``code, nom`` (first row = the territory's
    département). ``annees_ecart_min``: census editions fewer years apart are not compared.
    """

    tables: list[SourceTable]
    communes: pd.DataFrame | None = None          # code_insee, nom, dep
    iris: pd.DataFrame | None = None              # code_iris, code_insee, nom_iris
    qpv2024: pd.DataFrame | None = None           # code_qp, lib_qp
    qpv2015: pd.DataFrame | None = None           # code_qp, nom_qp
    zones: pd.DataFrame | None = None             # code, libelle
    qpv_communes: pd.DataFrame | None = None      # code_qp, millesime_qpv, insee_com, nom_commune, part_surface, dans_territoire
    crosswalks: dict[str, pd.DataFrame] = field(default_factory=dict)
    epci_siren: str | None = None
    epci_nom: str | None = None
    departement: pd.DataFrame | tuple | None = None   # code, nom (DataFrame, or a (code, nom) tuple)
    territory_communes: set[str] = field(default_factory=set)
    estimation_method: str = "dasymetrique"
    annees_ecart_min: int = 5


# --------------------------------------------------------------------------------------------------
# Small pure helpers
# --------------------------------------------------------------------------------------------------

def worst_statut(statuts) -> str:
    """The highest-priority statut of an iterable (``secret`` > ``nd`` > ``simule`` > ``estime`` > ``ok``)."""
    best = "ok"
    for s in statuts:
        if STATUT_RANG.get(s, 4) < STATUT_RANG[best]:
            best = s
    return best


def _rank(s: pd.Series) -> pd.Series:
    return s.map({"secret": 0, "nd": 1}).fillna(2).astype(int)


def _unrank(r: pd.Series) -> pd.Series:
    return r.map({0: "secret", 1: "nd", 2: "ok"}).astype(object)


def _dep_of_commune(code: str) -> str:
    code = str(code)
    return code[:3] if code.startswith("97") else code[:2]


def _dep_of_qp(code: str) -> str:
    """``QN05930M`` / ``QP059030`` → ``59``; ``QN97101M`` → ``971``; ``QN02A01M`` → ``2A``."""
    d = str(code)[2:5]
    return d if d.startswith("97") else d[1:]


@dataclass
class _Group:
    """Variables of all tables sharing a level and a millésime, side by side."""

    niveau: str
    millesime: int
    millesime_geographie: int
    data: pd.DataFrame
    statut: pd.DataFrame
    var_source: dict[str, str]
    var_simule: dict[str, bool]
    libelles: pd.Series | None


def _group_tables(tables: list[SourceTable]) -> dict[tuple[str, int], _Group]:
    """Tables of one level and millésime side by side. A variable present in several tables keeps
    the first table's cells and takes from the others only the codes the first one lacks."""
    groups: dict[tuple[str, int], list[SourceTable]] = {}
    for t in tables:
        groups.setdefault((t.niveau, int(t.millesime)), []).append(t)
    out = {}
    for key, ts in groups.items():
        cols_d: dict[str, pd.Series] = {}
        cols_s: dict[str, pd.Series] = {}
        var_source, var_simule, libs = {}, {}, None
        for t in ts:
            idx = pd.Index(t.data.index.astype(str), name="code")
            keep = ~idx.duplicated()
            for c in t.data.columns:
                d = pd.Series(t.data[c].to_numpy(dtype=float)[keep], index=idx[keep])
                s = pd.Series(t.statut[c].astype(object).to_numpy()[keep], index=idx[keep])
                if c not in cols_d:
                    cols_d[c], cols_s[c] = d, s
                    var_source[c] = t.source
                    var_simule[c] = bool(t.simule)
                else:
                    new = ~d.index.isin(cols_d[c].index)
                    if new.any():
                        cols_d[c] = pd.concat([cols_d[c], d[new]])
                        cols_s[c] = pd.concat([cols_s[c], s[new]])
                        var_simule[c] = var_simule[c] or bool(t.simule)
            if t.libelles is not None:
                lib = t.libelles.copy()
                lib.index = lib.index.astype(str)
                lib = lib[~lib.index.duplicated()]
                libs = lib if libs is None else libs.combine_first(lib)
        data = pd.DataFrame(cols_d)
        statut = pd.DataFrame(cols_s).astype(object)
        statut = statut.where(statut.notna(), "nd")   # a code absent from one table: not available
        data = data.where(statut == "ok")
        geo = max(int(t.millesime_geographie) for t in ts)
        out[key] = _Group(key[0], key[1], geo, data, statut, var_source, var_simule, libs)
    return out


def _pick(expr: str | None, available) -> str | None:
    """First alternative of ``expr`` whose variables are all available (None if none)."""
    if not expr:
        return None
    for alt in alternatives(expr):
        if all(v in available for v in expression_variables(alt)):
            return alt
    return None


def _eval_frame(expr: str, data: pd.DataFrame, statut: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Evaluate an expression row by row: (values, worst statut of its variables)."""
    names = expression_variables(expr)
    env = {n: data[n].astype(float) for n in names}
    vals = evaluate(expr, env)
    if not isinstance(vals, pd.Series):
        vals = pd.Series(float(vals), index=data.index)
    rank = pd.concat([_rank(statut[n]) for n in names], axis=1).min(axis=1)
    return vals.astype(float), _unrank(rank)


# A "unit frame": index = territory code; columns num, den, val (float), statut (ok/secret/nd),
# simule, estime (bool), methode, qualite, source (object), geo (int).
_UNIT_COLS = ["num", "den", "val", "statut", "simule", "estime", "methode", "qualite", "source", "geo"]


def _finish(f: pd.DataFrame, ind: Indicateur) -> pd.DataFrame:
    """Compute ``val`` from num/den (ratio) or num (effectif) and blank every withheld number."""
    f = f.copy()
    mult = 100.0 if ind.unite == "%" else float(ind.facteur)
    if ind.type == "ratio":
        # a zero denominator leaves the rate undefined (shown « nd » by _rows) but its counts are
        # known and still count in sums of parts
        with np.errstate(divide="ignore", invalid="ignore"):
            f["val"] = np.where((f["statut"] == "ok") & (f["den"].abs() > 0), f["num"] / f["den"] * mult, np.nan)
    elif ind.type == "effectif":
        f["val"] = f["num"] * float(ind.facteur)
    withheld = f["statut"].isin(["secret", "nd"])
    f.loc[withheld, ["num", "den", "val"]] = np.nan
    return f


def _base_frame(ind: Indicateur, g: _Group, groups: dict, methode: str = "producteur") -> pd.DataFrame | None:
    """Unit frame of ``ind`` from a group (None when the group lacks its variables)."""
    avail = set(g.data.columns)
    src_den = ind.extra.get("source_denominateur")
    if ind.type == "valeur_producteur":
        var = _pick(ind.variable, avail)
        if var is None:
            return None
        vals, st = _eval_frame(var, g.data, g.statut)
        num = pd.Series(np.nan, index=g.data.index)
        f = pd.DataFrame({"num": num, "den": num, "val": vals * float(ind.facteur), "statut": st})
        used = expression_variables(var)
    elif ind.type == "effectif":
        expr = _pick(ind.variable or ind.numerateur, avail)
        if expr is None:
            return None
        vals, st = _eval_frame(expr, g.data, g.statut)
        f = pd.DataFrame({"num": vals, "den": np.nan, "val": np.nan, "statut": st})
        used = expression_variables(expr)
    else:
        num_expr = _pick(ind.numerateur, avail)
        if num_expr is None:
            return None
        num, st_n = _eval_frame(num_expr, g.data, g.statut)
        den_expr = _pick(ind.denominateur, avail)
        used = expression_variables(num_expr)
        if den_expr is not None:
            den, st_d = _eval_frame(den_expr, g.data, g.statut)
            used += expression_variables(den_expr)
            simule_den = any(g.var_simule.get(v, False) for v in expression_variables(den_expr))
        elif src_den:
            other = _denominator_group(ind, g, groups)
            if other is None:
                return None
            den_expr = _pick(ind.denominateur, set(other.data.columns))
            od = other.data.reindex(g.data.index)
            os_ = other.statut.reindex(g.data.index).where(lambda x: x.notna(), "nd")
            den, st_d = _eval_frame(den_expr, od, os_)
            simule_den = any(other.var_simule.get(v, False) for v in expression_variables(den_expr))
        else:
            return None
        rank = pd.concat([_rank(st_n), _rank(st_d)], axis=1).min(axis=1)
        f = pd.DataFrame({"num": num, "den": den, "val": np.nan, "statut": _unrank(rank)})
        f.attrs["simule_den"] = simule_den
    f["simule"] = any(g.var_simule.get(v, False) for v in used) or bool(f.attrs.get("simule_den", False))
    f["estime"] = False
    f["methode"] = methode
    f["qualite"] = None
    f["source"] = g.var_source.get(used[0], "")
    f["geo"] = g.millesime_geographie
    f = f[_UNIT_COLS]
    for c in ("num", "den"):
        f.loc[f["statut"] != "ok", c] = np.nan
    return _finish(f, ind)


def _denominator_group(ind: Indicateur, g: _Group, groups: dict) -> _Group | None:
    cands = [o for (niv, m), o in groups.items() if niv == g.niveau and o is not g
             and _pick(ind.denominateur, set(o.data.columns)) is not None]
    if not cands:
        return None
    before = [o for o in cands if o.millesime <= g.millesime]
    if before:
        return max(before, key=lambda o: o.millesime)
    return min(cands, key=lambda o: o.millesime)


def _sum_parts(f: pd.DataFrame, mapping: pd.DataFrame, ind: Indicateur, methode: str = "somme") -> pd.DataFrame:
    """Aggregate a unit frame: ``mapping`` has columns ``part`` and ``groupe``.

    A part absent from ``f`` counts as ``nd``. Numerators and denominators are summed (a withheld
    part makes the sum withheld); statut = worst part statut; ``simule``/``estime`` if any part is.
    """
    m = mapping[["part", "groupe"]].drop_duplicates().astype(str)
    j = m.join(f, on="part")
    j["statut"] = j["statut"].where(j["statut"].notna(), "nd")
    j["simule"] = j["simule"].fillna(False).astype(bool)
    j["estime"] = j["estime"].fillna(False).astype(bool)
    j["rank"] = _rank(j["statut"])
    g = j.groupby("groupe", sort=True)
    out = pd.DataFrame({
        "num": g["num"].sum(min_count=1),
        "den": g["den"].sum(min_count=1),
        "rank": g["rank"].min(),
        "simule": g["simule"].any(),
        "estime": g["estime"].any(),
        "source": g["source"].first(),
        "geo": g["geo"].max(),
    })
    out["statut"] = _unrank(out["rank"])
    out["val"] = np.nan
    out["methode"] = methode
    out["qualite"] = None
    out["source"] = out["source"].fillna("")
    out = out[_UNIT_COLS]
    return _finish(out, ind)


def _estimator(cw: pd.DataFrame, method: str, cache: dict | None, population: pd.Series | None = None):
    """Prepared crosswalk, weights, quality class and method of each zone (computed once per
    crosswalk: the quality does not depend on the indicator)."""
    key = (id(cw), method)
    if cache is not None and key in cache:
        return cache[key]
    from .spatial.estimate import estimate_counts, weights_for
    cwp = cw.copy()
    cwp["code_iris"] = cwp["code_iris"].astype(str)
    cwp["code_zone"] = cwp["code_zone"].astype(str)
    dummy = pd.DataFrame({"_": np.ones(cwp["code_iris"].nunique())}, index=pd.Index(cwp["code_iris"].unique()))
    est, qual = estimate_counts(dummy, cwp, method=method, population=population)
    val = (cwp, weights_for(cwp, method), qual, est.attrs.get("methode"))
    if cache is not None:
        cache[key] = val
    return val


def _estimate(f: pd.DataFrame, cw: pd.DataFrame, ind: Indicateur, method: str,
              cache: dict | None = None, population: pd.Series | None = None) -> pd.DataFrame | None:
    """IRIS unit frame → zones through an IRIS crosswalk (counts only), with
    :func:`observatoire.spatial.estimate.estimate_counts`' weights, quality and method."""
    try:
        from .spatial.estimate import allocate
    except ImportError:  # pragma: no cover - spatial stage absent
        warnings.warn("observatoire.spatial.estimate absent : pas d'estimation depuis les IRIS")
        return None
    if cw is None or cw.empty:
        return None
    cw, weights, qual, methodes = _estimator(cw, method, cache, population)
    counts = f[["num", "den"]].astype(float)
    counts = counts.where(f["statut"] == "ok")
    est = allocate(counts, cw, weights)
    # statut of each zone: worst statut of the IRIS contributing with a weight > 0
    w = cw["poids_surface"].astype(float)
    if method == "dasymetrique" and "poids_dasymetrique" in cw.columns:
        w = cw["poids_dasymetrique"].astype(float).fillna(w)
    contrib = cw[w.to_numpy() > 0]
    st = f["statut"].reindex(contrib["code_iris"]).fillna("nd")
    ranks = pd.Series(_rank(st).to_numpy(), index=contrib["code_zone"].to_numpy())
    zrank = ranks.groupby(level=0).min().reindex(est.index).fillna(1).astype(int)
    out = pd.DataFrame(index=est.index)
    out["num"] = est["num"]
    out["den"] = est["den"]
    out["val"] = np.nan
    out["statut"] = _unrank(zrank)
    sim = pd.Series(f["simule"].reindex(contrib["code_iris"]).fillna(False).to_numpy(dtype=bool),
                    index=contrib["code_zone"].to_numpy()).groupby(level=0).any()
    out["simule"] = sim.reindex(est.index).fillna(False).astype(bool)
    out["estime"] = True
    out["methode"] = methodes.reindex(est.index).fillna(method).astype(object) if methodes is not None else method
    out["qualite"] = qual.reindex(est.index).astype(object)
    src = f["source"].iloc[0] if len(f) else ""
    out["source"] = src
    out["geo"] = int(f["geo"].max()) if len(f) else 0
    out.loc[out["statut"] != "ok", ["num", "den"]] = np.nan
    return _finish(out[_UNIT_COLS], ind)


def _transpose(f: pd.DataFrame, cw: pd.DataFrame, ind: Indicateur) -> pd.DataFrame | None:
    """2015 quartier unit frame → 2024 quartiers (counts summed; producer values weighted mean)."""
    if cw is None or cw.empty:
        return None
    try:
        from .spatial.estimate import transpose
    except ImportError:  # pragma: no cover
        return None
    cw = cw.copy()
    cw["code_source"] = cw["code_source"].astype(str)
    cw["code_zone"] = cw["code_zone"].astype(str)
    cw = cw[["code_source", "code_zone"] + [c for c in cw.columns if c not in ("code_source", "code_zone")]]
    wcol = "poids_surface"
    if "poids_dasymetrique" in cw.columns and cw["poids_dasymetrique"].notna().all():
        wcol = "poids_dasymetrique"
    elif "part_source" in cw.columns:
        wcol = "part_source"
    ok = f["statut"] == "ok"
    if ind.type == "valeur_producteur":
        counts = pd.DataFrame({"num": (f["val"] * 1.0).where(ok), "den": pd.Series(1.0, index=f.index).where(ok)})
    else:
        counts = f[["num", "den"]].astype(float).where(ok, np.nan)
    est, qual = transpose(counts, cw, "code_source", "code_zone", wcol)
    w = cw[wcol].astype(float)
    contrib = cw[w.to_numpy() > 0]
    st = f["statut"].reindex(contrib["code_source"]).fillna("nd")
    ranks = pd.Series(_rank(st).to_numpy(), index=contrib["code_zone"].to_numpy())
    zrank = ranks.groupby(level=0).min().reindex(est.index).fillna(1).astype(int)
    out = pd.DataFrame(index=est.index)
    out["statut"] = _unrank(zrank)
    if ind.type == "valeur_producteur":
        # weighted mean of the 2015 values: Σ w·v / Σ w
        with np.errstate(divide="ignore", invalid="ignore"):
            out["val"] = est["num"] / est["den"]
        out["num"] = np.nan
        out["den"] = np.nan
    else:
        out["num"] = est["num"]
        out["den"] = est["den"]
        out["val"] = np.nan
    sim = pd.Series(f["simule"].reindex(contrib["code_source"]).fillna(False).to_numpy(dtype=bool),
                    index=contrib["code_zone"].to_numpy()).groupby(level=0).any()
    out["simule"] = sim.reindex(est.index).fillna(False).astype(bool)
    out["estime"] = True
    out["methode"] = "transposition_2015_2024"
    out["qualite"] = qual.reindex(est.index).astype(object)
    out["source"] = f["source"].iloc[0] if len(f) else ""
    out["geo"] = 2024
    out = out[_UNIT_COLS]
    if ind.type == "valeur_producteur":
        out.loc[out["statut"] != "ok", "val"] = np.nan
        return out
    return _finish(out, ind)


def _rows(f: pd.DataFrame | None, type_territoire: str, ind: Indicateur, millesime: int,
          labels: dict[str, str] | None = None) -> pd.DataFrame | None:
    if f is None or f.empty:
        return None
    statut = f["statut"].astype(object).copy()
    if ind.type in ("ratio", "valeur_producteur"):
        statut[(statut == "ok") & f["val"].isna()] = "nd"   # undefined rate (0/0), missing value
    ok = statut == "ok"
    statut[ok & f["estime"].astype(bool)] = "estime"
    codes = pd.Index(f.index.astype(str))
    df = pd.DataFrame({
        "type_territoire": type_territoire,
        "code_territoire": codes,
        "libelle_territoire": [(labels or {}).get(c, "") for c in codes],
        "indicateur": ind.id,
        "millesime": int(millesime),
        "millesime_geographie": f["geo"].astype(int).to_numpy(),
        "valeur": f["val"].astype(float).to_numpy(),
        "numerateur": f["num"].astype(float).to_numpy(),
        "denominateur": f["den"].astype(float).to_numpy(),
        "statut": statut.to_numpy(),
        "methode": f["methode"].astype(object).to_numpy(),
        "qualite": f["qualite"].astype(object).to_numpy(),
        "source": f["source"].astype(object).to_numpy(),
        "simule": f["simule"].astype(bool).to_numpy(),
    })
    if ind.type == "valeur_producteur":
        df["numerateur"] = np.nan
        df["denominateur"] = np.nan
    return df


# --------------------------------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------------------------------

def _labels(inputs: IndicatorInputs, groups: dict) -> dict[str, dict[str, str]]:
    lab: dict[str, dict[str, str]] = {t: {} for t in TYPES_TERRITOIRE}
    for g in groups.values():  # producer labels first, overridden by the geographic frames
        if g.libelles is not None and g.niveau in lab:
            lab[g.niveau].update({str(k): str(v) for k, v in g.libelles.dropna().items()})

    def put(kind, frame, code, name):
        if frame is not None and code in frame.columns and name in frame.columns:
            lab[kind].update(dict(zip(frame[code].astype(str), frame[name].astype(str))))

    put("commune", inputs.communes, "code_insee", "nom")
    put("iris", inputs.iris, "code_iris", "nom_iris")
    put("qpv2024", inputs.qpv2024, "code_qp", "lib_qp")
    put("qpv2015", inputs.qpv2015, "code_qp", "nom_qp")
    put("zone", inputs.zones, "code", "libelle")
    qc = inputs.qpv_communes
    if qc is not None and len(qc):
        q24 = qc[qc["millesime_qpv"].astype(int) == 2024]
        for _, r in q24.iterrows():
            code = f"{r['code_qp']}_{r['insee_com']}"
            lab["partie_qpv2024"][code] = f"{lab['qpv2024'].get(str(r['code_qp']), r['code_qp'])} ({r['nom_commune']})"
    if inputs.epci_siren:
        nom = inputs.epci_nom or inputs.epci_siren
        lab["epci"][inputs.epci_siren] = nom
        for g in (2015, 2024):
            lab[f"ensemble_qpv{g}_epci"][inputs.epci_siren] = f"Ensemble des QPV {g} – {nom}"
    dep = _dep_frame(inputs.departement)
    if dep is not None:
        for _, r in dep.iterrows():
            lab["departement"][str(r["code"])] = str(r["nom"])
            for g in (2015, 2024):
                lab[f"ensemble_qpv{g}_departement"][str(r["code"])] = f"Ensemble des QPV {g} – {r['nom']}"
    lab["france"][CODE_FRANCE] = LIBELLE_FRANCE
    return lab


# --------------------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------------------

def _territory_communes(inputs: IndicatorInputs) -> set[str]:
    s = {str(c) for c in inputs.territory_communes}
    if not s and inputs.communes is not None and "code_insee" in inputs.communes.columns:
        s = set(inputs.communes["code_insee"].astype(str))
    return s


def _dep_frame(dep) -> pd.DataFrame | None:
    """``departement`` given as a DataFrame (code, nom), a dict or a (code, nom) tuple."""
    if dep is None:
        return None
    if isinstance(dep, pd.DataFrame):
        return dep if len(dep) else None
    if isinstance(dep, dict):
        return pd.DataFrame({"code": [str(dep.get("code"))], "nom": [str(dep.get("nom", dep.get("code")))]})
    if isinstance(dep, (tuple, list)):
        return pd.DataFrame({"code": [str(dep[0])], "nom": [str(dep[1] if len(dep) > 1 else dep[0])]})
    return pd.DataFrame({"code": [str(dep)], "nom": [str(dep)]})


def _dep_code(inputs: IndicatorInputs, communes: set[str]) -> str | None:
    dep = _dep_frame(inputs.departement)
    if dep is not None:
        return str(dep["code"].iloc[0])
    if inputs.communes is not None and "dep" in inputs.communes.columns and len(inputs.communes):
        return str(inputs.communes["dep"].iloc[0])
    if communes:
        return _dep_of_commune(sorted(communes)[0])
    return None


def _iris_commune(inputs: IndicatorInputs, codes: pd.Index) -> pd.Series:
    codes = pd.Index(codes.astype(str))
    com = pd.Series(codes.str[:5], index=codes)
    if inputs.iris is not None and {"code_iris", "code_insee"} <= set(inputs.iris.columns):
        m = dict(zip(inputs.iris["code_iris"].astype(str), inputs.iris["code_insee"].astype(str)))
        com = pd.Series([m.get(c, c[:5]) for c in codes], index=codes)
    return com


def _quartier_codes(frame: pd.DataFrame | None) -> list[str]:
    if frame is None or "code_qp" not in frame.columns:
        return []
    return sorted(frame["code_qp"].astype(str).unique())


def _fill(rows: pd.DataFrame | None, more: pd.DataFrame) -> pd.DataFrame:
    """``rows`` completed by the rows of ``more`` whose territory it does not have yet."""
    if rows is None:
        return more
    return pd.concat([rows, more.loc[[c for c in more.index if c not in rows.index]]])


def compute_indicators(inputs: IndicatorInputs, catalogue: dict[str, Indicateur] | None = None) -> pd.DataFrame:
    """Compute every catalogue indicator at every level the inputs allow.

    Parameters
    ----------
    inputs : IndicatorInputs
        Producer tables and territory frames.
    catalogue : dict, optional
        ``{id: Indicateur}``; default :func:`load_catalogue`.

    Returns
    -------
    DataFrame
        The tidy table, columns :data:`TIDY_COLUMNS` in order, one row per territory × indicator ×
        millésime (see the module docstring for the rules).
    """
    catalogue = catalogue if catalogue is not None else load_catalogue()
    groups = _group_tables(inputs.tables)
    labels = _labels(inputs, groups)
    communes = _territory_communes(inputs)
    dep = _dep_code(inputs, communes)
    siren = inputs.epci_siren
    q24 = _quartier_codes(inputs.qpv2024)
    q15 = _quartier_codes(inputs.qpv2015)
    cws = inputs.crosswalks or {}
    method = inputs.estimation_method
    extra_communes = set()
    if inputs.qpv_communes is not None and "insee_com" in inputs.qpv_communes.columns:
        extra_communes = set(inputs.qpv_communes["insee_com"].astype(str))
    listed_communes = communes | extra_communes
    if inputs.communes is not None and "code_insee" in inputs.communes.columns:
        listed_communes |= set(inputs.communes["code_insee"].astype(str))

    out: list[pd.DataFrame] = []
    est_cache: dict = {}
    # census population of each IRIS (latest edition): weights the quality measure of estimates
    pops = [g for (niv, _), g in sorted(groups.items(), key=lambda kv: kv[0][1]) if niv == "iris" and "P_POP" in g.data]
    iris_pop = pops[-1].data["P_POP"].dropna() if pops else None
    millesimes = sorted({m for (_, m) in groups})
    for ind in catalogue.values():
        ech = set(ind.echelles) if ind.echelles else set(TYPES_TERRITOIRE)
        for e in list(ech):
            if e.startswith("ensemble_qpv_"):
                ech |= {e.replace("ensemble_qpv_", f"ensemble_qpv{g}_") for g in (2015, 2024)}
        summable = ind.type in ("ratio", "effectif")

        def emit(f, kind, m):
            if kind in ech and f is not None and not f.empty:
                r = _rows(f, kind, ind, m, labels.get(kind))
                if r is not None:
                    out.append(r)

        for m in millesimes:
            base = {niv: _base_frame(ind, g, groups) for (niv, mm), g in groups.items() if mm == m}
            base = {k: v for k, v in base.items() if v is not None}
            if not base:
                continue
            iris_f = base.get("iris")
            com_f = base.get("commune")
            # --- IRIS
            if iris_f is not None:
                emit(iris_f, "iris", m)
            # --- communes
            commune_rows = None
            if com_f is not None:
                keep = [c for c in com_f.index if c in listed_communes] if listed_communes else list(com_f.index)
                commune_rows = com_f.loc[keep]
            elif iris_f is not None and summable:
                mp = pd.DataFrame({"part": iris_f.index, "groupe": _iris_commune(inputs, iris_f.index).to_numpy()})
                commune_rows = _sum_parts(iris_f, mp, ind)
            emit(commune_rows, "commune", m)
            # --- EPCI
            if siren:
                epci_f = base.get("epci")
                if epci_f is not None and siren in epci_f.index:
                    emit(epci_f.loc[[siren]], "epci", m)
                elif summable and communes:
                    if com_f is not None:
                        mp = pd.DataFrame({"part": sorted(communes), "groupe": siren})
                        emit(_sum_parts(com_f, mp, ind), "epci", m)
                    elif iris_f is not None:
                        parts = [c for c, k in _iris_commune(inputs, iris_f.index).items() if k in communes]
                        if parts:
                            mp = pd.DataFrame({"part": parts, "groupe": siren})
                            emit(_sum_parts(iris_f, mp, ind), "epci", m)
            # --- département
            if dep:
                dep_f = base.get("departement")
                if dep_f is not None and dep in dep_f.index:
                    emit(dep_f.loc[[dep]], "departement", m)
                elif summable and com_f is not None:
                    parts = [c for c in com_f.index if _dep_of_commune(c) == dep]
                    if parts:
                        emit(_sum_parts(com_f, pd.DataFrame({"part": parts, "groupe": dep}), ind), "departement", m)
            # --- France métropolitaine
            fr_f = base.get("france")
            if fr_f is not None and len(fr_f):
                code = CODE_FRANCE if CODE_FRANCE in fr_f.index else fr_f.index[0]
                row = fr_f.loc[[code]].copy()
                row.index = [CODE_FRANCE]
                emit(row, "france", m)
            elif summable and com_f is not None:
                deps = {_dep_of_commune(c) for c in com_f.index}
                metro = [c for c in com_f.index if not str(c).startswith("97")]
                if len({d for d in deps if not d.startswith("97")}) > 1 and metro:
                    emit(_sum_parts(com_f, pd.DataFrame({"part": metro, "groupe": CODE_FRANCE}), ind),
                         "france", m)
            # --- quartiers 2015 and 2024: the producer's figure wins, then IRIS estimates, then (2024)
            #     figures transposed from the 2015 quartiers
            q15_prod = base.get("qpv2015")

            def quartiers(prod, codes, prefix, key, geo):
                rows = None
                if prod is not None:
                    rows = prod.loc[[c for c in prod.index if (c in codes if codes else c.startswith(prefix))]]
                if summable and iris_f is not None and key in cws:
                    est = _estimate(iris_f, cws[key], ind, method, est_cache, iris_pop)
                    if est is not None:
                        est = est.copy()
                        est["geo"] = geo
                        rows = _fill(rows, est)
                return rows

            q24_prod = base.get("qpv2024")
            q15_rows = quartiers(q15_prod, q15, "QP", "qpv2015", 2015)
            emit(q15_rows, "qpv2015", m)
            q24_rows = quartiers(q24_prod, q24, "QN", "qpv2024", 2024)
            if q15_prod is not None and "qpv2015_qpv2024" in cws:
                tr = _transpose(q15_prod, cws["qpv2015_qpv2024"], ind)
                if tr is not None:
                    q24_rows = _fill(q24_rows, tr.loc[[c for c in tr.index if (not q24 or c in q24)]])
            emit(q24_rows, "qpv2024", m)
            # --- commune parts and custom zones
            if summable and iris_f is not None:
                for key, kind in (("partie_qpv2024", "partie_qpv2024"), ("zone", "zone")):
                    if key in cws:
                        est = _estimate(iris_f, cws[key], ind, method, est_cache, iris_pop)
                        if est is not None:
                            est = est.copy()
                            est["geo"] = int(iris_f["geo"].max()) if key == "zone" else 2024
                            emit(est, kind, m)
            # --- all quartiers of the EPCI (each geography)
            if summable and siren:
                for rows, codes, geo in ((q24_rows, q24, 2024), (q15_rows, q15, 2015)):
                    if rows is None or not codes:
                        continue
                    if not all(c in rows.index for c in codes):
                        continue  # incomplete: an ensemble needs every quartier
                    ens = _sum_parts(rows, pd.DataFrame({"part": codes, "groupe": siren}), ind)
                    ens["geo"] = geo
                    emit(ens, f"ensemble_qpv{geo}_epci", m)
            # --- quartiers of the département (producer QPV tables)
            if summable and dep:
                for prod, geo, listed in ((q24_prod, 2024, q24), (q15_prod, 2015, q15)):
                    if prod is None:
                        continue
                    parts = [c for c in prod.index if _dep_of_qp(c) == dep]
                    # only when the producer table covers the département, not just the territory
                    if len(parts) < 2 or not (set(parts) - set(listed)):
                        continue
                    ens = _sum_parts(prod, pd.DataFrame({"part": parts, "groupe": dep}), ind)
                    ens["geo"] = geo
                    emit(ens, f"ensemble_qpv{geo}_departement", m)

    if not out:
        return pd.DataFrame({c: pd.Series(dtype=_DTYPES[c]) for c in TIDY_COLUMNS})
    tidy = pd.concat(out, ignore_index=True)
    return _normalise(tidy)


_DTYPES = {"type_territoire": object, "code_territoire": object, "libelle_territoire": object,
           "indicateur": object, "millesime": "int64", "millesime_geographie": "int64",
           "valeur": "float64", "numerateur": "float64", "denominateur": "float64", "statut": object,
           "methode": object, "qualite": object, "source": object, "couverture": "float64",
           "simule": bool, "note_producteur": object, "motif": object}


def _normalise(tidy: pd.DataFrame) -> pd.DataFrame:
    """Column order, dtypes, withheld numbers blanked, qualite only for estimates."""
    tidy = tidy.copy()
    for c, default in (("couverture", np.nan), ("simule", False), ("note_producteur", ""), ("motif", "")):
        if c not in tidy.columns:
            tidy[c] = default
    tidy["simule"] = tidy["simule"].fillna(False).astype(bool)
    if "statut" in tidy.columns and (tidy["statut"] == "simule").any():  # partner/legacy rows
        legacy = tidy["statut"] == "simule"
        tidy.loc[legacy, "simule"] = True
        tidy.loc[legacy, "statut"] = np.where(tidy.loc[legacy, "methode"].isin(METHODES_ESTIMATION), "estime", "ok")
    tidy = tidy[TIDY_COLUMNS]
    for c, t in _DTYPES.items():
        if t is object:
            tidy[c] = tidy[c].astype(object)
            tidy.loc[tidy[c].isna(), c] = None
        else:
            tidy[c] = tidy[c].astype(t)
    withheld = tidy["statut"].isin(["secret", "nd"])
    tidy.loc[withheld, ["valeur", "numerateur", "denominateur"]] = np.nan
    not_est = ~tidy["methode"].isin(METHODES_ESTIMATION)
    tidy.loc[not_est, "qualite"] = None
    return tidy.reset_index(drop=True)


# --------------------------------------------------------------------------------------------------
# Evolutions
# --------------------------------------------------------------------------------------------------

def _is_census(source: str | None, ind: Indicateur | None) -> bool:
    src = str(source or "")
    fam = ind.source if ind is not None else ""
    return any(src.startswith(p) for p in SOURCES_RECENSEMENT) or fam == "insee_rp"


def comparable(ind: Indicateur | None, source: str | None, annee_debut: int, annee_fin: int,
               annees_ecart_min: int = 5) -> bool:
    """May the figures of ``annee_debut`` and ``annee_fin`` be compared (INSEE's census rule)?

    For a census indicator (table ``source`` starting with one of :data:`SOURCES_RECENSEMENT`, or
    catalogue source family ``insee_rp``) the two editions must be at least ``annees_ecart_min`` years
    apart; any other source is always comparable.

    >>> from observatoire.catalogue import Indicateur
    >>> rp = Indicateur("x", "X", "insertion", "%", "ratio", "insee_rp")
    >>> comparable(rp, "insee_rp", 2019, 2022), comparable(rp, "insee_rp", 2017, 2022)
    (False, True)
    >>> comparable(rp, "insee_rp", 2019, 2022, annees_ecart_min=0)
    True
    >>> comparable(None, "caf", 2019, 2023)
    True
    """
    if not _is_census(source, ind):
        return True
    return abs(int(annee_fin) - int(annee_debut)) >= int(annees_ecart_min)


def evolution_unit(ind: Indicateur | None, unite: str | None = None) -> str:
    """``points`` for a rate (unit ``%``), ``%`` for counts, euros and indices."""
    u = unite if unite is not None else (ind.unite if ind is not None else "")
    return "points" if u == "%" else "%"


def evolution(tidy: pd.DataFrame, indicateur: str, code: str, annee_debut: int, annee_fin: int,
              type_territoire: str | None = None, catalogue: dict[str, Indicateur] | None = None,
              annees_ecart_min: int = 5) -> float | None:
    """Change of ``indicateur`` for territory ``code`` between two millésimes.

    In points for a rate (unit ``%``: ``valeur_fin - valeur_debut``), in % for anything else
    (``100 × (fin - debut) / debut``). Returns ``None`` when either value is absent or withheld
    (``secret``/``nd``), when the start value is 0 for a % change, or when the two census editions
    are fewer than ``annees_ecart_min`` years apart (INSEE's rule; pass ``annees_ecart_min=0`` to
    override).

    >>> t = pd.DataFrame({"type_territoire": ["iris", "iris"], "code_territoire": ["A", "A"],
    ...     "indicateur": ["x", "x"], "millesime": [2017, 2022], "valeur": [40.0, 42.5],
    ...     "statut": ["ok", "ok"], "source": ["s", "s"], "methode": ["producteur"] * 2})
    >>> from observatoire.catalogue import Indicateur
    >>> cat = {"x": Indicateur("x", "X", "insertion", "%", "ratio", "s")}
    >>> evolution(t, "x", "A", 2017, 2022, catalogue=cat)
    2.5
    """
    catalogue = catalogue if catalogue is not None else load_catalogue()
    ind = catalogue.get(indicateur)
    sel = tidy[(tidy["indicateur"] == indicateur) & (tidy["code_territoire"].astype(str) == str(code))]
    if type_territoire is not None:
        sel = sel[sel["type_territoire"] == type_territoire]
    sel = sel[sel["methode"] != "partenaire"] if "methode" in sel.columns else sel
    a = sel[sel["millesime"] == int(annee_debut)]
    b = sel[sel["millesime"] == int(annee_fin)]
    if a.empty or b.empty:
        return None
    ra, rb = a.iloc[0], b.iloc[0]
    if ra["statut"] in ("secret", "nd") or rb["statut"] in ("secret", "nd"):
        return None
    va, vb = ra["valeur"], rb["valeur"]
    if va is None or vb is None or (isinstance(va, float) and math.isnan(va)) or \
            (isinstance(vb, float) and math.isnan(vb)):
        return None
    if not comparable(ind, rb.get("source"), annee_debut, annee_fin, annees_ecart_min):
        return None
    if evolution_unit(ind) == "points":
        return float(vb) - float(va)
    if float(va) == 0:
        return None
    return 100.0 * (float(vb) - float(va)) / float(va)


EVOLUTION_COLUMNS = ["type_territoire", "code_territoire", "indicateur", "millesime_debut",
                     "millesime_fin", "valeur_debut", "valeur_fin", "evolution", "unite_evolution",
                     "statut"]


def add_evolutions(tidy: pd.DataFrame, catalogue: dict[str, Indicateur] | None = None,
                   annee_debut: int | None = None, annee_fin: int | None = None,
                   annees_ecart_min: int = 5) -> pd.DataFrame:
    """Changes between two millésimes for every territory × indicator (vectorised :func:`evolution`).

    For each territory × indicator (partner rows excluded), ``millesime_fin`` is ``annee_fin`` or the
    latest millésime, ``millesime_debut`` is ``annee_debut`` or the latest earlier millésime that is
    comparable (for census indicators, at least ``annees_ecart_min`` years earlier). ``statut``:
    worst of the two rows; ``evolution`` empty when either is withheld. Columns
    :data:`EVOLUTION_COLUMNS`.
    """
    catalogue = catalogue if catalogue is not None else load_catalogue()
    t = tidy[tidy["methode"] != "partenaire"] if "methode" in tidy.columns else tidy
    t = t[t["indicateur"].isin(list(catalogue))]
    key = ["type_territoire", "code_territoire", "indicateur"]
    cols = key + ["millesime", "valeur", "statut", "source"]
    t = t[cols].drop_duplicates(key + ["millesime"]).copy()
    if t.empty:
        return pd.DataFrame(columns=EVOLUTION_COLUMNS)
    t["millesime"] = t["millesime"].astype(int)
    fam = {k: v.source for k, v in catalogue.items()}
    census = t["indicateur"].map(fam).eq("insee_rp") | t["source"].astype(str).str.startswith(SOURCES_RECENSEMENT)
    t["_gap"] = np.where(census, max(int(annees_ecart_min), 1), 1)
    # end rows
    if annee_fin is not None:
        ends = t[t["millesime"] == int(annee_fin)]
    else:
        ends = t[t["millesime"] == t.groupby(key)["millesime"].transform("max")]
    # start rows: annee_debut, else the latest comparable earlier millésime
    starts = t.merge(ends[key + ["millesime", "_gap"]].rename(columns={"millesime": "_fin", "_gap": "_g"}), on=key)
    starts = starts[starts["_fin"] - starts["millesime"] >= starts["_g"]]
    if annee_debut is not None:
        starts = starts[starts["millesime"] == int(annee_debut)]
    starts = starts.sort_values("millesime").groupby(key, sort=False).tail(1)
    m = starts.merge(ends, on=key, suffixes=("_a", "_b"))
    if m.empty:
        return pd.DataFrame(columns=EVOLUTION_COLUMNS)
    rank = {k: v for k, v in STATUT_RANG.items()}
    ra, rb = m["statut_a"].map(rank).fillna(4), m["statut_b"].map(rank).fillna(4)
    statut = np.where(ra <= rb, m["statut_a"], m["statut_b"])
    withheld = pd.Series(statut, index=m.index).isin(["secret", "nd"])
    va = m["valeur_a"].astype(float).where(~withheld)
    vb = m["valeur_b"].astype(float).where(~withheld)
    unite = m["indicateur"].map(lambda i: evolution_unit(catalogue[i]))
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * (vb - va) / va.where(va != 0)
    ev = np.where(unite == "points", vb - va, pct)
    out = pd.DataFrame({"type_territoire": m["type_territoire"], "code_territoire": m["code_territoire"],
                        "indicateur": m["indicateur"], "millesime_debut": m["millesime_a"].astype(int),
                        "millesime_fin": m["millesime_b"].astype(int), "valeur_debut": va, "valeur_fin": vb,
                        "evolution": ev.astype(float), "unite_evolution": unite.astype(object),
                        "statut": pd.Series(statut, index=m.index).astype(object)})
    return out.sort_values(key).reset_index(drop=True)[EVOLUTION_COLUMNS]


def concat_tidy(*frames: pd.DataFrame) -> pd.DataFrame:
    """Stack tidy tables (engine output, partner rows) with the contract's columns and dtypes."""
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=_DTYPES[c]) for c in TIDY_COLUMNS})
    return _normalise(pd.concat([f[[c for c in TIDY_COLUMNS if c in f.columns]] for f in frames],
                                ignore_index=True))
