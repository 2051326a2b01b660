"""Rules choosing the facts of a quartier (observatoire.portraits.facts), with hand-computed expectations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from observatoire.catalogue import Indicateur
from observatoire.portraits.facts import (AMPLEURS, BaseFaits, ampleur, eligible_mask, indicator_fact,
                                          select_facts)
from observatoire.portraits.phrases import phrase

EPCI = "245901160"
ENS24 = "ensemble_qpv2024_epci"


def _ind(id_, theme="insertion", polarite=1, type_="ratio", unite="%", source="insee_rp"):
    return Indicateur(id=id_, libelle=f"Part {id_}", theme=theme, unite=unite, type=type_, source=source,
                      polarite=polarite)


def _row(t, code, ind, year, v, statut="ok", methode="somme", qualite="", source="insee_rp", simule=False):
    return dict(type_territoire=t, code_territoire=code, libelle_territoire=code, indicateur=ind, millesime=year,
                millesime_geographie=2024, valeur=v, numerateur=np.nan, denominateur=np.nan, statut=statut,
                methode=methode, qualite=qualite, couverture=np.nan, simule=simule, note_producteur="", motif="",
                source=source)


def _table(values: dict, ind="a", ens=None, source="insee_rp", peer_type="qpv2024", ens_type=ENS24):
    """values: {year: [v_Q1, v_Q2, …]}; ens: {year: value} of the EPCI's quartier set (default 25)."""
    rows = []
    for year, vs in values.items():
        for i, v in enumerate(vs, start=1):
            rows.append(_row(peer_type, f"Q{i}", ind, year, v, source=source))
        rows.append(_row(ens_type, EPCI, ind, year, (ens or {}).get(year, 25.0), source=source))
    return pd.DataFrame(rows)


def _select(table, cat, code, **kw):
    return select_facts(table, cat, code, code_ensemble=EPCI, nom_ensemble="Valenciennes Métropole", **kw)


# ------------------------------------------------------------------------------------------ gaps
def test_marked_gap_score_and_rank():
    t = _table({2022: [10, 20, 30, 40]}, ens={2022: 25.0})
    (f,) = _select(t, {"a": _ind("a")}, "Q4")
    # peers 10, 20, 30, 40: population sd = sqrt((225 + 25 + 25 + 225) / 4) = sqrt(125) = 11,18
    # gap 40 − 25 = 15 points ≥ 2 and ≥ 0,75 × 11,18 = 8,39 → marked; z = 15 / 11,18 = 1,3416
    assert (f.regle, f.ecart, f.ecart_marque, f.rang, f.n_pairs) == ("ecart", 15.0, True, 1, 4)
    assert f.score == pytest.approx(15 / math.sqrt(125))
    # 40 / 25 = 1,6: between « moitié plus » (< 1,56) and « près de deux fois plus » (≥ 1,75) → no magnitude
    assert f.ampleur == ""
    # Q3: gap 30 − 25 = 5 points < 8,39 (the spread between quartiers): no fact at all
    assert _select(t, {"a": _ind("a")}, "Q3") == []


def test_no_sentence_on_figures_printed_alike_or_close():
    cat = {"a": _ind("a")}
    # « 8,7 % contre 8,7 % »: 8,74 and 8,66 both print 8,7 → gap 0
    t = _table({2022: [8.74, 5.0, 12.0, 9.0]}, ens={2022: 8.66})
    assert _select(t, cat, "Q1") == []
    # « 20,2 contre 20,3 »: 0,1 point < 2 points
    t = _table({2022: [20.2, 10.0, 30.0, 40.0]}, ens={2022: 20.3})
    assert _select(t, cat, "Q1") == []
    # 1,9 point: still below 2 points although the peers are close (sd 0,8)
    t = _table({2022: [27.0, 25.0, 25.5, 26.0]}, ens={2022: 25.1})
    assert _select(t, cat, "Q1") == []
    # 2,0 points exactly (printed values 27,1 − 25,1) with a small spread: a fact
    t = _table({2022: [27.1, 25.0, 25.5, 26.0]}, ens={2022: 25.1})
    (f,) = _select(t, cat, "Q1")
    assert f.ecart == 2.0


