/* Observatoire des quartiers : couches des cartes (choroplèthes, contours, légende, titre).
 * Code du projet (licence MIT). Les données arrivent en JSON ; tout texte issu des données est
 * inséré avec textContent (jamais innerHTML) ; les fragments HTML (légende, titre, noms de couches)
 * sont produits et échappés côté Python. */
var ObsCarte = (function () {
  "use strict";

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
        d.innerHTML = html;
        L.DomEvent.disableClickPropagation(d);
        L.DomEvent.disableScrollPropagation(d);
        return d;
      }
    });
    return new C();
  }

  function choroTip(def, i, props) {
    var box = el("div", "obs-tip");
    box.appendChild(el("b", null, props.n));
    if (props.c) { box.appendChild(el("span", "obs-code", " (" + props.c + ")")); }
    box.appendChild(el("div", null, def.label + " (" + def.year + ") : " + (def.v[i] || "\u2014")));
    var note = def.notes[def.ni[i]];
    if (note) { box.appendChild(el("div", "obs-note", note)); }
    if (def.source) { box.appendChild(el("div", "obs-src", "Source : " + def.source)); }
    return box;
  }

  function outlineTip(prefix, props) {
    var box = el("div", "obs-tip");
    box.appendChild(el("b", null, props.n));
    box.appendChild(el("div", "obs-note", prefix + (props.c ? " " + props.c : "")));
    return box;
  }

  function choroLayer(def, geo) {
    var index = {};
    geo.features.forEach(function (f, i) { index[f.properties.c] = i; });
    return L.geoJSON(geo, {
      style: function (f) {
        var i = index[f.properties.c];
        var s = L.extend({}, def.styles[def.k[i]]);
        s.className = def.cls;
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
    var style = L.extend({}, def.style, { className: def.cls, interactive: true });
    var gj = L.geoJSON(geo, {
      style: function () { return style; },
      onEachFeature: function (f, layer) {
        if (def.tip) {
          layer.bindTooltip(function () { return outlineTip(def.tip, f.properties); }, { sticky: true });
        }
      }
    });
    group.addLayer(gj);
    if (def.labels) {
      geo.features.forEach(function (f) {
        if (!f.properties.lp) { return; }
        var t = L.tooltip({ permanent: true, direction: "center", className: "obs-label",
                            interactive: false })
          .setLatLng(f.properties.lp).setContent(el("span", null, f.properties.n));
        group.addLayer(t);
      });
    }
    return group;
  }

  function init(map, cfg, data) {
    var base = {}, overlays = {}, choro = [], outlines = [];
    L.control.zoom({ position: "bottomleft", zoomInTitle: "Zoom avant",
                     zoomOutTitle: "Zoom arrière" }).addTo(map);
    L.control.scale({ position: "bottomleft", imperial: false }).addTo(map);
    if (cfg.tiles) {
      L.tileLayer(cfg.tiles.url, { attribution: cfg.tiles.attribution, maxZoom: 19 }).addTo(map);
    }
    cfg.layers.forEach(function (def, n) {
      var lay = choroLayer(def, data.geo[def.geo]);
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
    outlines.forEach(function (lay) { if (map.hasLayer(lay)) { lay.eachLayer(function (l) { if (l.bringToFront) { l.bringToFront(); } }); } });
    htmlControl("topleft", "obs-title", cfg.title).addTo(map);
    if (cfg.layers.length + cfg.outlines.length > 0) {
      L.control.layers(base, overlays, { collapsed: cfg.collapsed === true, position: "topright" }).addTo(map);
    }
    var legend = htmlControl("bottomright", "obs-legend", "");
    legend.addTo(map);
    var box = legend.getContainer();
    function showLegend(n) {
      var def = cfg.layers[n];
      box.innerHTML = (def ? def.legend : "") + (cfg.outlineLegend || "");
    }
    showLegend(cfg.active);
    map.on("baselayerchange", function (e) {
      var n = choro.indexOf(e.layer);
      if (n >= 0) { showLegend(n); }
      outlines.forEach(function (lay) { if (map.hasLayer(lay)) { lay.eachLayer(function (l) { if (l.bringToFront) { l.bringToFront(); } }); } });
    });
    map.fitBounds(cfg.fit);
    return { map: map, choro: choro, outlines: outlines };
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

  return { init: init, sync: sync };
})();
