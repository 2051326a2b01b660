"""One map page: one or two Leaflet maps (side by side, linked) in a self-contained HTML file.

The page is the template ``assets/page.html.j2`` (compiled once per process) filled with ready-made
text: the inlined assets (read once), the geometry data (serialised once per geometry set, see
:mod:`.geometry`) and one JSON configuration per map (title box, layers, outlines, initial view).
Every data string reaches the browser either escaped HTML produced here or JSON escaped for a
script (:func:`~observatoire.maps.assets.json_for_script`), which ``obs_maps.js`` inserts as text.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field

from . import assets, style


def title_html(titre: str, sous_titre: str, provenance: list[str], lien_index: str | None) -> str:
    """The title box of a map: title, subtitle, what is simulated (one line each), link to the index."""
    e = html.escape
    marks = ('<p class="obs-provenance">' + " ".join(f'<span class="obs-mark">{e(p)}</span>' for p in provenance)
             + "</p>") if provenance else ""
    lien = f'<p><a href="{e(lien_index)}">Toutes les cartes</a></p>' if lien_index else ""
    return f"<h1>{e(titre)}</h1><p>{e(sous_titre)}</p>{marks}{lien}"


def outline_legend_html(outlines: list[dict]) -> str:
    """Legend of the outline layers (names already escaped)."""
    if not outlines:
        return ""
    items = "".join(f"<li>{style.line_swatch_html(o['style'])}{o['name']}</li>" for o in outlines)
    return f"<div class=\"obs-sep\"></div><ul class=\"obs-outlines\">{items}</ul>"


@dataclass
class Panel:
    """One map of a page: its configuration, with the layers as ready JSON texts."""

    title: str                       # escaped HTML of the title box
    layers_json: list[str]           # JSON texts of the choropleth layers (escaped for a script)
    outlines: list[dict]
    fit: list[list[float]]
    focus: dict | None = None        # {"code": …, "geo": "qpv2024"}: the studied quartier
    collapsed: bool = False          # layer list folded whatever the screen
    extra: dict = field(default_factory=dict)

    def cfg_json(self, tiles: dict | None) -> str:
        cfg = {"title": self.title, "outlines": self.outlines, "active": 0, "fit": self.fit,
               "outlineLegend": outline_legend_html(self.outlines), "collapsed": self.collapsed,
               "focus": self.focus, "tiles": tiles, **self.extra}
        head = assets.json_for_script(json.dumps(cfg, ensure_ascii=False, separators=(",", ":")))
        return head[:-1] + ',"layers":[' + ",".join(self.layers_json) + "]}"


def render_page(page_title: str, panels: list[Panel], data_json: str, fond: str) -> str:
    """HTML of a page holding one or two maps (side by side) sharing the data ``data_json``.

    Parameters
    ----------
    page_title : plain text (escaped here).
    panels : one or two :class:`Panel`.
    data_json : ``{"geo": {name: FeatureCollection}}`` as JSON text already escaped for a script.
    fond : ``aucun`` or ``ign`` (keyless IGN plan, the only remote resource a map may use).
    """
    tiles = {"url": assets.ign_tile_url(), "attribution": assets.IGN_ATTRIBUTION} if fond == "ign" else None
    n = len(panels)
    maps = [{"id": f"map_{i}", "left": round(100 * i / n, 4), "width": round(100 / n, 4), "cfg": p.cfg_json(tiles)}
            for i, p in enumerate(panels)]
    return assets.page_template().render(
        title=html.escape(page_title), leaflet_css=assets.leaflet_css(), leaflet_js=assets.leaflet_js(),
        obs_css=assets.obs_css(), obs_js=assets.obs_js(), data=data_json, hatch=style.hatch_pattern_svg(),
        maps=maps)
