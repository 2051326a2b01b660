"""Inline SVG drawings of a portrait: the locator map and the small « position » strips.

Both are plain SVG strings (no script, no external resource) built from the data, so a sheet stays
readable offline and in print; shapes and dash patterns, not only colours, tell things apart so the
drawings stay legible in grey.
"""

from __future__ import annotations

import math

import shapely
from markupsafe import Markup, escape
from shapely.geometry import box

from .. import fr


def _ring_path(coords, tx) -> str:
    pts = [tx(x, y) for x, y in coords]
    if len(pts) < 3:
        return ""
    head = f"M{pts[0][0]:.1f} {pts[0][1]:.1f}"
    return head + "".join(f"L{x:.1f} {y:.1f}" for x, y in pts[1:-1]) + "Z"


def geometry_path(geom, tx) -> str:
    """SVG path data (``d``) of a (multi)polygon; ``tx(x, y) -> (px, py)``."""
    if geom is None or geom.is_empty:
        return ""
    parts = []
    polys = getattr(geom, "geoms", [geom])
    for p in polys:
        if p.geom_type == "Polygon":
            parts.append(_ring_path(p.exterior.coords, tx))
            parts.extend(_ring_path(r.coords, tx) for r in p.interiors)
        elif p.geom_type in ("MultiPolygon", "GeometryCollection"):
            parts.append(geometry_path(p, tx))
    return "".join(parts)


def _nice_length(metres: float) -> float:
    """The largest 1/2/5 × 10^k length not above ``metres``."""
    k = 10 ** math.floor(math.log10(metres))
    for m in (5, 2, 1):
        if m * k <= metres:
            return m * k
    return k


def locator_map(subject, *, communes=(), autres_meme=(), autres_autre=(), geographie: str = "2024",
                largeur: int = 520, titre: str = "") -> Markup:
    """Locator map of one quartier.

    Parameters
    ----------
    subject : shapely geometry of the quartier (Lambert-93 metres).
    communes : iterable of ``(nom, geometry)``: commune outlines, drawn and named.
    autres_meme : geometries of the other quartiers of the same geography (hatched).
    autres_autre : geometries of the other geography's perimeters (2015 for a 2024 sheet and
        conversely), drawn dashed without fill.
    geographie : ``"2024"``, ``"2015"`` or ``"zone"`` (legend wording only).
    """
    minx, miny, maxx, maxy = subject.bounds
    w, h = max(maxx - minx, 200.0), max(maxy - miny, 200.0)
    pad = max(700.0, 0.45 * max(w, h))
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    half_w, half_h = w / 2 + pad, h / 2 + pad
    ratio = 0.72                                     # height / width of the drawing
    if half_h / half_w > ratio:
        half_w = half_h / ratio
    else:
        half_h = half_w * ratio
    x0, x1, y0, y1 = cx - half_w, cx + half_w, cy - half_h, cy + half_h
    k = largeur / (x1 - x0)
    hauteur = round((y1 - y0) * k)
    frame = box(x0, y0, x1, y1)
    tol = (x1 - x0) / largeur * 0.6

    def tx(x, y):
        return (x - x0) * k, (y1 - y) * k

    def prep(g):
        g = shapely.clip_by_rect(g, x0 - 50, y0 - 50, x1 + 50, y1 + 50)
        return g.simplify(tol, preserve_topology=True) if not g.is_empty else g

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="carte-situation" viewBox="0 0 {largeur} {hauteur}" '
           f'width="{largeur}" height="{hauteur}" role="img" aria-label="{escape(titre)}">',
           "<title>" + str(escape(titre)) + "</title>",
           '<defs><pattern id="hachures" width="6" height="6" patternUnits="userSpaceOnUse" '
           'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#777" stroke-width="1.2"/>'
           f'</pattern><clipPath id="cadre"><rect width="{largeur}" height="{hauteur}"/></clipPath></defs>',
           f'<rect width="{largeur}" height="{hauteur}" fill="#fff"/>', '<g clip-path="url(#cadre)">']
    labels = []
    for nom, g in communes:
        if g is None or not g.intersects(frame):
            continue
        out.append(f'<path class="commune" d="{geometry_path(prep(g), tx)}" fill="#f3f3f3" stroke="#8a8a8a" '
                   'stroke-width="0.9" fill-rule="evenodd"/>')
        inside = g.intersection(frame)
        if not inside.is_empty and inside.area > 0.04 * frame.area:
            p = inside.representative_point()
            labels.append((nom, tx(p.x, p.y)))
    for g in autres_meme:
        if g is not None and g.intersects(frame):
            out.append(f'<path class="autre-quartier" d="{geometry_path(prep(g), tx)}" fill="url(#hachures)" '
                       'stroke="#666" stroke-width="0.8" fill-rule="evenodd"/>')
    out.append(f'<path class="quartier" d="{geometry_path(prep(subject), tx)}" fill="#3a3a3a" fill-opacity="0.55" '
               'stroke="#000" stroke-width="2" fill-rule="evenodd"/>')
    for g in autres_autre:
        if g is not None and g.intersects(frame):
            out.append(f'<path class="autre-geographie" d="{geometry_path(prep(g), tx)}" fill="none" stroke="#000" '
                       'stroke-width="1.6" stroke-dasharray="6 3" fill-rule="evenodd"/>')
    for nom, (px, py) in labels:
        out.append(f'<text x="{px:.1f}" y="{py:.1f}" text-anchor="middle" font-size="12" fill="#222" '
                   'stroke="#fff" stroke-width="3" paint-order="stroke" font-style="italic">'
                   f"{escape(nom)}</text>")
    out.append("</g>")
    length = _nice_length((x1 - x0) / 4)
    lpx = length * k
    lbl = f"{fr.format_nombre(length / 1000, 1 if length < 1000 else 0)} km" if length >= 500 else f"{fr.format_nombre(length)} m"
    out.append(f'<g class="echelle" transform="translate(12 {hauteur - 14})"><rect x="-4" y="-16" width="{lpx + 8:.1f}" '
               f'height="24" fill="#fff" fill-opacity="0.8"/><path d="M0 0H{lpx:.1f}M0 -5V0M{lpx:.1f} -5V0" stroke="#000" '
               f'stroke-width="1.5" fill="none"/><text x="{lpx / 2:.1f}" y="-5" font-size="10" text-anchor="middle">'
               f"{escape(lbl)}</text></g>")
    out.append(f'<rect width="{largeur}" height="{hauteur}" fill="none" stroke="#444" stroke-width="1"/></svg>')
    return Markup("".join(out))


