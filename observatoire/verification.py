"""Back-test of the quartier estimates on INSEE's own figures for the 2015 quartiers (issue 15).

The observatory estimates the figures of a quartier from its IRIS (area or dasymetric weights,
:func:`observatoire.indicators.aggregate.estimate_units`) wherever the producer publishes nothing on
its perimeter — every 2024 quartier for most sources. INSEE does publish figures for the **2015**
quartiers (tables DEMO, IPRO, REVN, Filosofi by QP), and the same engine can estimate those 2015
quartiers from the same IRIS exactly as it estimates the 2024 ones. The gap between the two measures
how far an estimate may be from the truth *on this territory*:

1. :func:`backtest` — for every indicator with a summable IRIS figure (a count, or a rate rebuilt as
   the ratio of two estimated counts) and a producer figure on the 2015 quartiers, for each method,
   each 2015 quartier is estimated from IRIS and compared with INSEE's value: one row per indicator ×
   millésime × method × quartier (:data:`ESTIMATION_COLUMNS`).
2. :func:`summarise` — per indicator × method × millésime: number of quartiers, median absolute error,
   bias (median signed error), share of quartiers within the tolerance (±2 points for a rate, ±10 %
   of INSEE's value for a count or an index): :data:`RESUME_COLUMNS`, the layer
   ``verification_resume`` that the portraits read.
3. :func:`quality_from_backtest` — the measured error of an indicator *family* (source family × kind:
   rate in points, count or index in %) and method becomes a cap on the quality class of the same
   kind of estimate elsewhere (:data:`REGLES_QUALITE`); :func:`cap_quality` applies the caps to a unit
   frame and leaves the documented coverage rule alone where no back-test exists.
   :func:`choose_method` — per family, the method with the lower measured error.
4. :func:`verifier` — the ``observatoire verifier`` stage: inputs recomputed from the raw files with
   the pipeline's public functions, layers ``verification_estimations`` and ``verification_resume``
   added to the GeoPackage, ``data/processed/verification_estimations.csv`` and the French page
   ``maps/verification.html``.

Method (reference): this is a *hold-out* validation of areal interpolation in the sense of Goodchild
& Lam (1980, « Areal interpolation: a variant of the traditional spatial problem ») and Eicher &
Brewer (2001, « Dasymetric mapping and areal interpolation: implementation and evaluation »): target
zones whose true values are known are estimated from the source zones and the errors summarised —
here the truth is INSEE's figure computed from geolocated records, the method is the one the
observatory publishes. Rates are compared in points, counts and indices in % of INSEE's value
(``ecart = 100 × (estimate − INSEE) / INSEE``).

Every row carries ``simule``: an estimate built from simulated IRIS outlines (the demo) or from a
simulated statistical file measures nothing real, and says so.

Example
-------
>>> from observatoire.catalogue import Indicateur
>>> cat = {"pop": Indicateur("pop", "Population", "demographie", "nombre", "effectif", "s",
...                          variable="P")}
>>> iris = pd.DataFrame({"code": ["A", "B"], "ind": "pop", "num": [100.0, 300.0], "den": np.nan,
...                      "val": [100.0, 300.0], "rang": 2, "nature": "compte", "simule": False,
...                      "protege": False, "note": "", "source": "s", "geo": 2015,
...                      "methode": "producteur", "qualite": 0, "couverture": np.nan, "motif": "",
...                      "millesime": 2017})
>>> qp = iris.iloc[:1].assign(code="Q", num=210.0, val=210.0)
>>> cw = pd.DataFrame({"code_iris": ["A", "B"], "code_zone": "Q", "poids_surface": [0.9, 0.4],
...                    "surface_inter_m2": [9.0, 4.0]})
>>> e = backtest(iris, qp, cw, methods=("surface",), catalogue=cat)
>>> float(e["valeur_estimee"].iloc[0]), round(float(e["ecart"].iloc[0]), 2)  # 0.9×100+0.4×300 = 210
(210.0, 0.0)
"""

from __future__ import annotations

import html
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .catalogue import Indicateur
from .indicators.aggregate import apply_coverage_rules, estimate_units
from .indicators.units import QUALITE_NOMS, SUMMABLE, ratio_values
from .tidy import METHODES_LIBELLES

#: Methods compared (``dasymetrique`` only when the crosswalk has dasymetric weights).
METHODES = ("surface", "dasymetrique")

#: Tolerance of a « good enough » estimate, by unit of the error: ±2 points for a rate, ±10 % of
#: INSEE's value for a count or an index (issue 15).
TOLERANCES = {"points": 2.0, "%": 10.0}
TOLERANCE_LIBELLES = {"points": "±2 points", "%": "±10 %"}

