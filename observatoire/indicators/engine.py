"""The engine: producer tables + catalogue → the tidy table, one set operation per level.

For every millésime, the unit frames of the producer tables (:mod:`.units`) are combined level by
level; each step is one call of :mod:`.aggregate` for all indicators at once:

====================================  =======================================================================
level                                 figure (first available)
====================================  =======================================================================
``iris``                              producer
``commune``                           producer row, else sum of all its IRIS (complete only)
``epci``                              producer row, else sum of all its member communes (complete only)
``departement``                       producer row, else sum of all its communes (complete only)
``france``                            producer row, else sum of every metropolitan commune (complete only)
``qpv2015``, ``qpv2024``              producer; else IRIS estimate; else (2024) transposition of 2015
                                      figures — the better quality and coverage wins
``partie_qpv2024``, ``zone``          IRIS estimate
``ensemble_qpv<g>_epci``              sum of all the EPCI's quartiers of geography g (complete only)
``ensemble_qpv<g>_departement``       sum of every quartier of the département in the producer's tables,
                                      when they cover the département (complete only)
``ensemble_qpv<g>_france``            the producer's « Ensemble » row, else the sum of every quartier of its
                                      tables (when they cover France)
====================================  =======================================================================

Sums add numerators and denominators (never rates); published rates are summed only with their
published denominator (``somme_ponderee``); medians and rates without denominator are never summed
(``nd`` with the reason). Estimates carry their method, quality and coverage; a set summed from
estimates carries the worst quality of its parts. Secrecy: :mod:`.secrecy`.
"""

from __future__ import annotations

import pandas as pd

from ..catalogue import Indicateur
from ..tidy import CODE_ENSEMBLE_FRANCE, CODE_FRANCE
from .aggregate import apply_coverage_rules, estimate_units, prefer, sum_units, transpose_units
from .inputs import IndicatorInputs
from .qualite import cap_quality
from .units import empty_units, evaluate_group, group_tables

#: A producer's quartier table « covers France » when it holds quartiers of at least this many
#: départements (a table limited to the territory never gives the France set).
MIN_DEPARTEMENTS_FRANCE = 10


def _dep_of_commune(code: str) -> str:
    code = str(code)
    return code[:3] if code.startswith("97") else code[:2]


def _dep_of_qp(code: str) -> str:
    """``QN05930M`` / ``QP059030`` → ``59``; ``QN97101M`` → ``971``; ``QN02A01M`` → ``2A``."""
    d = str(code)[2:5]
    return d if d.startswith("97") else d[1:]


def _only(u: pd.DataFrame | None, codes) -> pd.DataFrame:
    if u is None or u.empty:
        return empty_units()
    return u[u["code"].isin(set(map(str, codes)))]


