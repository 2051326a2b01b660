"""HTML portraits: figures equal to the CSV and to the sentences, one geography per sheet, provenance,
producer notes, unavailable references, back-test paragraph, indexes, notes, partners."""

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

NBSP, NNBSP = "\u00a0", "\u202f"


class Cells(HTMLParser):
    """Every element carrying ``data-indicateur`` and ``data-territoire``: attributes, direct text (marks and
    details left out), the classes of its ``sup`` marks, and the part of the sheet (``fiche``/``annexe``)."""

    def __init__(self):
        super().__init__()
        self.cells, self._stack, self._skip, self._part = [], [], 0, ""
        self._sups: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "article":
            self._part = "fiche" if "fiche" in a.get("class", "") else "annexe"
        if "data-indicateur" in a and "data-territoire" in a:
            self._stack.append([a, "", []])
        elif self._stack and tag in ("sup", "span"):
            self._skip += 1
            if tag == "sup":
                self._stack[-1][2].append(a.get("class", ""))

    def handle_endtag(self, tag):
        if self._stack and tag in ("sup", "span") and self._skip:
            self._skip -= 1
        elif self._stack and tag in ("td", "data"):
            a, txt, sups = self._stack.pop()
            self.cells.append({"a": a, "texte": txt.strip(), "marques": sups, "partie": self._part})

    def handle_data(self, data):
        if self._stack and not self._skip:
            self._stack[-1][1] += data


def cells_of(html: str) -> list[dict]:
    p = Cells()
    p.feed(html)
    return p.cells


def part(html: str, name: str) -> str:
    return html.split(f'<article class="{name}"')[1].split("</article>")[0]


def sentences(html: str) -> list[tuple[str, str]]:
    """``(indicateur, text)`` of each diagnosis bullet, marks removed."""
    block = html.split("<h2>Éléments de diagnostic</h2>")[1].split("</section>")[0]
    out = []
    for ind, body in re.findall(r'<li data-indicateur="([^"]+)"[^>]*>(.*?)</li>', block, re.S):
        out.append((ind, unescape(re.sub(r"<[^>]+>", "", re.sub(r"<sup[^>]*>.*?</sup>", "", body)))))
    return out


@pytest.fixture(scope="module")
def projet(tmp_path_factory):
    """A mixed project (census figures real, the others simulated), 2024 and 2015 sheets, back-test layer."""
    root = tmp_path_factory.mktemp("projet")
    cfg = load_config(build_project(root, simule="mixte", verification=True))
    paths = build_portraits(cfg, pdf=False)
    paths15 = build_portraits(cfg, pdf=False, geographie="2015")
    return cfg, paths, paths15


@pytest.fixture(scope="module")
def simule(tmp_path_factory):
    root = tmp_path_factory.mktemp("simule")
    cfg = load_config(build_project(root, simule=True))
    return cfg, build_portraits(cfg, pdf=False)


def _sheets(paths):
    return [p for p in paths if not p.name.startswith("index")]


def test_one_sheet_per_quartier_and_index(projet):
    cfg, paths, paths15 = projet
    import geopandas as gpd
    codes = sorted(gpd.read_file(cfg.paths.gpkg, layer="qpv_2024")["code_qp"])
    assert len(codes) == (15 if HAS_SHARED else 4)
    assert sorted(p.stem for p in _sheets(paths)) == codes
    index = (cfg.paths.portraits / "index.html").read_text(encoding="utf-8")
    for c in codes:
        assert f'href="{c}.html"' in index
    assert paths15[-1].name == "index-2015.html"