#: Quality caps from the measured error (median absolute error of a family and method, in its unit):
#: ``(bonne allowed up to, moyenne at best up to)``; above the second bound, « faible ». Rates: 1.5
#: point is the acceptance threshold of the estimator on the simulated ground truth (issue 4,
#: ``scripts/bench_spatial.py``) and 3 points twice it; counts and indices: half the ±10 % tolerance,
#: then the tolerance itself.
REGLES_QUALITE = {"points": (1.5, 3.0), "%": (5.0, 10.0)}

#: A family's back-test counts as evidence only with at least this many quartiers compared (fewer:
#: the documented coverage rule alone applies).
N_MIN_QUARTIERS = 5

ESTIMATION_COLUMNS = ["territoire", "indicateur", "famille", "millesime", "methode", "methode_effective",
                      "code_quartier", "libelle_quartier", "valeur_estimee", "valeur_insee", "ecart",
                      "unite_ecart", "dans_tolerance", "couverture", "qualite", "simule", "motif"]
RESUME_COLUMNS = ["territoire", "indicateur", "methode", "millesime", "n_quartiers", "ecart_median_abs", "biais",
                  "part_dans_tolerance", "tolerance", "unite_ecart", "simule"]
PLAFOND_COLUMNS = ["territoire", "famille", "methode", "n_indicateurs", "n_quartiers", "ecart_median_abs",
                   "unite_ecart", "plafond", "plafond_code"]

#: French wording of the methods (the vocabulary of :mod:`observatoire.tidy`).
METHODE_LIBELLES = {m: METHODES_LIBELLES[m] for m in METHODES}
_KIND_LIBELLES = {"taux": "taux (rapports d'effectifs estimés)", "effectif": "effectifs", "indice": "indices"}


# ----------------------------------------------------------------------------------------------------
# vocabulary of an indicator
# ----------------------------------------------------------------------------------------------------
def error_unit(ind: Indicateur) -> str:
    """Unit of the error of an indicator: ``points`` for a rate in %, ``%`` (of INSEE's value) else."""
    return "points" if ind.unite == "%" else "%"


def family(ind: Indicateur) -> str:
    """Family of an indicator for the quality rule: ``<kind>_<source>``, kind ``taux`` (rate in %),
    ``effectif`` (count) or ``indice`` (other ratio).

    >>> family(Indicateur("x", "X", "familles", "%", "ratio", "caf"))
    'taux_caf'
    """
    kind = "taux" if ind.unite == "%" else ("effectif" if ind.type == "effectif" else "indice")
    return f"{kind}_{ind.source}"


_SOURCE_LIBELLES = {"insee_rp": "recensement (Insee)", "caf": "Cnaf", "cnam": "Assurance maladie",
                    "france_travail": "France Travail", "insee_filosofi": "Filosofi (Insee)"}


def family_label(fam: str) -> str:
    """French label of a family key (``taux_caf`` → « taux (rapports d'effectifs estimés) · Cnaf »)."""
    kind, _, source = fam.partition("_")
    return f"{_KIND_LIBELLES.get(kind, kind)} · {_SOURCE_LIBELLES.get(source, source)}"


# ----------------------------------------------------------------------------------------------------
# 1. back-test
# ----------------------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------------------
# 2. summary
# ----------------------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------------------
# 3. quality from evidence, method choice
# ----------------------------------------------------------------------------------------------------
def _family_errors(summary: pd.DataFrame, catalogue: dict[str, Indicateur]) -> pd.DataFrame:
    """Per territory × family × method: the median of the per-indicator-and-year median errors."""
    s = summary[(summary["n_quartiers"] > 0) & summary["indicateur"].isin(set(catalogue))].copy()
    if s.empty:
        return pd.DataFrame(columns=["territoire", "famille", "methode", "n_indicateurs", "n_quartiers",
                                     "ecart_median_abs", "unite_ecart"])
    s["famille"] = s["indicateur"].map({k: family(i) for k, i in catalogue.items()})
    g = s.groupby(["territoire", "famille", "methode"], sort=True)
    return pd.DataFrame({"n_indicateurs": g["indicateur"].nunique(), "n_quartiers": g["n_quartiers"].max(),
                         "ecart_median_abs": g["ecart_median_abs"].median(),
                         "unite_ecart": g["unite_ecart"].first()}).reset_index()


