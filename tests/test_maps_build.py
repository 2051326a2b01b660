"""The ``observatoire maps`` stage on fixture GeoPackages (real geometries when ../shared is present)."""

import html
import json
import re

import geopandas as gpd
import numpy as np
import pytest
import shapely

from conftest_maps import (EVIL, EVIL_COMMUNE, HAS_SHARED, MOTIF_ND, PARTNER_LABEL, is_simulated, make_fixture,
                           quartier_value)
from observatoire.errors import ObservatoireError
from observatoire.maps import assets, geometry
from observatoire.maps import territoire as territoire_module
from observatoire.maps.build import (BUDGET_QUARTIER, BUDGET_TERRITOIRE, build_maps, feature_collection,
                                     load_inputs, map_sizes, simplify_display, simulated_inputs)
from observatoire.maps.classify import classes_for_count, fixed_bins

URL = re.compile(r"https?://[^\s\"'<>)\\]+")
#: French words a page uses to mark something simulated (Leaflet's own code says « _simulated »).
MARKS = ("simulé", "simulée", "Données simulées", "Simulé")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("cartes")
    cfg, cat, info = make_fixture(root, mode="simule", evil=True)
    paths = build_maps(cfg, cat)
    return cfg, info, paths


@pytest.fixture(scope="module")
def built_mixed(tmp_path_factory):
    root = tmp_path_factory.mktemp("cartes_mixtes")
    cfg, cat, info = make_fixture(root, mode="mixte")
    return cfg, info, build_maps(cfg, cat)


@pytest.fixture(scope="module")
def built_real_inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cartes_reelles")
    cfg, cat, info = make_fixture(root, mode="reel", fond="ign",
                                  extra_cartes={"bornes": {"taux_pauvrete": [20, 30, 40, 50]}})
    return cfg, info, build_maps(cfg, cat)


def _cfgs(page):
    return [json.loads(c) for c in re.findall(r"ObsCarte\.init\(map_\w+, (\{.*?\}), OBS_DATA\);", page)]


def _page(cfg, rel):
    return (cfg.paths.maps / rel).read_text(encoding="utf-8")


def _layer(cfgs, name_start):
    return next(lay for c in cfgs for lay in c["layers"] if html.unescape(lay["name"]).startswith(name_start))


def _data(page):
    return json.loads(re.search(r"var OBS_DATA = (\{.*?\});</script>", page, re.S).group(1))


def _class_items(legend):
    """Labels of the class items of a legend (the first list)."""
    first = legend.split("<ul>", 1)[1].split("</ul>", 1)[0]
    return re.findall(r"</svg>([^<]*)</li>", first)


def test_expected_files(built):
    cfg, info, paths = built
    rel = sorted(p.relative_to(cfg.paths.maps).as_posix() for p in paths)
    assert paths[0] == cfg.paths.maps / "index.html"
    assert [r for r in rel if r.startswith("themes/")] == ["themes/demographie.html", "themes/insertion.html",
                                                           "themes/revenus.html"]
    assert sorted(r for r in rel if r.startswith("quartiers/")) == sorted(
        f"quartiers/{c}.html" for c in info["qpv_codes"])
    # two millésimes for taux_pauvrete (2019, 2021) and taux_emploi_1564 (2017, 2022), IRIS scale;
    # quartier vs IRIS for the three indicators
    assert [r for r in rel if r.startswith("comparaison/")] == [
        "comparaison/part_60_plus_quartiers_iris.html", "comparaison/taux_emploi_1564_2017_2022.html",
        "comparaison/taux_emploi_1564_quartiers_iris.html", "comparaison/taux_pauvrete_2019_2021.html",
        "comparaison/taux_pauvrete_quartiers_iris.html"]
    index = (cfg.paths.maps / "index.html").read_text(encoding="utf-8")
    for r in rel:
        if r != "index.html":
            assert f'href="{r}"' in index


