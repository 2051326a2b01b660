"""The back-test itself: each 2015 quartier estimated from IRIS, compared with INSEE's figure.

:func:`backtest` — one row per indicator × millésime × method × quartier (:data:`ESTIMATION_COLUMNS`);
:func:`summarise` — per indicator × method × millésime (:data:`RESUME_COLUMNS`, the layer
``verification_resume`` the portraits read); :func:`backtest_inputs` — the same on the pipeline's
:class:`~observatoire.indicators.IndicatorInputs`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..catalogue import Indicateur
from ..indicators.aggregate import apply_coverage_rules, estimate_units
from ..indicators.qualite import METHODES, error_unit, family
from ..indicators.units import QUALITE_NOMS, SUMMABLE, ratio_values

#: Tolerance of a « good enough » estimate, by unit of the error: ±2 points for a rate, ±10 % of
#: INSEE's value for a count or an index (issue 15).
TOLERANCES = {"points": 2.0, "%": 10.0}

TOLERANCE_LIBELLES = {"points": "±2 points", "%": "±10 %"}

ESTIMATION_COLUMNS = ["territoire", "indicateur", "famille", "millesime", "methode", "methode_effective",
                      "code_quartier", "libelle_quartier", "valeur_estimee", "valeur_insee", "ecart",
                      "unite_ecart", "dans_tolerance", "couverture", "qualite", "simule", "motif"]

RESUME_COLUMNS = ["territoire", "indicateur", "methode", "millesime", "n_quartiers", "ecart_median_abs", "biais",
                  "part_dans_tolerance", "tolerance", "unite_ecart", "simule"]


def _stacked(units: pd.DataFrame | dict, name: str) -> pd.DataFrame:
    """Unit frames of several millésimes as one frame with a ``millesime`` column (a dict
    ``{millesime: unit frame}`` is accepted too)."""
    if isinstance(units, dict):
        frames = [u.assign(millesime=int(m)) for m, u in units.items() if u is not None and len(u)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["millesime", "code", "ind"])
    if "millesime" not in units.columns:
        raise ValueError(f"{name} : colonne « millesime » attendue (ou un dictionnaire {{millésime: cadre}})")
    return units

def methods_available(crosswalk: pd.DataFrame, methods=METHODES) -> list[str]:
    """The methods that apply to a crosswalk: ``dasymetrique`` needs at least one dasymetric weight."""
    das = "poids_dasymetrique" in crosswalk.columns and crosswalk["poids_dasymetrique"].notna().any()
    return [m for m in methods if m == "surface" or (m == "dasymetrique" and das)]

def _ecart(est: np.ndarray, vrai: np.ndarray, unite: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(vrai != 0, 100.0 * (est - vrai) / np.abs(vrai), np.nan)
    return np.where(unite == "points", est - vrai, rel)

def backtest(units_iris: pd.DataFrame | dict, units_qp2015: pd.DataFrame | dict, crosswalk: pd.DataFrame, *,
             methods=METHODES, zones_total: pd.DataFrame | None = None, geo: int = 2015,
             catalogue: dict[str, Indicateur], territoire: str = "", libelles: dict | pd.Series | None = None,
             geometrie_simulee: bool = False, iris_population: pd.Series | None = None) -> pd.DataFrame:
    """Estimate each 2015 quartier from IRIS with each method and compare with INSEE's figure.

    Parameters
    ----------
    units_iris : unit frames of the IRIS (:mod:`observatoire.indicators.units`), stacked with a
        ``millesime`` column (or ``{millesime: frame}``). Only summable rows (``nature`` ``compte`` /
        ``pondere``) are estimated: counts, and rates rebuilt as ratios of estimated counts.
    units_qp2015 : unit frames of the 2015 quartiers, same shape; the producer's rows
        (``methode == "producteur"``, known value) are the truth, whatever their nature (a count, a
        published rate, a rate of counts).
    crosswalk : IRIS → 2015 quartier crosswalk (``code_iris, code_zone, poids_surface``, optionally
        ``poids_dasymetrique``, ``surface_inter_m2``, ``population_piece``). Only its quartiers are tested.
    methods : methods to compare; ``dasymetrique`` is skipped when the crosswalk has no dasymetric weight.
    zones_total, geo, geometrie_simulee, iris_population : passed to
        :func:`~observatoire.indicators.aggregate.estimate_units` (coverage base, geography vintage,
        simulated outlines, IRIS population of the quality class). The coverage rule of the pipeline
        (:func:`~observatoire.indicators.aggregate.apply_coverage_rules`) is applied: an estimate the
        pipeline would not publish has no value (``motif`` says why) and no error.
    catalogue : the indicator catalogue (unit, type, source of each indicator).
    territoire : label written on every row (« CA Valenciennes Métropole »).
    libelles : quartier code → name.

    Returns
    -------
    DataFrame (:data:`ESTIMATION_COLUMNS`), one row per indicator × millésime × method × quartier with
    a known INSEE value: ``valeur_estimee`` (as the pipeline would publish it), ``valeur_insee``,
    ``ecart`` (estimate − INSEE, in points for a rate in %, in % of INSEE's value otherwise),
    ``unite_ecart``, ``dans_tolerance`` (|ecart| ≤ :data:`TOLERANCES`), ``couverture``, ``qualite``
    (the estimate's own class), ``simule`` (estimate or INSEE figure needs a simulated input).
    """
    iris = _stacked(units_iris, "units_iris")
    qp = _stacked(units_qp2015, "units_qp2015")
    if iris.empty or qp.empty or crosswalk.empty:
        return _empty_estimations()
    cw = crosswalk.copy()
    cw["code_zone"] = cw["code_zone"].astype(str)
    zones = set(cw["code_zone"])
    prod = qp[(qp["methode"] == "producteur") & (qp["rang"] == 2) & qp["val"].notna()
              & qp["code"].astype(str).isin(zones) & qp["ind"].isin(set(catalogue))]
    iris = iris[iris["nature"].isin(SUMMABLE) & iris["ind"].isin(set(catalogue))]
    effectifs = {k for k, i in catalogue.items() if i.type == "effectif"}
    unite = {k: error_unit(i) for k, i in catalogue.items()}
    fam = {k: family(i) for k, i in catalogue.items()}
    noms = dict(libelles) if libelles is not None else {}
    frames = []
    for m in sorted(set(iris["millesime"].astype(int)) & set(prod["millesime"].astype(int))):
        pm = prod[prod["millesime"].astype(int) == m]
        ui = iris[iris["millesime"].astype(int) == m]
        inds = set(ui["ind"]) & set(pm["ind"])
        if not inds:
            continue
        ui = ui[ui["ind"].isin(inds)].drop(columns="millesime")
        truth = pm[pm["ind"].isin(inds)][["code", "ind", "val", "simule"]].rename(
            columns={"val": "valeur_insee", "simule": "simule_insee"})
        truth["code"] = truth["code"].astype(str)
        for meth in methods_available(cw, methods):
            est = estimate_units(ui, cw, method=meth, zones_total=zones_total, geo=geo,
                                 geometrie_simulee=geometrie_simulee, iris_population=iris_population)
            est = apply_coverage_rules(est, effectifs)
            est = est.assign(valeur_estimee=np.where(est["rang"].to_numpy() == 2, ratio_values(est, catalogue), np.nan))
            keep = ["code", "ind", "valeur_estimee", "couverture", "qualite", "simule", "methode", "motif"]
            j = truth.merge(est[keep], on=["code", "ind"], how="left")
            frames.append(_rows(j, m, meth, territoire, unite, fam, noms, geometrie_simulee))
    if not frames:
        return _empty_estimations()
    out = pd.concat(frames, ignore_index=True)
    out = out.sort_values(["indicateur", "millesime", "methode", "code_quartier"], kind="stable")
    return out.reset_index(drop=True)

def _empty_estimations() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in ESTIMATION_COLUMNS})

def _rows(j: pd.DataFrame, m: int, meth: str, territoire: str, unite: dict, fam: dict, noms: dict,
          geometrie_simulee: bool) -> pd.DataFrame:
    """Rows of :data:`ESTIMATION_COLUMNS` from producer figures joined with their estimates (a quartier
    without estimate is still simulated when the outlines are: which IRIS it meets depends on them)."""
    u = j["ind"].map(unite).to_numpy(object)
    est = j["valeur_estimee"].astype(float).to_numpy()
    vrai = j["valeur_insee"].astype(float).to_numpy()
    ecart = _ecart(est, vrai, u)
    tol = np.array([TOLERANCES[x] for x in u], dtype=float)
    missing = j["methode"].isna().to_numpy()   # the IRIS give no estimate at all for this quartier
    motif = j["motif"].fillna("").astype(object).to_numpy().copy()
    motif[missing] = "aucun IRIS de la table de passage n'a ce chiffre"
    qual = np.array([QUALITE_NOMS.get(int(q)) for q in j["qualite"].fillna(0)], dtype=object)
    return pd.DataFrame({
        "territoire": territoire, "indicateur": j["ind"].to_numpy(object),
        "famille": j["ind"].map(fam).to_numpy(object),
        "millesime": np.int64(m), "methode": meth,
        "methode_effective": j["methode"].fillna("").to_numpy(object),
        "code_quartier": j["code"].to_numpy(object),
        "libelle_quartier": np.array([noms.get(c, "") for c in j["code"]], dtype=object),
        "valeur_estimee": est, "valeur_insee": vrai, "ecart": ecart, "unite_ecart": u,
        "dans_tolerance": np.abs(ecart) <= tol + 1e-9,   # NaN ecart → False (no estimate)
        "couverture": j["couverture"].astype(float).to_numpy(), "qualite": qual,
        "simule": j["simule"].eq(True).to_numpy() | j["simule_insee"].astype(bool).to_numpy() | bool(geometrie_simulee),
        "motif": motif,
    })[ESTIMATION_COLUMNS]

def summarise(errors: pd.DataFrame) -> pd.DataFrame:
    """Per territory × indicator × method × millésime, the figures of :data:`RESUME_COLUMNS`.

    ``n_quartiers``: quartiers with both an estimate and INSEE's figure; ``ecart_median_abs``: median
    of |ecart|; ``biais``: median of the signed ecart (> 0: the estimate overstates); ``part_dans_tolerance``
    (0–1): share of those quartiers within :data:`TOLERANCES`; ``tolerance``: « ±2 points » or « ±10 % »;
    ``unite_ecart``: « points » or « % »; ``simule``: at least one figure of the group (estimate or
    INSEE's) needs a simulated input. A group whose estimates are all unpublished keeps
    ``n_quartiers = 0`` and empty figures.
    """
    keys = ["territoire", "indicateur", "methode", "millesime"]
    if errors.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in RESUME_COLUMNS})
    e = errors.copy()
    e["_ok"] = e["ecart"].notna()
    e["_abs"] = e["ecart"].abs()
    e["_tol"] = np.where(e["_ok"], e["dans_tolerance"].astype(float), np.nan)
    g = e.groupby(keys, sort=True)
    out = pd.DataFrame({
        "n_quartiers": g["_ok"].sum().astype(np.int64),
        "ecart_median_abs": g["_abs"].median(),
        "biais": g["ecart"].median(),
        "part_dans_tolerance": g["_tol"].mean(),
        "unite_ecart": g["unite_ecart"].first(),
        "simule": g["simule"].any(),
    }).reset_index()
    out["tolerance"] = out["unite_ecart"].map(TOLERANCE_LIBELLES)
    out["millesime"] = out["millesime"].astype(np.int64)
    return out[RESUME_COLUMNS]

def backtest_inputs(inputs, catalogue: dict[str, Indicateur], territoire: str = "",
                    methods=METHODES) -> pd.DataFrame:
    """:func:`backtest` on the pipeline's :class:`~observatoire.indicators.IndicatorInputs`: unit frames
    of the IRIS and of the 2015 quartiers (producer tables through the engine's
    :func:`~observatoire.indicators.units.evaluate_group`), the territory's 2015 quartiers, the
    ``qpv2015`` crosswalk and its zone totals. ``pipeline.build`` can call it as it is (see the report
    of issue 15) to feed :func:`quality_from_backtest` before computing the indicators."""
    from ..indicators.engine import evaluated_units

    q = inputs.quartiers.get(2015)
    cw = inputs.crosswalks.get("qpv2015")
    if q is None or q.liste.empty or cw is None or cw.empty:
        return backtest({}, {}, pd.DataFrame({"code_iris": [], "code_zone": [], "poids_surface": []}),
                        catalogue=catalogue)
    units = {key: u for key, u in evaluated_units(inputs, catalogue).items() if key[0] in ("iris", "qpv2015")}
    codes = set(q.codes)
    iris = {m: u for (niv, m), u in units.items() if niv == "iris"}
    qp = {m: u[u["code"].astype(str).isin(codes)] for (niv, m), u in units.items() if niv == "qpv2015"}
    cw = cw[cw["code_zone"].astype(str).isin(codes)]
    libelles = dict(zip(q.liste["code"].astype(str), q.liste["libelle"].astype(str)))
    return backtest(iris, qp, cw, methods=methods, zones_total=inputs.zones_total.get("qpv2015"), geo=2015,
                    catalogue=catalogue, territoire=territoire, libelles=libelles,
                    geometrie_simulee=inputs.geometrie_simulee.get("qpv2015", False),
                    iris_population=inputs.iris_population)
