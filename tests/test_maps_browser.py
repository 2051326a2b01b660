"""Generated maps opened from file:// in real headless Chromium with all network blocked."""

import itertools
import re

import pytest

from browser import open_offline, require_chromium
from conftest_maps import EVIL, HAS_SHARED, PARTNER_LABEL, make_fixture
from observatoire.maps.build import build_maps

pytestmark = pytest.mark.browser

#: Share of a map that the legend and the layer list may cover together (issue 13: layout).
PART_MAX = 0.35
SMALL = (1024, 700)

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

#: Boxes (left, top, right, bottom) of each map, its legend and its layer control; then the same with
#: every layer list opened (as a hover opens it).
BOXES = """(() => {
  const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const all = () => Object.keys(window).filter(k => k.startsWith('obs_map_')).sort().map(k => {
    const o = window[k];
    return {map: box(o.map.getContainer()), legend: box(o.legend.getContainer()),
            layers: box(o.layers.getContainer()), folded: o.legend.folded,
            expanded: o.layers.getContainer().classList.contains('leaflet-control-layers-expanded')};
  });
  const before = all();
  Object.keys(window).filter(k => k.startsWith('obs_map_')).forEach(k => window[k].layers.expand());
  const open = all();
  Object.keys(window).filter(k => k.startsWith('obs_map_')).forEach(k => window[k].layers.collapse());
  return {before: before, open: open, after: all()};
})()"""

