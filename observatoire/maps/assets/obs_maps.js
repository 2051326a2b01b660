/* Observatoire des quartiers : couches des cartes (choroplèthes, contours, étiquettes, légende, titre).
 * Code du projet (licence MIT). Les données arrivent en JSON ; tout texte issu des données est
 * inséré avec textContent (jamais innerHTML) ; les fragments HTML (légende, titre, noms de couches)
 * sont produits et échappés côté Python. */
var ObsCarte = (function () {
  "use strict";

  /* Part of a map that the legend and the layer list may cover together, at most. */
  var PART_MAX = 0.35;
  var FADE = 0.35;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }

  function htmlControl(position, cls, html) {
    var C = L.Control.extend({
      options: { position: position },
      onAdd: function () {
        var d = L.DomUtil.create("div", "obs-box " + cls);
        if (html) { d.innerHTML = html; }
        L.DomEvent.disableClickPropagation(d);
        L.DomEvent.disableScrollPropagation(d);
        return d;
      }
    });
    return new C();
  }

  /* ---- tooltips ---- */

  function choroTip(def, i, props) {
    var box = el("div", "obs-tip");
    box.appendChild(el("b", null, props.n));
    if (props.c) { box.appendChild(el("span", "obs-code", " (" + props.c + ")")); }
    var year = def.y && def.y[i] ? def.y[i] : def.year;
    box.appendChild(el("div", null, def.label + " (" + year + ") : " + (def.v[i] || "\u2014")));
    var note = def.notes[def.ni[i]];
    if (note) {
      note.split("\n").forEach(function (line) { box.appendChild(el("div", "obs-note", line)); });
    }
    if (def.source) { box.appendChild(el("div", "obs-src", "Source : " + def.source)); }
    return box;
  }

  function outlineTip(prefix, props) {
    var box = el("div", "obs-tip");
    box.appendChild(el("b", null, props.n));
    box.appendChild(el("div", "obs-note", prefix + (props.c ? " " + props.c : "")));
    return box;
  }

  /* ---- layers ---- */

  function choroLayer(def, geo, focus) {
    var index = {};
    geo.features.forEach(function (f, i) { index[f.properties.c] = i; });
    var fade = focus && focus.geo === def.geo;
    return L.geoJSON(geo, {
      style: function (f) {
        var i = index[f.properties.c];
        var s = L.extend({}, def.styles[def.k[i]]);
        s.className = def.cls;
        if (fade && f.properties.c !== focus.code) {
          s.fillOpacity = (s.fillOpacity === undefined ? 0.85 : s.fillOpacity) * FADE;
          s.opacity = (s.opacity === undefined ? 1 : s.opacity) * FADE;
          s.className += " obs-faded";
        }
        return s;
      },
      onEachFeature: function (f, layer) {
        var i = index[f.properties.c];
        layer.bindTooltip(function () { return choroTip(def, i, f.properties); }, { sticky: true });
      }
    });
  }

  function outlineLayer(def, geo) {
    var group = L.layerGroup();
    var keep = def.only ? function (f) { return f.properties.c === def.only; } : null;
    var style = L.extend({}, def.style, { className: def.cls, interactive: true });
    if (def.fade) {
      style.opacity = (style.opacity === undefined ? 1 : style.opacity) * FADE;
    }
    if (def.halo) {
      group.addLayer(L.geoJSON(geo, { filter: keep, interactive: false,
        style: function () { return L.extend({}, def.halo, { className: def.cls + "-halo", interactive: false }); } }));
    }
    var gj = L.geoJSON(geo, {
      filter: keep,
      style: function () { return style; },
      onEachFeature: function (f, layer) {
        if (def.tip) {
          layer.bindTooltip(function () { return outlineTip(def.tip, f.properties); }, { sticky: true });
        }
      }
    });
    group.addLayer(gj);
    if (def.labels) {
      var bounds = {};
      gj.eachLayer(function (l) { bounds[l.feature.properties.c] = l.getBounds(); });
      group.addLayer(new LabelLayer(geo.features, bounds));
    }
    return group;
  }

  /* ---- commune names: placed without collision, fewer at low zoom ---- */

  var measure = null;
  function textWidth(text) {
    if (!measure) {
      measure = document.createElement("canvas").getContext("2d");
      measure.font = "bold 11px 'DejaVu Sans', Arial, sans-serif";
    }
    return Math.ceil(measure.measureText(text).width) + 4;
  }

  function overlaps(a, b, gap) {
    return a.x0 < b.x1 + gap && b.x0 < a.x1 + gap && a.y0 < b.y1 + gap && b.y0 < a.y1 + gap;
  }

  var LabelLayer = L.Layer.extend({
    initialize: function (features, bounds) {
      this._items = features.filter(function (f) { return f.properties.lp; })
        .sort(function (a, b) { return (b.properties.w || 0) - (a.properties.w || 0); })
        .map(function (f) { return { text: f.properties.n, lp: f.properties.lp, bounds: bounds[f.properties.c] }; });
    },
    onAdd: function (map) {
      if (!map.getPane("obs-labels")) {
        var pane = map.createPane("obs-labels");
        pane.style.zIndex = 610;
        pane.style.pointerEvents = "none";
      }
      this._box = L.DomUtil.create("div", "obs-labels leaflet-zoom-hide", map.getPane("obs-labels"));
      map.on("zoomend moveend resize obslayout", this._update, this);
      this._update();
    },
    onRemove: function (map) {
      map.off("zoomend moveend resize obslayout", this._update, this);
      L.DomUtil.remove(this._box);
    },
    /* Largest communes first; each label tries its point, then just above, below, left, right;
       a label that would touch a placed one, leave the view, or not fit in its commune's
       extent on screen (low zoom) is not shown. */
    _update: function () {
      var map = this._map, box = this._box;
      if (!map) { return; }
      box.textContent = "";
      var size = map.getSize(), o = map.containerPointToLayerPoint([0, 0]);
      var view = { x0: o.x, y0: o.y, x1: o.x + size.x, y1: o.y + size.y };
      var placed = [], h = 14, c = map.getContainer(), co = c.getBoundingClientRect();
      // the title, legend, layer list and zoom buttons are obstacles: no name hides under them
      Array.prototype.forEach.call(c.querySelectorAll(".leaflet-control"), function (ctl) {
        var r = rect(ctl, co);
        if (area(r) > 0) { placed.push({ x0: r.x0 + o.x, y0: r.y0 + o.y, x1: r.x1 + o.x, y1: r.y1 + o.y }); }
      });
      this._items.forEach(function (it) {
        var w = textWidth(it.text);
        if (it.bounds) {
          var sw = map.latLngToLayerPoint(it.bounds.getSouthWest()), ne = map.latLngToLayerPoint(it.bounds.getNorthEast());
          if (Math.abs(ne.x - sw.x) < 0.6 * w || Math.abs(sw.y - ne.y) < 1.5 * h) { return; }
        }
        var p = map.latLngToLayerPoint(it.lp);
        var tries = [[0, 0], [0, -h], [0, h], [-w / 2, 0], [w / 2, 0]];
        for (var j = 0; j < tries.length; j++) {
          var r = { x0: p.x + tries[j][0] - w / 2, y0: p.y + tries[j][1] - h / 2 };
          r.x1 = r.x0 + w; r.y1 = r.y0 + h;
          if (r.x0 < view.x0 || r.y0 < view.y0 || r.x1 > view.x1 || r.y1 > view.y1) { continue; }
          if (placed.some(function (q) { return overlaps(q, r, 2); })) { continue; }
          placed.push(r);
          var span = el("span", "obs-label", it.text);
          span.style.width = w + "px";
          L.DomUtil.setPosition(span, L.point(r.x0, r.y0));
          box.appendChild(span);
          return;
        }
      });
    }
  });

  /* ---- legend (foldable) and layout of the controls ---- */

  function legendControl() {
    var ctl = htmlControl("bottomright", "obs-legend", "");
    var C = ctl.onAdd;
    ctl.onAdd = function (map) {
      var d = C.call(ctl, map);
      var btn = el("button", "obs-toggle", "Légende");
      btn.type = "button";
      btn.setAttribute("aria-expanded", "true");
      btn.title = "Masquer ou afficher la légende";
      var body = el("div", "obs-legend-body");
      d.appendChild(btn);
      d.appendChild(body);
      ctl.body = body;
      ctl.button = btn;
      L.DomEvent.on(btn, "click", function () { ctl.fold(!ctl.folded, true); });
      return d;
    };
    ctl.folded = false;
    ctl.byUser = false;
    ctl.fold = function (f, byUser) {
      ctl.folded = f;
      if (byUser) { ctl.byUser = f; }
      L.DomUtil[f ? "addClass" : "removeClass"](ctl.getContainer(), "obs-folded");
      ctl.button.setAttribute("aria-expanded", f ? "false" : "true");
      if (ctl._map) { ctl._map.fire("obslayout"); }   // names move out from under the legend
    };
    return ctl;
  }

  function rect(node, origin) {
    var r = node.getBoundingClientRect();
    return { x0: r.left - origin.left, y0: r.top - origin.top, x1: r.right - origin.left, y1: r.bottom - origin.top };
  }

  function area(r) { return Math.max(0, r.x1 - r.x0) * Math.max(0, r.y1 - r.y0); }

  function inter(a, b) {
    return area({ x0: Math.max(a.x0, b.x0), y0: Math.max(a.y0, b.y0), x1: Math.min(a.x1, b.x1), y1: Math.min(a.y1, b.y1) });
  }

  /* Share of the map covered by the legend and the layer list, and whether they overlap. */
  function coverage(map, legend, layers) {
    var c = map.getContainer(), o = c.getBoundingClientRect();
    var a = rect(legend.getContainer(), o), b = rect(layers.getContainer(), o);
    return { share: (area(a) + area(b) - inter(a, b)) / (o.width * o.height), overlap: inter(a, b) > 0 };
  }

  function fitControls(map, state) {
    var size = map.getSize();
    state.title.getContainer().style.maxWidth = Math.max(180, Math.min(420, Math.round(size.x * 0.5))) + "px";
    var lg = state.legend;
    lg.getContainer().style.maxWidth = Math.max(170, Math.min(300, Math.round(size.x * 0.42))) + "px";
    lg.body.style.maxHeight = Math.max(90, Math.round(size.y * 0.42)) + "px";
    if (state.layers) {
      var box = state.layers.getContainer();
      box.style.maxWidth = Math.max(200, Math.min(360, Math.round(size.x * 0.45))) + "px";
    }
  }

  /* The layer list, expanded, stops above the legend and keeps within the share; if the two still
     cover too much, the legend folds while the list is open (and unfolds when it closes). */
  function layersControl(map, base, overlays, state, collapsed) {
    var ctl = L.control.layers(base, overlays, { collapsed: collapsed, position: "topright" });
    var expand = ctl.expand, collapse = ctl.collapse;
    ctl.expand = function () {
      expand.call(ctl);
      var size = map.getSize(), box = ctl.getContainer(), sec = ctl._section;
      var lgBox = state.legend.getContainer();
      var legendH = state.legend.folded ? 0 : lgBox.offsetHeight + 10;
      var avail = size.y - box.offsetTop - legendH - 30;
      var byShare = Math.floor(PART_MAX * 0.8 * size.x * size.y / Math.max(box.offsetWidth, 150));
      var h = Math.max(80, Math.min(avail, byShare));
      sec.style.height = "";
      sec.style.maxHeight = h + "px";
      L.DomUtil.addClass(sec, "leaflet-control-layers-scrollbar");
      if (collapsed && !state.legend.folded) {
        var cov = coverage(map, state.legend, ctl);
        if (cov.overlap || cov.share > PART_MAX) { state.legend.fold(true); state.autoFolded = true; }
      }
      return ctl;
    };
    ctl.collapse = function () {
      collapse.call(ctl);
      if (state.autoFolded && !state.legend.byUser) { state.legend.fold(false); }
      state.autoFolded = false;
      return ctl;
    };
    return ctl;
  }

  function init(map, cfg, data) {
    var base = {}, overlays = {}, choro = [], outlines = [], state = {};
    L.control.zoom({ position: "bottomleft", zoomInTitle: "Zoom avant",
                     zoomOutTitle: "Zoom arrière" }).addTo(map);
    L.control.scale({ position: "bottomleft", imperial: false }).addTo(map);
    if (cfg.tiles) {
      L.tileLayer(cfg.tiles.url, { attribution: cfg.tiles.attribution, maxZoom: 19 }).addTo(map);
    }
    map.fitBounds(cfg.fit);
    cfg.layers.forEach(function (def, n) {
      var lay = choroLayer(def, data.geo[def.geo], cfg.focus);
      choro.push(lay);
      base[def.name] = lay;
      if (n === cfg.active) { lay.addTo(map); }
    });
    cfg.outlines.forEach(function (def) {
      var lay = outlineLayer(def, data.geo[def.geo]);
      outlines.push(lay);
      overlays[def.name] = lay;
      if (def.show) { lay.addTo(map); }
    });
    function front() {
      outlines.forEach(function (lay) {
        if (map.hasLayer(lay)) { lay.eachLayer(function (l) { if (l.bringToFront) { l.bringToFront(); } }); }
      });
    }
    front();
    state.title = htmlControl("topleft", "obs-title", cfg.title);
    state.title.addTo(map);
    state.legend = legendControl();
    state.legend.addTo(map);
    function showLegend(n) {
      var def = cfg.layers[n];
      state.legend.body.innerHTML = (def ? def.legend : "") + (cfg.outlineLegend || "");
    }
    showLegend(cfg.active);
    var size = map.getSize();
    if (size.x < 420 || size.y < 420) { state.legend.fold(true); }
    fitControls(map, state);
    if (cfg.layers.length + cfg.outlines.length > 0) {
      var small = size.x < 900 || size.y < 600;
      state.layers = layersControl(map, base, overlays, state, cfg.collapsed === true || small).addTo(map);
      if (!(cfg.collapsed === true || small)) {
        state.layers.expand();                       // measured now that it is on the page
        var cov = coverage(map, state.legend, state.layers);
        if (cov.overlap || cov.share > PART_MAX) {   // the open list does not fit: it folds into its button
          map.removeControl(state.layers);
          state.layers = layersControl(map, base, overlays, state, true).addTo(map);
        }
      }
      var link = state.layers._layersLink;
      link.title = "Couches affichées";
      link.setAttribute("aria-label", "Couches affichées");
      fitControls(map, state);
    }
    if (cfg.focus) {   // the studied quartier stays clear of the title and the legend
      var t = state.title.getContainer(), lg = state.legend.getContainer();
      map.fitBounds(cfg.fit, { paddingTopLeft: [10, t.offsetHeight + 20],
                               paddingBottomRight: [lg.offsetWidth + 20, 10], animate: false });
    }
    outlines.forEach(function (lay) { lay.eachLayer(function (l) { if (l instanceof LabelLayer) { l._update(); } }); });
    map.on("baselayerchange", function (e) {
      var n = choro.indexOf(e.layer);
      if (n >= 0) { showLegend(n); }
      front();
    });
    map.on("resize", function () { fitControls(map, state); });
    return { map: map, cfg: cfg, choro: choro, outlines: outlines, legend: state.legend, layers: state.layers,
             title: state.title, coverage: function () { return coverage(map, state.legend, state.layers); } };
  }

  /* Linked pan and zoom of two maps (side-by-side comparison). */
  function sync(a, b) {
    var busy = false;
    function follow(src, dst) {
      src.on("move zoomend", function () {
        if (busy) { return; }
        busy = true;
        dst.setView(src.getCenter(), src.getZoom(), { animate: false });
        busy = false;
      });
    }
    follow(a, b);
    follow(b, a);
  }

  return { init: init, sync: sync, PART_MAX: PART_MAX };
})();