def quality_from_backtest(summary: pd.DataFrame, catalogue: dict[str, Indicateur], *,
                          rules: dict[str, tuple[float, float]] = REGLES_QUALITE,
                          n_min: int = N_MIN_QUARTIERS) -> pd.DataFrame:
    """Cap on the quality class of an estimate, from the territory's measured error.

    Rule: for each indicator family (:func:`family`: rate in points vs count or index in %, by source)
    and method, the measured error is the median of the ``ecart_median_abs`` of its indicators and
    years. With ``(b, m) = rules[unite_ecart]``: error ≤ ``b`` → « bonne » allowed; ≤ ``m`` → at best
    « moyenne »; above → « faible ». A family measured on fewer than ``n_min`` quartiers gets no cap
    (``plafond`` empty, ``plafond_code`` 0): the documented coverage rule alone applies
    (:func:`observatoire.indicators.aggregate.quality_from_coverage`). A cap never raises a class.

    Returns :data:`PLAFOND_COLUMNS` (``plafond_code``: 0 none, 1 bonne, 2 moyenne, 3 faible).

    >>> s = pd.DataFrame({"territoire": "T", "indicateur": ["a", "a"], "methode": ["surface", "dasymetrique"],
    ...                   "millesime": 2017, "n_quartiers": 14, "ecart_median_abs": [2.4, 1.1],
    ...                   "unite_ecart": "points"})
    >>> cat = {"a": Indicateur("a", "A", "familles", "%", "ratio", "caf")}
    >>> quality_from_backtest(s, cat)[["methode", "plafond"]].values.tolist()
    [['dasymetrique', 'bonne'], ['surface', 'moyenne']]
    """
    f = _family_errors(summary, catalogue)
    if f.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in PLAFOND_COLUMNS})
    codes = []
    for e, u, n in zip(f["ecart_median_abs"], f["unite_ecart"], f["n_quartiers"]):
        b, m = rules[u]
        codes.append(0 if n < n_min or np.isnan(e) else (1 if e <= b + 1e-9 else 2 if e <= m + 1e-9 else 3))
    f["plafond_code"] = np.array(codes, dtype=np.int8)
    f["plafond"] = f["plafond_code"].map(QUALITE_NOMS).astype(object)
    return f[PLAFOND_COLUMNS]


def cap_quality(units: pd.DataFrame, caps: pd.DataFrame, catalogue: dict[str, Indicateur]) -> pd.DataFrame:
    """Apply the caps of :func:`quality_from_backtest` to the estimates of a unit frame.

    Rows whose ``methode`` is ``surface`` or ``dasymetrique`` take ``qualite = max(qualite, cap)`` of
    their family and method (a worse class, never a better one); other rows, and estimates of a family
    without back-test, keep their class (the coverage rule). Returns a new frame.

    >>> cat = {"a": Indicateur("a", "A", "familles", "%", "ratio", "caf")}
    >>> caps = pd.DataFrame({"famille": ["taux_caf"], "methode": ["surface"], "plafond_code": [2]})
    >>> u = pd.DataFrame({"ind": ["a", "a", "a"], "methode": ["surface", "dasymetrique", "surface"],
    ...                   "qualite": [1, 1, 3]})
    >>> cap_quality(u, caps, cat)["qualite"].tolist()
    [2, 1, 3]
    """
    if units.empty or caps is None or caps.empty:
        return units
    fam = units["ind"].map({k: family(i) for k, i in catalogue.items()})
    key = pd.Series(list(zip(caps["famille"], caps["methode"])), dtype=object)
    lookup = dict(zip(key, caps["plafond_code"].astype(int)))
    cap = np.array([lookup.get((f, m), 0) for f, m in zip(fam, units["methode"])], dtype=np.int8)
    out = units.copy()
    out["qualite"] = np.maximum(out["qualite"].to_numpy().astype(np.int8), cap)
    return out


def choose_method(summary: pd.DataFrame, catalogue: dict[str, Indicateur]) -> pd.DataFrame:
    """Per territory and family, the method with the lower measured error.

    Returns ``territoire, famille, methode_retenue, ecart_surface, ecart_dasymetrique, unite_ecart``
    (family errors as in :func:`quality_from_backtest`). Equal errors, or only one method measured:
    ``dasymetrique`` when it was measured (the pipeline's default where weights exist), else ``surface``.

    >>> s = pd.DataFrame({"territoire": "T", "indicateur": "a", "methode": ["surface", "dasymetrique"],
    ...                   "millesime": 2017, "n_quartiers": 14, "ecart_median_abs": [0.9, 1.2],
    ...                   "unite_ecart": "points"})
    >>> cat = {"a": Indicateur("a", "A", "familles", "%", "ratio", "caf")}
    >>> choose_method(s, cat)["methode_retenue"].tolist()
    ['surface']
    """
    f = _family_errors(summary, catalogue)
    cols = ["territoire", "famille", "methode_retenue", "ecart_surface", "ecart_dasymetrique", "unite_ecart"]
    if f.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    w = f.pivot_table(index=["territoire", "famille"], columns="methode", values="ecart_median_abs", aggfunc="first")
    w = w.reindex(columns=list(METHODES))
    unit = f.groupby(["territoire", "famille"])["unite_ecart"].first()
    s, d = w["surface"].to_numpy(float), w["dasymetrique"].to_numpy(float)
    choice = np.where(np.isnan(d), "surface", np.where(np.isnan(s) | (d <= s), "dasymetrique", "surface"))
    out = pd.DataFrame({"territoire": w.index.get_level_values(0), "famille": w.index.get_level_values(1),
                        "methode_retenue": choice, "ecart_surface": s, "ecart_dasymetrique": d,
                        "unite_ecart": unit.reindex(w.index).to_numpy()})
    return out[cols].reset_index(drop=True)