def test_gap_must_also_stand_out_from_the_spread_between_quartiers():
    cat = {"a": _ind("a")}
    t = _table({2022: [10, 30, 50, 70]}, ens={2022: 40.0})
    # sd = sqrt((900 + 100 + 100 + 900) / 4) = 22,36; 0,75 sd = 16,77
    assert _select(t, cat, "Q2") == []            # 10 points ≥ 2 but < 16,77
    (f,) = _select(t, cat, "Q4")                  # 30 points ≥ 16,77
    # 70 / 40 = 1,75: lower bound of « près de deux fois plus » (included)
    assert (f.ecart, f.ampleur) == (30.0, "près de deux fois plus")


def test_amounts_use_a_relative_threshold():
    cat = {"r": _ind("r", theme="revenus", polarite=-1, type_="valeur_producteur", unite="€", source="insee_filosofi")}
    t = _table({2021: [1000, 1100, 1200, 1300]}, ind="r", ens={2021: 1150.0}, source="insee_filosofi")
    t["methode"] = "producteur"
    # Q1: (1000 − 1150) / 1150 = −13,04 % (≥ 5 %), 150 € ≥ 0,75 × 111,8 = 83,9 € → a fact
    (f,) = _select(t, cat, "Q1")
    assert f.ecart == pytest.approx(-150 / 11.5)
    assert "soit 13\u00a0% de moins" in phrase(f, cat["r"])
    # Q2: (1100 − 1150) / 1150 = −4,35 % < 5 % → nothing
    assert _select(t, cat, "Q2") == []


# --------------------------------------------------------------------------------------- changes
def test_marked_change_against_the_set():
    t = _table({2017: [10, 20, 30, 30], 2022: [10, 20, 30, 40]}, ens={2017: 22.0, 2022: 25.0})
    (f,) = _select(t, {"a": _ind("a")}, "Q4")
    # Δ = 40 − 30 = +10 points, Δref = 25 − 22 = +3, Δ − Δref = 7 ≥ 2; peers' changes 0, 0, 0, 10:
    # sd = sqrt((3 × 2,5² + 7,5²) / 4) = sqrt(18,75) = 4,33, 0,75 sd = 3,25 ≤ 7 → marked,
    # z = 7 / 4,33 = 1,6166 > gap z 1,3416 → rule « evolution »
    assert (f.evolution, f.evolution_reference, f.millesime_precedent, f.evolution_marquee) == (10.0, 3.0, 2017, True)
    assert f.regle == "evolution" and f.score == pytest.approx(7 / math.sqrt(18.75))
    assert phrase(f, _ind("a")).endswith("une hausse de 10,0\u00a0points depuis 2017, plus forte que dans "
                                         "l'ensemble de ces quartiers.")


def test_a_stable_figure_is_never_presented_as_a_change():
    # Δ = 40 − 39 = +1 point < 2: the change is not a fact; the gap (15 points) is
    t = _table({2017: [10, 20, 30, 39], 2022: [10, 20, 30, 40]}, ens={2017: 24.0, 2022: 25.0})
    (f,) = _select(t, {"a": _ind("a")}, "Q4")
    assert (f.regle, f.evolution, f.millesime_precedent, f.evolution_marquee) == ("ecart", None, None, False)
    s = phrase(f, _ind("a"))
    assert "depuis" not in s and "stable" not in s
    # a change of 3 points that only follows the set's (+3): not a fact either; no gap → no sentence
    t = _table({2017: [10, 20, 22, 30], 2022: [10, 20, 25, 40]}, ens={2017: 22.0, 2022: 25.0})
    assert _select(t, {"a": _ind("a")}, "Q3") == []


