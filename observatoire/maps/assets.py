"""Inline web assets: every map file carries its own Leaflet, so it opens offline from an e-mail.

A page links nothing: the vendored Leaflet 1.9.4 (``assets/leaflet.js`` and ``assets/leaflet.css``,
from the npm package ``leaflet@1.9.4``, BSD-2-Clause, licence in ``assets/LICENSE-leaflet.txt``), the
project's script and stylesheet (``obs_maps.js``, ``obs_maps.css``) are written inside the page by
the page template (``page.html.j2``). The images the stylesheet refers to (layer control icon,
default marker) are turned into ``data:`` URIs so that nothing is requested, not even from
``file://``. Every asset is read and prepared once per process (``lru_cache``).

(Folium, which links Leaflet, jQuery, Bootstrap and Font Awesome from CDNs and compiles a template
per element, is not used to write the pages: one template, compiled once, is 40 times faster.)

The only remote resource a map may use is the keyless IGN Géoplateforme WMTS plan, and only when
``[cartes] fond = "ign"`` (:func:`ign_tile_url`).
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache
from pathlib import Path

ASSETS_DIR = Path(__file__).with_name("assets")
LEAFLET_VERSION = "1.9.4"

#: Keyless IGN Géoplateforme WMTS, Plan IGN v2, Web Mercator tile matrix set (Leaflet placeholders).
IGN_WMTS = ("https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
            "&LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2&STYLE=normal&FORMAT=image/png"
            "&TILEMATRIXSET=PM&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}")
IGN_ATTRIBUTION = "Fond : Plan IGN, © IGN-F/Géoplateforme"

#: URLs present in the vendored Leaflet that are never requested (SVG namespace, comments, the
#: « Leaflet » attribution link). Tests allow exactly these besides the IGN WMTS.
INERT_URLS = (
    "http://www.w3.org/2000/svg",
    "https://leafletjs.com",
    "https://bugs.chromium.org/p/chromium/issues/detail?id=600120",
    "https://bugzilla.mozilla.org/show_bug.cgi?id=888319",
)

FONDS = ("aucun", "ign")


def _read(name: str) -> str:
    return (ASSETS_DIR / name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def leaflet_js() -> str:
    """The vendored ``leaflet.js`` (with its licence header), safe to put inside ``<script>``."""
    return script_safe(_read("leaflet.js"))


@lru_cache(maxsize=1)
def leaflet_css() -> str:
    """The vendored ``leaflet.css`` with ``url(images/x.png)`` replaced by ``data:`` URIs."""

    def _data_uri(m: re.Match) -> str:
        png = (ASSETS_DIR / m.group(1)).read_bytes()
        return "url(data:image/png;base64," + base64.b64encode(png).decode("ascii") + ")"

    return re.sub(r"url\(images/([\w.-]+\.png)\)", _data_uri, _read("leaflet.css"))


def script_safe(js: str) -> str:
    """Make text safe inside an inline ``<script>`` element (no early ``</script>``, no ``<!--``)."""
    return js.replace("</", "<\\/").replace("<!--", "<\\!--")


def json_for_script(text: str) -> str:
    """Escape JSON text for an inline script: ``<``, ``>`` and ``&`` become ``\\u003c``…

    JSON strings keep their value (``"\\u003c"`` is ``"<"`` once parsed) and no data string can close
    the script element or open a comment.
    """
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def ign_tile_url() -> str:
    """The IGN Plan WMTS URL template for ``L.tileLayer`` (only used when ``fond = "ign"``)."""
    return IGN_WMTS


@lru_cache(maxsize=1)
def obs_js() -> str:
    """The project's own map script (``assets/obs_maps.js``)."""
    return script_safe(_read("obs_maps.js"))


@lru_cache(maxsize=1)
def obs_css() -> str:
    """The project's own map stylesheet (``assets/obs_maps.css``)."""
    return _read("obs_maps.css").replace("</", "<\\/")


@lru_cache(maxsize=1)
def page_template():
    """The page template (``assets/page.html.j2``), compiled once per process.

    Autoescaping is off: every fragment handed to it is escaped by its producer (titles with
    :func:`html.escape`, data and configurations with :func:`json_for_script`, scripts with
    :func:`script_safe`).
    """
    from jinja2 import Environment

    env = Environment(autoescape=False, keep_trailing_newline=True)
    return env.from_string(_read("page.html.j2"))