def test_no_remote_url_and_no_cdn(built):
    cfg, _, paths = built
    for p in paths:
        text = p.read_text(encoding="utf-8")
        assert set(URL.findall(text)) <= set(assets.INERT_URLS), p
        assert "<script src" not in text and "<link" not in text and "geopf" not in text
        assert "url(images/" not in text


def test_ign_basemap_only_when_chosen(built_real_inputs):
    cfg, _, paths = built_real_inputs
    theme = next(p for p in paths if "themes/" in p.as_posix())
    text = theme.read_text(encoding="utf-8").replace("\\u0026", "&")  # JSON-escaped « & »
    urls = set(URL.findall(text)) - set(assets.INERT_URLS)
    assert len(urls) == 1
    url = urls.pop()
    assert url.startswith("https://data.geopf.fr/wmts?") and "LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2" in url
    assert "TILEMATRIXSET=PM" in url


# ---- provenance (issue 9.5) -------------------------------------------------------------------


def test_real_inputs_carry_no_simulated_mark(built_real_inputs):
    for p in built_real_inputs[2]:
        text = p.read_text(encoding="utf-8")
        assert not any(m in text for m in MARKS), p
    assert simulated_inputs(built_real_inputs[1]["gpkg"]) == []


def test_every_map_of_simulated_inputs_says_so(built):
    cfg, info, paths = built
    for p in paths:
        assert "Données simulées" in p.read_text(encoding="utf-8"), p
    page = _page(cfg, "themes/insertion.html")
    for lay in _cfgs(page)[0]["layers"]:
        # producer figures are simulated; partner figures never are
        assert lay["sim"] is not bool(lay.get("partner")), lay["name"]
        assert ("(simulé)" in lay["name"]) is lay["sim"]


def test_mixed_inputs_mark_each_simulated_layer(built_mixed):
    cfg, info, _ = built_mixed
    # revenus: the poverty rate is real at every scale; only the IRIS contours are simulated
    rev = _cfgs(_page(cfg, "themes/revenus.html"))[0]
    assert [lay["sim"] for lay in rev["layers"]] == [False, False, False, False]   # IRIS, 2024, 2015, partner
    assert not any("(simulé)" in lay["name"] or "(simulé)" in lay["legend"] for lay in rev["layers"])
    assert not any("chiffres simulés" in lay["legend"] for lay in rev["layers"])
    assert "Données simulées" not in rev["title"] and "contours IRIS simulés" in rev["title"]
    iris, q24, q15, _ = rev["layers"]
    assert "contours IRIS simulés" in iris["legend"]
    assert "contours IRIS" not in q24["legend"] and "contours IRIS" not in q15["legend"]
    # insertion: employment rate simulated at the IRIS, quartier 2024 and 2015 scales; the two partner
    # layers (quartiers 2024 and 2015) are real: 3 simulated layers out of 5
    ins = _cfgs(_page(cfg, "themes/insertion.html"))[0]
    assert [lay["sim"] for lay in ins["layers"]] == [True, True, True, False, False]
    assert "Données simulées : 3 couches sur 5" in ins["title"]
    for lay in ins["layers"]:
        assert ("(simulé)" in lay["name"]) is lay["sim"] and ("(simulé)" in lay["legend"]) is lay["sim"]
    # a comparison of two real poverty maps has no layer mark, only the IRIS contour mark
    for c in _cfgs(_page(cfg, "comparaison/taux_pauvrete_2019_2021.html")):
        assert "Données simulées" not in c["title"] and "contours IRIS simulés" in c["title"]
    # quartier side of the scale comparison: real figures on real perimeters, no mark at all
    q_side, iris_side = _cfgs(_page(cfg, "comparaison/taux_pauvrete_quartiers_iris.html"))
    assert not any(m in json.dumps(q_side, ensure_ascii=False) for m in MARKS)
    assert "contours IRIS simulés" in iris_side["title"]