def method_note(summary: pd.DataFrame, methode: str = "dasymetrique", territoire: str | None = None) -> str:
    """The paragraph of a 2024 portrait's method notes: « Sur les 14 quartiers 2015 de …, ces
    estimations s'écartent en médiane de 1,2 point des chiffres de l'Insee pour les taux (…) ».

    Rates and counts are stated separately (median of the per-indicator-and-year medians of
    ``methode``); « (données simulées) » ends the sentence when a compared figure is simulated. Empty
    string without back-test.
    """
    from .fr import format_nombre

    s = summary[(summary["methode"] == methode) & (summary["n_quartiers"] > 0)]
    if territoire is not None:
        s = s[s["territoire"] == territoire]
    if s.empty:
        return ""
    terr = str(s["territoire"].iloc[0]) or "ce territoire"
    n = int(s["n_quartiers"].max())
    parts = []
    for u, mot in (("points", "pour les taux"), ("%", "pour les effectifs et indices")):
        su = s[s["unite_ecart"] == u]
        if su.empty:
            continue
        e = float(su["ecart_median_abs"].median())
        txt = format_nombre(e, 1)
        unit = ("point" if abs(round(e, 1)) < 2 else "points") if u == "points" else "%"
        sep = "\u00a0"
        parts.append(f"{txt}{sep}{unit} {mot} ({su['indicateur'].nunique()} indicateur"
                     f"{'s' if su['indicateur'].nunique() > 1 else ''})")
    sim = " (données simulées)" if bool(s["simule"].any()) else ""
    return (f"Sur les {n} quartiers 2015 de {terr}, ces estimations ({METHODE_LIBELLES.get(methode, methode)}) "
            f"s'écartent en médiane de {' et de '.join(parts)} des chiffres de l'Insee{sim}.")


# ----------------------------------------------------------------------------------------------------
# 4. the stage
# ----------------------------------------------------------------------------------------------------
def backtest_inputs(inputs, catalogue: dict[str, Indicateur], territoire: str = "",
                    methods=METHODES) -> pd.DataFrame:
    """:func:`backtest` on the pipeline's :class:`~observatoire.indicators.IndicatorInputs`: unit frames
    of the IRIS and of the 2015 quartiers (producer tables through the engine's
    :func:`~observatoire.indicators.units.evaluate_group`), the territory's 2015 quartiers, the
    ``qpv2015`` crosswalk and its zone totals. ``pipeline.build`` can call it as it is (see the report
    of issue 15) to feed :func:`quality_from_backtest` before computing the indicators."""
    from .indicators.engine import count_variables
    from .indicators.units import evaluate_group, group_tables

    q = inputs.quartiers.get(2015)
    cw = inputs.crosswalks.get("qpv2015")
    if q is None or q.liste.empty or cw is None or cw.empty:
        return backtest({}, {}, pd.DataFrame({"code_iris": [], "code_zone": [], "poids_surface": []}),
                        catalogue=catalogue)
    groups = group_tables(inputs.tables, count_variables(catalogue))
    units = {key: evaluate_group(g, catalogue, groups) for key, g in groups.items() if key[0] in ("iris", "qpv2015")}
    codes = set(q.codes)
    iris = {m: u for (niv, m), u in units.items() if niv == "iris"}
    qp = {m: u[u["code"].astype(str).isin(codes)] for (niv, m), u in units.items() if niv == "qpv2015"}
    cw = cw[cw["code_zone"].astype(str).isin(codes)]
    libelles = dict(zip(q.liste["code"].astype(str), q.liste["libelle"].astype(str)))
    return backtest(iris, qp, cw, methods=methods, zones_total=inputs.zones_total.get("qpv2015"), geo=2015,
                    catalogue=catalogue, territoire=territoire, libelles=libelles,
                    geometrie_simulee=inputs.geometrie_simulee.get("qpv2015", False),
                    iris_population=inputs.iris_population)


