"""Changes between millésimes: points for a rate, percent for anything else, INSEE's census rule.

:func:`evolution` gives one change; :func:`add_evolutions` computes them for a whole tidy table,
vectorised. Two census editions fewer than ``annees_ecart_min`` years apart (default 5) are not
compared, as INSEE advises.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..catalogue import Indicateur, load_catalogue
from ..tidy import STATUT_RANG

#: Sources whose editions follow INSEE's rule « do not compare census editions less than 5 years
#: apart » (prefix of the table's source id; the catalogue family ``insee_rp`` counts too).
SOURCES_RECENSEMENT = ("insee_rp", "insee_qp2024_rp")

EVOLUTION_COLUMNS = ["type_territoire", "code_territoire", "indicateur", "millesime_debut",
                     "millesime_fin", "valeur_debut", "valeur_fin", "evolution", "unite_evolution",
                     "statut"]


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
    rank = dict(STATUT_RANG)
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