def test_tooltips_carry_motifs_notes_and_estimates(built_mixed):
    cfg, info, _ = built_mixed
    ins = _cfgs(_page(cfg, "themes/insertion.html"))[0]
    iris = ins["layers"][0]
    notes = [iris["notes"][i] for i in iris["ni"]]
    k = iris["k"]
    # IRIS n° 5 is nd with its motif, n° 3 secret, n° 2 carries the Cnaf note
    assert k[5] == "nd" and notes[5] == f"non disponible : {MOTIF_ND}\nsimulé"
    assert k[3] == "s" and notes[3].startswith("secret statistique")
    assert notes[2] == "note de qualité 1 du producteur (Cnaf) : chiffre à interpréter avec précaution\nsimulé"
    q15 = ins["layers"][2]
    assert q15["k"][-1] == "nd" and q15["notes"][q15["ni"][-1]] == f"non disponible : {MOTIF_ND}\nsimulé"
    q24 = _cfgs(_page(cfg, "themes/revenus.html"))[0]["layers"][1]
    assert q24["notes"][q24["ni"][1]] == "estimé (pondération par la population carroyée), qualité moyenne, couverture 80\u00a0%"
    assert q24["k"][1].endswith("e")


def test_simulated_outlines_named_in_outline_legend(built, built_mixed):
    sim = _cfgs(_page(built[0], "themes/revenus.html"))[0]
    names = {o["geo"]: html.unescape(o["name"]) for o in sim["outlines"] if not o.get("only")}
    assert names["qpv2015"].endswith("(simulé)") and names["qpv2024"].endswith("(simulé)")
    mixed = _cfgs(_page(built_mixed[0], "themes/revenus.html"))[0]
    names = {o["geo"]: html.unescape(o["name"]) for o in mixed["outlines"] if not o.get("only")}
    assert not any(n.endswith("(simulé)") for n in names.values())   # perimeters and communes are real


# ---- classes per scale (issue 12.5) ----------------------------------------------------------


def test_classes_computed_per_scale(built_mixed):
    cfg, info, _ = built_mixed
    n = info["n_qpv2024"]
    k = classes_for_count(5, n)
    assert k >= 3
    rev = _cfgs(_page(cfg, "themes/revenus.html"))[0]
    q24 = rev["layers"][1]
    # few quartiers: the breaks pool the two years (quartier j = 20 + 2 j in 2019, 21 + 2 j in 2021),
    # i.e. the 2 n integers 20 … 20 + 2 n - 1, whose percentile p is 20 + (2 n - 1) p (linear
    # interpolation); the breaks are those at p = 1/k … (k-1)/k
    pooled = {2019: [20 + 2 * j for j in range(n)], 2021: [21 + 2 * j for j in range(n)]}
    expected = fixed_bins(pooled, "quantiles", 5, "toutes", n_territoires=n)
    assert expected.k == k
    assert expected.breaks == pytest.approx([20 + (2 * n - 1) * i / k for i in range(1, k)])
    for lab in expected.labels("%", 1):
        assert html.escape(lab) in q24["legend"]
    assert "quantiles, toutes années" in q24["legend"]
    assert "propres à l&#x27;échelle quartiers prioritaires 2024" in q24["legend"]
    values = [quartier_value("taux_pauvrete", j, 2021) for j in range(n)]
    assert [key.rstrip("e") for key in q24["k"]] == [str(c) for c in expected.assign(values)]
    # the IRIS layer has its own breaks, from the IRIS values of 2019
    t = info["tidy"]
    iris = t[(t["type_territoire"] == "iris") & (t["indicateur"] == "taux_pauvrete") & t["valeur"].notna()]
    iris_classes = fixed_bins({int(y): g["valeur"].to_numpy() for y, g in iris.groupby("millesime")},
                              "quantiles", 5, "reference")
    assert _class_items(rev["layers"][0]["legend"]) == [html.escape(x) for x in iris_classes.labels("%", 1)]
    assert _class_items(q24["legend"]) == [html.escape(x) for x in expected.labels("%", 1)]
    # the quartier panel of the poverty comparison fills at least 3 classes (the panels inform)
    comp = _cfgs(_page(cfg, "comparaison/taux_pauvrete_quartiers_iris.html"))[0]["layers"][0]
    assert comp["year"] == "2021" and len({key.rstrip("e") for key in comp["k"]}) >= 3


