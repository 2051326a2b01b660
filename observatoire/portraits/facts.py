"""Salient facts of a quartier: which figures the written diagnosis talks about, and how.

The « éléments de diagnostic » of a sheet are at most :data:`MAX_FAITS` sentences. An analyst signs
them, so every rule below is one an observatory would defend; the constants hold every threshold.
For a quartier ``Q`` of type ``T`` (``qpv2024``, ``qpv2015`` or ``zone``), its **reference** ``R`` is
the set of all quartiers of the EPCI of the same geography (``ensemble_qpv2024_epci`` for a 2024
quartier or a zone, ``ensemble_qpv2015_epci`` for a 2015 quartier: the third column of
:data:`observatoire.tidy.REFERENCES`), worded « l'ensemble des quartiers prioritaires de … »: a pooled
rate (sum of numerators over sum of denominators), never an average.

1. **Eligible figures.** A figure (one row of the tidy table) may be quoted only if it has a value,
   its ``statut`` is neither ``secret`` nor ``nd``, it is not a partner figure (``methode =
   partenaire``, shown in its own block) and its ``qualite`` is not ``faible`` — whether it is an
   estimate or a set summed from estimates (the set's row carries the quality of its parts). A
   producer value (median, quartile, published rate: ``type = valeur_producteur``) is never quoted
   from an estimate: such a value carried from other perimeters is an approximation. Counts
   (``type = effectif``) are never compared. Indicators of :data:`JAMAIS_EN_TETE` (the share of
   women) are never the subject of a sentence. Every figure a sentence quotes — the quartier's value,
   its earlier value, the reference, the reference's earlier value — must be eligible.
2. **Year.** The latest year ``t`` of ``Q``'s figures for the indicator; when that figure is not
   eligible the indicator yields no fact (no sentence about an older year while the latest one is
   withheld). The comparison year ``t0`` is ``[portraits] annee_comparaison`` when ``Q`` has an
   eligible, comparable value that year, else the earliest comparable earlier year with an eligible
   value. *Comparable* follows INSEE's census rule (:func:`observatoire.indicators.comparable`): two
   census editions at least ``[indicateurs] annees_ecart_min`` years apart (default 5).
3. **Figures as printed.** Gaps and changes are computed on the values **rounded as the sheet prints
   them** (one decimal for a rate, the euro for an income), so a reader who subtracts two cells of
   the table finds the figure of the sentence.
4. **Peers and spread.** The eligible values in year ``t`` of all quartiers of type ``T`` (for a
   zone: the 2024 quartiers, plus the zone), ``n`` of them; ``s`` their population standard
   deviation (when ``n ≥`` :data:`MIN_PAIRS`).
5. **A gap worth a sentence** (``ecart = v − ref``): at least :data:`ECART_MIN_POINTS` points for a
   rate (unit ``%``), at least :data:`ECART_MIN_RELATIF` % of the reference for any other unit
   (euros, indices), **and** at least :data:`DISPERSION_MIN` × ``s`` (the quartier stands out from
   the spread between quartiers). No « 8,7 % contre 8,7 % », no « 20,2 contre 20,3 ».
   **5b. No pooled set.** When ``R`` has no figure at all (no row, or ``statut = nd``) — a median,
   a quartile or a rate INSEE publishes without its counts cannot be pooled over quartiers, so the
   set of the EPCI's quartiers has none (Filosofi: poverty rate, median income) — the reference is
   the EPCI as a whole (:data:`REFERENCE_DE_REPLI`, a producer figure), worded « l'ensemble de
   Valenciennes Métropole »: the gap the contract documents quote (« 45 % sous le seuil de pauvreté, contre 22 % dans
   l'agglomération »). The thresholds and the spread between quartiers are those of rule 5. A set
   that has a figure of ``faible`` quality or a secret one yields no fact (rule 1), never the EPCI.
6. **A change worth a sentence** (``Δ`` between ``t0`` and ``t``, in points for a rate, in % of the
   earlier value otherwise; ``Δref`` the same change for ``R``): ``|Δ|`` at least
   :data:`EVOLUTION_MIN_POINTS` points (rate) or :data:`EVOLUTION_MIN_RELATIF` % (other units),
   ``|Δ − Δref|`` at least the same threshold, and at least :data:`DISPERSION_MIN` × ``sΔ`` (spread
   of the peers' changes) when it can be computed. A change below the threshold is not a fact: it
   is never presented as a change, and a sentence about a gap does not quote it.
7. **Score.** The gap in units of the spread (``|ecart| / s``) when the gap is marked, the change in
   units of the spread of changes when the change is marked, the larger of the two (rule
   ``ecart`` or ``evolution``); without a spread (fewer than 3 quartiers), the gap or change in
   units of its threshold. An indicator with neither a marked gap nor a marked change yields **no
   fact**: no sentence is ever written to fill a quota.
8. **Rank.** ``rang`` = 1 for the highest value among the peers; the sentence says « le niveau le
   plus élevé / le plus bas des n quartiers » when ``Q`` ranks first or last among ≥ 3 peers that are
   at least half of the quartiers with a figure that year (a rank among a few usable estimates is not
   quoted), and the gap is marked.
9. **Themes.** The contract's key themes (:data:`THEMES_CLES`: poverty and income, employment and
   NEET, education, families and benefits, health and access to rights) come first: one fact for
   each key theme where the quartier stands out (its best score), then further facts of key
   themes, then the other themes (population, housing, mobility), by decreasing score, at most
   :data:`MAX_PAR_THEME` per theme and :data:`MAX_FAITS` in all. Sentences are printed grouped by
   theme, in the catalogue's theme order.
10. **Magnitude.** The ratio ``v / ref`` of the printed values is named when it is close to a
    useful magnitude (:data:`AMPLEURS`: « deux fois plus », « près de deux fois plus », « un tiers
    de plus », « deux fois moins »…), alongside the gap in points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..catalogue import THEMES, Indicateur
from ..indicators import comparable
from ..tidy import METHODES_ESTIMATION, REFERENCES

#: Minimum gap to the reference for a rate (unit ``%``), in points.
ECART_MIN_POINTS = 2.0
#: Minimum gap to the reference for any other unit (euros, indices), in % of the reference.
ECART_MIN_RELATIF = 5.0
#: Minimum change of a rate between two years, in points (and minimum difference with the reference's change).
EVOLUTION_MIN_POINTS = 2.0
#: Minimum change of any other unit, in % of the earlier value.
EVOLUTION_MIN_RELATIF = 5.0
#: The reference of rule 5b, when the set of the EPCI's quartiers has no figure (medians, quartiles,
#: rates published without counts): the EPCI itself, same SIREN.
REFERENCE_DE_REPLI = "epci"
#: A marked gap (or change) is also at least this many standard deviations of the peers' values (changes).
DISPERSION_MIN = 0.75
#: Peers needed to compute a spread or a rank.
MIN_PAIRS = 3
#: Sentences per sheet, and per theme.
MAX_FAITS = 8
MAX_PAR_THEME = 2
#: The contract's key themes (2024 quartier projects), in priority order.
THEMES_CLES = ("revenus", "insertion", "education", "familles", "sante")
#: Indicators never made the subject of a sentence (context only, shown in the tables).
JAMAIS_EN_TETE = frozenset({"part_femmes"})
#: Named magnitudes of the ratio ``v / ref`` of the printed values: ``(from, to, words)``, ``from``
#: included, ``to`` excluded. Between two ranges no magnitude is named (the points suffice).
AMPLEURS = (
    (3.8, 4.4, "quatre fois plus"),
    (3.4, 3.8, "près de quatre fois plus"),
    (2.85, 3.2, "trois fois plus"),
    (2.6, 2.85, "près de trois fois plus"),
    (2.2, 2.6, "plus de deux fois plus"),
    (1.9, 2.2, "deux fois plus"),
    (1.75, 1.9, "près de deux fois plus"),
    (1.45, 1.56, "moitié plus"),
    (1.3, 1.38, "un tiers de plus"),
    (1.22, 1.28, "un quart de plus"),
    (0.72, 0.78, "un quart de moins"),
    (0.64, 0.7, "un tiers de moins"),
    (0.53, 0.57, "près de deux fois moins"),
    (0.45, 0.53, "deux fois moins"),
    (0.31, 0.36, "trois fois moins"),
    (0.23, 0.27, "quatre fois moins"),
)

STATUTS_EXCLUS = frozenset({"secret", "nd"})
TYPES_COMPARABLES = frozenset({"ratio", "valeur_producteur"})
#: Quartier set (reference) of each quartier type.
ENSEMBLE = {"qpv2024": REFERENCES["2024"][2], "zone": REFERENCES["zones"][2], "qpv2015": REFERENCES["2015"][2]}
#: Peers of each quartier type.
PAIRS = {"qpv2024": "qpv2024", "zone": "qpv2024", "qpv2015": "qpv2015"}
#: Display decimals by unit when the catalogue gives none (as :func:`observatoire.fr.format_valeur`).
DECIMALES_UNITE = {"%": 1, "points": 1}


@dataclass(frozen=True)
class Fact:
    """One salient fact about a quartier (every figure in it is eligible, see the module rules).

    Values are the table's values; ``ecart`` and ``evolution`` are computed on the printed (rounded)
    values. ``simule_*`` tell which quoted figures come from simulated inputs.
    """

    indicateur: str
    regle: str                       # "ecart" | "evolution"
    score: float
    valeur: float
    millesime: int
    reference: float
    reference_libelle: str           # « Valenciennes Métropole »: name of the EPCI whose quartiers form R
    valeur_precedente: float | None = None
    millesime_precedent: int | None = None
    evolution: float | None = None   # points for a % unit, percent of the earlier value otherwise
    evolution_unite: str = "points"  # "points" | "%"
    evolution_reference: float | None = None
    rang: int | None = None          # 1 = highest value among the peers
    n_pairs: int | None = None
    n_quartiers: int | None = None   # quartiers with a figure that year, usable or not (≥ n_pairs)
    hors_pairs: bool = False         # the subject is not one of the peers (a zone compared with the quartiers)
    z_ecart: float | None = None
    z_evolution: float | None = None
    ecart: float | None = None       # v − ref on printed values (points, or % of the reference)
    ecart_marque: bool = False
    evolution_marquee: bool = False
    ampleur: str = ""                # « près de deux fois plus » or empty
    theme: str = ""
    type_reference: str = "ensemble_qpv2024_epci"
    geographie_reference: str = ""   # "" for 2024 sets (« quartiers prioritaires »), "2015" for 2015 sets
    simule_valeur: bool = False
    simule_reference: bool = False
    simule_precedent: bool = False
    simule_reference_precedente: bool = False


# ----------------------------------------------------------------------------------- small helpers
def _txt(s: pd.Series) -> pd.Series:
    return s.astype("string").fillna("").str.strip().str.lower()


def _truthy(s: pd.Series) -> pd.Series:
    """``simule`` column (bool, « True »/« False » text or empty) → bool Series."""
    if s.dtype == bool:
        return s
    return s.astype("string").fillna("").str.strip().str.lower().isin(["true", "1", "vrai", "oui"])


def eligible_mask(table: pd.DataFrame) -> pd.Series:
    """Boolean Series: rows that may feed a sentence (rule 1, except the per-indicator exclusions)."""
    statut = _txt(table["statut"])
    methode = _txt(table["methode"])
    qualite = _txt(table["qualite"])
    valeur = pd.to_numeric(table["valeur"], errors="coerce")
    return (valeur.notna() & ~statut.isin(STATUTS_EXCLUS) & (methode != "partenaire")
            & (qualite != "faible")).astype(bool)


def decimales(ind: Indicateur) -> int:
    """Decimals the sheet prints a value of ``ind`` with."""
    return ind.decimales if ind.decimales is not None else DECIMALES_UNITE.get(ind.unite, 0)


def arrondi(x: float, ind: Indicateur) -> float:
    """``x`` rounded as printed (half away from zero, like :func:`format`)."""
    return float(f"{x:.{decimales(ind)}f}")


def seuil_ecart(ind: Indicateur) -> tuple[float, str]:
    """``(threshold, unit)`` of a gap: ``(2.0, "points")`` for a rate, ``(5.0, "%")`` otherwise."""
    return (ECART_MIN_POINTS, "points") if ind.unite == "%" else (ECART_MIN_RELATIF, "%")


def seuil_evolution(ind: Indicateur) -> tuple[float, str]:
    """``(threshold, unit)`` of a change: ``(2.0, "points")`` for a rate, ``(5.0, "%")`` otherwise."""
    return (EVOLUTION_MIN_POINTS, "points") if ind.unite == "%" else (EVOLUTION_MIN_RELATIF, "%")


def ecart(v: float, ref: float, ind: Indicateur) -> float | None:
    """Gap of printed values: points for a rate, % of the reference otherwise (``None`` if ref is 0)."""
    v, ref = arrondi(v, ind), arrondi(ref, ind)
    if ind.unite == "%":
        return round(v - ref, decimales(ind))
    if ref == 0:
        return None
    return 100.0 * (v - ref) / abs(ref)


def change(v: float, v0: float, ind: Indicateur) -> float | None:
    """Change of printed values between two years: points for a rate, % of the earlier value otherwise."""
    v, v0 = arrondi(v, ind), arrondi(v0, ind)
    if ind.unite == "%":
        return round(v - v0, decimales(ind))
    if v0 == 0:
        return None
    return 100.0 * (v - v0) / abs(v0)


def ampleur(v: float, ref: float, ind: Indicateur | None = None) -> str:
    """Named magnitude of ``v / ref`` (rule 10), or ``""``.

    >>> ampleur(44.0, 22.5), ampleur(36.0, 27.0), ampleur(10.0, 20.0), ampleur(30.0, 25.0)
    ('deux fois plus', 'un tiers de plus', 'deux fois moins', '')
    """
    if ind is not None:
        v, ref = arrondi(v, ind), arrondi(ref, ind)
    if ref <= 0 or v <= 0:
        return ""
    r = v / ref
    for lo, hi, words in AMPLEURS:
        if lo <= r < hi:
            return words
    return ""


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


def regles_texte(nom_epci: str) -> str:
    """The diagnosis rules in one French sentence, from the constants (printed on every sheet)."""
    from .. import fr
    from ..fr import elide
    n = lambda x, d=0: fr.format_nombre(x, d)  # noqa: E731
    return (f"Diagnostic : un écart est cité quand il atteint {n(ECART_MIN_POINTS)} points pour un taux "
            f"({n(ECART_MIN_RELATIF)} % pour un montant ou un indice) par rapport à l'ensemble des quartiers "
            f"prioritaires {elide('de', nom_epci)} (à défaut, quand cet ensemble n'a pas de chiffre — médiane, "
            f"quartile ou taux publié sans effectifs, qui ne s'additionnent pas —, à l'ensemble "
            f"{elide('de', nom_epci)}) et au moins {n(DISPERSION_MIN, 2)} écart-type entre quartiers ; "
            f"une évolution quand elle atteint {n(EVOLUTION_MIN_POINTS)} points ({n(EVOLUTION_MIN_RELATIF)} %) "
            "et s'écarte d'autant de celle de l'ensemble des quartiers ; priorité aux thèmes du contrat "
            "(revenus et pauvreté, emploi et insertion, éducation, familles et prestations, santé) ; aucune "
            "phrase sur un chiffre secret, non disponible, ou une estimation de qualité faible.")


# ------------------------------------------------------------------------------ prepared table
@dataclass
class BaseFaits:
    """The tidy table indexed once for every sheet of a run (rule 1 applied).

    ``ok[(indicateur, type, code, year)] = (valeur, simule, source)`` for eligible rows;
    ``latest[(indicateur, type, code)]`` = latest year with any non-partner row (usable or not);
    ``count[(indicateur, type, year)]`` = quartiers with a row that year.
    """

    ok: dict = field(default_factory=dict)
    years: dict = field(default_factory=dict)
    latest: dict = field(default_factory=dict)
    by_year: dict = field(default_factory=dict)
    count: dict = field(default_factory=dict)
    sets_publies: set = field(default_factory=set)  # (indicateur, type, code, year) of set rows not ``nd``
    _cache: dict = field(default_factory=dict, repr=False)   # per-run arrays shared by every sheet

    @classmethod
    def from_table(cls, table: pd.DataFrame, catalogue: dict[str, Indicateur] | None = None) -> "BaseFaits":
        base = cls()
        t = table[_txt(table["methode"]) != "partenaire"]
        if catalogue is not None:
            t = t[t["indicateur"].isin(list(catalogue))]
        ok = eligible_mask(t)
        if catalogue is not None:
            producer = t["indicateur"].map(lambda i: catalogue[i].type == "valeur_producteur").astype(bool)
            ok &= ~(producer & _txt(t["methode"]).isin(METHODES_ESTIMATION))
        sim = _truthy(t["simule"]) if "simule" in t else pd.Series(False, index=t.index)
        years = pd.to_numeric(t["millesime"], errors="coerce")
        vals = pd.to_numeric(t["valeur"], errors="coerce")
        cols = zip(t["indicateur"].astype(str), t["type_territoire"].astype(str), t["code_territoire"].astype(str),
                   years, vals, sim, ok, t["source"].astype(str))
        for ind, typ, code, y, v, s, good, src in cols:
            if pd.isna(y):
                continue
            y = int(y)
            k3 = (ind, typ, code)
            if y > base.latest.get(k3, -1):
                base.latest[k3] = y
            base.count.setdefault((ind, typ, y), set()).add(code)
            if good:
                base.ok.setdefault((ind, typ, code, y), (float(v), bool(s), src))
                base.years.setdefault(k3, set()).add(y)
                base.by_year.setdefault((ind, typ, y), {}).setdefault(code, float(v))
        sets = (_txt(t["type_territoire"]).str.startswith("ensemble_") & (_txt(t["statut"]) != "nd")).to_numpy()
        base.sets_publies = {(i, ty, c, int(y)) for i, ty, c, y in zip(
            t["indicateur"][sets].astype(str), t["type_territoire"][sets].astype(str),
            t["code_territoire"][sets].astype(str), years[sets]) if not pd.isna(y)}
        base.years = {k: sorted(v) for k, v in base.years.items()}
        base.count = {k: len(v) for k, v in base.count.items()}
        return base

    def get(self, ind: str, typ: str, code: str, year: int | None):
        return None if year is None else self.ok.get((ind, typ, code, int(year)))

    def peers(self, ind: str, typ: str, year: int, code: str, v: float) -> dict[str, float]:
        """Values of the peers in one year, the quartier itself included (once)."""
        p = dict(self.by_year.get((ind, typ, year), {}))
        p.setdefault(code, v)
        return p

    def peers_rounded(self, ind: Indicateur, typ: str, year: int, code: str, v: float) -> np.ndarray:
        """The peers' values as printed (:func:`arrondi`), in :meth:`peers` order; the array of all
        peers is computed once per indicator, type and year for every sheet of the run."""
        now = self.by_year.get((ind.id, typ, year), {})
        key = ("arrondis", ind.id, ind.unite, ind.decimales, typ, year)
        pv = self._cache.get(key)
        if pv is None:
            pv = self._cache[key] = np.array([arrondi(x, ind) for x in now.values()], dtype=float)
        return pv if code in now else np.append(pv, arrondi(v, ind))

    def peer_changes(self, ind: Indicateur, typ: str, year: int, year0: int, code: str, v: float) -> list[float]:
        """The peers' changes (:func:`change`) from ``year0`` to ``year``, in :meth:`peers` order, the
        quartier's own included; computed once per indicator, type and pair of years."""
        now = self.by_year.get((ind.id, typ, year), {})
        before = self.by_year.get((ind.id, typ, year0), {})
        key = ("evolutions", ind.id, ind.unite, ind.decimales, typ, year, year0)
        out = self._cache.get(key)
        if out is None:
            out = self._cache[key] = [dd for c, x in now.items()
                                      if c in before and (dd := change(x, before[c], ind)) is not None]
        if code in now or code not in before or (own := change(v, before[code], ind)) is None:
            return out
        return out + [own]