def test_every_figure_equals_the_csv_and_knows_its_provenance(projet):
    cfg, paths, paths15 = projet
    csv = pd.read_csv(cfg.paths.indicateurs_csv, sep=";", encoding="utf-8-sig", dtype={"code_territoire": str})
    cat = load_catalogue(cfg.paths.root / "catalogue.yaml", validate=False)
    regular = csv[csv["methode"] != "partenaire"].set_index(["type_territoire", "code_territoire", "indicateur",
                                                              "millesime"]).sort_index()
    checked = simulated = 0
    for p in _sheets(paths) + _sheets(paths15):
        for c in cells_of(p.read_text(encoding="utf-8")):
            a = c["a"]
            if "data-source" in a:          # partner figure: checked in test_partner_figures
                continue
            row = regular.loc[(a["data-type"], a["data-territoire"], a["data-indicateur"], int(a["data-millesime"]))]
            ind = cat[a["data-indicateur"]]
            expected = {"secret": "secret", "nd": "n. d."}.get(row["statut"]) or fr.format_valeur(
                row["valeur"], ind.unite, ind.decimales)
            assert c["texte"] == expected, (p.name, a, c["texte"], expected)
            has_value = row["statut"] in ("ok", "estime")
            # provenance: the cell's flag is the CSV's; on this mixed sheet a simulated figure is marked ◊
            assert a["data-simule"] == ("oui" if (row["simule"] and has_value) else "non"), (p.name, a)
            assert ("m-sim" in c["marques"]) == bool(row["simule"] and has_value), (p.name, a)
            # estimates: one short « e » mark, nothing else in the cell
            estimate = row["methode"] in ("surface", "dasymetrique", "transposition_2015_2024") and has_value
            assert ("m-e" in c["marques"]) == estimate, (p.name, a)
            simulated += bool(row["simule"] and has_value)
            checked += 1
    assert checked > 500 and 0 < simulated < checked


def test_sentence_figures_are_the_sheet_figures(projet):
    """Every figure a sentence quotes is a cell of the same sheet: value, reference, their gap, the change."""
    cfg, paths, paths15 = projet
    number = r"−?[\d\u202f]+(?:,\d+)?"
    n_sentences = epci_refs = 0
    for p, type_q, ens in ([(p, "qpv2024", "ensemble_qpv2024_epci") for p in _sheets(paths)]
                           + [(p, "qpv2015", "ensemble_qpv2015_epci") for p in _sheets(paths15)]):
        html = p.read_text(encoding="utf-8")
        cells = {}
        for c in cells_of(part(html, "annexe")):
            a = c["a"]
            if "data-source" in a:
                continue
            cells[(a["data-type"], a["data-indicateur"], int(a["data-millesime"]))] = c["texte"]
        evolutions = {ind: unescape(re.sub(r"<[^>]+>", "", ev)).strip() for ind, ev in re.findall(
            r'<tr data-indicateur="([^"]+)">.*?<td class="num evolution">(.*?)</td>', part(html, "annexe"), re.S)}
        for ind, s in sentences(html):
            n_sentences += 1
            m = re.search(rf"({number}(?:{NBSP}[^ ,;]+(?: par mois)?)?) .*?en (\d{{4}})", s)
            year = int(m.group(2))
            value = cells[(type_q, ind, year)]
            assert value in s.split(f" en {year}")[0], (p.name, s, value)
            g = re.search(rf"contre (.+?) pour l'ensemble (des quartiers prioritaires|d).*?, soit ({number})"
                          rf"{NBSP}(points?|%) de (plus|moins)", s)
            if g:   # the set of the EPCI's quartiers, else (rule 5b: medians, poverty) the EPCI itself
                ref = cells[(ens if g.group(2).startswith("des") else "epci", ind, year)]
                assert g.group(1) == ref, (p.name, s, ref)
                v, r = fr.parse_nombre(value.split(NBSP)[0]), fr.parse_nombre(ref.split(NBSP)[0])
                gap = v - r if g.group(4).startswith("point") else 100 * (v - r) / r
                assert fr.parse_nombre(g.group(3)) == pytest.approx(abs(gap), abs=0.051 if g.group(4) != "%" else 0.51)
                assert (g.group(5) == "plus") == (gap > 0)
                epci_refs += not g.group(2).startswith("des")
            e = re.search(rf"une (hausse|baisse) de ({number}){NBSP}(points?|%) depuis (\d{{4}})", s)
            if e:
                sign = "+" if e.group(1) == "hausse" else "\u2212"
                assert evolutions[ind] == f"{sign}{e.group(2)}{NBSP}{e.group(3)} depuis {e.group(4)}", (p.name, s)
            assert g or e, s
    assert n_sentences >= 10