def test_2015_quartiers_coloured_with_their_own_classes(built_mixed):
    cfg, info, _ = built_mixed
    rev = _cfgs(_page(cfg, "themes/revenus.html"))[0]
    q15 = rev["layers"][2]
    assert html.unescape(q15["name"]) == "Taux de pauvreté — quartiers prioritaires 2015"
    assert q15["geo"] == "qpv2015" and q15["cls"] == "obs-choro-qpv2015"
    m = info["n_qpv2015"]
    # the last 2015 quartier is nd: the breaks come from the m - 1 others, both years pooled
    expected = fixed_bins({y: [quartier_value("taux_pauvrete", j, y) for j in range(m - 1)] for y in (2019, 2021)},
                          "quantiles", 5, "toutes", n_territoires=m)
    assert q15["k"][:-1] == [str(c) for c in expected.assign(
        [quartier_value("taux_pauvrete", j, 2021) for j in range(m - 1)])]
    codes = [f["properties"]["c"] for f in _data(_page(cfg, "themes/revenus.html"))["geo"]["qpv2015"]["features"]]
    assert codes == info["q15_codes"]


def test_comparison_uses_identical_bins(built):
    cfg, info, _ = built
    gpkg = info["gpkg"]
    ind = load_inputs(gpkg)["indicateurs"]
    rows = ind[(ind["indicateur"] == "taux_pauvrete") & (ind["type_territoire"] == "iris")
               & ind["valeur"].notna()]
    by_year = {int(y): g["valeur"].to_numpy(float) for y, g in rows.groupby("millesime")}
    ref = fixed_bins(by_year, "quantiles", 5, "reference")       # 2019 = reference year
    assert ref.annee == 2019
    page = _page(cfg, "comparaison/taux_pauvrete_2019_2021.html")
    cfgs = _cfgs(page)
    assert len(cfgs) == 2
    legends = [c["layers"][0]["legend"] for c in cfgs]
    assert "quantiles de 2019" in legends[1]
    assert [c["layers"][0]["year"] for c in cfgs] == ["2019", "2021"]
    for lab in ref.labels("%", 1):
        assert html.escape(lab) in legends[0] and html.escape(lab) in legends[1]
    lay21 = cfgs[1]["layers"][0]
    codes = [f["properties"]["c"] for f in _data(page)["geo"]["iris"]["features"]]
    r21 = rows[rows["millesime"] == 2021].set_index("code_territoire")["valeur"]
    i = next(i for i, c in enumerate(codes) if c in r21.index)
    assert lay21["k"][i] == str(ref.assign([r21[codes[i]]])[0])


def test_configured_bins_used_and_counts_not_mapped(built, built_real_inputs):
    cfg, _, _ = built_real_inputs
    layers = _cfgs(_page(cfg, "themes/revenus.html"))[0]["layers"]
    for lay in layers:            # bins of [cartes.bornes] win at every scale
        assert "plus de 50,0\u00a0%" in lay["legend"] and "bornes fixées" in lay["legend"]
    # « population » (type effectif) has IRIS rows in the fixture but a choropleth of counts misleads
    demo = _page(built[0], "themes/demographie.html")
    labels = [lay["label"] for lay in _cfgs(demo)[0]["layers"]]
    assert labels == ["Part des 60 ans et plus"] * 3  # IRIS, quartiers 2024, quartiers 2015


# ---- partner figures (issue 11.3) -------------------------------------------------------------