def reference(base: BaseFaits, ind: Indicateur, type_territoire: str, code_ensemble: str, t: int
              ) -> tuple[str, tuple | None]:
    """``(type, row)`` of the reference in year ``t``: the set of the EPCI's quartiers, else (rule 5b,
    the set has no figure at all) the EPCI itself; ``row`` is ``None`` when it cannot be quoted."""
    ens_type = ENSEMBLE[type_territoire]
    row = base.get(ind.id, ens_type, code_ensemble, t)
    if row is None and (ind.id, ens_type, code_ensemble, t) not in base.sets_publies:
        ens_type = REFERENCE_DE_REPLI
        row = base.get(ind.id, ens_type, code_ensemble, t)
    return ens_type, row


def _gap(v: float, ref: float, pv: np.ndarray, ind: Indicateur) -> tuple[float | None, float | None, bool]:
    """Rule 5: the gap to the reference, its z-score among the peers and whether it is marked (above
    the indicator's threshold and, with enough peers, above :data:`DISPERSION_MIN` standard deviations)."""
    s = float(np.std(pv)) if len(pv) >= MIN_PAIRS else 0.0
    seuil, _ = seuil_ecart(ind)
    d = ecart(v, ref, ind)
    d_abs = None if d is None else abs(arrondi(v, ind) - arrondi(ref, ind))  # gap in the value's unit
    z_ecart = (arrondi(v, ind) - arrondi(ref, ind)) / s if s > 0 else None
    marque = d is not None and abs(d) >= seuil - 1e-9 and (s <= 0 or d_abs >= DISPERSION_MIN * s - 1e-9)
    return d, z_ecart, marque