def test_one_geography_per_sheet(projet):
    cfg, paths, paths15 = projet
    for p in _sheets(paths):
        html = p.read_text(encoding="utf-8")
        types = {c["a"]["data-type"] for c in cells_of(html) if "data-type" in c["a"]}
        assert "ensemble_qpv2024_epci" in types and not any("2015" in t for t in types), p.name
        assert "QPV 2024 de l&#39;EPCI" in html and "QPV 2015" not in html
    for p in _sheets(paths15):
        html = p.read_text(encoding="utf-8")
        types = {c["a"]["data-type"] for c in cells_of(html) if "data-type" in c["a"]}
        assert "ensemble_qpv2015_epci" in types and not any("2024" in t for t in types), p.name
        # the 2015 set of France (INSEE's « Ensemble des QPV ») is a column of 2015 sheets
        assert "ensemble_qpv2015_france" in types
        assert all("quartiers prioritaires 2015 de Valenciennes Métropole" in s for _, s in sentences(html)
                   if "contre" in s), p.name


def test_unavailable_references_give_their_reason(projet):
    cfg, paths, paths15 = projet
    html = unescape((cfg.paths.portraits / "QN05920M.html").read_text(encoding="utf-8"))
    fiche = part(html, "fiche")
    # nd with a reason, in a column that has other figures
    assert "QPV 2024 du département : non disponible pour Taux de pauvreté — taux publié sans dénominateur : " \
           "pas de somme." in fiche
    # the quartier's own unavailable figure, with its reason
    assert "Quartier : non disponible pour Part des moins de 15 ans — effectif de moins de 11 ménages : non " \
           "publié." in fiche
    # a column without any figure is left out and said so
    assert "QPV 2024 de France (" in fiche and "non disponible — aucun chiffre dans le tableau des indicateurs" in fiche
    assert 'data-type="ensemble_qpv2024_france"' not in html
    # 2015 sheets: the 2015 set of the département is nd everywhere → column left out, reason given once
    html15 = unescape(_sheets(paths15)[0].read_text(encoding="utf-8"))
    assert "QPV 2015 du département (ensemble des quartiers prioritaires 2015 du département 59) : non " \
           "disponible — taux publié sans dénominateur : pas de somme." in part(html15, "fiche")
    assert 'data-type="ensemble_qpv2015_departement"' not in html15


def test_mixed_sheet_marks_each_simulated_figure_and_counts_the_real_ones(projet):
    cfg, paths, _ = projet
    html = (cfg.paths.portraits / "QN05920M.html").read_text(encoding="utf-8")
    assert 'id="donnees-simulees"' not in html and "@top-center" not in html     # no global banner
    for name, libelle in (("fiche", "cette fiche"), ("annexe", "cette annexe")):
        cells = [c for c in cells_of(part(html, name)) if "data-source" not in c["a"]
                 and c["a"]["data-statut"] in ("ok", "estime")]
        real = sum(c["a"]["data-simule"] == "non" for c in cells)
        assert 0 < real < len(cells)
        verbe = "sont réels" if real > 1 else "est réel"
        assert f"{real} chiffres sur {len(cells)} de {libelle} {verbe}" in unescape(html), name
    # the legend explains the mark; sentences quoting simulated figures carry it too
    assert "◊</sup> : chiffre simulé" in html
    poverty = [s for i, s in re.findall(r'<li data-indicateur="([^"]+)"[^>]*>(.*?)</li>', html, re.S)
               if i == "taux_pauvrete"]
    assert poverty and 'class="m-sim"' in poverty[0]          # Filosofi figures are simulated in « mixte »
    emploi = [s for i, s in re.findall(r'<li data-indicateur="([^"]+)"[^>]*>(.*?)</li>', html, re.S)
              if i.startswith(("taux_emploi", "part_neet", "part_locataires"))]
    assert all("m-sim" not in s for s in emploi)              # census figures are real in « mixte »