class _Levels:
    """The unit frames of every millésime, by level, and the steps that build each level from them
    (each step handles all indicators and all millésimes at once)."""

    def __init__(self, units: dict[str, pd.DataFrame], inp: IndicatorInputs, catalogue: dict[str, Indicateur]):
        self.u = units
        self.inp = inp
        self.cat = catalogue
        self.effectifs = {i.id for i in catalogue.values() if i.type == "effectif"}

    def level(self, niveau: str) -> pd.DataFrame:
        return self.u.get(niveau, empty_units())

    # -- communes, EPCI, département, France -------------------------------------------------------
    def communes_for_sums(self) -> pd.DataFrame:
        """Every commune figure available: producer rows (all communes of the files), else the sum of
        the IRIS of the published communes."""
        iris = self.level("iris")
        ref = self.inp.iris
        from_iris = empty_units()
        if not iris.empty and ref is not None and len(ref):
            m = pd.DataFrame({"part": ref["code_iris"].astype(str), "groupe": ref["code_insee"].astype(str)})
            from_iris = sum_units(iris, m, quoi="IRIS")
        return prefer(self.level("commune"), from_iris)

    def communes(self, all_communes: pd.DataFrame) -> pd.DataFrame:
        codes = self.inp.communes["code_insee"] if self.inp.communes is not None else []
        return _only(all_communes, codes)

    def _members(self, key: str, values) -> pd.DataFrame:
        comp = self.inp.composition
        if comp is None or comp.empty:
            return pd.DataFrame(columns=["part", "groupe"])
        sel = comp[comp[key].astype(str).isin(set(map(str, values)))]
        return pd.DataFrame({"part": sel["code_insee"].astype(str), "groupe": sel[key].astype(str)})

    def epcis(self, all_communes: pd.DataFrame) -> pd.DataFrame:
        if self.inp.epcis is None or self.inp.epcis.empty:
            return empty_units()
        sirens = self.inp.epcis["siren"].astype(str)
        summed = sum_units(all_communes, self._members("siren_epci", sirens), quoi="communes")
        return prefer(_only(self.level("epci"), sirens), summed)

    def departements(self, all_communes: pd.DataFrame) -> pd.DataFrame:
        if self.inp.departements is None or self.inp.departements.empty:
            return empty_units()
        deps = self.inp.departements["code"].astype(str)
        summed = sum_units(all_communes, self._members("dep", deps), quoi="communes")
        return prefer(_only(self.level("departement"), deps), summed)

    def france(self, all_communes: pd.DataFrame) -> pd.DataFrame:
        comp = self.inp.composition
        summed = empty_units()
        if comp is not None and len(comp):
            metro = comp[~comp["dep"].astype(str).str.startswith("97")]
            m = pd.DataFrame({"part": metro["code_insee"].astype(str), "groupe": CODE_FRANCE})
            covered = all_communes["code"].str.slice(0, 2).nunique() if len(all_communes) else 0
            if covered > MIN_DEPARTEMENTS_FRANCE:
                summed = sum_units(all_communes, m, quoi="communes")
        return prefer(_only(self.level("france"), [CODE_FRANCE]), summed)

    # -- quartiers, parts, zones -------------------------------------------------------------------
    def _estimate(self, key: str, geo: int) -> pd.DataFrame:
        cw = self.inp.crosswalks.get(key)
        iris = self.level("iris")
        if cw is None or cw.empty or iris.empty:
            return empty_units()
        est = estimate_units(iris, cw, method=self.inp.estimation_method, zones_total=self.inp.zones_total.get(key),
                             geo=geo, geometrie_simulee=self.inp.geometrie_simulee.get(key, False),
                             iris_population=self.inp.iris_population)
        est = apply_coverage_rules(est, self.effectifs)
        # the error measured on the territory's 2015 quartiers caps the class (never raises it)
        return cap_quality(est, self.inp.plafonds_qualite, self.cat)

    def quartiers(self, geo: int) -> pd.DataFrame:
        q = self.inp.quartiers.get(geo)
        if q is None or q.liste.empty:
            return empty_units()
        prod = _only(self.level(f"qpv{geo}"), q.codes)
        est = self._estimate(f"qpv{geo}", geo)
        tr = empty_units()
        if geo == 2024:
            cw = self.inp.crosswalks.get("qpv2015_qpv2024")
            tr = transpose_units(self.level("qpv2015"), cw,
                                 geometrie_simulee=self.inp.geometrie_simulee.get("qpv2015_qpv2024", False))
            tr = apply_coverage_rules(tr, self.effectifs)
        return _only(prefer(prod, est, tr), q.codes)

    def zones(self, key: str, geo: int) -> pd.DataFrame:
        return self._estimate(key, geo)

    # -- sets of quartiers --------------------------------------------------------------------------
    def ensemble_epci(self, geo: int, quartiers: pd.DataFrame) -> pd.DataFrame:
        q = self.inp.quartiers.get(geo)
        if q is None or q.liste.empty or quartiers.empty:
            return empty_units()
        liste = q.liste.assign(code=q.liste["code"].astype(str), epci=q.liste["epci"].astype(str))
        motifs = {}
        for siren, debord in liste[liste["debordant"].astype(bool)].groupby("epci"):
            noms = ", ".join(f"{c} ({n})" for c, n in zip(debord["code"], debord["libelle"]))
            motifs[siren] = f"quartiers comptés en entier bien qu'ils débordent de l'EPCI : {noms}"
        # every EPCI at once (one group each): a département or France is one pass, not one per EPCI
        m = pd.DataFrame({"part": liste["code"], "groupe": liste["epci"]})
        return sum_units(quartiers, m, quoi="quartiers", geo=geo, motif=motifs)

    def ensemble_departement(self, geo: int) -> pd.DataFrame:
        q = self.inp.quartiers.get(geo)
        prod = self.level(f"qpv{geo}")
        if q is None or prod.empty or self.inp.departements is None:
            return empty_units()
        territory = set(q.codes)
        codes = set(prod["code"].unique())
        if not (codes - territory):
            return empty_units()  # the tables hold only the territory's quartiers: no département set
        frames = []
        for dep in self.inp.departements["code"].astype(str):
            in_table = {c for c in codes if _dep_of_qp(c) == dep}
            if not in_table:
                continue
            expected = in_table | set((q.departement or {}).get(dep, set()))
            m = pd.DataFrame({"part": sorted(expected), "groupe": dep})
            frames.append(sum_units(prod, m, quoi="quartiers du département", geo=geo))
        return pd.concat(frames, ignore_index=True) if frames else empty_units()

    def ensemble_france(self, geo: int) -> pd.DataFrame:
        own = self.level(f"ensemble_qpv{geo}_france")
        prod = self.level(f"qpv{geo}")
        summed = empty_units()
        if not prod.empty and pd.Series(prod["code"].unique()).map(_dep_of_qp).nunique() >= MIN_DEPARTEMENTS_FRANCE:
            m = pd.DataFrame({"part": sorted(prod["code"].unique()), "groupe": CODE_ENSEMBLE_FRANCE})
            summed = sum_units(prod, m, quoi="quartiers", geo=geo)
        return prefer(own, summed)