@dataclass
class _Change:
    """Rule 6: the quartier's change since ``t0`` against its reference's, among its peers' changes."""

    t0: int | None = None
    v0: float | None = None
    delta: float | None = None
    delta_ref: float | None = None
    z: float | None = None
    sim_v0: bool = False
    sim_ref0: bool = False
    marquee: bool = False


def _change(base: BaseFaits, ind: Indicateur, key: tuple[str, str], ens_key: tuple[str, str], peer_type: str,
            t: int, v: float, ref: float, t0: int | None) -> _Change:
    """Rule 6 for the quartier ``key`` = (type, code) against its set ``ens_key`` since ``t0``."""
    out = _Change(t0=t0)
    if t0 is None:
        return out
    out.v0, out.sim_v0, _ = base.ok[(ind.id, *key, t0)]
    out.delta = change(v, out.v0, ind)
    ref0 = base.get(ind.id, *ens_key, t0)
    if out.delta is None or ref0 is None:
        return out
    out.sim_ref0 = ref0[1]
    out.delta_ref = change(ref, ref0[0], ind)
    if out.delta_ref is None:
        return out
    deltas = base.peer_changes(ind, peer_type, t, t0, key[1], v)
    sd = float(np.std(deltas)) if len(deltas) >= MIN_PAIRS else 0.0
    seuil_e, _ = seuil_evolution(ind)
    diff = out.delta - out.delta_ref
    out.z = diff / sd if sd > 0 else None
    out.marquee = (abs(out.delta) >= seuil_e - 1e-9 and abs(diff) >= seuil_e - 1e-9
                   and (sd <= 0 or abs(diff) >= DISPERSION_MIN * sd - 1e-9))
    return out