def test_partner_figures_are_their_own_layer(built):
    cfg, info, _ = built
    ins = _cfgs(_page(cfg, "themes/insertion.html"))[0]
    p24 = _layer([ins], "Taux d'emploi — quartiers prioritaires 2024, chiffre partenaire")
    assert p24["source"] == PARTNER_LABEL and p24["sim"] is False and p24["partner"] is True
    assert f"Source : {html.escape(PARTNER_LABEL)}" in p24["legend"] and "chiffre partenaire" in p24["legend"]
    assert p24["year"] == "2019"
    # latest figure per quartier: quartier 0 → 41,0 % (2019, not 44,0 % of 2011), last quartier → 35,5 %
    codes = info["qpv_codes"]
    assert p24["v"][0] == "41,0 %" and p24["v"][-1] == "35,5 %"
    assert all(v == "non disponible" for v in p24["v"][1:-1])
    assert p24["y"][0] == "2019"
    assert p24["notes"][p24["ni"][0]] == f"chiffre partenaire (2019), publié pour « {codes[0]} (périmètre du bailleur) »"
    # the producers' quartier figures are simulated here: a real layer does not take its class bounds
    # from them but from the partner's own figures, years pooled: 44,0 / 41,0 / 35,5 for 2 quartiers
    # → 2 classes, the break at the median 41,0 (upper bound included)
    assert "calculées sur les chiffres de ce partenaire" in p24["legend"]
    assert "chiffres simulés" not in p24["legend"]
    assert _class_items(p24["legend"]) == ["jusqu&#x27;à 41,0 %", "plus de 41,0 %"]
    assert p24["k"][0] == "0" and p24["k"][-1] == "0"
    # the 2015 partner figure is mapped on the 2015 quartiers
    p15 = _layer([ins], "Taux d'emploi — quartiers prioritaires 2015, chiffre partenaire")
    assert p15["v"][0] == "38,0 %"
    # an indicator outside the catalogue is not mapped
    assert "part_logements_bailleur" not in (cfg.paths.maps / "index.html").read_text(encoding="utf-8")


def test_partner_layer_takes_the_classes_of_real_producer_figures(built_mixed):
    cfg, info, _ = built_mixed
    rev = _cfgs(_page(cfg, "themes/revenus.html"))[0]
    q24 = _layer([rev], "Taux de pauvreté — quartiers prioritaires 2024")
    p24 = _layer([rev], "Taux de pauvreté — quartiers prioritaires 2024, chiffre partenaire")
    # the poverty rate of the producers is real: one colour means one range on both layers
    assert "celles des quartiers prioritaires 2024" in p24["legend"]
    assert _class_items(p24["legend"]) == _class_items(q24["legend"])
    n = info["n_qpv2024"]
    classes = fixed_bins({y: [quartier_value("taux_pauvrete", j, y) for j in range(n)] for y in (2019, 2021)},
                         "quantiles", 5, "toutes", n_territoires=n)
    assert p24["k"][-1] == str(classes.assign([30.0])[0]) and p24["v"][-1] == "30,0 %"
    # the employment rate of the producers is simulated: its partner layer says nothing simulated
    ins = _cfgs(_page(cfg, "themes/insertion.html"))[0]
    p = _layer([ins], "Taux d'emploi — quartiers prioritaires 2024, chiffre partenaire")
    assert p["sim"] is False and "simulé" not in p["legend"] and "simulé" not in "".join(p["notes"])


def test_partner_layer_on_quartier_maps_with_partner_figures(built):
    cfg, info, _ = built
    codes = info["qpv_codes"]
    for j, code in enumerate(codes):
        page = _cfgs(_page(cfg, f"quartiers/{code}.html"))[0]
        names = [html.unescape(lay["name"]) for lay in page["layers"]]
        has = any("chiffre partenaire" in n for n in names)
        assert has is (j in (0, len(codes) - 1)), (code, names)


# ---- quartier maps --------------------------------------------------------------------------


def test_quartier_map_outlines_the_studied_quartier(built):
    cfg, info, _ = built
    code = info["qpv_codes"][1]
    page = _page(cfg, f"quartiers/{code}.html")
    c = _cfgs(page)[0]
    assert c["focus"] == {"code": code, "geo": "qpv2024"}
    focus = next(o for o in c["outlines"] if o.get("only"))
    assert focus["only"] == code and focus["style"]["weight"] >= 4 and focus["halo"]["weight"] > focus["style"]["weight"]
    others = next(o for o in c["outlines"] if o["geo"] == "qpv2024" and not o.get("only"))
    assert others["fade"] is True
    # only the surroundings are in the page: the quartier and the IRIS near it
    data = _data(page)["geo"]
    assert code in [f["properties"]["c"] for f in data["qpv2024"]["features"]]
    assert 0 < len(data["iris"]["features"]) < info["n_iris"]
    lay = c["layers"][0]
    assert len(lay["k"]) == len(data[lay["geo"]]["features"])


