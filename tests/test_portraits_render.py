"""HTML portraits: figures equal to the CSV, escaping, « données simulées » iff simulated, notes, partners."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import pandas as pd
import pytest

from observatoire import fr
from observatoire.catalogue import load_catalogue
from observatoire.config import load_config
from observatoire.errors import ObservatoireError
from observatoire.portraits import pdf as pdf_mod
from observatoire.portraits.render import build_portraits, read_indicateurs, read_notes, render_markdown
from portraits_fixture import HAS_SHARED, build_project


class Cells(HTMLParser):
    """Collect the direct text of every element carrying ``data-indicateur`` and ``data-territoire``."""

    def __init__(self):
        super().__init__()
        self.cells, self._stack, self._skip = [], [], 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-indicateur" in a and "data-territoire" in a:
            self._stack.append([a, ""])
        elif self._stack and tag in ("sup", "span"):
            self._skip += 1

    def handle_endtag(self, tag):
        if self._stack and tag in ("sup", "span") and self._skip:
            self._skip -= 1
        elif self._stack and tag == "td":
            a, txt = self._stack.pop()
            self.cells.append((a, txt.strip()))

    def handle_data(self, data):
        if self._stack and not self._skip:
            self._stack[-1][1] += data


@pytest.fixture(scope="module")
def projet(tmp_path_factory):
    root = tmp_path_factory.mktemp("projet")
    cfg = load_config(build_project(root, simule=True))
    paths = build_portraits(cfg, pdf=False)
    return cfg, paths


def test_one_sheet_per_quartier_and_index(projet):
    cfg, paths = projet
    import geopandas as gpd
    codes = sorted(gpd.read_file(cfg.paths.gpkg, layer="qpv_2024")["code_qp"])
    assert len(codes) == (15 if HAS_SHARED else 4)
    assert sorted(p.stem for p in paths if p.name != "index.html") == codes
    index = (cfg.paths.portraits / "index.html").read_text(encoding="utf-8")
    for c in codes:
        assert f'href="{c}.html"' in index


def test_every_figure_equals_the_csv(projet):
    cfg, paths = projet
    csv = pd.read_csv(cfg.paths.indicateurs_csv, sep=";", encoding="utf-8-sig", dtype={"code_territoire": str})
    cat = load_catalogue(cfg.paths.root / "catalogue.yaml", validate=False)
    regular = csv[csv["methode"] != "partenaire"].set_index(["type_territoire", "code_territoire", "indicateur", "millesime"])
    checked = 0
    for p in paths:
        if p.name == "index.html":
            continue
        parser = Cells()
        parser.feed(p.read_text(encoding="utf-8"))
        assert parser.cells, p
        for a, txt in parser.cells:
            if "data-source" in a:          # partner figure: checked in test_partner_figures
                continue
            row = regular.loc[(a["data-type"], a["data-territoire"], a["data-indicateur"], int(a["data-millesime"]))]
            ind = cat[a["data-indicateur"]]
            if row["statut"] == "secret":
                expected = "secret"
            elif row["statut"] == "nd":
                expected = "n. d."
            else:
                expected = fr.format_valeur(row["valeur"], ind.unite, ind.decimales)
            assert txt == expected, (p.name, a, txt, expected)
            checked += 1
    assert checked > 100


def test_quartier_rows_and_references_of_a_known_sheet(projet):
    cfg, _ = projet
    html = (cfg.paths.portraits / "QN05930M.html").read_text(encoding="utf-8")
    # QN05930M: part_c2s 2023 is secret → shown as « secret », never as a number
    m = re.search(r'data-territoire="QN05930M" data-type="qpv2024" data-indicateur="part_c2s" data-millesime="2023"'
                  r' data-statut="secret"[^>]*>secret<', html)
    assert m
    # poor-quality estimate: shown with its method and quality
    assert "estimé (pondération par la surface), qualité faible" in html
    # references: ensemble QPV EPCI, département 59 and France métropolitaine cells are present
    for t, c in (("ensemble_qpv_epci", "245901160"), ("departement", "59"), ("france", "FRM"), ("commune", "59606")):
        assert f'data-territoire="{c}" data-type="{t}"' in html
    # communes with their share (qpv_communes): La Sentinelle is outside the territory
    assert "hors du territoire étudié" in html
    # locator map: quartier, other quartiers and 2015 perimeters, commune names
    assert 'class="quartier"' in html and 'class="autre-geographie"' in html and 'class="commune"' in html
    assert ">Valenciennes</text>" in html
    # INSEE-style source line under a block
    assert "Source : Insee, Filosofi 2021." in html
    assert "Source : Insee, RP 2017 et 2022." in html


def test_diagnostic_sentences(projet):
    cfg, _ = projet
    html = (cfg.paths.portraits / "QN05920M.html").read_text(encoding="utf-8")
    block = html.split("<h2>Éléments de diagnostic</h2>")[1].split("</section>")[0]
    items = re.findall(r"<li>(.*?)</li>", block)
    assert 5 <= len(items) <= 10
    assert all("pour la moyenne des quartiers prioritaires de Valenciennes Métropole" in i for i in items)


def test_banner_on_every_simulated_sheet(projet):
    cfg, paths = projet
    for p in paths:
        html = p.read_text(encoding="utf-8")
        assert 'id="donnees-simulees"' in html and "@top-center" in html, p.name


def test_no_banner_when_nothing_is_simulated(tmp_path):
    cfg = load_config(build_project(tmp_path, simule=False, notes=False))
    paths = build_portraits(cfg, pdf=False, quartiers=["QN05920M", "QN05930M"])
    # a partial rebuild (--quartier) leaves the index of the full run alone
    assert [p.name for p in paths] == ["QN05920M.html", "QN05930M.html"]
    paths.append(build_portraits(cfg, pdf=False)[-1])
    assert paths[-1].name == "index.html"
    for p in paths:
        txt = p.read_text(encoding="utf-8").lower()
        assert "simulé" not in txt and "données simulées" not in txt and "sim.</sup>" not in txt


def test_self_contained_html(projet):
    _, paths = projet
    for p in paths:
        html = p.read_text(encoding="utf-8")
        assert "<script" not in html.lower() and "<link" not in html.lower()
        assert not re.search(r'(src|href)="(https?:)?//', html)
        assert "@import" not in html and "url(http" not in html


def test_notes_merged_and_escaped(projet):
    cfg, _ = projet
    html = (cfg.paths.portraits / "QN05920M.html").read_text(encoding="utf-8")
    for titre in ("Atouts", "Points de vigilance", "Enjeux retenus"):
        assert f"<h3>{titre}</h3>" in html
    assert "<strong>tissu associatif</strong>" in html
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "<em>isolement</em>" in html and "<ol>" in html
    # a quartier without notes has no notes block
    assert "Diagnostic partagé et enjeux" not in (cfg.paths.portraits / "QN05930M.html").read_text(encoding="utf-8")


def test_markdown_is_safe():
    out = str(render_markdown('[x](javascript:alert(1)) <img src=x onerror=alert(1)> **gras**'))
    # the unsafe link stays inert text, raw HTML is escaped
    assert 'href="javascript' not in out and "<img" not in out and "&lt;img" in out
    assert "<strong>gras</strong>" in out


def test_read_notes_sections(tmp_path):
    f = tmp_path / "Q.md"
    f.write_text("## Atouts\n- a\n## Autre chose\nignoré\n## POINTS DE VIGILANCE\nb\n", encoding="utf-8")
    notes = read_notes(f)
    assert set(notes) == {"atouts", "points_de_vigilance"}
    assert "ignoré" not in "".join(map(str, notes.values()))


def test_partner_figures_with_their_source(projet):
    cfg, _ = projet
    html = (cfg.paths.portraits / "QN05920M.html").read_text(encoding="utf-8")
    block = unescape(html.split("Chiffres publiés par les partenaires")[1])
    assert "Part de jeunes ni en emploi ni en formation" in block            # partner label (id in catalogue)
    # id outside the catalogue: the partner's own label
    assert "Un travailleur sur 4 résidant dans le quartier occupe un emploi précaire" in block
    parser = Cells()
    parser.feed(html)
    partner = {a["data-indicateur"]: txt for a, txt in parser.cells if a.get("data-source") == "contrat_ville_cavm"}
    # CSV: 41 (%) and 25 (ratio 0.25 × 100, unit %) → « 41 % », « 25 % »; the change (−5,4 points) is
    # not a row of the CSV, so it is not on the sheet
    assert partner == {"part_neet_16_25": "41\u00a0%", "part_emplois_precaires": "25\u00a0%"}
    assert "5,4" not in block
    assert block.count("Source : Contrat de ville 2015-2020 et projets de quartiers 2024 de Valenciennes Métropole") == 2
    assert "Chiffres publiés par les partenaires" not in (cfg.paths.portraits / "QN05930M.html").read_text(encoding="utf-8")


def test_zones_and_2015_geographies_escape_names(projet, tmp_path):
    cfg, _ = projet
    paths = build_portraits(cfg, pdf=False, geographie="zones")
    html = paths[0].read_text(encoding="utf-8")
    assert "Les Floralies &lt;veille&gt; &amp; co" in html and "<veille>" not in html
    p15 = build_portraits(cfg, pdf=False, geographie="2015", quartiers=["QP059020"])
    assert "Quartier prioritaire 2015" in p15[0].read_text(encoding="utf-8")
    # the zones got their own index; the 2024 quartiers' index is still the full list
    assert paths[-1].name == "index-zones.html"
    index = (cfg.paths.portraits / "index.html").read_text(encoding="utf-8")
    assert "QN05930M.html" in index and "VEILLE_MARLY_FLORALIES" not in index


def test_unknown_quartier_and_missing_data(projet, tmp_path):
    cfg, _ = projet
    with pytest.raises(ObservatoireError, match="QN09999X"):
        build_portraits(cfg, pdf=False, quartiers=["QN09999X"])
    empty = tmp_path / "vide.toml"
    empty.write_text('[territoire]\nepci = "245901160"\n', encoding="utf-8")
    with pytest.raises(ObservatoireError, match="observatoire build"):
        build_portraits(load_config(empty), pdf=False)


def test_html_written_and_clear_error_without_chromium(tmp_path, monkeypatch):
    cfg = load_config(build_project(tmp_path, simule=True, notes=False))
    monkeypatch.setattr(pdf_mod, "chromium_path", lambda: None)
    with pytest.raises(pdf_mod.ChromiumAbsentError, match="apt-get install chromium"):
        build_portraits(cfg, pdf=True)
    assert (cfg.paths.portraits / "QN05920M.html").exists() and (cfg.paths.portraits / "index.html").exists()
    assert not (cfg.paths.portraits / "QN05920M.pdf").exists()
    assert not list(cfg.paths.portraits.glob(".*tmp"))


def test_read_indicateurs_keeps_codes_as_text(projet):
    cfg, _ = projet
    t = read_indicateurs(cfg.paths.indicateurs_csv)
    assert "59" in set(t.loc[t["type_territoire"] == "departement", "code_territoire"])
    assert t["millesime"].dtype == "Int64"


def test_simulated_marks_per_cell_when_only_some_figures_are_simulated(tmp_path):
    cfg = load_config(build_project(tmp_path, simule=False, notes=False))
    csv = cfg.paths.indicateurs_csv
    t = pd.read_csv(csv, sep=";", encoding="utf-8-sig", dtype=str)
    m = (t["indicateur"] == "part_c2s") & (t["statut"] == "ok")
    t.loc[m, "statut"] = "simule"                           # only the CPAM figures are simulated
    t.to_csv(csv, sep=";", index=False, encoding="utf-8-sig")
    html = build_portraits(cfg, pdf=False, quartiers=["QN05920M"])[0].read_text(encoding="utf-8")
    assert 'id="donnees-simulees"' in html                   # banner: some input is simulated
    row = html.split('<tr data-indicateur="part_c2s">')[1].split("</tr>")[0]
    assert row.count('title="valeur simulée">sim.</sup>') == 7   # quartier + 6 references (all simulated)
    other = html.split('<tr data-indicateur="part_locataires_hlm">')[1].split("</tr>")[0]
    assert "sim.</sup>" not in other


def test_sentence_figures_are_the_sheet_figures(projet):
    """Each sentence quotes the quartier's and the reference's figures exactly as the table shows them."""
    from observatoire.portraits.facts import select_facts
    from observatoire.portraits.render import load_inputs

    cfg, _ = projet
    inp = load_inputs(cfg)
    html = (cfg.paths.portraits / "QN05921M.html").read_text(encoding="utf-8")
    parser = Cells()
    parser.feed(html)
    cells = {(a["data-type"], a["data-indicateur"], int(a["data-millesime"])): txt
             for a, txt in parser.cells if "data-type" in a}
    facts = select_facts(inp.table, inp.catalogue, "QN05921M", code_ensemble="245901160",
                         nom_ensemble="Valenciennes Métropole")
    sentences = [unescape(s) for s in re.findall(r"<li>(.*?)</li>", html.split("Éléments de diagnostic")[1].split("</section>")[0])]
    assert len(sentences) == len(facts) >= 5
    for f, s in zip(facts, sentences):
        quartier = cells[("qpv2024", f.indicateur, f.millesime)]
        reference = cells[("ensemble_qpv_epci", f.indicateur, f.millesime)]
        assert quartier in s and f"contre {reference} pour" in s, (s, quartier, reference)


def test_commune_parts_of_a_multi_commune_quartier(projet):
    cfg, _ = projet
    html = (cfg.paths.portraits / "QN05921M.html").read_text(encoding="utf-8")
    block = html.split('id="parties-communales"')[1].split("</section>")[0]
    assert "<th scope=\"col\">Anzin</th>" in block and "<th scope=\"col\">Valenciennes</th>" in block
    assert 'data-territoire="QN05921M_59014" data-type="partie_qpv2024"' in block
    assert 'id="parties-communales"' not in (cfg.paths.portraits / "QN05920M.html").read_text(encoding="utf-8")


# ------------------------------------------------------------------ INSEE's census comparison rule
def _evolution_cell(html: str, ind: str) -> str:
    row = html.split(f'<tr data-indicateur="{ind}">')[1].split("</tr>")[0]
    return unescape(re.search(r'<td class="num evolution">(.*?)</td>', row, re.S).group(1))


def _expected_change(cfg, ind: str, code: str, y0: int, y1: int) -> str:
    """« +x,y points » for a rate: value(y1) − value(y0) of the CSV, one decimal (« stable » if it rounds to 0)."""
    t = read_indicateurs(cfg.paths.indicateurs_csv)
    t = t[(t["type_territoire"] == "qpv2024") & (t["code_territoire"] == code) & (t["indicateur"] == ind)
          & (t["methode"] != "partenaire")].set_index("millesime")["valeur"]
    d = float(t.loc[y1]) - float(t.loc[y0])
    txt = "stable" if round(d, 1) == 0 else fr.format_points(d, 1)
    return f'{txt}<span class="statut-detail">depuis {y0}</span>'


def _sentences(html: str) -> list[str]:
    block = html.split("<h2>Éléments de diagnostic</h2>")[1].split("</section>")[0]
    return [unescape(s) for s in re.findall(r"<li>(.*?)</li>", block)]


def test_census_change_shown_when_five_years_apart(projet):
    # fixture: census 2017 → 2022 (5 years ≥ 5): the change is shown
    cfg, _ = projet
    html = (cfg.paths.portraits / "QN05920M.html").read_text(encoding="utf-8")
    assert _evolution_cell(html, "part_neet_16_25") == _expected_change(cfg, "part_neet_16_25", "QN05920M", 2017, 2022)


def test_census_editions_three_years_apart_are_not_compared(tmp_path, monkeypatch):
    import portraits_fixture
    from observatoire.portraits.facts import select_facts
    from observatoire.portraits.phrases import phrase
    from observatoire.portraits.render import load_inputs

    monkeypatch.setitem(portraits_fixture.YEARS, "insee_rp", [2019, 2022])
    cfg_path = build_project(tmp_path, simule=False, notes=False)
    cfg = load_config(cfg_path)
    code = "QN05920M"
    html = build_portraits(cfg, pdf=False, quartiers=[code])[0].read_text(encoding="utf-8")
    # census 2019 → 2022 (3 years < 5): empty change cell, no « depuis 2019 »
    for ind in ("part_neet_16_25", "taux_emploi_15_64", "part_locataires_hlm"):
        assert _evolution_cell(html, ind) == "", ind
    # Cnam (not a census source) 2019 → 2023, 4 years: the change is shown
    assert _evolution_cell(html, "part_c2s") == _expected_change(cfg, "part_c2s", code, 2019, 2023)
    # the diagnosis quotes no census change
    inp = load_inputs(cfg)
    facts = select_facts(inp.table, inp.catalogue, code, code_ensemble=inp.code_epci, nom_ensemble=inp.nom_epci)
    sentences = _sentences(html)
    assert sentences == [phrase(f, inp.catalogue[f.indicateur]) for f in facts]
    census = [(f, s) for f, s in zip(facts, sentences) if inp.catalogue[f.indicateur].source == "insee_rp"]
    assert census
    for f, s in census:
        assert f.evolution is None and f.millesime_precedent is None and "depuis" not in s, s

    # [indicateurs] annees_ecart_min = 0 disables the rule: 2019 → 2022 shown, on the sheet and in sentences
    with cfg_path.open("a", encoding="utf-8") as fh:
        fh.write("\n[indicateurs]\nannees_ecart_min = 0\n")
    cfg0 = load_config(cfg_path)
    html0 = build_portraits(cfg0, pdf=False, quartiers=[code])[0].read_text(encoding="utf-8")
    assert _evolution_cell(html0, "part_neet_16_25") == _expected_change(cfg0, "part_neet_16_25", code, 2019, 2022)
    facts0 = select_facts(inp.table, inp.catalogue, code, code_ensemble=inp.code_epci, nom_ensemble=inp.nom_epci,
                          annees_ecart_min=0)
    sentences0 = _sentences(html0)
    assert sentences0 == [phrase(f, inp.catalogue[f.indicateur]) for f in facts0]
    census0 = [s for f, s in zip(facts0, sentences0) if inp.catalogue[f.indicateur].source == "insee_rp"]
    assert census0 and all("depuis 2019)" in s for s in census0)
    # the keyword argument wins over the configuration
    html5 = build_portraits(cfg0, pdf=False, quartiers=[code], annees_ecart_min=5)[0].read_text(encoding="utf-8")
    assert _evolution_cell(html5, "part_neet_16_25") == "" and _sentences(html5) == sentences


def test_bad_annees_ecart_min_is_a_config_error(tmp_path):
    from observatoire.errors import ConfigError
    from observatoire.portraits.render import read_annees_ecart_min

    f = tmp_path / "observatoire.toml"
    f.write_text('[territoire]\nepci = "245901160"\n[indicateurs]\nannees_ecart_min = "cinq"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="annees_ecart_min"):
        read_annees_ecart_min(load_config(f))
    f.write_text('[territoire]\nepci = "245901160"\n[indicateurs]\nannees_ecart_min = 3\n', encoding="utf-8")
    assert read_annees_ecart_min(load_config(f)) == 3
    f.write_text('[territoire]\nepci = "245901160"\n', encoding="utf-8")
    assert read_annees_ecart_min(load_config(f)) == 5


def test_partner_block_says_its_figures_are_real_in_a_simulated_sheet(tmp_path):
    """The demo sheet is simulated, but the figures printed in the contract documents are real."""
    for simule in (True, False):
        cfg = load_config(build_project(tmp_path / str(simule), simule=simule, notes=False))
        html = build_portraits(cfg, pdf=False)[0].read_text(encoding="utf-8")
        assert "Chiffres publiés par les partenaires" in html
        assert ("Ces chiffres-ci sont réels" in html) is simule