def test_census_editions_less_than_five_years_apart_are_not_compared():
    vals, ens = {2019: [10, 20, 30, 30], 2022: [10, 20, 30, 40]}, {2019: 22.0, 2022: 25.0}
    t = _table(vals, ens=ens)
    (f,) = _select(t, {"a": _ind("a")}, "Q4")
    # census 2019 → 2022 (3 years < 5): no change, only the gap (z = 1,3416)
    assert (f.millesime_precedent, f.evolution, f.regle) == (None, None, "ecart")
    (f,) = _select(t, {"a": _ind("a")}, "Q4", annee_comparaison=2019)
    assert f.evolution is None
    # INSEE's rule disabled: the change 2019 → 2022 is quoted
    (f,) = _select(t, {"a": _ind("a")}, "Q4", annees_ecart_min=0)
    assert (f.millesime_precedent, f.evolution, f.regle) == (2019, 10.0, "evolution")
    # the same 4 years with a CAF indicator: compared
    caf = _ind("a", source="caf")
    (f,) = _select(_table(vals, ens=ens, source="caf"), {"a": caf}, "Q4")
    assert (f.millesime_precedent, f.evolution) == (2019, 10.0)


def test_census_comparison_year_skips_editions_too_close():
    t = _table({2017: [10, 20, 30, 30], 2019: [10, 20, 30, 35], 2022: [10, 20, 30, 40]},
               ens={2017: 22.0, 2019: 23.0, 2022: 25.0})
    (f,) = _select(t, {"a": _ind("a")}, "Q4", annee_comparaison=2019)
    assert (f.millesime_precedent, f.evolution) == (2017, 10.0)


# ------------------------------------------------------------------------------------ eligibility
def test_secret_latest_figure_yields_no_fact_and_is_not_a_peer():
    t = _table({2022: [10, 20, 30, 40]})
    m = (t["code_territoire"] == "Q4")
    t.loc[m, ["valeur", "statut"]] = [np.nan, "secret"]
    assert _select(t, {"a": _ind("a")}, "Q4") == []
    # peers of Q3 are Q1..Q3: sd = sqrt(200/3) = 8,165; 30 − 25 = 5 < 0,75 × 8,165 = 6,12 → nothing;
    # Q1: 10 − 25 = −15 → a fact, rank 3 of 3 (the lowest)
    assert _select(t, {"a": _ind("a")}, "Q3") == []
    (f,) = _select(t, {"a": _ind("a")}, "Q1")
    assert (f.n_pairs, f.rang, f.n_quartiers) == (3, 3, 4)


def test_poor_quality_figures_and_references_never_feed_a_sentence():
    cat = {"a": _ind("a")}
    t = _table({2022: [10, 20, 30, 95]})
    m = t["code_territoire"] == "Q4"
    t.loc[m, ["statut", "methode", "qualite"]] = ["estime", "surface", "faible"]
    assert _select(t, cat, "Q4") == []
    t.loc[m, "qualite"] = "bonne"
    assert _select(t, cat, "Q4")[0].valeur == 95
    # the reference (the set of quartiers) summed mostly from poor estimates: no sentence at all
    t.loc[t["type_territoire"] == ENS24, "qualite"] = "faible"
    assert _select(t, cat, "Q4") == []


def test_producer_value_estimated_is_never_quoted():
    cat = {"r": _ind("r", theme="revenus", type_="valeur_producteur", unite="€", polarite=-1)}
    t = _table({2021: [1000, 1500, 1600, 1700]}, ind="r", ens={2021: 1500.0})
    t.loc[t["code_territoire"] == "Q1", ["statut", "methode", "qualite"]] = ["estime", "dasymetrique", "bonne"]
    assert _select(t, cat, "Q1") == []


