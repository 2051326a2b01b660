"""The ``observatoire maps`` stage on a fixture GeoPackage (real geometries when ../shared is present)."""

import html
import json
import re

import geopandas as gpd
import numpy as np
import pytest
import shapely

from conftest_maps import EVIL, EVIL_COMMUNE, HAS_SHARED, make_fixture
from observatoire.errors import ObservatoireError
from observatoire.maps import assets
from observatoire.maps.build import (BUDGET_QUARTIER, BUDGET_TERRITOIRE, build_maps, feature_collection,
                                     load_inputs, map_sizes, simplify_display, simulated_inputs)
from observatoire.maps.classify import fixed_bins

URL = re.compile(r"https?://[^\s\"'<>)\\]+")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("cartes")
    cfg, cat, info = make_fixture(root, simulated=True, evil=True)
    paths = build_maps(cfg, cat)
    return cfg, info, paths


@pytest.fixture(scope="module")
def built_real_inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cartes_reelles")
    cfg, cat, info = make_fixture(root, simulated=False, fond="ign",
                                  extra_cartes={"bornes": {"taux_pauvrete": [20, 30, 40, 50]}})
    return cfg, info, build_maps(cfg, cat)


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


def test_banner_iff_simulated(built, built_real_inputs):
    for p in built[2]:
        assert "Données simulées" in p.read_text(encoding="utf-8"), p
    for p in built_real_inputs[2]:
        text = p.read_text(encoding="utf-8")
        assert "Données simulées" not in text and "simulé" not in text, p
    assert simulated_inputs(built[1]["gpkg"]) == ["fixture/valeurs_inventees.csv"]
    assert simulated_inputs(built_real_inputs[1]["gpkg"]) == []


def test_data_strings_are_escaped(built):
    cfg, info, paths = built
    for p in paths:
        text = p.read_text(encoding="utf-8")
        assert EVIL not in text and "<script>alert" not in text, p
    page = (cfg.paths.maps / "quartiers" / f"{info['qpv_codes'][0]}.html").read_text(encoding="utf-8")
    assert html.escape(EVIL) in page                       # in the title box, as text
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in page  # in the JSON data (textContent in JS)
    theme = (cfg.paths.maps / "themes" / "revenus.html").read_text(encoding="utf-8")
    # a commune named « </script><script>alert(2)</script> » cannot close the data script
    assert EVIL_COMMUNE not in theme
    assert "\\u003c/script\\u003e\\u003cscript\\u003ealert(2)" in theme


def test_comparison_uses_identical_bins(built):
    cfg, info, _ = built
    gpkg = info["gpkg"]
    ind = load_inputs(gpkg)["indicateurs"]
    rows = ind[(ind["indicateur"] == "taux_pauvrete") & (ind["type_territoire"] == "iris")
               & ind["valeur"].notna()]
    by_year = {int(y): g["valeur"].to_numpy(float) for y, g in rows.groupby("millesime")}
    ref = fixed_bins(by_year, "quantiles", 5, "reference")       # 2019 = reference year
    assert ref.annee == 2019
    page = (cfg.paths.maps / "comparaison" / "taux_pauvrete_2019_2021.html").read_text(encoding="utf-8")
    cfgs = re.findall(r"ObsCarte\.init\(map_\w+, (\{.*?\}), OBS_DATA\);", page)
    assert len(cfgs) == 2
    legends = [json.loads(c)["layers"][0]["legend"] for c in cfgs]
    assert "quantiles de 2019" in legends[1]
    years = [json.loads(c)["layers"][0]["year"] for c in cfgs]
    assert years == ["2019", "2021"]
    for lab in ref.labels("%", 1):
        assert html.escape(lab) in legends[0] and html.escape(lab) in legends[1]
    # same class keys as a direct classification of the 2021 values with the 2019 bins
    lay21 = json.loads(cfgs[1])["layers"][0]
    data = json.loads(re.search(r"var OBS_DATA = (\{.*?\});</script>", page, re.S).group(1))
    codes = [f["properties"]["c"] for f in data["geo"]["iris"]["features"]]
    r21 = rows[rows["millesime"] == 2021].set_index("code_territoire")["valeur"]
    i = next(i for i, c in enumerate(codes) if c in r21.index)
    assert lay21["k"][i] == str(ref.assign([r21[codes[i]]])[0])


def test_sizes_within_budget(built):
    cfg, info, _ = built
    sizes = map_sizes(cfg.paths.maps)
    print({k: v for k, v in sizes.items() if k.startswith("_")})
    assert sizes["_max_territoire"] <= BUDGET_TERRITOIRE
    assert sizes["_max_quartier"] <= BUDGET_QUARTIER
    assert sizes["_budget_ok"] is True
    assert sum(1 for k in sizes if k.startswith("quartiers/")) == info["n_qpv2024"]


@pytest.mark.skipif(not HAS_SHARED, reason="../shared/data/valenciennes absent : périmètres réels indisponibles")
def test_real_territory_has_15_quartier_maps(built):
    cfg, info, _ = built
    assert info["real"] and info["n_qpv2024"] == 15
    assert len(list((cfg.paths.maps / "quartiers").glob("*.html"))) == 15


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


def _layer_cfgs(page):
    return [json.loads(c) for c in re.findall(r"ObsCarte\.init\(map_\w+, (\{.*?\}), OBS_DATA\);", page)]


def test_configured_bins_used_and_counts_not_mapped(built, built_real_inputs):
    cfg, _, _ = built_real_inputs
    page = (cfg.paths.maps / "themes" / "revenus.html").read_text(encoding="utf-8")
    legend = _layer_cfgs(page)[0]["layers"][0]["legend"]
    assert "plus de 50,0\u00a0%" in legend and "bornes fixées" in legend
    # « population » (type effectif) has IRIS rows in the fixture but a choropleth of counts misleads
    demo = (built[0].paths.maps / "themes" / "demographie.html").read_text(encoding="utf-8")
    labels = [lay["label"] for lay in _layer_cfgs(demo)[0]["layers"]]
    assert labels == ["Part des 60 ans et plus", "Part des 60 ans et plus"]  # IRIS and quartiers


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
