"""Partner tables: the contract figures (reference_figures.csv) and generic CSV/XLSX tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from observatoire.config import parse_config
from observatoire.errors import ConfigError, FormatError, SourceMissingError
from observatoire.sources.partner import (FIGURE_COLUMNS, TIDY_COLUMNS, partner_figures, partner_labels,
                                          read_partner, read_partners)

SHARED = Path(__file__).resolve().parents[2] / "shared"
REFERENCE = SHARED / "data" / "valenciennes" / "reference_figures.csv"
ROOT = Path(__file__).resolve().parents[1]


def _config(tmp_path, partenaires):
    data = {"territoire": {"epci": "245901160"}, "partenaires": partenaires}
    return parse_config(data, tmp_path / "observatoire.toml")


def _one(t, kind, code, ind, year):
    r = t[(t.type_territoire == kind) & (t.code_territoire == code) & (t.indicateur == ind) & (t.millesime == year)]
    assert len(r) == 1, r
    return r.iloc[0]


@pytest.mark.skipif(not REFERENCE.exists(), reason="../shared absent (reference_figures.csv)")
class TestReferenceFigures:
    def _cfg(self, tmp_path):
        return _config(tmp_path, [{"id": "contrat_ville_cavm", "fichier": str(REFERENCE),
                                   "preset": "reference_figures"}])

    def test_imports_as_its_own_source(self, tmp_path):
        cfg = self._cfg(tmp_path)
        t = read_partner(cfg.partenaires[0], cfg)
        assert list(t.columns) == TIDY_COLUMNS
        assert set(t.source) == {"contrat_ville_cavm"}
        assert set(t.methode) == {"partenaire"} and set(t.statut) == {"ok"}
        assert t.numerateur.isna().all() and t.qualite.isna().all()
        # 489 figures: 26 changes/gaps, 30 without year, 1 région, 5 repeated sections are not levels
        assert len(t) == 489 - 26 - 30 - 1 - 5
        # « Une part de jeunes ni en emploi ni en formation atteignant 41% en 2019 » (QN05920M)
        r = _one(t, "qpv2024", "QN05920M", "part_neet_16_25", 2019)
        assert r.valeur == 41.0 and r.millesime_geographie == 2024
        # « Un travailleur sur 4 … emploi précaire en 2019 »: ratio 0.25 → 25 %
        assert _one(t, "qpv2024", "QN05920M", "part_emplois_precaires", 2019).valeur == pytest.approx(25.0)
        # commune figure of the 2015 contract lands on the catalogue id through its alias
        assert _one(t, "commune", "59014", "part_allocataires_prestations_50pct", 2013).valeur == 41.9
        # all quartiers of the EPCI: empty code in the file → the EPCI SIREN
        # a set of quartiers before 2024 is the set of the 2015 geography
        assert _one(t, "ensemble_qpv2015_epci", "245901160", "part_neet_16_25", 2019).valeur == 36.4
        assert _one(t, "ensemble_qpv2015_departement", "59", "part_femmes", 2019).valeur == 52.0
        # ids outside the catalogue are kept under their own id
        assert _one(t, "commune", "59014", "part_beneficiaires_cmuc", 2013).valeur == 21.95
        assert not t.indicateur.str.startswith("evol_").any()
        assert "region" not in set(t.type_territoire)

    def test_changes_and_undated_figures_kept_apart(self, tmp_path):
        cfg = self._cfg(tmp_path)
        f = partner_figures(cfg.partenaires[0], cfg)
        assert list(f.columns) == FIGURE_COLUMNS and len(f) == 489
        ev = f[(f.nature == "evolution") & (f.code_territoire == "QN05920M")]
        r = ev[ev.indicateur == "taux_emploi_15_24"].iloc[0]
        # « en baisse entre 2011 et 2019 (-5,4 points) »
        assert (r.valeur, r.millesime_debut, r.millesime_fin, r.dans_tidy) == (-5.4, 2011, 2019, False)
        undated = f[f.motif == "année non précisée"]
        assert len(undated) == 30 and not undated.dans_tidy.any()
        labels = partner_labels(cfg.partenaires[0], cfg)
        assert labels["part_beneficiaires_cmuc"].startswith("Part des bénéficiaires")

    def test_default_configuration_declares_it(self):
        from observatoire.config import load_config
        cfg = load_config(ROOT / "observatoire.toml")
        t = read_partners(cfg)
        assert len(t) > 400 and set(t.source) == {"contrat_ville_cavm"}


def test_wide_csv_partner(tmp_path):
    p = tmp_path / "bailleur.csv"
    p.write_text("code_qp;taux_hlm;nb\nQN05930M;61,5;12\nQP059031;s;4\n", encoding="utf-8")
    cfg = _config(tmp_path, [{"id": "bailleur", "fichier": "bailleur.csv", "disposition": "large",
                              "colonne_code": "code_qp", "type_territoire": "qpv",
                              "indicateurs": {"taux_hlm": "part_menages_locataires_hlm", "nb": "population"},
                              "millesime": 2023}])
    t = read_partner(cfg.partenaires[0], cfg)
    r = _one(t, "qpv2024", "QN05930M", "part_menages_locataires_hlm", 2023)
    assert r.valeur == 61.5 and r.source == "bailleur"
    # « s » is not a figure but a withheld one: a secret row without value, never dropped
    r = _one(t, "qpv2015", "QP059031", "part_menages_locataires_hlm", 2023)
    assert r.statut == "secret" and pd.isna(r.valeur) and "secret" in r.motif
    assert _one(t, "qpv2015", "QP059031", "population", 2023).millesime_geographie == 2015


def test_long_xlsx_partner(tmp_path):
    p = tmp_path / "etude.xlsx"
    pd.DataFrame({"iris": ["596060101", "596060102"], "ind": ["part_femmes", "part_femmes"],
                  "v": [52.5, 49.0], "annee": [2020, 2020]}).to_excel(p, index=False)
    cfg = _config(tmp_path, [{"id": "etude", "fichier": str(p), "layout": "long", "code": "iris",
                              "type_territoire": "iris", "colonne_indicateur": "ind", "colonne_valeur": "v",
                              "colonne_millesime": "annee"}])
    t = read_partner(cfg.partenaires[0], cfg)
    assert _one(t, "iris", "596060102", "part_femmes", 2020).valeur == 49.0


def test_errors(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("code;x\n59606;3\n", encoding="utf-8")
    base = {"id": "t", "fichier": str(p), "colonne_code": "code", "type_territoire": "commune",
            "indicateurs": {"x": "part_femmes"}, "millesime": 2020}
    cfg = _config(tmp_path, [base])
    assert _one(read_partner(base, cfg), "commune", "59606", "part_femmes", 2020).valeur == 3.0
    with pytest.raises(SourceMissingError, match="absent.csv"):
        read_partner(dict(base, fichier=str(tmp_path / "absent.csv")), cfg)
    assert read_partner(dict(base, fichier=str(tmp_path / "absent.csv"), optionnel=True), cfg).empty
    with pytest.raises(FormatError, match=r"« code_commune ».*code, x"):
        read_partner(dict(base, colonne_code="code_commune"), cfg)
    with pytest.raises(ConfigError, match=r"« taux_inconnu » absent du catalogue"):
        read_partner(dict(base, indicateurs={"x": "taux_inconnu"}), cfg)
    with pytest.raises(ConfigError, match="millésime"):
        read_partner({k: v for k, v in base.items() if k != "millesime"}, cfg)
    with pytest.raises(ConfigError, match="préréglage"):
        read_partner(dict(base, preset="inconnu"), cfg)


def test_partner_rows_stack_with_engine_rows(tmp_path):
    from observatoire.indicators import concat_tidy
    p = tmp_path / "t.csv"
    p.write_text("code;x\n59606;3,5\n", encoding="utf-8")
    spec = {"id": "t", "fichier": str(p), "colonne_code": "code", "type_territoire": "commune",
            "indicateurs": {"x": "part_femmes"}, "millesime": 2020}
    engine = pd.DataFrame([{"type_territoire": "commune", "code_territoire": "59606",
                            "libelle_territoire": "Valenciennes", "indicateur": "part_femmes", "millesime": 2022,
                            "millesime_geographie": 2024, "valeur": 52.0, "numerateur": 52.0,
                            "denominateur": 100.0, "statut": "ok", "methode": "somme", "qualite": None,
                            "couverture": 1.0, "simule": False, "note_producteur": "", "motif": "",
                            "source": "insee_rp_ic_pop"}], columns=TIDY_COLUMNS)
    t = concat_tidy(engine, read_partner(spec, _config(tmp_path, [spec])))
    assert list(t.columns) == TIDY_COLUMNS
    assert list(t.methode) == ["somme", "partenaire"] and t.valeur.tolist() == [52.0, 3.5]
    assert t.millesime.dtype == "int64"


# ------------------------------------------------------------------ checks like an official table

def _wide(tmp_path, text, **spec):
    p = tmp_path / "partenaire.csv"
    p.write_text(text, encoding="utf-8")
    base = {"id": "bailleur", "fichier": str(p), "colonne_code": "code", "type_territoire": "qpv2024",
            "millesime": 2021}
    base.update(spec)
    return base, _config(tmp_path, [base])


def test_annual_income_mapped_to_a_monthly_indicator_is_refused_with_the_fix(tmp_path):
    # the case of the issue: an annual median (12 512 €) read as « €/mois »
    spec, cfg = _wide(tmp_path, "code;mediane\nQN05920M;12512\nQN05930M;13080\n",
                      indicateurs={"mediane": "revenu_median_mensuel"})
    with pytest.raises(FormatError, match=r"(?s)revenu_median_mensuel.*12\u202f512.*lignes 2, 3.*entre 100 et 6\u202f000"
                                          r".*semblent annuelles.*mediane = \"/12\""):
        read_partner(spec, cfg)
    # declared in €/an without a transformation: refused, the fix names it
    with pytest.raises(FormatError, match=r"(?s)en €/mois mais la table le déclare en €/an.*\"/12\""):
        read_partner(dict(spec, unite="€/an"), cfg)
    t = read_partner(dict(spec, unite="€/an", transformations={"mediane": "/12"}), cfg)
    assert _one(t, "qpv2024", "QN05920M", "revenu_median_mensuel", 2021).valeur == pytest.approx(12512 / 12)
    assert _one(t, "qpv2024", "QN05930M", "revenu_median_mensuel", 2021).valeur == pytest.approx(1090.0)


def test_rates_out_of_range_and_proportions(tmp_path):
    spec, cfg = _wide(tmp_path, "code;hlm\nQN05920M;61,5\nQN05930M;161,5\n",
                      indicateurs={"hlm": "part_menages_locataires_hlm"})
    with pytest.raises(FormatError, match=r"(?s)part_menages_locataires_hlm.*161,5.*ligne 3.*entre 0 et 100"):
        read_partner(spec, cfg)
    # proportions between 0 and 1: « ×100 » turns them into percentages
    spec, cfg = _wide(tmp_path, "code;hlm\nQN05920M;0,615\n", indicateurs={"hlm": "part_menages_locataires_hlm"},
                      transformations={"hlm": "×100"})
    assert _one(read_partner(spec, cfg), "qpv2024", "QN05920M", "part_menages_locataires_hlm",
                2021).valeur == pytest.approx(61.5)
    # a proportion declared « ratio » with a « % » indicator is converted without a transformation
    spec, cfg = _wide(tmp_path, "code;hlm\nQN05920M;0,615\n", indicateurs={"hlm": "part_menages_locataires_hlm"},
                      unite="ratio")
    assert _one(read_partner(spec, cfg), "qpv2024", "QN05920M", "part_menages_locataires_hlm",
                2021).valeur == pytest.approx(61.5)
    # negative counts refused
    spec, cfg = _wide(tmp_path, "code;pop\nQN05920M;-2478\n", indicateurs={"pop": "population"})
    with pytest.raises(FormatError, match=r"(?s)population.*−2\u202f478.*ligne 2.*au moins 0"):
        read_partner(spec, cfg)


def test_codes_of_the_wrong_geography_or_form_are_refused(tmp_path):
    spec, cfg = _wide(tmp_path, "code;hlm\nQN05920M;61\nQP059020;58\nQP059031;40\n",
                      indicateurs={"hlm": "part_menages_locataires_hlm"})
    with pytest.raises(FormatError, match=r"(?s)géographie 2015 \(QP…\) déclarés qpv2024 \(lignes 3, 4, "
                                          r"ex. « QP059020 »\).*type_territoire = \"qpv2015\""):
        read_partner(spec, cfg)
    spec, cfg = _wide(tmp_path, "code;hlm\n../../../escaped_QN05920M;61\n",
                      indicateurs={"hlm": "part_menages_locataires_hlm"})
    with pytest.raises(FormatError, match=r"(?s)« \.\./\.\./\.\./escaped_QN05920M ».*code qpv2024 \(ligne 2\)"):
        read_partner(spec, cfg)
    # an IRIS code turned into a number by a spreadsheet
    spec, cfg = _wide(tmp_path, "code;hlm\n590140101.0;61\n", type_territoire="iris",
                      indicateurs={"hlm": "part_menages_locataires_hlm"})
    with pytest.raises(FormatError, match=r"(?s)« 590140101.0 ».*code iris.*format texte"):
        read_partner(spec, cfg)


def test_empty_and_marked_cells_become_nd_or_secret_rows(tmp_path):
    spec, cfg = _wide(tmp_path, "code;hlm;pop\nQN05920M;;1200\nQN05930M;s;nd\nQN05931M;12,5;\n",
                      indicateurs={"hlm": "part_menages_locataires_hlm", "pop": "population"})
    t = read_partner(spec, cfg)
    assert len(t) == 6  # 3 quartiers × 2 columns: nothing dropped
    r = _one(t, "qpv2024", "QN05920M", "part_menages_locataires_hlm", 2021)
    assert (r.statut, r.motif) == ("nd", "cellule vide dans la table partenaire") and pd.isna(r.valeur)
    r = _one(t, "qpv2024", "QN05930M", "part_menages_locataires_hlm", 2021)
    assert r.statut == "secret" and pd.isna(r.valeur)
    assert _one(t, "qpv2024", "QN05930M", "population", 2021).statut == "nd"
    assert _one(t, "qpv2024", "QN05931M", "population", 2021).statut == "nd"
    r = _one(t, "qpv2024", "QN05931M", "part_menages_locataires_hlm", 2021)
    assert (r.statut, r.valeur, r.motif) == ("ok", 12.5, "")
    # a value that is no number and no known mark names its line and column
    spec, cfg = _wide(tmp_path, "code;hlm\nQN05920M;12,5\nQN05930M;env. 40\n",
                      indicateurs={"hlm": "part_menages_locataires_hlm"})
    with pytest.raises(FormatError, match=r"(?s)« env. 40 » \(ligne 3, colonne hlm\)"):
        read_partner(spec, cfg)


def test_rows_outside_the_territory_are_kept_out_counted_and_labels_are_official(tmp_path, capsys):
    from observatoire.sources.partner import Perimetre
    # a regional table: 2 quartiers of the territory, 3 of other EPCI
    spec, cfg = _wide(tmp_path, "code;hlm\nQN05920M;61\nQN05930M;40\nQN06201M;30\nQN06202M;31\nQN05901M;20\n",
                      indicateurs={"hlm": "part_menages_locataires_hlm"})
    official = pd.DataFrame({"type_territoire": ["qpv2024", "qpv2024", "commune"],
                             "code_territoire": ["QN05920M", "QN05930M", "59606"],
                             "libelle_territoire": ["Verrerie - Square République", "Dutemple", "Valenciennes"]})
    perimetre = Perimetre.from_tidy(official)
    t = read_partner(spec, cfg, perimetre=perimetre)
    assert sorted(t.code_territoire) == ["QN05920M", "QN05930M"]
    assert _one(t, "qpv2024", "QN05920M", "part_menages_locataires_hlm", 2021).libelle_territoire == \
        "Verrerie - Square République"
    f = partner_figures(spec, cfg, perimetre=perimetre)
    assert (f.motif == "hors du territoire de l'observatoire").sum() == 3
    assert "3 chiffres hors du territoire laissés de côté (3 qpv2024)" in capsys.readouterr().err


def test_transformation_errors(tmp_path):
    from observatoire.sources.partner import transformation_factor
    assert transformation_factor("/12") == pytest.approx(1 / 12)
    assert transformation_factor("*100") == transformation_factor("x100") == 100.0
    with pytest.raises(ConfigError, match="illisible"):
        transformation_factor("divisé par douze")
    spec, cfg = _wide(tmp_path, "code;hlm\nQN05920M;0,6\n", indicateurs={"hlm": "part_menages_locataires_hlm"},
                      transformations={"hml": "×100"})
    with pytest.raises(ConfigError, match="« hml », qui n'est ni une colonne"):
        read_partner(spec, cfg)


def test_one_quartier_twice_with_two_values_is_refused_unless_first_row_declared(tmp_path):
    spec, cfg = _wide(tmp_path, "code;hlm\nQN05920M;61,5\nQN05930M;40\nQN05920M;12\n",
                      indicateurs={"hlm": "part_menages_locataires_hlm"})
    with pytest.raises(FormatError, match=r"(?s)QN05920M \(2021\) donné deux fois avec des valeurs différentes "
                                          r"\(lignes 2, 4 : 61,5, 12\).*doublons = \"premier\""):
        read_partner(spec, cfg)
    t = read_partner(dict(spec, doublons="premier"), cfg)
    assert _one(t, "qpv2024", "QN05920M", "part_menages_locataires_hlm", 2021).valeur == 61.5
    # the same value twice is no conflict: one row
    spec, cfg = _wide(tmp_path, "code;hlm\nQN05920M;61,5\nQN05920M;61,5\n", indicateurs={"hlm": "part_menages_locataires_hlm"})
    assert len(read_partner(spec, cfg)) == 1