def test_fully_simulated_sheet_keeps_one_banner_and_no_marks(simule):
    _, paths = simule
    for p in paths:
        html = p.read_text(encoding="utf-8")
        assert 'id="donnees-simulees"' in html, p.name
        assert 'class="m-sim"' not in html and "chiffres sur" not in html
    sheet = _sheets(paths)[0].read_text(encoding="utf-8")
    assert "@top-center" in sheet and "DONNÉES SIMULÉES" in sheet


def test_real_sheet_has_no_simulated_mark_at_all(tmp_path):
    cfg = load_config(build_project(tmp_path, simule=False, notes=False))
    paths = build_portraits(cfg, pdf=False, quartiers=["QN05920M", "QN05930M"])
    # a partial rebuild (--quartier) leaves the index of the full run alone
    assert [p.name for p in paths] == ["QN05920M.html", "QN05930M.html"]
    paths.append(build_portraits(cfg, pdf=False)[-1])
    assert paths[-1].name == "index.html"
    for p in paths:
        txt = p.read_text(encoding="utf-8").lower()
        assert "simulé" not in txt and "◊" not in txt and 'class="m-sim"' not in txt, p.name
        assert 'data-simule="oui"' not in txt


def test_producer_notes_are_footnotes(projet):
    cfg, _, _ = projet
    html = (cfg.paths.portraits / "QN05920M.html").read_text(encoding="utf-8")
    note = "note de qualité 1 du producteur (Cnaf) : chiffre à interpréter avec précaution."
    for name in ("fiche", "annexe"):
        block = part(html, name)
        cell = [c for c in cells_of(block) if c["a"]["data-indicateur"] == "part_allocataires_prestations_50pct"
                and c["a"]["data-type"] == "qpv2024"]
        assert cell and "m-note" in cell[0]["marques"], name
        assert re.search(r'<ol class="notes-producteur">\s*<li value="1">' + re.escape(note), block), name
    # a sheet without producer notes has no footnote list
    assert '<ol class="notes-producteur">' not in (cfg.paths.portraits / "QN05930M.html").read_text(encoding="utf-8")


def test_fiche_then_annex_with_short_estimate_marks(projet):
    cfg, _, _ = projet
    html = (cfg.paths.portraits / "QN05930M.html").read_text(encoding="utf-8")
    fiche, annexe = part(html, "fiche"), part(html, "annexe")
    assert fiche.index('class="page page-1"') < fiche.index("Chiffres clés") < fiche.index('class="page page-2"') \
        < fiche.index("Éléments de diagnostic") < fiche.index("Sources et méthode")
    assert 'class="carte-situation"' in fiche and "<svg" in fiche
    # every indicator of the catalogue with a figure is in the annex, one table per theme
    assert annexe.count('<section class="theme"') >= 6 and 'class="position"' in annexe
    # the poor estimate: « e », greyed, its full wording in the tooltip, no line of text under the figure
    m = re.search(r'<td class="num quartier estime faible" data-territoire="QN05930M" data-type="qpv2024" '
                  r'data-indicateur="taux_pauvrete"[^>]*title="([^"]+)">97,5\u00a0%<sup class="m-e">e</sup>', annexe)
    assert m and "qualité faible" in m.group(1) and "couverture 40" in m.group(1)
    assert "statut-detail" not in part(html, "fiche")
    # sources named by producer and edition, not by file
    assert "Insee, recensement de la population 2017 et 2022 ; Insee, Filosofi 2021" in fiche
    assert ".csv" not in fiche.lower() and ".geojson" not in fiche.lower()