def count_variables(catalogue: dict[str, Indicateur]) -> set[str]:
    """Variables the catalogue sums: numerators, denominators and counts (not published rates)."""
    from ..catalogue.validate import alternatives, expression_variables

    out: set[str] = set()
    for ind in catalogue.values():
        if ind.type == "valeur_producteur":
            continue
        for expr in (ind.numerateur, ind.denominateur, ind.variable):
            for alt in alternatives(expr) if expr else []:
                out.update(expression_variables(alt))
    return out


def evaluated_units(inp: IndicatorInputs, catalogue: dict[str, Indicateur]) -> dict[tuple[str, int], pd.DataFrame]:
    """Unit frames of the producer tables by (level, millésime), evaluated once per inputs and
    catalogue (the back-test and the engine share them)."""
    cached = inp.cache.get("unites")
    if cached is not None and cached[0] is catalogue:
        return cached[1]
    groups = group_tables(inp.tables, count_variables(catalogue))
    units = {key: evaluate_group(g, catalogue, groups) for key, g in groups.items()}
    inp.cache["unites"] = (catalogue, units)
    return units


def compute_levels(inp: IndicatorInputs, catalogue: dict[str, Indicateur]) -> list[tuple[str, pd.DataFrame]]:
    """``(type_territoire, unit frame)`` for every level the inputs allow (all millésimes)."""
    by_level: dict[str, list[pd.DataFrame]] = {}
    for (niv, _), u in evaluated_units(inp, catalogue).items():
        by_level.setdefault(niv, []).append(u)
    units = {niv: pd.concat(frames, ignore_index=True) for niv, frames in by_level.items()}
    step = _Levels(units, inp, catalogue)
    all_communes = step.communes_for_sums()
    out = [("iris", step.level("iris")), ("commune", step.communes(all_communes)), ("epci", step.epcis(all_communes)),
           ("departement", step.departements(all_communes)), ("france", step.france(all_communes))]
    for geo in (2015, 2024):
        q = step.quartiers(geo)
        out += [(f"qpv{geo}", q), (f"ensemble_qpv{geo}_epci", step.ensemble_epci(geo, q)),
                (f"ensemble_qpv{geo}_departement", step.ensemble_departement(geo)),
                (f"ensemble_qpv{geo}_france", step.ensemble_france(geo))]
    iris = step.level("iris")
    out += [("partie_qpv2024", step.zones("partie_qpv2024", 2024)),
            ("zone", step.zones("zone", int(iris["geo"].max()) if len(iris) else 0))]
    return [(t, u) for t, u in out if u is not None and len(u)]