def simulated_reasons(config, errors: pd.DataFrame, inputs) -> list[str]:
    """French reasons why the back-test is simulated: simulated outlines, simulated statistical files."""
    from .pipeline import GEO_SOURCES
    from .sources.raw import is_simulated

    out = []
    if any(is_simulated(config, s) for s in GEO_SOURCES["iris"]):
        out.append("les contours des IRIS sont simulés (codes IRIS réels) : chaque estimation en dépend")
    if any(is_simulated(config, s) for s in GEO_SOURCES["qpv2015"]):
        out.append("les périmètres des quartiers 2015 sont simulés")
    used = set(errors["indicateur"]) if len(errors) else set()
    sim_sources = sorted({t.source for t in inputs.tables if t.simule and t.niveau in ("iris", "qpv2015")})
    if sim_sources and used:
        out.append("fichiers statistiques simulés : " + ", ".join(sim_sources))
    return out


def verifier(config, catalogue: dict[str, Indicateur] | None = None) -> Path:
    """Run the back-test of the configured territory and write its outputs; returns the HTML page.

    Recomputes what it needs from ``data/raw`` with the pipeline's public functions (territory,
    layers, crosswalks with the population raster, statistical tables, indicator inputs), then writes,
    each atomically: layers ``verification_estimations`` and ``verification_resume`` added to
    ``data/processed/observatoire.gpkg``, ``data/processed/verification_estimations.csv`` (UTF-8 BOM,
    ``;``) and, last, ``maps/verification.html`` (Make keys on it).

    Raises
    ------
    ObservatoireError : no GeoPackage (run ``observatoire build`` first).
    """
    import geopandas as gpd

    from . import pipeline
    from .catalogue import load_catalogue
    from .errors import ObservatoireError
    from .progress import avertir, etape
    from .territory import build_geographic_layers, resolve_territory

    catalogue = catalogue if catalogue is not None else load_catalogue()
    gpkg = Path(config.paths.gpkg)
    if not gpkg.exists():
        raise ObservatoireError("Le GeoPackage des indicateurs est absent : la vérification s'ajoute à ses couches.",
                                fichier=str(gpkg), correction="lancez d'abord « observatoire build »")
    t0, c0 = time.perf_counter(), time.process_time()
    with etape("Vérification : couches et correspondances IRIS × quartiers 2015") as e:
        territory = resolve_territory(config)
        layers = build_geographic_layers(config, territory)
        crs = layers["iris"].crs
        no_zones = gpd.GeoDataFrame({"code": [], "libelle": [], "commune": []}, geometry=[], crs=crs)
        no_parts = gpd.GeoDataFrame({"code_zone": [], "code_qp": [], "insee_com": [], "libelle": []},
                                    geometry=[], crs=crs)
        import tempfile

        with tempfile.TemporaryDirectory(prefix="observatoire-verif-") as tmp:
            raster = pipeline.population_raster(config, Path(tmp), tuple(layers["epci"].total_bounds))
            crosswalks, totals = pipeline.build_crosswalks(layers, no_zones, no_parts, raster)
        e.resume(f"{len(layers['qpv_2015'])} quartiers 2015, {len(crosswalks.get('qpv2015', []))} pièces "
                 f"({'dasymétrique et surface' if raster is not None else 'surface'})")
    with etape("Vérification : tableaux statistiques") as e:
        publish = set(territory.codes) | set(layers["communes_publiees"]["code_insee"])
        tables = pipeline.read_stat_tables(config, publish)
        inputs = pipeline.indicator_inputs(config, territory, layers, no_zones, no_parts, crosswalks, totals,
                                           raster, tables)
        e.resume(f"{len(tables)} tableaux lus")
    with etape("Vérification : estimations des quartiers 2015 contre les chiffres de l'Insee") as e:
        errors = backtest_inputs(inputs, catalogue, territoire=territory.nom)
        summary = summarise(errors)
        caps = quality_from_backtest(summary, catalogue)
        choice = choose_method(summary, catalogue)
        ok = errors[errors["ecart"].notna()] if len(errors) else errors
        e.resume(f"{summary['indicateur'].nunique() if len(summary) else 0} indicateurs, "
                 f"{ok['code_quartier'].nunique() if len(ok) else 0} quartiers, {len(ok)} comparaisons")
    if errors.empty:
        avertir("Aucun indicateur n'a à la fois un chiffre IRIS et un chiffre de l'Insee sur les quartiers 2015 "
                "de ce territoire : la vérification est vide.")
    reasons = simulated_reasons(config, errors, inputs) if len(errors) and errors["simule"].any() else []
    with etape("Vérification : écriture") as e:
        add_layers(gpkg, {"verification_estimations": errors, "verification_resume": summary})
        csv = Path(config.paths.processed) / "verification_estimations.csv"
        write_csv(errors, csv)
        page = Path(config.paths.maps) / "verification.html"
        from .store import write_text_atomic

        n_q = len(inputs.quartiers[2015].codes) if 2015 in inputs.quartiers else 0
        write_text_atomic(page, render_html(summary, errors, caps, choice, catalogue, territoire=territory.nom,
                                            n_quartiers=n_q, raisons_simulation=reasons,
                                            duree=(time.perf_counter() - t0, time.process_time() - c0)))
        e.resume(f"{gpkg.name} (verification_estimations, verification_resume), {csv.name}, {page}")
    return page