def test_back_test_paragraph_on_2024_sheets_with_estimates(projet):
    cfg, _, paths15 = projet
    texte = unescape((cfg.paths.portraits / "QN05921M.html").read_text(encoding="utf-8"))
    # QN05921M prints a dasymetric estimate: the two dasymetric rows (key figure first), 0,857 → 86 %
    assert ("Vérification de la méthode : sur les 14 quartiers 2015 de Valenciennes Métropole, les estimations "
            "par pondération par la population carroyée s'écartent en médiane des chiffres de l'Insee de "
            f"1,8{NBSP}point pour le taux de pauvreté (2021 ; 79{NBSP}% des quartiers à ±2 points) et de "
            f"4,2{NBSP}% pour le revenu disponible médian par unité de consommation (2021 ; 86{NBSP}% des "
            "quartiers à ±10 %).") in texte
    # QN05930M prints an area-weighted estimate: the « surface » row only
    t30 = unescape((cfg.paths.portraits / "QN05930M.html").read_text(encoding="utf-8"))
    assert ("sur les 12 quartiers 2015 de Valenciennes Métropole, les estimations par pondération par la "
            f"surface s'écartent en médiane des chiffres de l'Insee de 2,6{NBSP}points pour la part de la "
            "population couverte par la C2S (2023 ; 50") in t30
    # no estimate on the sheet, or a 2015 sheet: no paragraph
    assert "Vérification de la méthode" not in (cfg.paths.portraits / "QN05920M.html").read_text(encoding="utf-8")
    assert all("Vérification de la méthode" not in p.read_text(encoding="utf-8") for p in paths15)


def test_no_back_test_layer_no_paragraph(simule):
    cfg, _ = simule
    assert "Vérification de la méthode" not in (cfg.paths.portraits / "QN05921M.html").read_text(encoding="utf-8")


def test_simulated_back_test_says_so():
    from observatoire.portraits.verification import paragraphe
    from portraits_fixture import VERIFICATION
    from observatoire.catalogue import Indicateur

    cat = {"taux_pauvrete": Indicateur("taux_pauvrete", "Taux de pauvreté", "revenus", "%", "ratio", "insee_filosofi")}
    v = VERIFICATION.assign(simule=True)
    txt = paragraphe(v, cat, {"surface"})
    assert txt.endswith("Vérification faite sur des données simulées (démonstration).")
    assert paragraphe(v, cat, set()) == "" and paragraphe(None, cat, {"surface"}) == ""


def test_indexes_link_to_each_other(projet):
    cfg, _, _ = projet
    out = cfg.paths.portraits
    idx24 = (out / "index.html").read_text(encoding="utf-8")
    idx15 = (out / "index-2015.html").read_text(encoding="utf-8")
    # the 2015 index was written after the 2024 one: the 2024 index's navigation now links to it
    assert 'href="index-2015.html"' in idx24 and 'href="index.html"' in idx15
    # zones not built yet: the command to run, not a dead link
    assert 'href="index-zones.html"' not in idx24 and "observatoire portraits --geographie zones" in idx24
    zones = build_portraits(cfg, pdf=False, geographie="zones")
    assert zones[-1].name == "index-zones.html"
    assert 'href="index-zones.html"' in (out / "index.html").read_text(encoding="utf-8")
    assert 'href="index-2015.html"' in (out / "index-zones.html").read_text(encoding="utf-8")


def test_territory_without_quartiers_gets_an_index_that_says_so(tmp_path):
    cfg = load_config(build_project(tmp_path / "sans2024", simule=False, sans_quartiers=("2024",)))
    paths = build_portraits(cfg, pdf=True)               # no sheet: nothing to print, no Chromium needed
    assert [p.name for p in paths] == ["index.html"]
    html = unescape(re.sub(r"</?code>", "", paths[0].read_text(encoding="utf-8")))
    assert "Ce territoire ne compte aucun quartier prioritaire 2024" in html
    assert "quartiers prioritaires 2015 (à produire avec observatoire portraits --geographie 2015)" in html
    build_portraits(cfg, pdf=False, geographie="2015")
    html = unescape((cfg.paths.portraits / "index.html").read_text(encoding="utf-8"))
    assert 'href="index-2015.html"' in html
    cfg0 = load_config(build_project(tmp_path / "aucun", simule=False, sans_quartiers=("2024", "2015", "zones")))
    html0 = unescape(build_portraits(cfg0, pdf=False)[0].read_text(encoding="utf-8"))
    assert "aucun autre quartier prioritaire ni aucune zone d'observation" in html0


