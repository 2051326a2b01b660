"""Salient facts of a quartier: which figures the written diagnosis talks about.

The portrait's « éléments de diagnostic » are 5 to 10 sentences. This module chooses their facts
from the tidy indicator table by the following documented rules, applied indicator by indicator
(catalogue order), for one quartier ``Q`` of type ``T`` (``qpv2024``, ``qpv2015`` or ``zone``):

1. **Eligible figures.** A figure (one row of the tidy table) may feed a sentence only if it has a
   value, its ``statut`` is neither ``secret`` nor ``nd``, it is not a partner figure
   (``methode = partenaire``, shown in its own block instead) and it is not an estimate of quality
   ``faible`` (``methode`` in ``surface``, ``dasymetrique``, ``transposition_2015_2024`` with
   ``qualite = faible``). Counts (``type = effectif``, e.g. population) are never compared, and a
   producer value (median, quartile) is never quoted from an estimate: such a value carried from
   other perimeters is only an approximation.
   Every figure a sentence quotes (the quartier's value, its earlier value, the reference) must be
   eligible; an indicator whose reference is not eligible yields no fact.
2. **Year.** The latest year ``t`` of ``Q``'s figures for the indicator; when that figure is not
   eligible (secret, nd, poor estimate…), the indicator yields no fact (no sentence about an older
   year while the latest one is withheld). The comparison year ``t0`` is
   ``[portraits] annee_comparaison`` when ``Q`` has an eligible value that year and it is
   comparable, else the earliest comparable earlier year with an eligible value (no change is quoted
   when there is none). *Comparable* follows INSEE's census rule
   (:func:`observatoire.indicators.comparable`): for a census indicator (source ``insee_rp…``) the
   two editions must be at least ``[indicateurs] annees_ecart_min`` years apart (default 5, so
   2019 → 2022 is never quoted while 2017 → 2022 is); other sources are always comparable.
3. **Reference.** The value of all QPV of the EPCI (``ensemble_qpv_epci``) in year ``t``.
4. **Peers.** The eligible values in year ``t`` of all quartiers of the same type in the table
   (for a custom zone: the 2024 quartiers, plus the zone itself), ``n`` of them.
5. **Gap score** ``z_ecart = (v - ref) / s``, ``s`` the population standard deviation of the peers'
   values (computed when ``n ≥ 3`` and ``s > 0``): the gap to all QPV of the EPCI measured in units of
   the spread between quartiers.
6. **Change score** ``z_evolution = (Δ - Δref) / sΔ``: ``Δ`` the change of ``Q`` between ``t0`` and
   ``t`` (in points for a ``%`` unit, in percent of the earlier value otherwise), ``Δref`` the same
   change for all QPV of the EPCI (or, when it is not available, the mean change of the peers),
   ``sΔ`` the standard deviation of the peers' changes (``n ≥ 3``, ``sΔ > 0``).
7. **Rank.** ``rang`` = 1 for the highest value among the peers; ``Q`` is *extreme* when it ranks
   first or last among at least 3 peers.
8. **Score** = max(|z_ecart|, |z_evolution|, 1 if extreme else 0); the rule giving the maximum is
   the fact's ``regle`` (``ecart``, ``evolution``, ``rang``). Ties keep the catalogue order.
9. **Selection.** Facts with score ≥ 1 (:data:`SEUIL`) are taken by decreasing score, at most 3 per
   theme (:data:`MAX_PAR_THEME`) in a first pass, then without the theme limit, up to 10
   (:data:`MAX_FAITS`). If fewer than 5 (:data:`MIN_FAITS`) are found, the remaining eligible
   indicators are added by decreasing score until 5; with fewer eligible indicators the list is
   shorter (no fact is ever invented).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..catalogue import Indicateur
from ..indicators import comparable
from ..tidy import METHODES_ESTIMATION

SEUIL = 1.0
MIN_FAITS = 5
MAX_FAITS = 10
MAX_PAR_THEME = 3
MIN_PAIRS = 3

STATUTS_EXCLUS = frozenset({"secret", "nd"})
TYPES_COMPARABLES = frozenset({"ratio", "valeur_producteur"})


@dataclass(frozen=True)
class Fact:
    """One salient fact about a quartier (every figure in it is eligible, see module rules)."""

    indicateur: str
    regle: str                       # "ecart" | "evolution" | "rang"
    score: float
    valeur: float
    millesime: int
    reference: float
    reference_libelle: str           # name of the EPCI whose QPV form the reference
    valeur_precedente: float | None = None
    millesime_precedent: int | None = None
    evolution: float | None = None   # points for a % unit, percent of the earlier value otherwise
    evolution_unite: str = "points"  # "points" | "%"
    rang: int | None = None          # 1 = highest value among the peers
    n_pairs: int | None = None
    n_quartiers: int | None = None   # quartiers with a figure that year, usable or not (≥ n_pairs)
    hors_pairs: bool = False         # the subject is not one of the peers (a zone ranked among the quartiers)
    z_ecart: float | None = None
    z_evolution: float | None = None


def _txt(s: pd.Series) -> pd.Series:
    return s.astype("string").fillna("").str.strip().str.lower()


def eligible_mask(table: pd.DataFrame) -> pd.Series:
    """Boolean Series: rows that may feed a sentence (rule 1, except the effectif exclusion)."""
    statut = _txt(table["statut"])
    methode = _txt(table["methode"])
    qualite = _txt(table["qualite"])
    valeur = pd.to_numeric(table["valeur"], errors="coerce")
    faible = methode.isin(METHODES_ESTIMATION) & (qualite == "faible")
    return (valeur.notna() & ~statut.isin(STATUTS_EXCLUS) & (methode != "partenaire") & ~faible).astype(bool)


def _change(v: float, v0: float, unite: str) -> float | None:
    if unite == "%":
        return v - v0
    if v0 == 0:
        return None
    return 100.0 * (v - v0) / abs(v0)


def _values(df: pd.DataFrame, type_territoire: str | tuple[str, ...], millesime: int) -> pd.Series:
    types = (type_territoire,) if isinstance(type_territoire, str) else type_territoire
    sel = df[df["type_territoire"].isin(types) & (df["millesime"] == millesime)]
    return pd.Series(sel["valeur"].to_numpy(float), index=sel["code_territoire"].to_numpy(str))


def _peer_values(df: pd.DataFrame, peer_type: str, millesime: int, code: str, v: float) -> pd.Series:
    """Values of the peers in one year, the quartier itself included (once)."""
    peers = _values(df, peer_type, millesime)
    peers = peers[~peers.index.duplicated()]
    if code not in peers.index:
        peers = pd.concat([peers, pd.Series([v], index=[code])])
    return peers


def comparison_year(years, t: int, ind: Indicateur | None, source: str | None, *,
                    annee_comparaison: int | None = None, annees_ecart_min: int = 5) -> int | None:
    """Earlier year whose figure a change is computed from (rule 2), or ``None``.

    ``years``: the years with a usable figure; ``t``: the latest year; ``source``: the table's source
    id of the year-``t`` figure. Among the years before ``t`` that are comparable with ``t``
    (:func:`observatoire.indicators.comparable`), ``annee_comparaison`` when it is one of them, else
    the earliest.

    >>> rp = Indicateur("x", "X", "insertion", "%", "ratio", "insee_rp")
    >>> comparison_year([2019, 2022], 2022, rp, "insee_rp"), comparison_year([2017, 2019, 2022], 2022, rp, "insee_rp")
    (None, 2017)
    >>> comparison_year([2019, 2022], 2022, rp, "insee_rp", annees_ecart_min=0)
    2019
    """
    earlier = sorted({int(y) for y in years if int(y) < int(t)
                      and comparable(ind, source, int(y), int(t), annees_ecart_min)})
    if annee_comparaison is not None and int(annee_comparaison) in earlier:
        return int(annee_comparaison)
    return earlier[0] if earlier else None


def indicator_fact(table: pd.DataFrame, ind: Indicateur, code: str, *, type_territoire: str = "qpv2024",
                   code_ensemble: str, nom_ensemble: str, annee_comparaison: int | None = None,
                   annees_ecart_min: int = 5) -> Fact | None:
    """The candidate fact of one indicator for quartier ``code`` (rules 1 to 8), or ``None``."""
    if ind.type not in TYPES_COMPARABLES:
        return None
    rows = table[table["indicateur"] == ind.id]
    if rows.empty:
        return None
    ok = eligible_mask(rows)
    if ind.type == "valeur_producteur":
        # a median or quartile carried from other perimeters is an approximation, not a figure to quote
        ok &= ~_txt(rows["methode"]).isin(METHODES_ESTIMATION)
    years_all = pd.to_numeric(rows.loc[(rows["type_territoire"] == type_territoire)
                                       & (rows["code_territoire"].astype(str) == code)
                                       & (_txt(rows["methode"]) != "partenaire"), "millesime"], errors="coerce")
    df = rows[ok].copy()
    df["valeur"] = pd.to_numeric(df["valeur"], errors="coerce").astype(float)
    df["millesime"] = pd.to_numeric(df["millesime"], errors="coerce").astype("Int64")
    df["code_territoire"] = df["code_territoire"].astype(str)
    mine = df[(df["type_territoire"] == type_territoire) & (df["code_territoire"] == code)]
    if mine.empty:
        return None
    by_year = mine.groupby("millesime")["valeur"].first().sort_index()
    t = int(by_year.index.max())
    if years_all.notna().any() and int(years_all.max()) != t:
        return None                                   # the latest figure is withheld or unusable
    v = float(by_year.loc[t])
    ens = df[(df["type_territoire"] == "ensemble_qpv_epci") & (df["code_territoire"] == code_ensemble)]
    ens_by_year = ens.groupby("millesime")["valeur"].first()
    if t not in ens_by_year.index:
        return None
    ref = float(ens_by_year.loc[t])

    peer_types = "qpv2024" if type_territoire == "zone" else type_territoire
    peers = _peer_values(df, peer_types, t, code, v)
    n = len(peers)
    s = float(np.std(peers.to_numpy())) if n else 0.0
    z_ecart = (v - ref) / s if n >= MIN_PAIRS and s > 0 else None

    src = mine.loc[mine["millesime"] == t, "source"].dropna()
    t0 = comparison_year(by_year.index, t, ind, str(src.iloc[0]) if len(src) else None,
                         annee_comparaison=annee_comparaison, annees_ecart_min=annees_ecart_min)
    v0 = delta = z_evol = None
    unite_evol = "points" if ind.unite == "%" else "%"
    if t0 is not None:
        v0 = float(by_year.loc[t0])
        delta = _change(v, v0, ind.unite)
        if delta is not None:
            before = _peer_values(df, peer_types, t0, code, v0)
            common = peers.index.intersection(before.index)
            deltas = [d for c in common if (d := _change(float(peers[c]), float(before[c]), ind.unite)) is not None]
            if t0 in ens_by_year.index and (dref := _change(ref, float(ens_by_year.loc[t0]), ind.unite)) is not None:
                delta_ref = dref
            else:
                delta_ref = float(np.mean(deltas)) if deltas else None
            sd = float(np.std(deltas)) if len(deltas) >= MIN_PAIRS else 0.0
            if delta_ref is not None and sd > 0:
                z_evol = (delta - delta_ref) / sd

    rang = None
    if n >= MIN_PAIRS:
        rang = int((peers.to_numpy() > v).sum()) + 1
    extreme = rang is not None and (rang == 1 or int((peers.to_numpy() < v).sum()) == 0)
    if extreme and rang != 1:
        rang = n
    scores = {"ecart": abs(z_ecart) if z_ecart is not None else 0.0,
              "evolution": abs(z_evol) if z_evol is not None else 0.0,
              "rang": 1.0 if extreme else 0.0}
    regle = max(scores, key=lambda k: scores[k])   # dict order breaks ties: ecart, evolution, rang
    return Fact(indicateur=ind.id, regle=regle, score=float(scores[regle]), valeur=v, millesime=t,
                reference=ref, reference_libelle=nom_ensemble, valeur_precedente=v0, millesime_precedent=t0,
                evolution=delta, evolution_unite=unite_evol, rang=rang if n >= MIN_PAIRS else None,
                n_pairs=n, z_ecart=z_ecart, z_evolution=z_evol, hors_pairs=peer_types != type_territoire,
                n_quartiers=int(rows.loc[(rows["type_territoire"] == peer_types)
                                         & (pd.to_numeric(rows["millesime"], errors="coerce") == t),
                                         "code_territoire"].nunique()))


def select_facts(table: pd.DataFrame, catalogue: dict[str, Indicateur], code: str, *,
                 type_territoire: str = "qpv2024", code_ensemble: str, nom_ensemble: str,
                 annee_comparaison: int | None = None, min_faits: int = MIN_FAITS,
                 max_faits: int = MAX_FAITS, annees_ecart_min: int = 5) -> list[Fact]:
    """The salient facts of quartier ``code`` (rule 9), most salient first.

    Parameters
    ----------
    table : the tidy indicator table (contract columns).
    catalogue : ``load_catalogue()`` result.
    code, type_territoire : the quartier (``qpv2024``, ``qpv2015`` or ``zone``).
    code_ensemble, nom_ensemble : SIREN and display name of the EPCI whose QPV form the reference.
    annee_comparaison : preferred earlier year for changes (``[portraits] annee_comparaison``).
    annees_ecart_min : census editions fewer years apart are not compared (``[indicateurs]
        annees_ecart_min``, INSEE's rule; 0 disables it).
    """
    cands: list[tuple[float, int, Fact, str]] = []
    for order, ind in enumerate(catalogue.values()):
        f = indicator_fact(table, ind, code, type_territoire=type_territoire, code_ensemble=code_ensemble,
                           nom_ensemble=nom_ensemble, annee_comparaison=annee_comparaison,
                           annees_ecart_min=annees_ecart_min)
        if f is not None and math.isfinite(f.score):
            cands.append((f.score, order, f, ind.theme))
    cands.sort(key=lambda c: (-c[0], c[1]))
    chosen: list[tuple[float, int, Fact, str]] = []
    per_theme: dict[str, int] = {}
    for c in cands:                                   # pass 1: salient, theme-capped
        if c[0] >= SEUIL and len(chosen) < max_faits and per_theme.get(c[3], 0) < MAX_PAR_THEME:
            chosen.append(c)
            per_theme[c[3]] = per_theme.get(c[3], 0) + 1
    for c in cands:                                   # pass 2: salient, no theme cap
        if c[0] >= SEUIL and len(chosen) < max_faits and c not in chosen:
            chosen.append(c)
    for c in cands:                                   # pass 3: fill up to the minimum
        if len(chosen) >= min(min_faits, max_faits):
            break
        if c not in chosen:
            chosen.append(c)
    chosen.sort(key=lambda c: (-c[0], c[1]))
    return [c[2] for c in chosen]