def test_withheld_reference_partner_count_and_womens_share_give_no_fact():
    t = _table({2022: [10, 20, 30, 40]})
    t.loc[t["type_territoire"] == ENS24, ["valeur", "statut"]] = [np.nan, "nd"]
    assert _select(t, {"a": _ind("a")}, "Q4") == []
    t2 = _table({2022: [10, 20, 30, 40]})
    t2["methode"] = "partenaire"
    assert _select(t2, {"a": _ind("a")}, "Q4") == []
    t3 = _table({2022: [10, 20, 30, 40]}, ind="population")
    assert _select(t3, {"population": _ind("population", type_="effectif", unite="nombre")}, "Q4") == []
    t4 = _table({2022: [51, 52, 51.5, 80]}, ind="part_femmes")
    assert _select(t4, {"part_femmes": _ind("part_femmes", theme="demographie", polarite=0)}, "Q4") == []


def test_a_2015_quartier_reads_only_the_2015_set():
    t24 = _table({2022: [10, 20, 30, 40]}, ens={2022: 25.0})
    t15 = _table({2022: [11, 21, 31, 41]}, peer_type="qpv2015", ens_type="ensemble_qpv2015_epci", ens={2022: 35.0})
    t = pd.concat([t24, t15], ignore_index=True)
    cat = {"a": _ind("a")}
    (f24,) = _select(t, cat, "Q4")
    (f15,) = _select(t, cat, "Q1", type_territoire="qpv2015")
    assert (f24.reference, f24.type_reference, f24.geographie_reference) == (25.0, ENS24, "")
    # 2015 quartier Q1 = 11 against the 2015 set 35: −24 points; never the 2024 set's 25
    assert (f15.reference, f15.ecart, f15.type_reference, f15.geographie_reference) == (
        35.0, -24.0, "ensemble_qpv2015_epci", "2015")
    assert "quartiers prioritaires 2015 de Valenciennes Métropole" in phrase(f15, cat["a"])
    # a zone is compared with the 2024 quartiers and their set
    tz = pd.concat([t24, pd.DataFrame([_row("zone", "Z", "a", 2022, 60.0)])], ignore_index=True)
    (fz,) = _select(tz, cat, "Z", type_territoire="zone")
    assert (fz.reference, fz.hors_pairs, fz.rang, fz.n_pairs) == (25.0, True, 1, 5)


def test_eligible_mask():
    t = pd.DataFrame([_row("qpv2024", "Q", "a", 2022, 1.0),
                      _row("qpv2024", "Q", "a", 2022, np.nan, statut="secret"),
                      _row("qpv2024", "Q", "a", 2022, 5.0, statut="estime", methode="surface", qualite="faible"),
                      _row("qpv2024", "Q", "a", 2022, 5.0, statut="estime", methode="surface", qualite="moyenne"),
                      _row("qpv2024", "Q", "a", 2022, 5.0, methode="partenaire"),
                      _row(ENS24, "E", "a", 2022, 5.0, methode="somme", qualite="faible")])
    assert eligible_mask(t).tolist() == [True, False, False, True, False, False]


# -------------------------------------------------------------------------------- selection, themes
def test_key_themes_first_and_grouped_by_theme():
    themes = {"l": "logement", "r": "revenus", "s": "sante", "m": "mobilite"}
    cat = {k: _ind(k, theme=th) for k, th in themes.items()}
    # the housing and mobility gaps are the largest (z = 1,79) but the key themes (revenus, santé) come first
    frames = [_table({2022: [10, 20, 30, 40]}, ind="r"), _table({2022: [10, 20, 30, 40]}, ind="s"),
              _table({2022: [10, 20, 30, 45]}, ind="l"), _table({2022: [10, 20, 30, 45]}, ind="m")]
    t = pd.concat(frames, ignore_index=True)
    assert [f.indicateur for f in _select(t, cat, "Q4", max_faits=2)] == ["r", "s"]
    # with room for all: printed in the catalogue's theme order (revenus, santé, logement, mobilité)
    assert [f.indicateur for f in _select(t, cat, "Q4")] == ["r", "s", "l", "m"]