MARQUES = {
    # kind: (shape, label) — shapes differ so the strip reads in grey
    "quartier": ("cercle_plein", "Quartier"),
    "ensemble_epci": ("losange", "Ensemble des QPV de l'EPCI"),
    "ensemble_departement": ("losange_vide", "QPV du département"),
    "ensemble_france": ("carre_plein", "QPV de France"),
    "commune": ("trait", "Commune"),
    "epci": ("triangle", "EPCI"),
    "departement": ("trait_long", "Département"),
    "france": ("carre_vide", "France métropolitaine"),
}


def kind_of(type_territoire: str) -> str:
    """Strip mark of a reference type: ``ensemble_qpv2024_epci`` → ``ensemble_epci``."""
    if type_territoire.startswith("ensemble_qpv"):
        return "ensemble_" + type_territoire.rsplit("_", 1)[1]
    return type_territoire


def legend_entries(kinds) -> list[tuple[str, str]]:
    """``(kind, label)`` of the quartier and of the given reference kinds, in :data:`MARQUES` order."""
    wanted = {"quartier", *kinds}
    return [(k, lbl) for k, (_, lbl) in MARQUES.items() if k in wanted]


def _shape(kind: str, x: float, y: float) -> str:
    shape = MARQUES.get(kind, ("trait", ""))[0]
    if shape == "cercle_plein":
        return f'<circle cx="{x:.1f}" cy="{y}" r="4.5" fill="#000"/>'
    if shape == "losange":
        return f'<path d="M{x:.1f} {y - 5}l4 5l-4 5l-4 -5z" fill="#777" stroke="#000" stroke-width="0.8"/>'
    if shape == "losange_vide":
        return f'<path d="M{x:.1f} {y - 5}l4 5l-4 5l-4 -5z" fill="#fff" stroke="#000" stroke-width="1"/>'
    if shape == "triangle":
        return f'<path d="M{x:.1f} {y - 5}l4 8h-8z" fill="#bbb" stroke="#000" stroke-width="0.8"/>'
    if shape == "carre_plein":
        return f'<rect x="{x - 3.5:.1f}" y="{y - 3.5}" width="7" height="7" fill="#555" stroke="#000" stroke-width="1"/>'
    if shape == "carre_vide":
        return f'<rect x="{x - 3.5:.1f}" y="{y - 3.5}" width="7" height="7" fill="#fff" stroke="#000" stroke-width="1"/>'
    if shape == "trait_long":
        return f'<path d="M{x:.1f} {y - 7}v14" stroke="#000" stroke-width="1.6"/>'
    return f'<path d="M{x:.1f} {y - 5}v10" stroke="#555" stroke-width="1.6"/>'


def legend_mark(kind: str) -> Markup:
    """A small SVG swatch of a strip mark, for the legend."""
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" width="14" height="16" viewBox="0 0 14 16" '
                  f'aria-hidden="true">{_shape(kind, 7, 8)}</svg>')


def position_strip(points: list[tuple[str, str, float]], largeur: int = 130, hauteur: int = 20) -> Markup:
    """Compact strip placing the quartier among its references.

    ``points``: ``(kind, label, value)`` with ``kind`` a key of :data:`MARQUES`; the quartier is
    drawn last (on top). Empty markup when fewer than two values.
    """
    pts = [(k, lbl, float(v)) for k, lbl, v in points if v is not None and math.isfinite(float(v))]
    if len(pts) < 2:
        return Markup("")
    lo, hi = min(p[2] for p in pts), max(p[2] for p in pts)
    span = hi - lo or 1.0
    m = 8

    def px(v):
        return m + (v - lo) / span * (largeur - 2 * m)

    y = hauteur / 2
    title = " ; ".join(f"{lbl} : {fr.format_nombre(v, 1)}" for _, lbl, v in pts)
    body = [f'<svg xmlns="http://www.w3.org/2000/svg" class="position" width="{largeur}" height="{hauteur}" '
            f'viewBox="0 0 {largeur} {hauteur}" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>',
            f'<path d="M{m} {y}H{largeur - m}" stroke="#999" stroke-width="1"/>']
    for k, _, v in sorted(pts, key=lambda p: p[0] == "quartier"):
        body.append(_shape(k, px(v), y))
    body.append("</svg>")
    return Markup("".join(body))
