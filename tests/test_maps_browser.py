"""Every generated map opened from file:// in real headless Chromium with all network blocked."""

import re

import pytest

from browser import open_offline, require_chromium
from conftest_maps import EVIL, make_fixture
from observatoire.maps.build import build_maps

pytestmark = pytest.mark.browser

#: JS run in each page: count drawn shapes (Leaflet SVG paths carry the layer's class) and legend.
PROBES = {
    "qpv2024": "document.querySelectorAll('path.obs-qpv2024').length",
    "qpv2015": "document.querySelectorAll('path.obs-qpv2015').length",
    "focus": "document.querySelectorAll('path.obs-focus').length",
    "iris": "document.querySelectorAll('path.obs-choro-iris').length",
    "choro_qpv": "document.querySelectorAll('path.obs-choro-qpv2024').length",
    "maps": "document.querySelectorAll('.leaflet-container').length",
    "legend": "Array.from(document.querySelectorAll('.obs-legend')).map(e => e.innerText)",
    "title": "Array.from(document.querySelectorAll('.obs-title')).map(e => e.innerText)",
    "img": "document.querySelectorAll('img').length",
    "links": "document.querySelectorAll('a[href]').length",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    require_chromium()
    root = tmp_path_factory.mktemp("cartes_navigateur")
    cfg, cat, info = make_fixture(root, simulated=True, evil=True)
    return cfg, info, build_maps(cfg, cat), root / "captures"


@pytest.mark.slow
def test_every_map_offline(site):
    cfg, info, paths, shots = site
    nq = info["n_qpv2024"]
    for p in paths:
        rel = p.relative_to(cfg.paths.maps).as_posix()
        rep = open_offline(p, screenshot=shots / (rel.replace("/", "_") + ".png"), evaluate=PROBES,
                           wait_ms=250)
        ev = rep.evaluations
        assert rep.console_errors == [] and rep.page_errors == [], (rel, rep.console_errors, rep.page_errors)
        assert rep.external_requests == [], (rel, rep.external_requests)
        assert ev["img"] == 0, rel
        if rel == "index.html":
            assert ev["links"] == len(paths) - 1  # one link per map
            continue
        assert ev["legend"] and all("secret statistique" in t and "non disponible" in t for t in ev["legend"]), rel
        assert all("Données simulées" in t for t in ev["title"]), rel
        if rel.startswith("themes/"):
            assert ev["maps"] == 1 and ev["qpv2024"] == nq and ev["qpv2015"] == info["n_qpv2015"], (rel, ev)
            assert ev["iris"] == info["n_iris"], (rel, ev)       # the IRIS layer is the active one
        elif rel.endswith("_quartiers_iris.html"):
            # quartier side: the choropleth draws the quartiers (outlines hidden); IRIS side: outlines
            assert ev["maps"] == 2 and ev["choro_qpv"] == nq and ev["qpv2024"] == nq, (rel, ev)
        elif rel.startswith("comparaison/"):
            assert ev["maps"] == 2 and ev["qpv2024"] == 2 * nq, (rel, ev)
        else:
            assert ev["maps"] == 1 and ev["focus"] == 1 and 1 <= ev["qpv2024"] <= nq, (rel, ev)
    assert (shots / "themes_revenus.html.png").stat().st_size > 10_000


def test_linked_pan_and_zoom(site):
    cfg, _, _, shots = site
    page = cfg.paths.maps / "comparaison" / "taux_pauvrete_2019_2021.html"
    js = """(() => {
      const maps = Object.keys(window).filter(k => k.startsWith('map_') && window[k] instanceof L.Map)
                                      .map(k => window[k]);
      maps[0].setView([50.36, 3.52], 15, {animate: false});
      const b = maps[1];
      return [maps.length, b.getZoom(), Math.round(b.getCenter().lat * 1e4), Math.round(b.getCenter().lng * 1e4)];
    })()"""
    rep = open_offline(page, screenshot=shots / "sync.png", evaluate={"sync": js})
    assert rep.page_errors == []
    # the second map follows the first: zoom 15, centre 50.36 N 3.52 E (×10⁴ rounded)
    assert rep.evaluations["sync"] == [2, 15, 503600, 35200]


def test_tooltips_render_names_as_text(site):
    cfg, info, _, shots = site
    page = cfg.paths.maps / "quartiers" / f"{info['qpv_codes'][0]}.html"
    js = """(() => {
      let opened = 0;
      Object.keys(window).filter(k => k.startsWith('map_') && window[k] instanceof L.Map).forEach(k => {
        window[k].eachLayer(l => {
          if (l.feature && l.getTooltip && l.getTooltip() && l.getBounds) {
            l.openTooltip(l.getBounds().getCenter()); opened++;
          }
        });
      });
      const tips = Array.from(document.querySelectorAll('.leaflet-tooltip .obs-tip')).map(e => e.innerText);
      return {opened: opened, tips: tips, img: document.querySelectorAll('img').length,
              title: document.querySelector('.obs-title').innerText};
    })()"""
    rep = open_offline(page, screenshot=shots / "tooltips.png", evaluate={"t": js})
    t = rep.evaluations["t"]
    assert rep.page_errors == [] and t["opened"] > 0
    assert t["img"] == 0                                  # the name did not become an <img>
    assert EVIL in t["title"]                              # …it is shown as text
    assert any(EVIL in tip for tip in t["tips"])
    # a choropleth tooltip: « <IRIS> (<code>) / <indicateur> (2022) : 26,2 % / simulé / Source : … »
    assert any(re.search(r"\(20\d\d\) : \d+,\d\u00a0%\nsimulé\nSource : ", tip) for tip in t["tips"]), t["tips"]


def test_ign_basemap_requests_only_ign(tmp_path):
    require_chromium()
    cfg, cat, info = make_fixture(tmp_path, simulated=False, fond="ign")
    build_maps(cfg, cat)
    rep = open_offline(cfg.paths.maps / "themes" / "revenus.html", evaluate=PROBES)
    assert rep.external_requests, "le fond IGN doit demander des tuiles"
    assert all(u.startswith("https://data.geopf.fr/wmts?") and "PLANIGNV2" in u for u in rep.external_requests)
    assert rep.evaluations["qpv2024"] == info["n_qpv2024"]
    assert not any("Données simulées" in t for t in rep.evaluations["title"])