def test_data_strings_are_escaped(built):
    cfg, info, paths = built
    for p in paths:
        text = p.read_text(encoding="utf-8")
        assert EVIL not in text and "<script>alert" not in text, p
    page = _page(cfg, f"quartiers/{info['qpv_codes'][0]}.html")
    assert html.escape(EVIL) in page                       # in the title box, as text
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in page  # in the JSON data (textContent in JS)
    theme = _page(cfg, "themes/revenus.html")
    # a commune named « </script><script>alert(2)</script> » cannot close the data script
    assert EVIL_COMMUNE not in theme
    assert "\\u003c/script\\u003e\\u003cscript\\u003ealert(2)" in theme


# ---- speed (issue 13.3): shared work done once, parallel writing identical ----------------------


def test_geometry_simplified_once_per_set_and_tolerance(tmp_path, monkeypatch):
    cfg, cat, info = make_fixture(tmp_path, mode="mixte", real=False)
    calls, noded = [], []
    simplify, ready = geometry.simplify_display, geometry.coverage_ready

    def counting(geoms, tol, coverage=False, done=None):
        calls.append(tol)
        return simplify(geoms, tol, coverage, done)

    def counting_ready(arr, *a):
        noded.append(len(arr))
        return ready(arr, *a)

    monkeypatch.setattr(geometry, "simplify_display", counting)
    monkeypatch.setattr(territoire_module, "coverage_ready", counting_ready)
    paths = build_maps(cfg, cat, workers=1)
    assert len(paths) == 1 + 3 + 5 + info["n_qpv2024"]
    # 5 sets (IRIS, quartiers 2024 and 2015, communes, zones) at 2 tolerances, the quartier sets
    # sharing the finer one: 2 + 2 + 3 = 7 simplifications for 12 pages (it was one per page and set)
    assert len(calls) == 7
    # the coverages (IRIS, communes) are made exact once, for both tolerances
    assert sorted(noded) == sorted([info["n_iris"], info["n_communes"]])


def test_parallel_writing_gives_the_same_files(tmp_path):
    cfg, cat, info = make_fixture(tmp_path / "a", mode="mixte", real=False)
    serial = {p.relative_to(cfg.paths.maps): p.read_bytes() for p in build_maps(cfg, cat, workers=1)}
    cfg2, cat2, _ = make_fixture(tmp_path / "b", mode="mixte", real=False)
    parallel = {p.relative_to(cfg2.paths.maps): p.read_bytes() for p in build_maps(cfg2, cat2, workers=2)}
    assert serial == parallel and len(serial) == 1 + 3 + 5 + info["n_qpv2024"]


def test_progress_is_shown(tmp_path, monkeypatch, capsys):
    cfg, cat, info = make_fixture(tmp_path, mode="reel", real=False)
    monkeypatch.setenv("OBSERVATOIRE_SILENCE", "")
    build_maps(cfg, cat, workers=1)
    err = capsys.readouterr().err
    n = 3 + 5 + info["n_qpv2024"]
    assert f"cartes : {n}/{n} (100 %)" in err


def test_sizes_within_budget(built):
    cfg, info, _ = built
    sizes = map_sizes(cfg.paths.maps)
    print({k: v for k, v in sizes.items() if k.startswith("_")})
    assert sizes["_max_territoire"] <= BUDGET_TERRITOIRE
    assert sizes["_max_quartier"] <= BUDGET_QUARTIER
    assert sizes["_budget_ok"] is True
    assert sum(1 for k in sizes if k.startswith("quartiers/")) == info["n_qpv2024"]