def test_at_most_two_facts_per_theme_and_eight_in_all():
    themes = ["revenus", "insertion", "education", "familles", "sante", "logement"]
    cat, frames = {}, []
    for k in range(18):                                      # 3 salient indicators in each of 6 themes
        i = f"i{k:02d}"
        cat[i] = _ind(i, theme=themes[k % 6])
        frames.append(_table({2022: [10, 20, 30, 40]}, ind=i))
    facts = _select(pd.concat(frames, ignore_index=True), cat, "Q4")
    assert len(facts) == 8
    per = pd.Series([cat[f.indicateur].theme for f in facts]).value_counts()
    assert per.max() == 2
    # the 5 key themes get 2 facts before the housing theme gets any: 8 = 5 + 3 → no housing fact
    assert set(per.index) == {"revenus", "insertion", "education", "familles", "sante"}


def test_magnitudes():
    assert ampleur(44.0, 22.0) == "deux fois plus"
    assert ampleur(45.0, 25.0) == "près de deux fois plus"        # 1,8
    assert ampleur(57.0, 30.0) == "deux fois plus"                # 1,9 (lower bound included)
    assert ampleur(36.0, 27.0) == "un tiers de plus"              # 1,333
    assert ampleur(30.0, 40.0) == "un quart de moins"             # 0,75
    assert ampleur(10.0, 20.0) == "deux fois moins"
    assert ampleur(75.0, 25.0) == "trois fois plus"
    assert ampleur(30.0, 25.0) == ""                               # 1,2: the points suffice
    # ranges do not overlap and are sorted
    bounds = sorted((lo, hi) for lo, hi, _ in AMPLEURS)
    assert all(a[1] <= b[0] for a, b in zip(bounds, bounds[1:]))


# ------------------------------------------------------------------------------------- fixture
def test_fixture_quartier_standing_out_on_poverty_not_on_womens_share(tmp_path):
    from portraits_fixture import CATALOGUE_YAML, build_project
    from observatoire.catalogue import load_catalogue
    from observatoire.portraits.render import read_indicateurs

    build_project(tmp_path)
    (tmp_path / "c.yaml").write_text(CATALOGUE_YAML, encoding="utf-8")
    cat = load_catalogue(tmp_path / "c.yaml", validate=False)
    table = read_indicateurs(tmp_path / "data" / "processed" / "indicateurs.csv")
    base = BaseFaits.from_table(table, cat)
    facts = {f.indicateur: f for f in _select(base, cat, "QN05920M")}
    # 48 % against the set (about 30 % elsewhere): the poverty sentence is there, first of its theme
    assert "taux_pauvrete" in facts and facts["taux_pauvrete"].valeur == 48.0
    # 70 % of women: never a headline; « sans diplôme » 60 %: its reference is of « faible » quality
    assert "part_femmes" not in facts and "part_sans_diplome" not in facts
    assert indicator_fact(base, cat["part_sans_diplome"], "QN05920M", code_ensemble=EPCI, nom_ensemble="X") is None
    for code in ("QN05920M", "QN05921M", "QN05930M"):
        for f in _select(base, cat, code):
            rows = table[(table["code_territoire"] == code) & (table["indicateur"] == f.indicateur)
                         & (table["millesime"] == f.millesime) & (table["methode"] != "partenaire")]
            assert len(rows) == 1 and rows["statut"].iloc[0] not in ("secret", "nd")
            assert rows["qualite"].iloc[0] != "faible" and rows["valeur"].iloc[0] == f.valeur
    used = {(f.indicateur, f.millesime) for f in _select(base, cat, "QN05930M")}
    assert ("taux_pauvrete", 2021) not in used        # value 97,5 (most extreme) but estimate « faible »
    assert not any(i == "part_c2s" for i, _ in used)  # latest figure secret