def test_no_diagnosis_says_why(tmp_path):
    cfg = load_config(build_project(tmp_path, simule=False, notes=False))
    csv = cfg.paths.indicateurs_csv
    t = pd.read_csv(csv, sep=";", encoding="utf-8-sig", dtype=str)
    m = (t["code_territoire"] == "QN05922M") & (t["statut"] == "ok")
    t.loc[m, ["statut", "methode", "qualite"]] = ["estime", "surface", "faible"]   # every figure poor
    t.to_csv(csv, sep=";", index=False, encoding="utf-8-sig")
    html = unescape(build_portraits(cfg, pdf=False, quartiers=["QN05922M"])[0].read_text(encoding="utf-8"))
    assert sentences(html) == []
    assert "Trop peu de chiffres utilisables (0) pour rédiger un diagnostic" in html


def test_self_contained_html(projet):
    _, paths, _ = projet
    for p in paths:
        html = p.read_text(encoding="utf-8")
        assert "<script" not in html.lower() and "<link" not in html.lower()
        assert not re.search(r'(src|href)="(https?:)?//', html)
        assert "@import" not in html and "url(http" not in html


def test_notes_merged_and_escaped(projet):
    cfg, _, _ = projet
    html = (cfg.paths.portraits / "QN05920M.html").read_text(encoding="utf-8")
    fiche = part(html, "fiche")
    for titre in ("Atouts", "Points de vigilance", "Enjeux retenus"):
        assert f"<h3>{titre}</h3>" in fiche
    assert "<strong>tissu associatif</strong>" in html
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "<em>isolement</em>" in html and "<ol>" in html
    assert "Diagnostic partagé et enjeux" not in (cfg.paths.portraits / "QN05930M.html").read_text(encoding="utf-8")


def test_markdown_is_safe():
    out = str(render_markdown('[x](javascript:alert(1)) <img src=x onerror=alert(1)> **gras**'))
    assert 'href="javascript' not in out and "<img" not in out and "&lt;img" in out
    assert "<strong>gras</strong>" in out


def test_read_notes_sections(tmp_path):
    f = tmp_path / "Q.md"
    f.write_text("## Atouts\n- a\n## Autre chose\nignoré\n## POINTS DE VIGILANCE\nb\n", encoding="utf-8")
    notes = read_notes(f)
    assert set(notes) == {"atouts", "points_de_vigilance"}
    assert "ignoré" not in "".join(map(str, notes.values()))


def test_partner_figures_with_their_source(projet):
    cfg, _, _ = projet
    html = (cfg.paths.portraits / "QN05920M.html").read_text(encoding="utf-8")
    block = unescape(html.split("Chiffres publiés par les partenaires")[1])
    assert "Part de jeunes ni en emploi ni en formation" in block
    assert "Un travailleur sur 4 résidant dans le quartier occupe un emploi précaire" in block
    partner = {c["a"]["data-indicateur"]: c["texte"] for c in cells_of(html)
               if c["a"].get("data-source") == "contrat_ville_cavm"}
    assert partner == {"part_neet_16_25": "41\u00a0%", "part_emplois_precaires": "25\u00a0%"}
    assert "5,4" not in block
    assert block.count("Source : Contrat de ville 2015-2020 et projets de quartiers 2024 de Valenciennes Métropole") == 2
    assert "Chiffres publiés par les partenaires" not in (cfg.paths.portraits / "QN05930M.html").read_text(encoding="utf-8")


def test_zone_sheet_escapes_names_and_reads_2024_references(projet):
    cfg, _, _ = projet
    paths = build_portraits(cfg, pdf=False, geographie="zones")
    html = paths[0].read_text(encoding="utf-8")
    assert "Les Floralies &lt;veille&gt; &amp; co" in html and "<veille>" not in html
    assert 'data-type="ensemble_qpv2024_epci"' in html and "ensemble_qpv2015" not in html
    index = (cfg.paths.portraits / "index.html").read_text(encoding="utf-8")
    assert "QN05930M.html" in index and "VEILLE_MARLY_FLORALIES.html" not in index