def _rank(v: float, pv: np.ndarray, ind: Indicateur, n_quartiers: int, hors_pairs: bool) -> int | None:
    """Rule 8: the quartier's rank among its peers (1 = highest), when the peers cover at least half of
    the quartiers with a figure."""
    n = len(pv)
    if n < MIN_PAIRS or 2 * (n - hors_pairs) < n_quartiers:
        return None
    vr = arrondi(v, ind)
    higher, lower = int((pv > vr).sum()), int((pv < vr).sum())
    return 1 if higher == 0 else (n if lower == 0 else higher + 1)


def indicator_fact(base: BaseFaits | pd.DataFrame, ind: Indicateur, code: str, *,
                   type_territoire: str = "qpv2024", code_ensemble: str, nom_ensemble: str,
                   annee_comparaison: int | None = None, annees_ecart_min: int = 5) -> Fact | None:
    """The fact of one indicator for quartier ``code`` (rules 1 to 8), or ``None`` when nothing is worth a sentence."""
    if isinstance(base, pd.DataFrame):
        base = BaseFaits.from_table(base, {ind.id: ind})
    if ind.type not in TYPES_COMPARABLES or ind.id in JAMAIS_EN_TETE:
        return None
    k3 = (ind.id, type_territoire, code)
    ys = base.years.get(k3)
    if not ys or base.latest.get(k3, ys[-1]) != ys[-1]:
        return None                                   # no figure, or the latest is withheld or unusable
    t = ys[-1]
    v, sim_v, src = base.ok[(ind.id, type_territoire, code, t)]
    ens_type, ref_row = reference(base, ind, type_territoire, code_ensemble, t)
    if ref_row is None:
        return None
    ref, sim_ref, _ = ref_row
    peer_type = PAIRS[type_territoire]
    pv = base.peers_rounded(ind, peer_type, t, code, v)
    d, z_ecart, ecart_marque = _gap(v, ref, pv, ind)
    t0 = comparison_year(ys, t, ind, src, annee_comparaison=annee_comparaison, annees_ecart_min=annees_ecart_min)
    ch = _change(base, ind, (type_territoire, code), (ens_type, code_ensemble), peer_type, t, v, ref, t0)
    if not (ecart_marque or ch.marquee):
        return None
    scores = {}                                       # rule 7: score
    if ecart_marque:
        scores["ecart"] = abs(z_ecart) if z_ecart is not None else abs(d) / seuil_ecart(ind)[0]
    if ch.marquee:
        scores["evolution"] = abs(ch.z) if ch.z is not None else abs(ch.delta - ch.delta_ref) / seuil_evolution(ind)[0]
    regle = max(scores, key=lambda k: scores[k])       # dict order breaks ties: ecart first
    n_quartiers = base.count.get((ind.id, peer_type, t), 0)
    hors_pairs = peer_type != type_territoire
    rang = _rank(v, pv, ind, n_quartiers, hors_pairs)
    m = ch.marquee
    return Fact(indicateur=ind.id, regle=regle, score=float(scores[regle]), valeur=v, millesime=t,
                reference=ref, reference_libelle=nom_ensemble, valeur_precedente=ch.v0 if m else None,
                millesime_precedent=t0 if m else None, evolution=ch.delta if m else None,
                evolution_unite=seuil_evolution(ind)[1], evolution_reference=ch.delta_ref if m else None,
                rang=rang, n_pairs=len(pv) if rang is not None else None,
                n_quartiers=n_quartiers, hors_pairs=hors_pairs,
                z_ecart=z_ecart, z_evolution=ch.z, ecart=d, ecart_marque=ecart_marque,
                evolution_marquee=m, ampleur=ampleur(v, ref, ind) if ecart_marque else "",
                theme=ind.theme, type_reference=ens_type,
                geographie_reference="2015" if type_territoire == "qpv2015" else "",
                simule_valeur=sim_v, simule_reference=sim_ref,
                simule_precedent=ch.sim_v0 if m else False,
                simule_reference_precedente=ch.sim_ref0 if m else False)