def test_no_rank_among_a_minority_of_usable_quartiers():
    # 7 quartiers with a figure, 4 of them poor estimates: Q7 is the highest of the 3 usable ones only
    t = _table({2022: [10, 20, 30, 35, 38, 39, 60]}, ens={2022: 25.0})
    t.loc[t["code_territoire"].isin(["Q2", "Q3", "Q4", "Q5"]), ["statut", "methode", "qualite"]] = \
        ["estime", "surface", "faible"]
    (f,) = _select(t, {"a": _ind("a")}, "Q7")
    # peers 10, 39, 60: sd = 20,5; gap 60 − 25 = 35 ≥ 15,4 → a fact, but 3 usable < 7 / 2: no rank
    assert (f.ecart, f.rang, f.n_quartiers) == (35.0, None, 7)
    assert "c'est le niveau" not in phrase(f, _ind("a"))
    # with 4 usable of 7 (Q5 good again) the rank is quoted
    t.loc[t["code_territoire"] == "Q5", "qualite"] = "bonne"
    (f,) = _select(t, {"a": _ind("a")}, "Q7")
    assert (f.rang, f.n_pairs) == (1, 4)
    assert phrase(f, _ind("a")).endswith("c'est le niveau le plus élevé des 4 quartiers prioritaires dont le "
                                         "chiffre est fiable.")


# --------------------------------------------------------------------- rule 5b: no pooled set
def test_a_median_or_poverty_rate_is_compared_with_the_epci_when_the_set_has_none():
    """Filosofi's poverty rate cannot be pooled over quartiers (published without counts): the set of
    the EPCI's quartiers is ``nd``, and the sentence compares the quartier with the EPCI itself."""
    pauvrete = _ind("p", theme="revenus", type_="valeur_producteur", source="insee_filosofi")
    t = _table({2021: [10, 20, 30, 40]}, ind="p", source="insee_filosofi")
    t.loc[t["type_territoire"] == ENS24, ["valeur", "statut"]] = [np.nan, "nd"]
    t = pd.concat([t, pd.DataFrame([_row("epci", EPCI, "p", 2021, 22.0, source="insee_filosofi")])], ignore_index=True)
    (f,) = _select(t, {"p": pauvrete}, "Q4")
    # gap 40 − 22 = 18 points ≥ 2 and ≥ 0,75 × sd(10, 20, 30, 40) = 8,39 → marked; z = 18 / 11,18
    assert (f.type_reference, f.reference, f.ecart, f.rang) == ("epci", 22.0, 18.0, 1)
    assert f.score == pytest.approx(18 / math.sqrt(125))
    s = phrase(f, pauvrete)
    assert "contre 22,0\u00a0% pour l'ensemble de Valenciennes Métropole, soit 18,0\u00a0points de plus" in s
    assert "quartiers prioritaires de Valenciennes" not in s
    # Q3: 30 − 22 = 8 points < 8,39 (the spread between quartiers): still no fact
    assert _select(t, {"p": pauvrete}, "Q3") == []


def test_a_set_of_poor_quality_is_not_replaced_by_the_epci():
    """A set that has a figure, but of « faible » quality (or secret), gives no sentence (rule 1): the
    EPCI stands in only for a set that has no figure at all."""
    ind = _ind("a")
    t = _table({2022: [10, 20, 30, 40]})
    t = pd.concat([t, pd.DataFrame([_row("epci", EPCI, "a", 2022, 22.0)])], ignore_index=True)
    for statut, qualite in (("estime", "faible"), ("secret", "")):
        u = t.copy()
        u.loc[u["type_territoire"] == ENS24, ["statut", "methode", "qualite"]] = [statut, "surface", qualite]
        assert _select(u, {"a": ind}, "Q4") == []
    assert _select(t, {"a": ind}, "Q4")[0].type_reference == ENS24     # the set itself when it is good