def test_unknown_quartier_old_table_and_missing_data(projet, tmp_path):
    cfg, _, _ = projet
    with pytest.raises(ObservatoireError, match="QN09999X"):
        build_portraits(cfg, pdf=False, quartiers=["QN09999X"])
    empty = tmp_path / "vide.toml"
    empty.write_text('[territoire]\nepci = "245901160"\n', encoding="utf-8")
    with pytest.raises(ObservatoireError, match="observatoire build"):
        build_portraits(load_config(empty), pdf=False)
    old = tmp_path / "ancien.csv"
    pd.read_csv(cfg.paths.indicateurs_csv, sep=";", encoding="utf-8-sig").drop(columns=["simule", "motif"]).to_csv(
        old, sep=";", index=False, encoding="utf-8-sig")
    with pytest.raises(ObservatoireError, match="simule, motif"):
        read_indicateurs(old)


def test_html_written_and_clear_error_without_chromium(tmp_path, monkeypatch):
    cfg = load_config(build_project(tmp_path, simule=True, notes=False))
    monkeypatch.setattr(pdf_mod, "chromium_path", lambda: None)
    with pytest.raises(pdf_mod.ChromiumAbsentError, match="apt-get install chromium"):
        build_portraits(cfg, pdf=True)
    assert (cfg.paths.portraits / "QN05920M.html").exists() and (cfg.paths.portraits / "index.html").exists()
    assert not (cfg.paths.portraits / "QN05920M.pdf").exists()
    assert not list(cfg.paths.portraits.glob(".*tmp"))


def test_chromium_found_on_path_or_from_the_environment(tmp_path, monkeypatch):
    exe = tmp_path / "mon-chromium"
    exe.write_text("#!/bin/sh\n", encoding="utf-8")
    exe.chmod(0o755)
    monkeypatch.setenv("OBSERVATOIRE_CHROMIUM", str(exe))
    assert pdf_mod.chromium_path() == exe
    monkeypatch.setenv("OBSERVATOIRE_CHROMIUM", str(tmp_path / "absent"))
    assert pdf_mod.chromium_path() is None
    monkeypatch.delenv("OBSERVATOIRE_CHROMIUM")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "google-chrome").symlink_to(exe)
    monkeypatch.setenv("PATH", str(bindir))
    assert pdf_mod.chromium_path() == bindir / "google-chrome"


def test_build_pdfs_needs_the_html_first(tmp_path):
    cfg = load_config(build_project(tmp_path, simule=True, notes=False))
    with pytest.raises(ObservatoireError, match="observatoire portraits --sans-pdf --geographie 2015"):
        pdf_mod.build_pdfs(cfg, geographie="2015", quartiers=["QP059020"])


def test_read_indicateurs_keeps_codes_as_text(projet):
    cfg, _, _ = projet
    t = read_indicateurs(cfg.paths.indicateurs_csv)
    assert "59" in set(t.loc[t["type_territoire"] == "departement", "code_territoire"])
    assert t["millesime"].dtype == "Int64" and t["simule"].dtype == bool


def test_commune_parts_of_a_multi_commune_quartier(projet):
    cfg, _, _ = projet
    html = (cfg.paths.portraits / "QN05921M.html").read_text(encoding="utf-8")
    block = html.split('id="parties-communales"')[1].split("</section>")[0]
    assert "<th scope=\"col\">Anzin</th>" in block and "<th scope=\"col\">Valenciennes</th>" in block
    assert 'data-territoire="QN05921M_59014" data-type="partie_qpv2024"' in block
    assert 'id="parties-communales"' not in (cfg.paths.portraits / "QN05920M.html").read_text(encoding="utf-8")


# ------------------------------------------------------------------ INSEE's census comparison rule
def _evolution_cell(html: str, ind: str) -> str:
    row = part(html, "annexe").split(f'<tr data-indicateur="{ind}">')[1].split("</tr>")[0]
    return unescape(re.sub(r"<[^>]+>", "", re.search(r'<td class="num evolution">(.*?)</td>', row, re.S).group(1)))