# ----------------------------------------------------------------------------------------------------
# writers
# ----------------------------------------------------------------------------------------------------
def add_layers(gpkg: str | Path, layers: dict[str, pd.DataFrame]) -> Path:
    """Add (or replace) attribute layers in a copy of ``gpkg``, renamed over it when all are written
    (:func:`observatoire.store.atomic_path`): a reader never sees a half-written store."""
    import shutil

    import pyogrio

    from .store import _prepare, atomic_path

    gpkg = Path(gpkg)
    with atomic_path(gpkg) as tmp, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*non conformant file extension.*")
        shutil.copyfile(gpkg, tmp)
        for name, df in layers.items():
            pyogrio.write_dataframe(_prepare(pd.DataFrame(df)), tmp, layer=name, driver="GPKG")
    return gpkg


def write_csv(errors: pd.DataFrame, path: str | Path) -> Path:
    """``verification_estimations.csv``: the conventions of ``indicateurs.csv`` (UTF-8 with BOM, ``;``,
    ``.`` decimals, empty cells for missing numbers, ``True``/``False``, no text read as a formula)."""
    from .exports import neutralise
    from .store import atomic_path

    t = errors[ESTIMATION_COLUMNS].copy() if len(errors) else pd.DataFrame(columns=ESTIMATION_COLUMNS)
    for c in ("territoire", "indicateur", "famille", "methode", "methode_effective", "code_quartier",
              "libelle_quartier", "unite_ecart", "qualite", "motif"):
        t[c] = neutralise(t[c])
    with atomic_path(path) as tmp:
        t.to_csv(tmp, sep=";", index=False, encoding="utf-8-sig", decimal=".", na_rep="", lineterminator="\n")
    return Path(path)


_CSS = ("body{font-family:'DejaVu Sans',Arial,sans-serif;margin:2em auto;max-width:62em;color:#222;padding:0 1em}"
        "h1{font-size:1.6em}h2{font-size:1.25em;border-top:1px solid #ccc;padding-top:.6em}h3{font-size:1.05em}"
        "table{border-collapse:collapse;margin:.4em 0 1em}th,td{border:1px solid #ccc;padding:.2em .5em}"
        "th{background:#f0f0f0;text-align:left}td.n{text-align:right;white-space:nowrap}"
        ".obs-banner{display:inline-block;background:#b2182b;color:#fff;font-weight:bold;padding:.2em .6em;"
        "border-radius:3px}.note{color:#555;font-size:.92em}details{margin:.3em 0 1em}a{color:#08519c}")


def format_ecart(x, unite: str, signe: bool = False) -> str:
    """An error in French: ``1.24, "points"`` → « 1,2 point », ``-12.3, "%"`` → « −12,3 % » (« — » if missing)."""
    from .fr import NBSP, format_nombre

    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "—"
    txt = format_nombre(x, 1, signe=signe)
    if unite == "points":
        return f"{txt}{NBSP}{'point' if abs(round(float(x), 1)) < 2 else 'points'}"
    return f"{txt}{NBSP}%"


def _fmt_val(x, ind: Indicateur | None) -> str:
    from .fr import format_valeur

    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "—"
    decimales = 1 if ind is not None and ind.unite in ("%", "indice") else None
    return format_valeur(x, ind.unite if ind else "nombre", decimales)


