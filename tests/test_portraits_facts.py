"""Rules choosing the salient facts of a quartier (observatoire.portraits.facts)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from observatoire.catalogue import Indicateur
from observatoire.portraits.facts import eligible_mask, select_facts
from observatoire.portraits.phrases import phrase

EPCI = "245901160"


def _ind(id_, theme="insertion", polarite=1, type_="ratio", unite="%", source="insee_rp"):
    return Indicateur(id=id_, libelle=f"Part {id_}", theme=theme, unite=unite, type=type_, source=source,
                      polarite=polarite)


def _row(t, code, ind, year, v, statut="ok", methode="somme", qualite="", source="insee_rp"):
    return dict(type_territoire=t, code_territoire=code, libelle_territoire=code, indicateur=ind, millesime=year,
                millesime_geographie=2024, valeur=v, numerateur=np.nan, denominateur=np.nan, statut=statut,
                methode=methode, qualite=qualite, source=source)


def _table(values: dict, ind="a", ens=None, source="insee_rp"):
    """values: {year: [v_Q1, v_Q2, v_Q3, v_Q4]}; ens: {year: value} for ensemble_qpv_epci."""
    rows = []
    for year, vs in values.items():
        for i, v in enumerate(vs, start=1):
            rows.append(_row("qpv2024", f"Q{i}", ind, year, v, source=source))
        rows.append(_row("ensemble_qpv_epci", EPCI, ind, year, (ens or {}).get(year, 25.0), source=source))
    return pd.DataFrame(rows)


def _select(table, cat, code, **kw):
    return select_facts(table, cat, code, code_ensemble=EPCI, nom_ensemble="Valenciennes Métropole", **kw)


def test_gap_change_and_rank_scores_computed_as_documented():
    t = _table({2017: [10, 20, 30, 30], 2022: [10, 20, 30, 40]}, ens={2017: 22.0, 2022: 25.0})
    (f,) = _select(t, {"a": _ind("a")}, "Q4")
    # gap: peers 10,20,30,40 → mean 25, population sd = sqrt((225+25+25+225)/4) = sqrt(125) = 11.180
    #      z_ecart = (40 − 25) / 11.180 = 1.3416
    assert f.z_ecart == pytest.approx(15 / math.sqrt(125))
    # change: Δ = 0,0,0,10 → sd = sqrt((3·2.5² + 7.5²)/4) = sqrt(18.75) = 4.3301; Δref = 25 − 22 = 3
    #         z_evolution = (10 − 3) / 4.3301 = 1.6166 → the rule is « evolution »
    assert f.z_evolution == pytest.approx(7 / math.sqrt(18.75))
    assert f.regle == "evolution" and f.score == pytest.approx(1.6166, abs=1e-4)
    assert (f.rang, f.n_pairs, f.valeur_precedente, f.millesime_precedent, f.evolution) == (1, 4, 30, 2017, 10)


NBSP = "\u00a0"


def test_census_editions_less_than_five_years_apart_are_not_compared():
    # same figures as test_gap_change_and_rank_scores_computed_as_documented, census 2019 → 2022
    # (3 years < 5): no change at all; the gap z = 15 / sqrt(125) = 1.3416 decides (rule « ecart »)
    vals, ens = {2019: [10, 20, 30, 30], 2022: [10, 20, 30, 40]}, {2019: 22.0, 2022: 25.0}
    t = _table(vals, ens=ens)
    (f,) = _select(t, {"a": _ind("a")}, "Q4")
    assert (f.millesime_precedent, f.valeur_precedente, f.evolution, f.z_evolution) == (None, None, None, None)
    assert f.regle == "ecart" and f.score == pytest.approx(15 / math.sqrt(125))
    s = phrase(f, _ind("a"))
    assert "depuis" not in s and "2019" not in s
    # an explicit annee_comparaison does not bypass the rule
    (f,) = _select(t, {"a": _ind("a")}, "Q4", annee_comparaison=2019)
    assert f.evolution is None and f.millesime_precedent is None
    # annees_ecart_min = 0 (INSEE's rule disabled): Δ = 40 − 30 = +10 points since 2019,
    # z_evolution = (10 − 3) / sqrt(18.75) = 1.6166 as in the 2017 test
    (f,) = _select(t, {"a": _ind("a")}, "Q4", annees_ecart_min=0)
    assert (f.millesime_precedent, f.evolution, f.regle) == (2019, 10, "evolution")
    assert f.z_evolution == pytest.approx(7 / math.sqrt(18.75))
    assert f"(+10,0{NBSP}points depuis 2019)" in phrase(f, _ind("a"))
    # 2017 → 2022 (5 years): compared
    (f,) = _select(_table({2017: vals[2019], 2022: vals[2022]}, ens={2017: 22.0, 2022: 25.0}),
                   {"a": _ind("a")}, "Q4")
    assert (f.millesime_precedent, f.evolution) == (2017, 10)
    assert f"(+10,0{NBSP}points depuis 2017)" in phrase(f, _ind("a"))


def test_census_comparison_year_skips_editions_too_close():
    # 2017, 2019, 2022: 2019 is too close to 2022 even when asked for; 2017 is used
    # (Δ = 40 − 30 = +10 from 2017; the 2019 value 35 would give +5)
    t = _table({2017: [10, 20, 30, 30], 2019: [10, 20, 30, 35], 2022: [10, 20, 30, 40]})
    (f,) = _select(t, {"a": _ind("a")}, "Q4", annee_comparaison=2019)
    assert (f.millesime_precedent, f.valeur_precedente, f.evolution) == (2017, 30, 10)
    # with the rule disabled the configured year 2019 is honoured: Δ = 40 − 35 = +5
    (f,) = _select(t, {"a": _ind("a")}, "Q4", annee_comparaison=2019, annees_ecart_min=0)
    assert (f.millesime_precedent, f.evolution) == (2019, 5)


def test_non_census_change_over_four_years_is_kept():
    # CAF 2019 → 2023 (4 years): not a census source, the change is quoted: Δ = 40 − 30 = +10 points,
    # Δref = 25 − 22 = 3, z_evolution = 7 / sqrt(18.75) = 1.6166
    vals, ens = {2019: [10, 20, 30, 30], 2023: [10, 20, 30, 40]}, {2019: 22.0, 2023: 25.0}
    caf = _ind("a", source="caf")
    (f,) = _select(_table(vals, ens=ens, source="caf"), {"a": caf}, "Q4")
    assert (f.millesime_precedent, f.evolution, f.regle) == (2019, 10, "evolution")
    assert f.z_evolution == pytest.approx(7 / math.sqrt(18.75))
    assert f"(+10,0{NBSP}points depuis 2019)" in phrase(f, caf)
    # the same 4 years with a census indicator: no change
    (f,) = _select(_table(vals, ens=ens), {"a": _ind("a")}, "Q4")
    assert f.evolution is None and "depuis" not in phrase(f, _ind("a"))


def test_rank_rule_when_gaps_are_small():
    # Q1 = 10 is the lowest of 4: |z_ecart| = |10 − 25| / 11.18 = 1.34 > 1 → still « ecart » first
    # with ensemble 12: z = (10 − 12) / 11.18 = −0.18, no earlier year → rule « rang » (score 1)
    t = _table({2022: [10, 20, 30, 40]}, ens={2022: 12.0})
    (f,) = _select(t, {"a": _ind("a")}, "Q1")
    assert (f.regle, f.score, f.rang, f.evolution) == ("rang", 1.0, 4, None)
    assert "le plus bas des 4 quartiers" in phrase(f, _ind("a"))


def test_secret_latest_figure_yields_no_fact_and_is_not_a_peer():
    t = _table({2017: [10, 20, 30, 30], 2022: [10, 20, 30, 40]})
    m = (t["code_territoire"] == "Q4") & (t["millesime"] == 2022)
    t.loc[m, ["valeur", "statut"]] = [np.nan, "secret"]
    # Q4 latest figure withheld: no sentence at all about Q4 (not even from its 2017 value)
    assert _select(t, {"a": _ind("a")}, "Q4") == []
    # for Q3 the peers are Q1..Q3 only: 10, 20, 30 → sd = sqrt(200/3) = 8.165, z = (30 − 25)/8.165
    (f,) = _select(t, {"a": _ind("a")}, "Q3")
    assert f.n_pairs == 3 and f.z_ecart == pytest.approx(5 / math.sqrt(200 / 3))


def test_poor_quality_estimate_never_feeds_a_sentence():
    t = _table({2017: [10, 20, 30, 30], 2022: [10, 20, 30, 95]})
    m = (t["code_territoire"] == "Q4") & (t["millesime"] == 2022)
    t.loc[m, ["statut", "methode", "qualite"]] = ["estime", "surface", "faible"]
    assert _select(t, {"a": _ind("a")}, "Q4") == []
    # a good estimate is eligible
    t.loc[m, "qualite"] = "bonne"
    (f,) = _select(t, {"a": _ind("a")}, "Q4")
    assert f.valeur == 95
    # a poor earlier figure is never the base of a change
    t.loc[m, "qualite"] = "bonne"
    m0 = (t["code_territoire"] == "Q4") & (t["millesime"] == 2017)
    t.loc[m0, ["methode", "qualite"]] = ["dasymetrique", "faible"]
    (f,) = _select(t, {"a": _ind("a")}, "Q4")
    assert f.millesime_precedent is None and f.evolution is None


def test_withheld_reference_or_partner_or_count_gives_no_fact():
    t = _table({2022: [10, 20, 30, 40]})
    t.loc[t["type_territoire"] == "ensemble_qpv_epci", ["valeur", "statut"]] = [np.nan, "nd"]
    assert _select(t, {"a": _ind("a")}, "Q4") == []
    t2 = _table({2022: [10, 20, 30, 40]})
    t2["methode"] = "partenaire"
    assert _select(t2, {"a": _ind("a")}, "Q4") == []
    t3 = _table({2022: [10, 20, 30, 40]}, ind="population")
    assert _select(t3, {"population": _ind("population", type_="effectif", unite="nombre")}, "Q4") == []


def test_eligible_mask():
    t = pd.DataFrame([_row("qpv2024", "Q", "a", 2022, 1.0),
                      _row("qpv2024", "Q", "a", 2022, np.nan, statut="secret"),
                      _row("qpv2024", "Q", "a", 2022, 5.0, statut="estime", methode="surface", qualite="faible"),
                      _row("qpv2024", "Q", "a", 2022, 5.0, statut="simule", methode="surface", qualite="moyenne"),
                      _row("qpv2024", "Q", "a", 2022, 5.0, methode="partenaire")])
    assert eligible_mask(t).tolist() == [True, False, False, True, False]


def test_between_five_and_ten_facts_theme_cap_and_order():
    # 12 indicators, 4 themes × 3: Q4 is 40 (z = 1.34, rank 1) everywhere → all salient
    themes = ["revenus", "insertion", "sante", "logement"]
    cat, frames = {}, []
    for k in range(12):
        i = f"i{k:02d}"
        cat[i] = _ind(i, theme=themes[k % 4])
        frames.append(_table({2022: [10, 20, 30, 40]}, ind=i))
    t = pd.concat(frames, ignore_index=True)
    facts = _select(t, cat, "Q4")
    assert len(facts) == 10                                     # capped at MAX_FAITS
    assert [f.indicateur for f in facts] == [f"i{k:02d}" for k in range(10)]   # ties keep catalogue order
    # only 3 indicators, none salient (Q2 = 20 vs 25: z = −0.45, rank 3 of 4): still the 3 eligible ones
    facts = _select(pd.concat(frames[:3], ignore_index=True), {k: cat[k] for k in ("i00", "i01", "i02")}, "Q2")
    assert len(facts) == 3 and all(f.score < 1 for f in facts)


def test_theme_cap_in_first_pass():
    cat, frames = {}, []
    for k in range(4):                                   # 4 salient indicators in one theme …
        cat[f"a{k}"] = _ind(f"a{k}", theme="revenus")
        frames.append(_table({2022: [10, 20, 30, 40]}, ind=f"a{k}"))
    cat["b"] = _ind("b", theme="sante")                  # … and one less salient elsewhere (rank only)
    frames.append(_table({2022: [10, 20, 30, 40]}, ind="b", ens={2022: 38.0}))
    facts = select_facts(pd.concat(frames, ignore_index=True), cat, "Q4", code_ensemble=EPCI,
                         nom_ensemble="X", max_faits=4)
    # first pass keeps 3 of theme « revenus » then « b » (score 1) before the 4th « revenus »
    assert sorted(f.indicateur for f in facts) == ["a0", "a1", "a2", "b"]


def test_fixture_project_facts_never_use_withheld_or_poor_figures(tmp_path):
    from portraits_fixture import CATALOGUE_YAML, build_project
    from observatoire.catalogue import load_catalogue
    from observatoire.portraits.render import read_indicateurs

    cfg = build_project(tmp_path)
    (tmp_path / "c.yaml").write_text(CATALOGUE_YAML, encoding="utf-8")
    cat = load_catalogue(tmp_path / "c.yaml", validate=False)
    table = read_indicateurs(tmp_path / "data" / "processed" / "indicateurs.csv")
    assert cfg.exists()
    for code in ("QN05920M", "QN05921M", "QN05930M"):
        facts = _select(table, cat, code)
        assert 5 <= len(facts) <= 10
        for f in facts:
            rows = table[(table["code_territoire"] == code) & (table["indicateur"] == f.indicateur)
                         & (table["millesime"] == f.millesime) & (table["methode"] != "partenaire")]
            assert len(rows) == 1 and rows["statut"].iloc[0] not in ("secret", "nd")
            assert rows["qualite"].iloc[0] != "faible"
            assert rows["valeur"].iloc[0] == f.valeur
    used = {(f.indicateur, f.millesime) for f in _select(table, cat, "QN05930M")}
    assert ("taux_pauvrete", 2021) not in used        # value 97,5 (most extreme) but estimate « faible »
    assert ("part_c2s", 2023) not in used and ("part_c2s", 2019) not in used   # latest figure secret