def _expected_change(cfg, ind: str, code: str, y0: int, y1: int) -> str:
    """« +x,y points depuis y0 » for a rate: printed value(y1) − printed value(y0) of the CSV."""
    t = read_indicateurs(cfg.paths.indicateurs_csv)
    t = t[(t["type_territoire"] == "qpv2024") & (t["code_territoire"] == code) & (t["indicateur"] == ind)
          & (t["methode"] != "partenaire")].set_index("millesime")["valeur"]
    d = round(round(float(t.loc[y1]), 1) - round(float(t.loc[y0]), 1), 1)
    txt = "stable" if d == 0 else fr.format_points(d, 1)
    return f"{txt} depuis {y0}"


def test_census_change_shown_when_five_years_apart(projet):
    cfg, _, _ = projet
    html = (cfg.paths.portraits / "QN05920M.html").read_text(encoding="utf-8")
    assert _evolution_cell(html, "part_neet_16_25") == _expected_change(cfg, "part_neet_16_25", "QN05920M", 2017, 2022)


def test_census_editions_three_years_apart_are_not_compared(tmp_path, monkeypatch):
    import portraits_fixture

    monkeypatch.setitem(portraits_fixture.YEARS, "insee_rp", [2019, 2022])
    cfg_path = build_project(tmp_path, simule=False, notes=False)
    cfg = load_config(cfg_path)
    code = "QN05920M"
    html = build_portraits(cfg, pdf=False, quartiers=[code])[0].read_text(encoding="utf-8")
    for ind in ("part_neet_16_25", "taux_emploi_15_64", "part_locataires_hlm"):
        assert _evolution_cell(html, ind) == "", ind
    assert _evolution_cell(html, "part_c2s") == _expected_change(cfg, "part_c2s", code, 2019, 2023)
    # no census change over 3 years in the diagnosis either (C2S, not a census, may say « depuis 2019 »)
    cat = load_catalogue(cfg.paths.root / "catalogue.yaml", validate=False)
    census = [(i, s) for i, s in sentences(html) if cat[i].source.startswith("insee_rp")]
    assert census and all("depuis 2019" not in s for _, s in census)
    with cfg_path.open("a", encoding="utf-8") as fh:
        fh.write("\n[indicateurs]\nannees_ecart_min = 0\n")
    cfg0 = load_config(cfg_path)
    html0 = build_portraits(cfg0, pdf=False, quartiers=[code])[0].read_text(encoding="utf-8")
    assert _evolution_cell(html0, "part_neet_16_25") == _expected_change(cfg0, "part_neet_16_25", code, 2019, 2022)
    html5 = build_portraits(cfg0, pdf=False, quartiers=[code], annees_ecart_min=5)[0].read_text(encoding="utf-8")
    assert _evolution_cell(html5, "part_neet_16_25") == ""


def test_bad_annees_ecart_min_is_a_config_error(tmp_path):
    from observatoire.errors import ConfigError
    from observatoire.portraits.render import read_annees_ecart_min

    f = tmp_path / "observatoire.toml"
    f.write_text('[territoire]\nepci = "245901160"\n[indicateurs]\nannees_ecart_min = "cinq"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="annees_ecart_min"):
        read_annees_ecart_min(load_config(f))
    f.write_text('[territoire]\nepci = "245901160"\n[indicateurs]\nannees_ecart_min = 3\n', encoding="utf-8")
    assert read_annees_ecart_min(load_config(f)) == 3


def test_partner_block_says_its_figures_are_real_in_a_simulated_sheet(tmp_path):
    for simule in (True, False):
        cfg = load_config(build_project(tmp_path / str(simule), simule=simule, notes=False))
        html = build_portraits(cfg, pdf=False, quartiers=["QN05920M"])[0].read_text(encoding="utf-8")
        assert "Chiffres publiés par les partenaires" in html
        assert ("Ces chiffres-ci sont réels" in html) is simule
