"""Statistical secrecy of the published table: primary, then complementary.

Primary: a cell the producer withheld (``secret``) or did not publish (``nd``) never becomes a number;
a ratio, sum or estimate that needs it is withheld too (the engine propagates the worst statut).

Complementary (what INSEE does so that a withheld cell cannot be recomputed from published ones):

1. A territory row holding a withheld cell among the counts of its table is *protected*: the figures
   computed from that row publish no numerator or denominator (a withheld count could otherwise be
   rebuilt from other indicators' terms, e.g. unemployed = active − employed), and their value is
   rounded to its displayed precision.
2. Protection goes up every additive hierarchy the table publishes (IRIS → commune, commune → EPCI,
   département, France, quartier → sets of quartiers): a total containing a protected or withheld
   part publishes no numerator or denominator, only its rounded rate — so « total minus the other
   parts » never gives a withheld value. :func:`propagate` applies it to the producer's own totals;
   sums computed by the engine inherit it from their parts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def propagate(parents: pd.DataFrame, children: pd.DataFrame, membership: pd.DataFrame) -> pd.DataFrame:
    """``parents.protege`` |= any child of the same indicator protected or withheld.

    ``membership``: ``part`` (child code), ``groupe`` (parent code).
    """
    if parents.empty or children.empty or membership.empty:
        return parents
    flag = children.assign(_f=children["protege"].astype(bool) | (children["rang"] < 2))[["code", "ind", "mil", "_f"]]
    flag = flag[flag["_f"]]
    if flag.empty:
        return parents
    j = membership[["part", "groupe"]].astype(str).merge(flag, left_on="part", right_on="code")
    hit = j.drop_duplicates(["groupe", "ind", "mil"])[["groupe", "ind", "mil"]]
    if hit.empty:
        return parents
    key = pd.MultiIndex.from_frame(hit.rename(columns={"groupe": "code"}))
    mask = pd.MultiIndex.from_frame(parents[["code", "ind", "mil"]]).isin(key)
    if mask.any():
        parents = parents.copy()
        parents.loc[mask, "protege"] = True
    return parents


def round_to(values: np.ndarray, decimals: np.ndarray) -> np.ndarray:
    """Round each value to its own number of decimals (NaN stays NaN)."""
    out = values.copy()
    for d in np.unique(decimals):
        sel = decimals == d
        out[sel] = np.round(values[sel], int(d))
    return out
