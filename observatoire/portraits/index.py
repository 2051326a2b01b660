"""Indexes of the portraits: one per geography, linked to each other, honest about what is missing.

``portraits/index.html`` lists the 2024 quartiers, ``index-2015.html`` the 2015 ones,
``index-zones.html`` the custom zones. Each index opens with a navigation line to the other two
(a link when that index has been written, else what to run, or « aucun » when the territory has no
such quartier), and says plainly when its own geography is empty: a territory with no 2024 quartier,
or none at all, still gets an index that says so and links to what exists (the other indexes, the
maps). Writing one index refreshes the navigation line of the others already written.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from pathlib import Path
from typing import Any

from markupsafe import Markup

from .. import fr
from ..store import write_text_atomic

INDEX_FICHIERS = {"2024": "index.html", "2015": "index-2015.html", "zones": "index-zones.html"}
LIBELLES = {"2024": "quartiers prioritaires 2024", "2015": "quartiers prioritaires 2015",
            "zones": "zones d'observation"}
AUCUN = {"2024": "aucun quartier prioritaire 2024", "2015": "aucun quartier prioritaire 2015",
         "zones": "aucune zone d'observation"}
COMMANDES = {"2024": "observatoire portraits", "2015": "observatoire portraits --geographie 2015",
             "zones": "observatoire portraits --geographie zones"}
_NAV = re.compile(r"<!--nav-->.*?<!--/nav-->", re.S)


def liens_pdf(code: str) -> Markup:
    """Links of the index to the two PDFs of a sheet."""
    from markupsafe import escape
    c = escape(code)
    return Markup(f' · <a href="{c}.pdf">fiche PDF</a> · <a href="{c}-annexe.pdf">annexe PDF</a>')


def set_pdf_links(out_dir: Path, geographie: str, codes: list[str], present: bool = True) -> None:
    """Turn the placeholders of an index written before its PDFs (``--sans-pdf``) into links, or back
    into placeholders when the PDFs of ``codes`` were removed (``present=False``)."""
    path = out_dir / INDEX_FICHIERS[geographie]
    if not path.exists():
        return
    html = path.read_text(encoding="utf-8")
    new = html
    for code in codes:
        a, b = f"<!--pdf:{code}-->", str(liens_pdf(code))
        new = new.replace(a, b) if present else new.replace(b, a)
    if new != html:
        write_text_atomic(path, new)


def _count(inp, geographie: str) -> int:
    from .inputs import quartiers_list
    return len(quartiers_list(inp, geographie))


def navigation(inp, out_dir: Path, courante: str, presents: set[str] | None = None) -> list[dict[str, Any]]:
    """Entries of the navigation line: one per geography (``courante`` first is not implied)."""
    out = []
    for geo, fichier in INDEX_FICHIERS.items():
        n = _count(inp, geo)
        written = geo == courante or (out_dir / fichier).exists() or (presents is not None and geo in presents)
        out.append({"geographie": geo, "libelle": LIBELLES[geo], "fichier": fichier, "n": n,
                    "courante": geo == courante, "lien": written and n > 0 or geo == courante,
                    "commande": COMMANDES[geo]})
    return out


def _maps_link(inp, out_dir: Path) -> str:
    maps = Path(inp.config.paths.maps) / "index.html"
    if not maps.exists():
        return ""
    return Path(os.path.relpath(maps, out_dir)).as_posix()


def render_index(inp, geographie: str, entries: list[dict[str, Any]], out_dir: Path, *, pdf: bool) -> str:
    from .gabarits import css, environment
    modes = {e.get("mode", "reel") for e in entries}
    for e in entries:
        e["pdf"] = (out_dir / f"{e['code']}.pdf").exists() and (out_dir / f"{e['code']}-annexe.pdf").exists()
    n_sim = sum(e.get("mode") in ("simule", "mixte") for e in entries)
    autres = [n for n in navigation(inp, out_dir, geographie) if not n["courante"] and n["n"] > 0]
    return environment().get_template("index.html.j2").render(
        css=css(), entrees=entries, geographie=geographie, libelle=LIBELLES[geographie],
        nav=Markup(_nav_html(navigation(inp, out_dir, geographie))), nom_epci=inp.nom_epci, pdf=pdf,
        tout_simule=bool(entries) and modes == {"simule"}, n_simules=n_sim, autres=autres,
        cartes=_maps_link(inp, out_dir), date=fr.format_date(_dt.date.today()),
        commande=COMMANDES[geographie], aucun=AUCUN[geographie], liens_pdf=liens_pdf)


def _nav_html(nav: list[dict[str, Any]]) -> str:
    from markupsafe import escape
    items = []
    for n in nav:
        lib = f"{n['libelle'][0].upper()}{n['libelle'][1:]}"
        if n["courante"]:
            items.append(f'<li aria-current="page"><strong>{escape(lib)}</strong> ({n["n"]})</li>')
        elif n["n"] == 0:
            items.append(f"<li>{escape(lib)} : aucun sur ce territoire</li>")
        elif n["lien"]:
            items.append(f'<li><a href="{escape(n["fichier"])}">{escape(lib)}</a> ({n["n"]})</li>')
        else:
            items.append(f"<li>{escape(lib)} ({n['n']}) : portraits à produire avec "
                         f"<code>{escape(n['commande'])}</code></li>")
    return '<!--nav--><nav class="geographies" aria-label="Portraits par géographie"><ul>' + "".join(items) \
        + "</ul></nav><!--/nav-->"


def write_index(inp, geographie: str, entries: list[dict[str, Any]], out_dir: Path, *, pdf: bool) -> Path:
    """Write the index of ``geographie`` and refresh the navigation of the other indexes already written."""
    path = out_dir / INDEX_FICHIERS[geographie]
    write_text_atomic(path, render_index(inp, geographie, entries, out_dir, pdf=pdf))
    for geo, fichier in INDEX_FICHIERS.items():
        other = out_dir / fichier
        if geo == geographie or not other.exists():
            continue
        html = other.read_text(encoding="utf-8")
        new = _NAV.sub(lambda _m: _nav_html(navigation(inp, out_dir, geo)), html, count=1)
        if new != html:
            write_text_atomic(other, new)
    return path