def render_html(summary: pd.DataFrame, errors: pd.DataFrame, caps: pd.DataFrame, choice: pd.DataFrame,
                catalogue: dict[str, Indicateur], *, territoire: str, n_quartiers: int,
                raisons_simulation: list[str] | None = None, duree: tuple[float, float] | None = None) -> str:
    """The self-contained French page ``maps/verification.html`` (every text escaped)."""
    from .fr import format_nombre

    e = html.escape
    simule = bool(len(summary) and summary["simule"].any())
    parts = []
    if simule:
        parts.append('<p class="obs-banner">Données simulées</p>')
    parts.append(f"<h1>Vérification des estimations par quartier · {e(territoire)}</h1>")
    if simule:
        raisons = "".join(f"<li>{e(r)}</li>" for r in (raisons_simulation or []))
        parts.append("<p><strong>Ces écarts sont calculés à partir de données simulées</strong> : ils montrent le "
                     "fonctionnement de la vérification, pas la qualité réelle des estimations.</p>"
                     + (f"<ul>{raisons}</ul>" if raisons else ""))
    else:
        parts.append("<p>Toutes les données comparées sont réelles.</p>")
    parts.append(
        "<h2>Ce que mesure cette page</h2>"
        f"<p>L'Insee publie ses propres chiffres pour les {n_quartiers} quartiers prioritaires 2015 du territoire. "
        "L'observatoire estime ces mêmes quartiers à partir des IRIS, exactement comme il estime les quartiers "
        "2024 pour lesquels aucun producteur ne publie de chiffre : un effectif est réparti entre quartiers selon "
        "la part de l'IRIS qui s'y trouve (surface, ou population carroyée pour la méthode dasymétrique) ; un taux "
        "est le rapport de deux effectifs ainsi estimés. L'écart entre l'estimation et le chiffre de l'Insee "
        "mesure l'erreur qu'on peut attendre d'une estimation du même genre sur un quartier 2024.</p>"
        "<h2>Comment lire les tableaux</h2><ul>"
        "<li><strong>Écart</strong> : estimation − chiffre de l'Insee, en points pour un taux, en % du chiffre de "
        "l'Insee pour un effectif ou un indice.</li>"
        "<li><strong>Écart médian</strong> : la moitié des quartiers s'écartent moins que cette valeur (en valeur "
        "absolue).</li>"
        "<li><strong>Biais</strong> : écart médian avec son signe ; positif, l'estimation surestime le plus "
        "souvent.</li>"
        "<li><strong>Dans la tolérance</strong> : part des quartiers à moins de ±2 points (taux) ou ±10 % "
        "(effectifs et indices) du chiffre de l'Insee.</li>"
        "<li>Un quartier dont l'estimation n'est pas publiée (couverture insuffisante des IRIS) n'entre pas dans "
        "le calcul : le nombre de quartiers comparés le dit.</li></ul>"
        "<h2>Ce que cela veut dire pour un chiffre 2024</h2>"
        "<p>Une estimation d'un quartier 2024 est de même nature qu'une estimation d'un quartier 2015 : si les "
        "estimations des quartiers 2015 s'écartent en médiane de 3 points du chiffre de l'Insee, un taux estimé "
        "d'un quartier 2024 peut lui aussi être faux de quelques points ; une différence de 1 point entre deux "
        "quartiers ou deux années n'est alors pas significative. La classe de qualité d'une estimation "
        "(bonne, moyenne, faible) tient compte de cette erreur mesurée quand elle existe (tableau ci-dessous), "
        "sinon de la seule règle de couverture documentée.</p>")
    if summary.empty or not (summary["n_quartiers"] > 0).any():
        parts.append("<p>Aucun indicateur n'a à la fois un chiffre par IRIS et un chiffre de l'Insee sur les "
                     "quartiers 2015 de ce territoire : aucune vérification n'est possible.</p>")
    else:
        notes = [method_note(summary, m) for m in METHODES]
        parts.append("<h2>En bref</h2>" + "".join(f"<p>{e(n)}</p>" for n in notes if n))
        parts.append(_family_section(caps, choice))
        parts.append(_indicator_sections(summary, errors, catalogue))
    if duree:
        parts.append(f'<p class="note">Calcul : {format_nombre(duree[0], 1)} s '
                     f'(CPU {format_nombre(duree[1], 1)} s).</p>')
    parts.append('<p class="note">Méthode : validation par quartiers témoins (Goodchild et Lam, 1980 ; Eicher et '
                 'Brewer, 2001) ; tolérances ±2 points et ±10 % ; règle de qualité dans '
                 '<code>observatoire/verification.py</code>.</p>')
    return (f'<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Vérification des estimations · {e(territoire)}</title><style>{_CSS}</style></head><body>"
            f"<p><a href=\"index.html\">Toutes les cartes</a></p>{''.join(parts)}</body></html>")