def n_comparables(base: BaseFaits, catalogue: dict[str, Indicateur], code: str, *, type_territoire: str,
                  code_ensemble: str) -> int:
    """Indicators whose latest figure of ``code`` and reference could be quoted (rules 1 to 3)."""
    n = 0
    for ind in catalogue.values():
        if ind.type not in TYPES_COMPARABLES or ind.id in JAMAIS_EN_TETE:
            continue
        ys = base.years.get((ind.id, type_territoire, code))
        if ys and base.latest.get((ind.id, type_territoire, code)) == ys[-1] \
                and reference(base, ind, type_territoire, code_ensemble, ys[-1])[1] is not None:
            n += 1
    return n


def select_facts(table: pd.DataFrame | BaseFaits, catalogue: dict[str, Indicateur], code: str, *,
                 type_territoire: str = "qpv2024", code_ensemble: str, nom_ensemble: str,
                 annee_comparaison: int | None = None, max_faits: int = MAX_FAITS,
                 annees_ecart_min: int = 5) -> list[Fact]:
    """The facts of quartier ``code`` (rule 9), grouped by theme in the catalogue's theme order.

    Parameters
    ----------
    table : the tidy indicator table (contract columns), or a :class:`BaseFaits` built from it once
        for all the sheets of a run.
    catalogue : ``load_catalogue()`` result.
    code, type_territoire : the quartier (``qpv2024``, ``qpv2015`` or ``zone``).
    code_ensemble, nom_ensemble : SIREN and display name of the EPCI whose quartiers form the reference.
    annee_comparaison : preferred earlier year for changes (``[portraits] annee_comparaison``).
    max_faits : at most this many facts (:data:`MAX_FAITS`).
    annees_ecart_min : census editions fewer years apart are not compared (INSEE's rule; 0 disables it).
    """
    base = table if isinstance(table, BaseFaits) else BaseFaits.from_table(table, catalogue)
    order = {i: k for k, i in enumerate(catalogue)}
    cands: list[Fact] = []
    for ind in catalogue.values():
        f = indicator_fact(base, ind, code, type_territoire=type_territoire, code_ensemble=code_ensemble,
                           nom_ensemble=nom_ensemble, annee_comparaison=annee_comparaison,
                           annees_ecart_min=annees_ecart_min)
        if f is not None and math.isfinite(f.score):
            cands.append(f)
    cands.sort(key=lambda f: (-f.score, order[f.indicateur]))
    chosen: list[Fact] = []
    per_theme: dict[str, int] = {}

    def take(f: Fact) -> None:
        chosen.append(f)
        per_theme[f.theme] = per_theme.get(f.theme, 0) + 1

    for theme in sorted(THEMES_CLES, key=lambda th: next((-f.score for f in cands if f.theme == th), 0.0)):
        best = next((f for f in cands if f.theme == theme), None)    # pass 1: each key theme where Q stands out
        if best is not None and len(chosen) < max_faits:
            take(best)
    for key_pass in (True, False):                                   # pass 2: key themes, pass 3: the others
        for f in cands:
            if len(chosen) >= max_faits:
                break
            if f in chosen or (f.theme in THEMES_CLES) != key_pass:
                continue
            if per_theme.get(f.theme, 0) < MAX_PAR_THEME:
                take(f)
    theme_rank = {th: k for k, th in enumerate(THEMES)}
    chosen.sort(key=lambda f: (theme_rank.get(f.theme, len(theme_rank)), -f.score, order[f.indicateur]))
    return chosen
