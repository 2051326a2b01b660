"""Quality of an estimate from evidence: the error measured on the territory caps its class.

The back-test (:mod:`observatoire.verification`) estimates INSEE's 2015 quartiers from IRIS and measures
the error per indicator. Here that error becomes a cap on the quality class of the same *kind* of
estimate elsewhere (a 2024 quartier, a zone): :func:`quality_from_backtest` turns the measured errors
of a family (rate in points vs count or index in %, by source) into caps (:data:`REGLES_QUALITE`),
:func:`cap_quality` applies them to the engine's unit frames (a cap never raises a class), and
:func:`choose_method` names the method with the lower measured error.

Reference: hold-out validation of areal interpolation (Goodchild & Lam 1980; Eicher & Brewer 2001).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..catalogue import Indicateur
from .units import QUALITE_NOMS

#: Methods compared (``dasymetrique`` only when the crosswalk has dasymetric weights).
METHODES = ("surface", "dasymetrique")

#: Quality caps from the measured error (median absolute error of a family and method, in its unit):
#: ``(bonne allowed up to, moyenne at best up to)``; above the second bound, « faible ». Rates: 1.5
#: point is the acceptance threshold of the estimator on the simulated ground truth (issue 4,
#: ``scripts/bench_spatial.py``) and 3 points twice it; counts and indices: half the ±10 % tolerance,
#: then the tolerance itself.
REGLES_QUALITE = {"points": (1.5, 3.0), "%": (5.0, 10.0)}

#: A family's back-test counts as evidence only with at least this many quartiers compared (fewer:
#: the documented coverage rule alone applies).
N_MIN_QUARTIERS = 5

PLAFOND_COLUMNS = ["territoire", "famille", "methode", "n_indicateurs", "n_quartiers", "ecart_median_abs",
                   "unite_ecart", "plafond", "plafond_code"]


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