def _family_section(caps: pd.DataFrame, choice: pd.DataFrame) -> str:
    e = html.escape
    if caps.empty:
        return ""
    ch = {(r.famille): r.methode_retenue for r in choice.itertuples()} if len(choice) else {}
    rows = []
    for r in caps.itertuples():
        cap = r.plafond if isinstance(r.plafond, str) and r.plafond else "règle de couverture seule"
        rows.append(f"<tr><td>{e(family_label(r.famille))}</td><td>{e(METHODE_LIBELLES.get(r.methode, r.methode))}</td>"
                    f"<td class=n>{r.n_indicateurs}</td>"
                    f"<td class=n>{format_ecart(r.ecart_median_abs, r.unite_ecart)}</td>"
                    f"<td>{e(cap)}</td><td>{'oui' if ch.get(r.famille) == r.methode else ''}</td></tr>")
    return ("<h2>Erreur mesurée par famille d'indicateurs</h2>"
            "<p>Médiane des écarts médians des indicateurs de la famille. Qualité au mieux : « bonne » jusqu'à "
            "1,5 point (5 % pour un effectif), « moyenne » jusqu'à 3 points (10 %), « faible » au-delà ; "
            f"au moins {N_MIN_QUARTIERS} quartiers comparés. Méthode retenue : la plus précise.</p>"
            "<table><thead><tr><th>Famille</th><th>Méthode</th><th>Indicateurs</th><th>Écart médian</th>"
            "<th>Qualité au mieux</th><th>Méthode retenue</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def _indicator_sections(summary: pd.DataFrame, errors: pd.DataFrame, catalogue: dict[str, Indicateur]) -> str:
    from .fr import format_pourcentage

    e = html.escape
    order = {k: i for i, k in enumerate(catalogue)}
    out = ["<h2>Par indicateur</h2>"]
    for ind_id in sorted(summary["indicateur"].unique(), key=lambda k: order.get(k, 10**6)):
        ind = catalogue.get(ind_id)
        s = summary[summary["indicateur"] == ind_id].sort_values(["methode", "millesime"])
        label = ind.libelle if ind else ind_id
        src = f" · {ind.source_libelle}" if ind is not None and ind.source_libelle else ""
        sim = " · données simulées" if s["simule"].any() else ""
        rows = "".join(
            f"<tr><td>{e(METHODE_LIBELLES.get(r.methode, r.methode))}</td><td class=n>{r.millesime}</td>"
            f"<td class=n>{r.n_quartiers}</td><td class=n>{format_ecart(r.ecart_median_abs, r.unite_ecart)}</td>"
            f"<td class=n>{format_ecart(r.biais, r.unite_ecart, signe=True)}</td>"
            f"<td class=n>{format_pourcentage(100 * r.part_dans_tolerance, 0) if r.n_quartiers else '—'}</td></tr>"
            for r in s.itertuples())
        tol = e(str(s["tolerance"].iloc[0]))
        out.append(f"<h3>{e(label)}</h3><p class=note>{e(ind_id)}{e(src)}{e(sim)}</p>"
                   "<table><thead><tr><th>Méthode</th><th>Année</th><th>Quartiers comparés</th>"
                   "<th>Écart médian</th>"
                   f"<th>Biais</th><th>Dans la tolérance ({tol})</th></tr></thead><tbody>{rows}</tbody></table>")
        d = errors[errors["indicateur"] == ind_id].sort_values(["millesime", "code_quartier", "methode"])
        det = "".join(
            f"<tr><td>{r.millesime}</td><td>{e(r.libelle_quartier or r.code_quartier)} ({e(r.code_quartier)})</td>"
            f"<td>{e(METHODE_LIBELLES.get(r.methode, r.methode))}</td>"
            f"<td class=n>{_fmt_val(r.valeur_estimee, ind)}</td><td class=n>{_fmt_val(r.valeur_insee, ind)}</td>"
            f"<td class=n>{format_ecart(r.ecart, r.unite_ecart, signe=True)}</td>"
            f"<td>{e(r.qualite if isinstance(r.qualite, str) else '')}</td><td>{e(r.motif)}</td></tr>"
            for r in d.itertuples())
        out.append("<details><summary>Détail par quartier</summary><table><thead><tr><th>Année</th><th>Quartier</th>"
                   "<th>Méthode</th><th>Estimation</th><th>Insee</th><th>Écart</th><th>Qualité</th><th>Motif</th>"
                   f"</tr></thead><tbody>{det}</tbody></table></details>")
    return "".join(out)


__all__ = ["backtest", "summarise", "quality_from_backtest", "cap_quality", "choose_method", "method_note",
           "backtest_inputs", "verifier", "add_layers", "write_csv", "render_html", "family", "error_unit",
           "format_ecart",
           "ESTIMATION_COLUMNS", "RESUME_COLUMNS", "PLAFOND_COLUMNS", "TOLERANCES", "REGLES_QUALITE"]
