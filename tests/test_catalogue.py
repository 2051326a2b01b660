"""The indicator catalogue: content, validator errors, safe expressions."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from observatoire.catalogue import CATALOGUE_FILE, THEMES, alias_map, load_catalogue, load_sources
from observatoire.catalogue.validate import (ExpressionError, alternatives, evaluate, expression_variables,
                                             indicator_variables, parse_expression, validate_entries)
from observatoire.errors import ConfigError

SHARED = Path(__file__).resolve().parents[2] / "shared"
REFERENCE = SHARED / "data" / "valenciennes" / "reference_figures.csv"

# Ids other stages rely on (portraits, maps) and the list, by catalogue id.
REQUIRED_IDS = [
    "population", "revenu_mensuel_q1", "revenu_median_mensuel", "taux_pauvrete", "taux_emploi_15_64",
    "taux_emploi_15_24", "taux_emploi_femmes", "part_emplois_precaires", "part_temps_partiel",
    "part_neet_16_25", "taux_scolarisation_15_24", "part_15_17_non_scolarises", "part_15_plus_non_diplomes",
    "part_moins_14_ans", "part_15_24_ans", "part_60_ans_plus", "part_75_ans_plus", "part_femmes",
    "part_personnes_seules", "part_80_plus_parmi_personnes_seules", "part_menages_au_moins_une_voiture",
    "part_familles_monoparentales", "part_allocataires_aah", "part_allocataires_prestations_50pct",
    "part_allocataires_prestations_100pct", "taux_couverture_caf", "part_c2s", "part_deld",
    "part_deld_2ans_plus", "part_menages_locataires_hlm",
]


def _raw():
    return yaml.safe_load(CATALOGUE_FILE.read_text(encoding="utf-8"))


def _write(tmp_path, raw) -> Path:
    p = tmp_path / "cat.yaml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return p


def test_catalogue_has_every_family_and_required_ids():
    cat = load_catalogue()
    assert len(cat) >= 30
    assert {i.theme for i in cat.values()} == set(THEMES)
    for ident in REQUIRED_IDS:
        assert ident in cat, ident
    # former ids kept as aliases: the census publishes P_POP80P_PSEUL (80 and over living alone), the
    # Cnaf counts AAH recipients among allocataires (not households)
    aliases = alias_map(cat)
    assert aliases["part_75_plus_parmi_personnes_seules"] == "part_80_plus_parmi_personnes_seules"
    assert aliases["part_menages_aah"] == "part_allocataires_aah"
    pop = cat["population"]
    assert (pop.type, pop.variable, pop.theme) == ("effectif", "P_POP", "demographie")
    # medians and quartiles are producer values, never ratios
    for ident in ("revenu_mensuel_q1", "revenu_median_mensuel", "taux_pauvrete"):
        assert cat[ident].type == "valeur_producteur"
    assert cat["revenu_mensuel_q1"].facteur == pytest.approx(1 / 12)
    for ind in cat.values():
        assert ind.definition and ind.limites and ind.secret and ind.source_libelle, ind.id
        assert ind.polarite in (-1, 0, 1)


def test_aliases_cover_brief_ids():
    m = alias_map(load_catalogue())
    assert m["revenu_q1_mensuel"] == "revenu_mensuel_q1"
    assert m["part_dependance_50"] == "part_allocataires_prestations_50pct"
    assert m["part_allocataires_prestations_50pct_plus"] == "part_allocataires_prestations_50pct"
    assert m["part_locataires_hlm"] == "part_menages_locataires_hlm"
    assert m["part_demandeurs_longue_duree"] == "part_deld"


@pytest.mark.skipif(not REFERENCE.exists(), reason="../shared absent (reference_figures.csv)")
def test_reference_ids_reused():
    import csv
    ids = {r["indicator"] for r in csv.DictReader(REFERENCE.open(encoding="utf-8"))}
    m = alias_map(load_catalogue())
    landed = {i for i in ids if i in m}
    # the contract's level indicators the catalogue computes land on catalogue rows
    for i in ("part_neet_16_25", "taux_emploi_15_64", "revenu_mensuel_q1", "part_deld", "part_femmes",
              "part_menages_au_moins_une_voiture", "part_15_plus_non_diplomes", "part_menages_locataires_hlm"):
        assert i in landed


def test_every_variable_declared_by_its_source():
    cat = load_catalogue()
    sources = load_sources()
    for ind in cat.values():
        declared = set(sources[ind.source]["variables"])
        src_den = ind.extra.get("source_denominateur")
        if src_den:
            declared |= set(sources[src_den]["variables"])
        assert set(indicator_variables(ind)) <= declared, ind.id


@pytest.mark.parametrize("field,value,expected", [
    ("theme", "economie", "theme"),
    ("unite", "pourcent", "unite"),
    ("type", "moyenne", "type"),
    ("polarite", 2, "polarite"),
    ("echelles", ["quartier"], "echelles"),
    ("numerateur", "P_INCONNUE + P_POP1564", "numerateur"),
    ("denominateur", "P22_POP1564", "denominateur"),
    ("numerateur", "__import__('os').system('echo x')", "numerateur"),
    ("numerateur", "P_POP.real", "numerateur"),
    ("source", "insee_inconnue", "source"),
    ("facteur", -1, "facteur"),
])
def test_validator_names_entry_and_field(tmp_path, field, value, expected):
    raw = _raw()
    entry = next(e for e in raw["indicateurs"] if e["id"] == "taux_emploi_15_64")
    entry[field] = value
    with pytest.raises(ConfigError) as err:
        load_catalogue(_write(tmp_path, raw))
    msg = str(err.value)
    assert "taux_emploi_15_64" in msg
    assert f"« {expected} »" in msg
    assert "Correction" in msg


def test_validator_missing_field(tmp_path):
    raw = _raw()
    entry = next(e for e in raw["indicateurs"] if e["id"] == "part_femmes")
    del entry["definition"]
    with pytest.raises(ConfigError, match=r"part_femmes.*« definition ».*absent"):
        load_catalogue(_write(tmp_path, raw))


def test_validator_ratio_needs_denominator(tmp_path):
    raw = _raw()
    entry = next(e for e in raw["indicateurs"] if e["id"] == "part_femmes")
    del entry["denominateur"]
    with pytest.raises(ConfigError, match=r"part_femmes.*« denominateur »"):
        load_catalogue(_write(tmp_path, raw))


def test_validator_duplicate_id_and_alias(tmp_path):
    raw = _raw()
    raw["indicateurs"].append(copy.deepcopy(raw["indicateurs"][0]))
    with pytest.raises(ConfigError, match=r"population.*« id ».*double"):
        load_catalogue(_write(tmp_path, raw))
    raw = _raw()
    raw["indicateurs"][1]["alias"] = ["population"]
    with pytest.raises(ConfigError, match=r"« alias ».*double"):
        load_catalogue(_write(tmp_path, raw))


def test_adding_an_indicator_needs_only_the_file(tmp_path):
    raw = _raw()
    raw["indicateurs"].append({
        "id": "part_ouvriers_logement_1p", "libelle": "Part des résidences principales d'une pièce",
        "theme": "logement", "unite": "%", "type": "ratio", "source": "insee_rp",
        "numerateur": "P_LOGVAC", "denominateur": "P_LOG", "polarite": 1, "echelles": ["iris", "commune"],
        "definition": "d", "limites": "l", "secret": "s", "source_libelle": "Insee"})
    cat = load_catalogue(_write(tmp_path, raw))
    assert cat["part_ouvriers_logement_1p"].numerateur == "P_LOGVAC"


def test_entries_not_a_list():
    with pytest.raises(ConfigError, match="liste"):
        validate_entries({"a": 1}, "x.yaml")


def test_expressions_are_not_eval():
    assert expression_variables("P_SAL15P_CDD + P_SAL15P_INTERIM") == ["P_SAL15P_CDD", "P_SAL15P_INTERIM"]
    assert evaluate("(a - b) / a * 100", {"a": 200.0, "b": 20.0}) == pytest.approx(90.0)  # 180/200×100
    assert evaluate("-a + 2", {"a": 1.0}) == 1.0
    for bad in ("f(x)", "a ** 2", "a[0]", "a if b else c", "'texte'", "a.b", "lambda: 1", "a < b", "True"):
        with pytest.raises(ExpressionError):
            parse_expression(bad)
    assert alternatives("P_POP60P | P_POP6074 + P_POP75P") == ["P_POP60P", "P_POP6074 + P_POP75P"]
    with pytest.raises(ExpressionError):
        alternatives("A | ")


_names = st.sampled_from(["a", "b", "c"])
_leaf = st.one_of(_names, st.integers(1, 9).map(str))


@st.composite
def _expr(draw, depth=0):
    if depth > 2 or draw(st.booleans()):
        return draw(_leaf)
    op = draw(st.sampled_from(["+", "-", "*"]))
    return f"({draw(_expr(depth + 1))} {op} {draw(_expr(depth + 1))})"


@settings(max_examples=60, deadline=None)
@given(_expr(), st.floats(-100, 100), st.floats(-100, 100), st.floats(-100, 100))
def test_evaluate_matches_arithmetic(expr, a, b, c):
    env = {"a": a, "b": b, "c": c}
    # Python's own arithmetic on the same (already validated) formula is the reference
    expected = eval(compile(expr, "<test>", "eval"), {"__builtins__": {}}, dict(env))  # noqa: S307
    assert evaluate(expr, env) == pytest.approx(expected)
