"""Colours and path styles of the maps: readable in grey print and by colour-blind readers.

Class colours come from ColorBrewer sequential schemes (through branca), whose lightness decreases
monotonically: « YlOrBr » for indicators with a polarity (the darkest class is always the most
fragile: the ramp is reversed when a higher value is better) and « Blues » for neutral ones. Their
darkest colour is a dark brown or blue, never black.

Special statuses never take a class colour: a **secret** area is filled with grey hatching (an SVG
pattern, :data:`HATCH_ID`, defined once per page by :func:`hatch_pattern_svg`), a **not available**
area is plain light grey, an **estimate** keeps its class colour but gets a dotted outline.
Leaflet path options are produced here (:func:`feature_style`) and handed to the page as a table,
so this module is the only place where a map style is decided.
"""

from __future__ import annotations

import html
from functools import lru_cache

from branca.utilities import color_brewer

RAMP_FRAGILITE = "YlOrBr"
RAMP_NEUTRE = "Blues"
HATCH_ID = "obs-hachures"

SECRET_FILL = "#bdbdbd"       # mid-grey background of the hatching
SECRET_LINE = "#636363"       # hatching lines
ND_FILL = "#e6e6e6"           # light grey: not available
BORDER = "#737373"            # thin border of choropleth areas

#: Outline layers: quartiers 2024 solid, 2015 dashed, communes thin grey, veille zones dash-dot.
OUTLINES = {
    "qpv2024": {"color": "#542788", "weight": 2.5, "opacity": 1, "fill": False},
    "qpv2015": {"color": "#0571b0", "weight": 2, "opacity": 1, "fill": False, "dashArray": "7 5"},
    "communes": {"color": "#525252", "weight": 1, "opacity": 0.9, "fill": False},
    "zones": {"color": "#1b7837", "weight": 2, "opacity": 1, "fill": False, "dashArray": "10 4 2 4"},
}

#: The studied quartier on its own map: a thick dark line over a white halo; other quartiers faded.
FOCUS = {"color": "#2d004b", "weight": 4.5, "opacity": 1, "fill": False}
FOCUS_HALO = {"color": "#ffffff", "weight": 10, "opacity": 0.9, "fill": False}
#: Opacity factor of the other quartiers (outline and fill) on a quartier's map.
FADE = 0.35

#: Status codes of a feature in a choropleth layer (class indices are ≥ 0).
SECRET, ND = "s", "nd"


def ramp(k: int, polarite: int = 1) -> list[str]:
    """``k`` colours ordered like the classes (lowest values first).

    ``polarite`` 1 (higher = more fragile): light → dark; -1 (higher = better): dark → light, so
    that the darkest class is always the most fragile; 0 (neutral): a blue light → dark ramp.

    >>> ramp(3, 1)
    ['#fff7bc', '#fec44f', '#d95f0e']
    >>> ramp(3, -1)
    ['#d95f0e', '#fec44f', '#fff7bc']
    """
    return list(_ramp(int(k), int(polarite)))


@lru_cache(maxsize=64)
def _ramp(k: int, polarite: int) -> tuple[str, ...]:
    if k <= 0:
        return ()
    name = RAMP_NEUTRE if polarite == 0 else RAMP_FRAGILITE
    if k < 3:  # ColorBrewer starts at 3 classes: take the ends of the 3-class scheme
        cols = color_brewer(name, 3)
        cols = [cols[1]] if k == 1 else [cols[0], cols[2]]
    else:
        cols = list(color_brewer(name, min(k, 9)))
    return tuple(cols[::-1] if polarite == -1 else cols)


def feature_style(key, colours: list[str], estime: bool = False) -> dict:
    """Leaflet path options of a choropleth area.

    Parameters
    ----------
    key : class index (int ≥ 0), :data:`SECRET` or :data:`ND` (no value for another reason).
    colours : the layer's ramp (:func:`ramp`).
    estime : the value is an estimate (surface, dasymetric, 2015→2024 transposition): dotted
        dark outline, whatever the class.
    """
    style = {"color": BORDER, "weight": 0.6, "opacity": 0.9, "fillOpacity": 0.85}
    if key == SECRET:
        style.update(fillColor=f"url(#{HATCH_ID})", fillOpacity=1, color=SECRET_LINE)
    elif key == ND:
        style.update(fillColor=ND_FILL, fillOpacity=0.9)
    else:
        style["fillColor"] = colours[int(key)]
    if estime:
        style.update(color="#252525", weight=1.4, dashArray="2 3")
    return style


def hatch_pattern_svg() -> str:
    """A zero-size inline SVG defining the secret hatching pattern (once per page)."""
    return (f'<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>'
            f'<pattern id="{HATCH_ID}" patternUnits="userSpaceOnUse" width="6" height="6" '
            f'patternTransform="rotate(45)"><rect width="6" height="6" fill="{SECRET_FILL}"/>'
            f'<line x1="0" y1="0" x2="0" y2="6" stroke="{SECRET_LINE}" stroke-width="2.2"/>'
            f'</pattern></defs></svg>')


def swatch_html(style: dict) -> str:
    """A small legend box drawn with the same fill/outline as ``style`` (inline SVG)."""
    fill = style.get("fillColor", "none") if style.get("fill", True) else "none"
    dash = f' stroke-dasharray="{html.escape(style["dashArray"])}"' if style.get("dashArray") else ""
    width = min(float(style.get("weight", 1)), 3)
    return (f'<svg class="obs-swatch" width="22" height="14" aria-hidden="true"><rect x="1" y="1" '
            f'width="20" height="12" fill="{html.escape(fill)}" stroke="{html.escape(style.get("color", BORDER))}" '
            f'stroke-width="{width}"{dash}/></svg>')


def line_swatch_html(style: dict) -> str:
    """Legend sample of an outline layer (a short line with the layer's colour and dashes)."""
    dash = f' stroke-dasharray="{html.escape(style["dashArray"])}"' if style.get("dashArray") else ""
    return (f'<svg class="obs-swatch" width="22" height="14" aria-hidden="true"><line x1="1" y1="7" '
            f'x2="21" y2="7" stroke="{html.escape(style["color"])}" stroke-width="{style["weight"]}"{dash}/></svg>')


def relative_luminance(hex_colour: str) -> float:
    """WCAG relative luminance (0 black … 1 white) of ``#rrggbb``: what a grey printout keeps."""
    h = hex_colour.lstrip("#")
    rgb = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
