"""Set operations on unit frames: sums over memberships, estimates through crosswalks, transpositions.

Every function takes a unit frame (:mod:`observatoire.indicators.units`) holding all indicators at
once and returns the unit frame of the groups: one merge and one group-by per call, whatever the
number of indicators.

- :func:`sum_units`: a reference territory (commune from its IRIS, EPCI, département, France, a set
  of quartiers) as the sum of numerators and denominators of its parts (Σ num / Σ den, never a mean
  of rates). ``complet=True``: every expected part must have the figure, else the group is not
  available (``nd``) and ``motif`` says how many parts miss. Published rates without denominator and
  producer values (medians) are never summed: the group gets ``nd`` with that reason.
- :func:`estimate_units`: zones (quartiers, commune parts, custom zones) from IRIS counts through a
  crosswalk (area or dasymetric weights, :mod:`observatoire.spatial.estimate`), with the share of the
  zone the available IRIS cover (``couverture``) and a quality class (:func:`quality_from_coverage`).
- :func:`transpose_units`: 2024 quartiers from the 2015 quartiers through their overlay.
- :func:`prefer`: one row per territory and indicator, the best among candidates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..spatial.quality import zone_quality
from .units import COLS, KEY, QUALITE_CODES, SUMMABLE, empty_units

#: Coverage thresholds of an estimate (share of the zone, population-weighted where weights exist,
#: else by area, that the inputs cover). Below :data:`COUVERTURE_MIN` a rate is not published; a
#: count needs :data:`COUVERTURE_EFFECTIF` (a count over part of a zone is an undercount). The
#: quality class is capped at « moyenne » below :data:`COUVERTURE_BONNE` and at « faible » below
#: :data:`COUVERTURE_MOYENNE`.
COUVERTURE_MIN = 0.5
COUVERTURE_EFFECTIF = 0.95
COUVERTURE_BONNE = 0.95
COUVERTURE_MOYENNE = 0.8


def quality_from_coverage(base: np.ndarray, couverture: np.ndarray) -> np.ndarray:
    """Quality code (1 bonne, 2 moyenne, 3 faible) of estimates: the crosswalk's own class (``base``,
    :func:`observatoire.spatial.quality.zone_quality`) capped by the coverage.

    >>> quality_from_coverage(np.array([1, 1, 1, 2]), np.array([1.0, 0.9, 0.6, 0.99])).tolist()
    [1, 2, 3, 2]
    """
    cap = np.where(couverture >= COUVERTURE_BONNE, 1, np.where(couverture >= COUVERTURE_MOYENNE, 2, 3))
    return np.maximum(base.astype(np.int8), cap.astype(np.int8))


def _motif_incomplet(n_ok: np.ndarray, n_exp: np.ndarray, quoi: str) -> np.ndarray:
    """« couverture incomplète : 640 communes sur 648 ont le chiffre » (« 1 commune sur 648 a … »)."""
    mot, _, reste = quoi.partition(" ")
    un = " ".join(x for x in (mot if mot == "IRIS" or not mot.endswith("s") else mot[:-1], reste) if x)
    return np.array([f"couverture incomplète : {a} {quoi} sur {b} ont le chiffre" if a >= 2 else
                     f"couverture incomplète : {a} {un} sur {b} a le chiffre" for a, b in zip(n_ok, n_exp)],
                    dtype=object)


def sum_units(u: pd.DataFrame, membership: pd.DataFrame, *, quoi: str = "territoires",
              complet: bool = True, geo: int | None = None, motif: str | dict[str, str] = "") -> pd.DataFrame:
    """Sum the parts of each group for every summable indicator.

    Parameters
    ----------
    u : unit frame of the parts.
    membership : ``part``, ``groupe`` (each expected part of each group).
    quoi : French plural noun of the parts for the ``motif`` (« communes », « quartiers »).
    complet : every expected part must have a known figure (references); else the group is ``nd``.
    geo : geography vintage of the groups (default: the parts' latest).
    motif : caveat written on every published row (« quartiers comptés en entier… »), or one per
        group (``{groupe: motif}``).

    Returns
    -------
    Unit frame of the groups: ``num``/``den`` summed, ``rang`` the worst part (a missing part counts as
    not available), ``simule``/``protege`` if any part is, ``qualite`` the worst part's, ``couverture``
    the share of the expected parts that have the figure (for sums of estimates: the parts' coverage
    weighted by their denominators), ``methode`` ``somme`` (``somme_ponderee`` when parts are published
    rates × denominators). Non-summable indicators give ``nd`` rows with their reason.
    """
    if u.empty or membership.empty:
        return empty_units()
    m = membership[["part", "groupe"]].drop_duplicates().astype(str)
    n_exp = m.groupby("groupe")["part"].nunique()
    j = m.merge(u, left_on="part", right_on="code", how="inner")
    if j.empty:
        return empty_units()
    j["ok"] = (j["rang"] == 2).astype(np.int32)
    j["pond"] = (j["nature"] == "pondere").astype(np.int8)
    j["nonsum"] = (~j["nature"].isin(SUMMABLE)).astype(np.int8)
    j["est"] = j["methode"].isin(("surface", "dasymetrique", "transposition_2015_2024")).astype(np.int8)
    j["dabs"] = j["den"].abs().fillna(0.0)
    j["covw"] = j["couverture"].fillna(1.0) * j["dabs"]
    j["sim"] = j["simule"].astype(np.int8)
    j["prot"] = j["protege"].astype(np.int8)
    out = j.groupby(["groupe", "ind", "mil"], sort=False).agg(
        num=("num", "sum"), den=("den", "sum"), den_n=("den", "count"), rang=("rang", "min"), n_ok=("ok", "sum"),
        n_present=("ok", "size"),
        simule=("sim", "max"), protege=("prot", "max"), qualite=("qualite", "max"), pond=("pond", "max"),
        nonsum=("nonsum", "max"), source=("source", "first"), geo=("geo", "max"), estime=("est", "max"),
        cov_w=("covw", "sum"), den_abs=("dabs", "sum")).reset_index()
    n_expected = out["groupe"].map(n_exp).to_numpy()
    n_ok = out["n_ok"].to_numpy()
    summable = out["nonsum"].to_numpy() == 0
    rang = out["rang"].to_numpy().astype(np.int8)
    missing = out["n_present"].to_numpy() < n_expected
    rang = np.where(missing & (rang == 2), 1, rang).astype(np.int8)
    complete = n_ok == n_expected
    ok = summable & (rang == 2) & (complete if complet else n_ok > 0)
    estime = out["estime"].to_numpy() > 0
    res = pd.DataFrame({"code": out["groupe"].to_numpy(), "ind": out["ind"].to_numpy(), "mil": out["mil"].to_numpy()})
    res["num"] = np.where(ok, out["num"], np.nan)
    # a count has no denominator: never a sum of nothing (0)
    res["den"] = np.where(ok & (out["den_n"].to_numpy() > 0), out["den"], np.nan)
    res["val"] = np.nan
    res["rang"] = np.where(ok, 2, np.where(rang == 2, 1, rang)).astype(np.int8)
    res["nature"] = np.where(~summable, "taux", np.where(out["pond"] > 0, "pondere", "compte"))
    res["simule"] = out["simule"].to_numpy() > 0
    res["protege"] = out["protege"].to_numpy() > 0
    res["note"] = ""
    res["source"] = out["source"].fillna("").to_numpy()
    res["geo"] = out["geo"].fillna(0).astype(np.int64).to_numpy() if geo is None else np.int64(geo)
    res["methode"] = np.where(out["pond"] > 0, "somme_ponderee", "somme")
    res["qualite"] = np.where(estime, out["qualite"], 0).astype(np.int8)
    with np.errstate(invalid="ignore", divide="ignore"):
        cov_est = np.where(out["den_abs"] > 0, out["cov_w"] / out["den_abs"], np.nan)
    res["couverture"] = np.where(ok, np.where(estime, cov_est, 1.0), n_ok / n_expected)
    if isinstance(motif, dict):    # one caveat per group
        motifs = np.array([motif.get(g, "") for g in out["groupe"]], dtype=object)
    else:
        motifs = np.full(len(out), motif, dtype=object)
    caveat = motifs.copy()
    incomplete = summable & ~complete & (out["rang"].to_numpy() == 2)
    motifs[incomplete] = _motif_incomplet(n_ok[incomplete], n_expected[incomplete], quoi)
    withheld = summable & (out["rang"].to_numpy() < 2)
    un = "une" if quoi.split()[0] == "communes" else "un"          # « au moins une des communes »
    motifs[withheld] = f"au moins {un} des {quoi} a un chiffre retenu ou non disponible"
    motifs[~summable] = ("non publié à ce niveau par le producteur ; un taux publié sans effectifs, une médiane ou un "
                         "quartile ne se somme pas")
    res["motif"] = np.where(ok & (caveat == ""), "", motifs)
    return res[COLS]


def estimate_units(u_iris: pd.DataFrame, cw: pd.DataFrame, *, method: str, zones_total: pd.DataFrame | None,
                   geo: int, geometrie_simulee: bool = False, iris_population: pd.Series | None = None) -> pd.DataFrame:
    """Estimate zones from IRIS: ``num(z) = Σ_i w(i, z) · num(i)`` over the IRIS with a known figure.

    Parameters
    ----------
    u_iris : unit frame of the IRIS (only summable indicators are estimated).
    cw : IRIS × zone crosswalk (:func:`observatoire.spatial.crosswalk.iris_zone_crosswalk`).
    method : ``dasymetrique`` or ``surface``.
    zones_total : ``code_zone``, ``surface_m2`` (area of the whole zone) and optionally
        ``population_zone`` (raster population of the whole zone): the base of the coverage. Without
        it, the zone is assumed to lie entirely in the IRIS layer.
    geo : geography vintage written on the rows.
    geometrie_simulee : the IRIS contours (or the zones) are simulated: every estimate is simulated.
    iris_population : population of each IRIS for the crosswalk quality (:func:`zone_quality`).

    Returns
    -------
    Unit frame of the zones (``methode`` dasymetrique or surface, ``qualite``, ``couverture``). A rate
    covering less than :data:`COUVERTURE_MIN` of its zone, or a count less than
    :data:`COUVERTURE_EFFECTIF`, is ``nd`` with its coverage in ``motif``.
    """
    from ..spatial.estimate import methode_effective, weights_for

    if u_iris.empty or cw is None or cw.empty:
        return empty_units()
    cw = cw.copy()
    cw["code_iris"] = cw["code_iris"].astype(str)
    cw["code_zone"] = cw["code_zone"].astype(str)
    w = weights_for(cw, method)
    wcol = "poids_dasymetrique" if method == "dasymetrique" and "poids_dasymetrique" in cw.columns else "poids_surface"
    qual = zone_quality(cw, wcol, population=iris_population).set_index("code_zone")["qualite"]
    meth = methode_effective(cw, method)
    use_pop = (method == "dasymetrique" and zones_total is not None and "population_zone" in zones_total.columns
               and zones_total["population_zone"].notna().all() and cw["population_piece"].notna().all())
    mass = (cw["population_piece"] if use_pop else cw["surface_inter_m2"]).astype(float).fillna(0.0).to_numpy()
    if zones_total is not None and len(zones_total):
        zt = zones_total.set_index(zones_total["code_zone"].astype(str))
        total = zt["population_zone" if use_pop else "surface_m2"].astype(float)
    else:
        total = pd.Series(mass, index=cw["code_zone"]).groupby(level=0).sum()
    pieces = pd.DataFrame({"code_iris": cw["code_iris"].to_numpy(), "code_zone": cw["code_zone"].to_numpy(),
                           "w": w, "m": mass})
    s = u_iris[u_iris["nature"].isin(SUMMABLE)]
    j = pieces.merge(s, left_on="code_iris", right_on="code", how="inner")
    if j.empty:
        return empty_units()
    ok = (j["rang"] == 2).to_numpy()
    j["wn"] = np.where(ok, j["w"] * j["num"], 0.0)
    j["wd"] = np.where(ok, j["w"] * j["den"], 0.0)
    j["hd"] = j["den"].notna().to_numpy()
    j["mo"] = np.where(ok, j["m"], 0.0)
    j["secret"] = (j["rang"] == 0) & (j["w"] > 0)
    g = j.groupby(["code_zone", "ind", "mil"], sort=False)
    out = pd.DataFrame({"num": g["wn"].sum(), "den": g["wd"].sum().where(g["hd"].any()), "mo": g["mo"].sum(),
                        "simule": g["simule"].any(), "protege": g["protege"].any(), "source": g["source"].first(),
                        "nature": g["nature"].first(), "secret": g["secret"].any()}).reset_index()
    tot = out["code_zone"].map(total).astype(float).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = np.clip(np.where(tot > 0, out["mo"].to_numpy() / tot, 0.0), 0.0, 1.0)
    res = pd.DataFrame({"code": out["code_zone"], "ind": out["ind"], "mil": out["mil"]})
    res["num"], res["den"], res["val"] = out["num"], out["den"], np.nan
    res["couverture"] = cov
    res["nature"] = out["nature"]
    res["simule"] = out["simule"].astype(bool) | bool(geometrie_simulee)
    res["protege"] = out["protege"].astype(bool)
    res["note"] = ""
    res["source"] = out["source"].fillna("")
    res["geo"] = np.int64(geo)
    res["methode"] = out["code_zone"].map(meth).fillna(method).to_numpy()
    base = out["code_zone"].map(qual).map(QUALITE_CODES).fillna(3).astype(np.int8).to_numpy()
    res["qualite"] = quality_from_coverage(base, cov)
    res["rang"] = np.int8(2)
    res["motif"] = ""
    return res[COLS]


def apply_coverage_rules(u: pd.DataFrame, effectifs: set[str]) -> pd.DataFrame:
    """Estimates covering too little of their zone become ``nd`` with the coverage in ``motif``
    (:data:`COUVERTURE_MIN` for rates, :data:`COUVERTURE_EFFECTIF` for counts)."""
    if u.empty:
        return u
    u = u.copy()
    need = np.where(u["ind"].isin(effectifs), COUVERTURE_EFFECTIF, COUVERTURE_MIN)
    cov = u["couverture"].to_numpy(float)
    low = (u["rang"].to_numpy() == 2) & (cov < need)
    if low.any():
        u.loc[low, ["num", "den", "val"]] = np.nan
        u.loc[low, "rang"] = np.int8(1)
        u.loc[low, "motif"] = [f"couverture insuffisante : les données couvrent {round(100 * c)} % du territoire "
                               f"(il en faut {round(100 * n)} %)" for c, n in zip(cov[low], need[low])]
    return u


def transpose_units(u15: pd.DataFrame, cw: pd.DataFrame, *, targets_total: pd.Series | None = None,
                    geometrie_simulee: bool = False) -> pd.DataFrame:
    """2024 quartiers from the 2015 quartiers' figures through the overlay of their perimeters.

    Summable figures: ``num(q24) = Σ_q15 s(q15, q24) · num(q15)``, ``s`` the share of the 2015 quartier
    lying in the 2024 one (uniform density assumed). Rates without counts and producer values: mean of
    the 2015 values weighted by the area each covers in the 2024 quartier — an approximation, flagged.
    ``couverture``: share of the 2024 quartier's area covered by 2015 quartiers with a figure.
    Quality: share of the transposed mass coming from 2015 quartiers lying mostly inside the 2024 one
    (:func:`zone_quality`), capped by the coverage.
    """
    if u15.empty or cw is None or cw.empty:
        return empty_units()
    cw = cw.copy()
    cw["code_source"] = cw["code_source"].astype(str)
    cw["code_zone"] = cw["code_zone"].astype(str)
    s_share = cw["poids_surface"].astype(float).to_numpy()
    t_share = cw["part_cible"].astype(float).to_numpy() if "part_cible" in cw.columns else np.nan
    qual = zone_quality(cw.rename(columns={"code_source": "code_iris"}), "poids_surface").set_index("code_zone")["qualite"]
    pieces = pd.DataFrame({"code_source": cw["code_source"].to_numpy(), "code_zone": cw["code_zone"].to_numpy(),
                           "s": s_share, "t": t_share})
    j = pieces.merge(u15, left_on="code_source", right_on="code", how="inner")
    if j.empty:
        return empty_units()
    ok = (j["rang"] == 2).to_numpy()
    summable = j["nature"].isin(SUMMABLE).to_numpy()
    j["sn"] = np.where(ok & summable, j["s"] * j["num"], 0.0)
    j["sd"] = np.where(ok & summable, j["s"] * j["den"], 0.0)
    j["hd"] = j["den"].notna().to_numpy()
    j["tv"] = np.where(ok & ~summable, j["t"] * j["val"], 0.0)
    j["tw"] = np.where(ok & ~summable, j["t"], 0.0)
    j["cov"] = np.where(ok, j["t"], 0.0)
    g = j.groupby(["code_zone", "ind", "mil"], sort=False)
    out = pd.DataFrame({"num": g["sn"].sum(), "den": g["sd"].sum().where(g["hd"].any()), "tv": g["tv"].sum(), "tw": g["tw"].sum(),
                        "cov": g["cov"].sum(), "simule": g["simule"].any(), "protege": g["protege"].any(),
                        "source": g["source"].first(), "nature": g["nature"].first()}).reset_index()
    summ = out["nature"].isin(SUMMABLE).to_numpy()
    res = pd.DataFrame({"code": out["code_zone"], "ind": out["ind"], "mil": out["mil"]})
    res["num"] = np.where(summ, out["num"], np.nan)
    res["den"] = np.where(summ, out["den"], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        res["val"] = np.where(summ, np.nan, np.where(out["tw"] > 0, out["tv"] / out["tw"], np.nan))
    cov = np.clip(out["cov"].to_numpy(float), 0.0, 1.0)
    res["rang"] = np.int8(2)
    res["nature"] = out["nature"]
    res["simule"] = out["simule"].astype(bool) | bool(geometrie_simulee)
    res["protege"] = out["protege"].astype(bool)
    res["note"] = ""
    res["source"] = out["source"].fillna("")
    res["geo"] = np.int64(2024)
    res["methode"] = "transposition_2015_2024"
    base = out["code_zone"].map(qual).map(QUALITE_CODES).fillna(3).astype(np.int8).to_numpy()
    res["qualite"] = quality_from_coverage(base, cov)
    res["couverture"] = cov
    res["motif"] = ""
    return res[COLS]


def prefer(*frames: pd.DataFrame) -> pd.DataFrame:
    """One row per (code, ind, millésime): a known figure before a withheld one; the producer's figure (no quality
    class) before estimates; then the better quality, the larger coverage, and the earlier frame."""
    frames = [f.assign(_prio=i) for i, f in enumerate(frames) if f is not None and len(f)]
    if not frames:
        return empty_units()
    u = pd.concat(frames, ignore_index=True)
    u["_known"] = (u["rang"] == 2).astype(int)
    u = u.sort_values(KEY + ["_known", "qualite", "couverture", "_prio"],
                      ascending=[True, True, True, False, True, False, True], na_position="last", kind="stable")
    u = u.drop_duplicates(KEY, keep="first")
    return u.drop(columns=["_prio", "_known"]).reset_index(drop=True)