#: Visible commune name boxes per map, and the boxes of the controls they must not hide under.
LABELS = """(() => Array.from(document.querySelectorAll('.obs-map')).map(m => {
  const mr = m.getBoundingClientRect();
  const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const inside = b => b[2] > mr.left && b[0] < mr.right && b[3] > mr.top && b[1] < mr.bottom;
  return {labels: Array.from(m.querySelectorAll('.obs-label')).map(box).filter(inside),
          controls: Array.from(m.querySelectorAll('.leaflet-control')).map(box)};
}))()"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    require_chromium()
    root = tmp_path_factory.mktemp("cartes_navigateur")
    cfg, cat, info = make_fixture(root, mode="simule", evil=True)
    return cfg, info, build_maps(cfg, cat), root / "captures"


def _inter(a, b):
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(0.0, w) * max(0.0, h)


def _area(a):
    return max(0.0, a[2] - a[0]) * max(0.0, a[3] - a[1])


def _check_layout(state, where):
    for m in state:
        overlap = _inter(m["legend"], m["layers"])
        share = (_area(m["legend"]) + _area(m["layers"]) - overlap) / _area(m["map"])
        assert overlap == 0, (where, m)
        assert share < PART_MAX, (where, share, m)


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


@pytest.mark.parametrize("rel", ["themes/insertion.html", "quartier", "comparaison/taux_pauvrete_2019_2021.html",
                                 "comparaison/taux_pauvrete_quartiers_iris.html"])
def test_legend_and_layer_list_fit_at_1024x700(site, rel):
    cfg, info, _, shots = site
    if rel == "quartier":
        rel = f"quartiers/{info['qpv_codes'][0]}.html"
    page = cfg.paths.maps / rel
    rep = open_offline(page, screenshot=shots / f"layout_{rel.replace('/', '_')}.png",
                       evaluate={"boxes": BOXES}, viewport=SMALL)
    assert rep.page_errors == [], rep.page_errors
    b = rep.evaluations["boxes"]
    assert len(b["before"]) == (2 if rel.startswith("comparaison/") else 1)
    _check_layout(b["before"], "ouverture")
    # opened (a hover), the layer list stops above the legend or folds it: still no overlap, same share
    _check_layout(b["open"], "liste ouverte")
    assert all(m["expanded"] for m in b["open"])
    # closed again, the legend is back
    assert [m["folded"] for m in b["after"]] == [m["folded"] for m in b["before"]]
    assert not any(m["folded"] for m in b["before"])     # at 1024 × 700 the legend starts open


def test_legend_folds_with_its_button(site):
    cfg, info, _, shots = site
    js = """(() => {
      const o = window.obs_map_0, btn = o.legend.getContainer().querySelector('button.obs-toggle');
      const names = () => document.querySelectorAll('.obs-label').length;
      const h0 = o.legend.getContainer().getBoundingClientRect().height, n0 = names();
      btn.click();
      const h1 = o.legend.getContainer().getBoundingClientRect().height, n1 = names();
      const folded = [o.legend.folded, btn.getAttribute('aria-expanded'), btn.innerText];
      btn.click();
      return {h0: h0, h1: h1, n0: n0, n1: n1, n2: names(), folded: folded, back: o.legend.folded};
    })()"""
    rep = open_offline(cfg.paths.maps / "themes" / "revenus.html", evaluate={"f": js}, viewport=SMALL)
    f = rep.evaluations["f"]
    assert f["folded"] == [True, "false", "Légende"] and f["back"] is False
    assert f["h1"] < 40 < f["h0"]
    # the names are placed again around the folded legend (never fewer), and back when it unfolds
    assert f["n1"] >= f["n0"] and f["n2"] == f["n0"]


@pytest.mark.parametrize("rel", ["themes/revenus.html", "comparaison/taux_pauvrete_2019_2021.html", "quartier"])
def test_commune_names_never_collide(site, rel):
    cfg, info, _, shots = site
    if rel == "quartier":
        rel = f"quartiers/{info['qpv_codes'][0]}.html"
    zoom_out = """(() => { Object.keys(window).filter(k => k.startsWith('obs_map_')).forEach(k => {
        const m = window[k].map; m.setZoom(m.getZoom() - 2, {animate: false}); }); return true; })()"""
    rep = open_offline(cfg.paths.maps / rel, screenshot=shots / f"labels_{rel.replace('/', '_')}.png",
                       evaluate={"initial": LABELS, "zoom": zoom_out, "low": LABELS}, viewport=SMALL)
    assert rep.page_errors == []
    for m in rep.evaluations["initial"]:
        boxes = m["labels"]
        for a, b in itertools.combinations(boxes, 2):
            assert _inter(a, b) == 0, (rel, a, b)
        for a in boxes:                       # no name under the title, the legend or a button
            assert all(_inter(a, c) == 0 for c in m["controls"]), (rel, a)
    if not rel.startswith("quartiers/"):
        initial = sum(len(m["labels"]) for m in rep.evaluations["initial"])
        low = sum(len(m["labels"]) for m in rep.evaluations["low"])
        assert initial >= 1 and low <= initial
        if HAS_SHARED:                        # 35 real communes: zoomed out, some names must go
            assert low < initial


def test_studied_quartier_stands_out(site):
    cfg, info, _, shots = site
    code = info["qpv_codes"][1]
    js = """(() => {
      const focus = Array.from(document.querySelectorAll('path.obs-focus'));
      const halo = Array.from(document.querySelectorAll('path.obs-focus-halo'));
      const others = Array.from(document.querySelectorAll('path.obs-qpv2024'));
      const sw = e => parseFloat(e.getAttribute('stroke-width'));
      const op = e => parseFloat(e.getAttribute('stroke-opacity'));
      return {focus: focus.map(sw), halo: halo.map(sw), others: others.map(op), focusOp: focus.map(op)};
    })()"""
    rep = open_offline(cfg.paths.maps / "quartiers" / f"{code}.html", screenshot=shots / "focus.png",
                       evaluate={"f": js}, viewport=SMALL)
    f = rep.evaluations["f"]
    assert len(f["focus"]) == 1 and f["focus"][0] >= 4 and f["halo"][0] > f["focus"][0]
    assert f["focusOp"] == [1] and f["others"] and max(f["others"]) < 0.5


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


TIPS = """(() => {
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


def test_tooltips_render_names_as_text(site):
    cfg, info, _, shots = site
    page = cfg.paths.maps / "quartiers" / f"{info['qpv_codes'][0]}.html"
    rep = open_offline(page, screenshot=shots / "tooltips.png", evaluate={"t": TIPS})
    t = rep.evaluations["t"]
    assert rep.page_errors == [] and t["opened"] > 0
    assert t["img"] == 0                                  # the name did not become an <img>
    assert EVIL in t["title"]                              # …it is shown as text
    assert any(EVIL in tip for tip in t["tips"])
    # a choropleth tooltip: « <IRIS> (<code>) / <indicateur> (2022) : 26,2 % / simulé / Source : … »
    assert any(re.search(r"\(20\d\d\) : \d+,\d\u00a0%\nsimulé\nSource : ", tip) for tip in t["tips"]), t["tips"]


def test_partner_tooltip_says_partner_figure(site):
    cfg, info, _, shots = site
    js = """(() => {
      const o = window.obs_map_0, m = o.map;
      const i = o.cfg.layers.findIndex(d => d.partner);
      const names = [o.cfg.layers[i].name];
      o.choro.forEach(l => m.removeLayer(l));
      m.addLayer(o.choro[i]);
      m.fire('baselayerchange', {layer: o.choro[i]});
      const tips = [];
      o.choro[i].eachLayer(l => { l.openTooltip(l.getBounds().getCenter());
        const t = l.getTooltip().getElement(); if (t) { tips.push(t.innerText); } });
      return {name: names[0], tips: tips, legend: o.legend.getContainer().innerText};
    })()"""
    rep = open_offline(cfg.paths.maps / "themes" / "insertion.html", evaluate={"p": js}, viewport=SMALL)
    assert rep.page_errors == []
    p = rep.evaluations["p"]
    assert "chiffre partenaire" in p["name"] and "simulé" not in p["name"]
    assert f"Source : {PARTNER_LABEL}" in p["legend"] and "chiffre partenaire" in p["legend"]
    assert any("41,0\u00a0%" in tip and "chiffre partenaire (2019)" in tip and f"Source : {PARTNER_LABEL}" in tip
               for tip in p["tips"]), p["tips"]


def test_ign_basemap_requests_only_ign(tmp_path):
    require_chromium()
    cfg, cat, info = make_fixture(tmp_path, mode="reel", fond="ign")
    build_maps(cfg, cat)
    rep = open_offline(cfg.paths.maps / "themes" / "revenus.html", evaluate=PROBES)
    assert rep.external_requests, "le fond IGN doit demander des tuiles"
    assert all(u.startswith("https://data.geopf.fr/wmts?") and "PLANIGNV2" in u for u in rep.external_requests)
    assert rep.evaluations["qpv2024"] == info["n_qpv2024"]
    assert not any("simulé" in t or "Données simulées" in t for t in rep.evaluations["title"])
