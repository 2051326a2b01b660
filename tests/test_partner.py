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
        assert _one(t, "ensemble_qpv_epci", "245901160", "part_neet_16_25", 2019).valeur == 36.4
        assert _one(t, "ensemble_qpv_departement", "59", "part_femmes", 2019).valeur == 52.0
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
    # « s » is not a figure: no row
    assert t[(t.code_territoire == "QP059031") & (t.indicateur == "part_menages_locataires_hlm")].empty
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
    from observatoire.indicators import TIDY_COLUMNS as ENGINE_COLUMNS, concat_tidy
    p = tmp_path / "t.csv"
    p.write_text("code;x\n59606;3,5\n", encoding="utf-8")
    spec = {"id": "t", "fichier": str(p), "colonne_code": "code", "type_territoire": "commune",
            "indicateurs": {"x": "part_femmes"}, "millesime": 2020}
    engine = pd.DataFrame([["commune", "59606", "Valenciennes", "part_femmes", 2022, 2024, 52.0, 52.0, 100.0,
                            "ok", "somme", None, "insee_rp_ic_pop"]], columns=ENGINE_COLUMNS)
    t = concat_tidy(engine, read_partner(spec, _config(tmp_path, [spec])))
    assert list(t.columns) == ENGINE_COLUMNS == TIDY_COLUMNS
    assert list(t.methode) == ["somme", "partenaire"] and t.valeur.tolist() == [52.0, 3.5]
    assert t.millesime.dtype == "int64"