@pytest.mark.shared
@pytest.mark.skipif(not HAS_SHARED, reason="../shared/data/valenciennes absent : périmètres réels indisponibles")
def test_real_territory_has_15_quartier_maps(built):
    cfg, info, _ = built
    assert info["real"] and info["n_qpv2024"] == 15
    assert len(list((cfg.paths.maps / "quartiers").glob("*.html"))) == 15


# ---- geometry -----------------------------------------------------------------------------------


def test_coverage_simplification_keeps_shared_borders():
    # two squares sharing x = 100; the left one has 99 extra vertices on that border, the right one a
    # vertex 0,4 m off it (a 20 m² sliver gap, mean width 0,2 m): not an exact coverage, the
    # simplified polygons must still share one border with no gap and no overlap
    left = shapely.segmentize(shapely.box(0, 0, 100, 100), 1.0)
    right = shapely.Polygon([(100, 0), (200, 0), (200, 100), (100, 100), (100.4, 50)])
    s = gpd.GeoSeries([left, right], crs="EPSG:2154")
    out = simplify_display(s, 5.0, coverage=True)
    a, b = out.iloc[0], out.iloc[1]
    assert shapely.coverage_is_valid(np.array([a, b]))
    assert a.intersection(b).area == pytest.approx(0, abs=1e-6)    # no overlap
    assert a.intersection(b).length == pytest.approx(100, abs=0.1)   # the whole border is shared
    assert shapely.get_num_coordinates(a) < 20                      # the 400 vertices are gone
    assert shapely.union_all([a, b]).area == pytest.approx(20_000, rel=1e-3)  # no gap


def test_coordinates_rounded_to_5_decimals():
    g = gpd.GeoDataFrame({"c": ["X"], "n": ["x"]},
                         geometry=[shapely.box(720_000.123, 7_030_000.456, 721_000.789, 7_031_000.1)],
                         crs="EPSG:2154")
    fc = feature_collection(g, "c", "n", 1.0)
    txt = json.dumps(fc)
    assert re.search(r"\d\.\d{6,}", txt) is None
    assert re.search(r"\d\.\d{5}", txt)


def test_missing_gpkg_is_a_french_user_error(tmp_path):
    with pytest.raises(ObservatoireError, match="observatoire build") as e:
        load_inputs(tmp_path / "absent.gpkg")
    assert "absent.gpkg" in str(e.value)


def test_v1_table_statut_simule_still_marked(tmp_path):
    # a table of the first contract (statut « simule », no simule column) is still read as simulated
    import pyogrio

    cfg, cat, info = make_fixture(tmp_path, mode="reel", real=False)
    t = info["tidy"].drop(columns=["simule", "note_producteur", "motif", "couverture"])
    t.loc[t["type_territoire"] == "iris", "statut"] = t.loc[t["type_territoire"] == "iris", "statut"].replace(
        "ok", "simule")
    pyogrio.write_dataframe(t, info["gpkg"], layer="indicateurs")
    ind = load_inputs(info["gpkg"])["indicateurs"]
    iris = ind[ind["type_territoire"] == "iris"]
    assert set(iris["statut"]) == {"ok", "secret", "nd"}
    assert iris.loc[iris["statut"] == "ok", "simule"].all()
    assert not ind.loc[ind["type_territoire"] == "qpv2024", "simule"].any()
    assert is_simulated("reel", "taux_pauvrete") is False


@pytest.mark.parametrize("cartes, motif", [({"classification": "jenks"}, "classification"),
                                          ({"classes": 12}, "de 2 à 9 classes"),
                                          ({"bornes": {"taux_pauvrete": [30, 20]}}, "croissante"),
                                          ({"bornes": {"inconnu": [1, 2]}}, "catalogue")])
def test_bad_cartes_section_is_a_user_error(tmp_path, cartes, motif):
    cfg, cat, _ = make_fixture(tmp_path, real=False, extra_cartes=cartes)
    with pytest.raises(ObservatoireError, match=motif) as e:
        build_maps(cfg, cat)
    assert "observatoire.toml" in str(e.value)
    assert not (cfg.paths.maps / "index.html").exists()
