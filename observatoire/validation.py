"""Inputs checked before any figure is computed: codes, geometries, values that cannot be true.

Three families of checks, each raising a French :class:`~observatoire.errors.ObservatoireError` that
names the file, the place (territory code, feature, line) and the fix, or repairing with a note on the
terminal when the repair is certain:

**Codes** (:data:`CODE_PATTERNS`, :func:`check_codes`). Territory codes end up in file names
(``portraits/QN05920M.html``): a code that is not an official one (``../../escaped_QN05920M``) is
refused when the file is read. Patterns verified on the real files of ``../shared/data``: QPV 2015
``QP`` + département (3 characters, ``02A``/``02B`` in Corsica, ``971``… overseas) + 3 digits
(1 514 codes of the national ANCT file); QPV 2024 ``QN`` + département + 2 digits + a letter or a
digit (``QN05920M``, ``QN05992N``); IRIS 9 characters, communes 5 (``2A004``).

**Geometries** (:func:`check_crs_domain`, :func:`missing_geometries`, :func:`repair_geometries`,
:func:`dedupe_features`). A perimeter without geometry would make a quartier vanish from maps and
portraits: refused, naming the codes. Coordinates outside the domain of the declared coordinate
system (Lambert-93 metres in a file declared WGS84, or degrees declared Lambert-93) are refused with
the probable cause. Invalid polygons (self-intersections: 34 in the real national QPV 2015 file,
QP059030 among them) are repaired with ``make_valid`` keeping their polygonal parts, and announced.

**Values** (:func:`check_table`, called by :func:`observatoire.sources.readers.read_source` on every
table it returns). From the catalogue and the producers' naming rules:

- *counts* (census ``P_``/``C_`` variables, Cnaf ``CNAF_``, Cnam ``CNAM_``, France Travail ``PE_``,
  Filosofi ``NB_``, and every variable of a catalogue numerator, denominator or count) are ≥ 0;
- *percentages* (published rates ``TX_…``, ``DISP_TP60``, ``DISP_PMIMP``, and every variable the
  catalogue takes as a producer value or published rate in %) lie in 0–100. Filosofi's **shares of
  disposable income** (``DISP_PACT``, ``DISP_PPAT``, ``DISP_PIMPOT``…) are not percentages of a
  population: taxes count negatively, so a share may be negative or above 100 (the real files hold
  ``DISP_PACT`` = 113,2 and ``DISP_PPAT`` = −2,4). They are not range-checked;
- *pairs*: for every catalogue ratio in % whose numerator and denominator are sums of variables of the
  same table, numerator ≤ denominator (0,5 of tolerance for rounded counts).

A table in which a territory code appears twice is refused by
:func:`observatoire.sources.tabular.parse_cells` when the two rows differ (the message gives both
lines); identical rows are kept once here, with a note.

Notes (repairs) go to the terminal through :func:`note` (never silenced: a user must know that an
input was altered).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from .tidy import CODE_PATTERNS
from .errors import FormatError, GeometryError, ValueCheckError

# ---------------------------------------------------------------------------------------------------
# Notes
# ---------------------------------------------------------------------------------------------------


def note(message: str) -> None:
    """Announce a repair of an input (« Note : … »), never silenced."""
    from .progress import console
    from rich.markup import escape

    console.print(f"[bold cyan]Note[/bold cyan] : {escape(message)}", soft_wrap=True)


def _examples(items: Iterable[str], n: int = 6) -> str:
    items = list(items)
    return ", ".join(items[:n]) + (f" … ({len(items)} en tout)" if len(items) > n else "")


# ---------------------------------------------------------------------------------------------------
# Codes
# ---------------------------------------------------------------------------------------------------

#: Official code shapes (full match), by territory type: the contract's (:data:`observatoire.tidy.CODE_PATTERNS`).
LIBELLES_CODES = {"qpv2015": "quartier 2015 (QP + département + 3 chiffres, ex. QP059030)",
                  "qpv2024": "quartier 2024 (QN + département + 2 chiffres + une lettre, ex. QN05920M)",
                  "iris": "IRIS (9 caractères, ex. 590140101)", "commune": "commune (5 caractères, ex. 59606)",
                  "epci": "EPCI (SIREN à 9 chiffres)", "departement": "département (ex. 59, 2A, 974)",
                  "zone": "zone (lettres, chiffres, « _ » ou « - », 64 caractères au plus)"}


def is_code(value: str, kind: str) -> bool:
    """Does ``value`` have the official shape of a ``kind`` code (see :data:`CODE_PATTERNS`)?"""
    return re.fullmatch(CODE_PATTERNS[kind], str(value)) is not None


def check_codes(codes: Iterable, kind: str, fichier: str, *, quoi: str = "", correction: str | None = None) -> None:
    """Refuse codes that do not have the official shape of ``kind`` (they may end up in file names).

    Raises
    ------
    FormatError : naming the file, the codes (up to six) and the expected shape.
    """
    s = pd.Series(list(codes), dtype=object).astype(str)
    bad = s[~s.str.fullmatch(CODE_PATTERNS[kind])]
    if len(bad):
        raise FormatError(
            f"{quoi + ' : ' if quoi else ''}code(s) de {LIBELLES_CODES[kind]} invalide(s) : "
            f"{_examples(repr(c) for c in bad.unique())}. Un tel code servirait de nom de fichier (cartes, "
            "portraits) : il est refusé (invalid code).", fichier=fichier,
            correction=correction or "utilisez le fichier officiel non modifié, ou corrigez ces codes")


# ---------------------------------------------------------------------------------------------------
# Geometries
# ---------------------------------------------------------------------------------------------------

def _looks_lambert93(b) -> bool:
    return -100_000 <= b[0] and b[2] <= 1_400_000 and 6_000_000 <= b[1] and b[3] <= 7_300_000


def _looks_degrees(b) -> bool:
    return -180 <= b[0] and b[2] <= 180 and -90 <= b[1] and b[3] <= 90


@functools.lru_cache(maxsize=32)
def _domain(crs_wkt: str):
    """Projected bounds of a CRS's area of use, widened by one degree (``None`` when unknown)."""
    from pyproj import CRS, Transformer

    crs = CRS.from_wkt(crs_wkt)
    aou = crs.area_of_use
    if aou is None:
        return None
    w, s, e, n = aou.bounds
    t = Transformer.from_crs(4326, crs, always_xy=True)
    return t.transform_bounds(max(w - 1, -180), max(s - 1, -90), min(e + 1, 180), min(n + 1, 90))


def _crs_label(crs) -> str:
    epsg = crs.to_epsg()
    return f"{crs.name} (EPSG:{epsg})" if epsg else crs.name


def check_crs_domain(bounds, crs, fichier: str, quoi: str) -> None:
    """Refuse coordinates that cannot be in ``crs``: Lambert-93 metres in a file declared WGS84,
    degrees in a file declared Lambert-93, any extent outside the system's area of use (one degree of
    margin).

    Parameters
    ----------
    bounds : ``(xmin, ymin, xmax, ymax)`` of the data in its declared CRS (NaN or None: nothing to check).
    crs : the declared CRS (anything pyproj accepts); ``None`` is refused (:class:`GeometryError`).
    """
    from pyproj import CRS

    if crs is None:
        raise GeometryError(f"{quoi} : le fichier n'indique pas son système de coordonnées (no CRS).",
                            fichier=fichier,
                            correction="ajoutez le fichier .prj du shapefile, ou exportez la couche en GeoJSON "
                                       "(WGS84) ou en GeoPackage depuis un SIG, en précisant le système de coordonnées")
    if bounds is None:
        return
    b = [float(x) for x in bounds]
    if not all(np.isfinite(b)):
        return
    crs = CRS.from_user_input(crs)
    if crs.is_geographic:
        ok = _looks_degrees(b)
    else:
        dom = _domain(crs.to_wkt())
        ok = dom is None or (dom[0] <= b[0] and b[2] <= dom[2] and dom[1] <= b[1] and b[3] <= dom[3])
    if ok:
        return
    from .fr import format_nombre

    d = 0 if max(abs(x) for x in b) > 1000 else 4
    n = [format_nombre(x, d) for x in b]
    extent = f"x de {n[0]} à {n[2]}, y de {n[1]} à {n[3]}"
    if crs.is_geographic and _looks_lambert93(b):
        cause = "ces nombres sont des mètres en Lambert-93 (EPSG:2154), pas des degrés"
        fix = ("déclarez le bon système : en GeoJSON, le membre « crs » urn:ogc:def:crs:EPSG::2154 ; pour un "
               "shapefile, le .prj du Lambert-93 ; ou réexportez la couche en WGS84 depuis un SIG")
    elif not crs.is_geographic and _looks_degrees(b):
        cause = "ces nombres sont des degrés (longitude, latitude en WGS84), pas des mètres"
        fix = "déclarez EPSG:4326 (WGS84) dans le fichier, ou reprojetez la couche dans le système déclaré"
    else:
        cause = "ils ne peuvent pas être en France dans ce système"
        fix = "vérifiez le système de coordonnées déclaré par le fichier et reprojetez la couche depuis un SIG"
    raise GeometryError(f"{quoi} : coordonnées hors du domaine du système déclaré {_crs_label(crs)} ({extent}) : "
                        f"{cause} (coordinates outside the declared CRS).", fichier=fichier, correction=fix)


def missing_geometries(gdf, code_col: str | None, fichier: str, quoi: str, *, refuse: bool = True):
    """Features without geometry (null or empty): refused by code, or with ``refuse=False`` dropped
    with a note naming them. Returns the frame without them."""
    geoms = gdf.geometry.values
    import shapely

    empty = np.asarray(shapely.is_missing(geoms) | shapely.is_empty(geoms), dtype=bool)
    if not empty.any():
        return gdf
    names = (gdf.loc[empty, code_col].astype(str).tolist() if code_col and code_col in gdf.columns
             else [f"entité n° {i + 1}" for i in np.flatnonzero(empty)])
    if refuse:
        raise GeometryError(f"{quoi} : géométrie absente ou vide pour {int(empty.sum())} objet(s) : {_examples(names)}. "
                            "Ils disparaîtraient des cartes, des correspondances et des portraits (null or empty "
                            "geometry).", fichier=fichier,
                            correction="utilisez le fichier officiel non modifié (téléchargez-le à nouveau : "
                                       "observatoire fetch --force), ou redessinez ces objets dans un SIG")
    note(f"{quoi} : {int(empty.sum())} objet(s) sans géométrie ignoré(s) dans {Path(fichier).name} : {_examples(names)}.")
    return gdf.loc[~empty]


def _polygonal(g):
    """The polygonal part of a repaired geometry (lines and points of a GeometryCollection dropped)."""
    import shapely

    if g is None:
        return g
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    parts = [p for p in getattr(g, "geoms", []) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def repair_geometries(gdf, fichier: str, code_col: str | None, quoi: str = "périmètres", *, annoncer: bool = True):
    """Invalid polygons repaired as published files need (``make_valid``, keeping the polygonal parts),
    null or empty geometries refused, each repair announced.

    The codes repaired are in ``gdf.attrs["reparations"]``. A polygon whose repair leaves no area
    (a degenerate outline) is refused like a missing one.
    """
    import shapely

    gdf = missing_geometries(gdf, code_col, fichier, quoi)
    geoms = gdf.geometry.values
    invalid = ~np.asarray(shapely.is_valid(geoms), dtype=bool)
    repaired: list[str] = []
    if invalid.any():
        fixed = shapely.make_valid(np.asarray(geoms[invalid], dtype=object))
        polys = np.array([_polygonal(g) for g in fixed], dtype=object)
        gdf = gdf.copy()
        gdf.loc[invalid, gdf.geometry.name] = polys
        names = (gdf.loc[invalid, code_col].astype(str).tolist() if code_col and code_col in gdf.columns
                 else [f"entité n° {i + 1}" for i in np.flatnonzero(invalid)])
        degenerate = np.asarray(shapely.is_empty(polys), dtype=bool)
        if degenerate.any():
            raise GeometryError(f"{quoi} : contour dégénéré (sans surface) pour "
                                f"{_examples(np.asarray(names)[degenerate])}.", fichier=fichier,
                                correction="redessinez ces contours dans un SIG, ou utilisez le fichier officiel non modifié")
        repaired = list(names)
        if annoncer:
            note(f"{quoi} : {len(repaired)} contour(s) invalide(s) réparé(s) (auto-intersections, make_valid, "
                 f"parties polygonales gardées) dans {Path(fichier).name} : {_examples(repaired)}.")
    gdf.attrs["reparations"] = repaired
    return gdf


def dedupe_features(gdf, code_col: str, fichier: str, quoi: str):
    """A code present twice: refused when the features differ (attributes or geometry), kept once with
    a note when they are identical."""
    dup = gdf[code_col].astype(str).duplicated(keep=False).to_numpy()
    if not dup.any():
        return gdf
    import shapely

    sub = gdf.loc[dup]
    conflicts = []
    for code, grp in sub.groupby(sub[code_col].astype(str), sort=True):
        attrs = grp.drop(columns=grp.geometry.name).astype(str)
        same_attrs = (attrs.nunique(dropna=False) <= 1).all()
        g = grp.geometry.values
        same_geom = all(shapely.equals_exact(g[0], x, 1e-9) for x in g[1:])
        if not (same_attrs and same_geom):
            conflicts.append(code)
    if conflicts:
        raise FormatError(f"{quoi} : code présent plusieurs fois avec des contours ou des attributs différents : "
                          f"{_examples(conflicts)} (conflicting duplicate codes).", fichier=fichier,
                          correction="gardez un seul objet par code (fichier officiel non modifié, ou corrigez-le dans un SIG)")
    codes = sorted(set(sub[code_col].astype(str)))
    note(f"{quoi} : {len(codes)} code(s) présent(s) deux fois à l'identique dans {Path(fichier).name}, gardé(s) une "
         f"fois : {_examples(codes)}.")
    return gdf.loc[~gdf[code_col].astype(str).duplicated(keep="first").to_numpy() | ~dup]


# ---------------------------------------------------------------------------------------------------
# Values of statistical tables
# ---------------------------------------------------------------------------------------------------

#: Filosofi shares of disposable income: taxes count negatively, so a share may be < 0 or > 100.
PARTS_DU_REVENU = frozenset({"DISP_PACT", "DISP_PTSA", "DISP_PTSAC", "DISP_PCHO", "DISP_PBEN", "DISP_PPEN",
                             "DISP_PPAT", "DISP_PPSOC", "DISP_PPFAM", "DISP_PPMINI", "DISP_PPLOGT",
                             "DISP_PIMPOT"})
_COUNT_NAME = re.compile(r"^(P|C|CNAF|CNAM|PE|NB)_")
_PERCENT_NAME = re.compile(r"^(TX_.+|DISP_TP60|DISP_PMIMP)$")
#: Absolute tolerance of the numerator ≤ denominator check (rounded counts).
TOLERANCE_PAIRE = 0.5


@functools.lru_cache(maxsize=1)
def rules() -> tuple[frozenset, frozenset, tuple]:
    """(count variables, percentage variables, pairs) declared by the catalogue.

    Pairs are ``(indicator id, numerator variables, denominator variables)`` of the ratios in % whose
    numerator and denominator are sums of variables (one pair per ``|`` alternative).
    """
    from .catalogue import load_catalogue

    counts, percents, pairs = set(), set(), []
    word = re.compile(r"[A-Z][A-Z0-9_]*")
    for ind in load_catalogue().values():
        if ind.type == "ratio":
            for expr in (ind.numerateur, ind.denominateur, ind.denominateur_publie):
                counts.update(word.findall(expr or ""))
            if ind.unite == "%" and ind.numerateur and ind.denominateur:
                for n in ind.numerateur.split("|"):
                    for d in ind.denominateur.split("|"):
                        if re.fullmatch(r"[\w\s+]+", n) and re.fullmatch(r"[\w\s+]+", d):
                            pairs.append((ind.id, tuple(word.findall(n)), tuple(word.findall(d))))
            if ind.taux_publie and ind.unite == "%":
                percents.add(ind.taux_publie)
        elif ind.type == "effectif":
            counts.update(word.findall(ind.variable or ind.numerateur or ""))
        elif ind.type == "valeur_producteur" and ind.unite == "%" and ind.variable:
            percents.add(ind.variable)
    percents -= PARTS_DU_REVENU
    return frozenset(counts), frozenset(percents), tuple(pairs)


def nature(variable: str) -> str | None:
    """``effectif`` (a count, ≥ 0), ``pourcentage`` (0–100) or ``None`` (not range-checked)."""
    counts, percents, _ = rules()
    if variable in PARTS_DU_REVENU:
        return None
    if variable in percents or _PERCENT_NAME.match(variable):
        return "pourcentage"
    if variable in counts or _COUNT_NAME.match(variable):
        return "effectif"
    return None


def _column_name(t, variable: str) -> str:
    """The file's column for a normalised census variable (``P_POP`` → ``P22_POP``), else the variable."""
    if t.source.startswith("insee_rp") and re.match(r"^[PC]_", variable):
        return f"{variable[0]}{t.millesime % 100:02d}{variable[1:]}"
    return variable


def _where(t, code: str) -> str:
    label = {"iris": "IRIS", "commune": "commune", "qpv2015": "quartier", "qpv2024": "quartier", "epci": "EPCI",
             "departement": "département", "region": "région"}.get(t.niveau, "territoire")
    return f"{label} {code}"


def _refuse_values(t, what: str, cells: list[str], n: int, fix: str) -> ValueCheckError:
    return ValueCheckError(f"Valeur(s) impossible(s) : {what}. {n} case(s), par exemple : {'; '.join(cells[:5])} "
                           "(implausible values refused).", fichier=t.fichier or t.source, correction=fix)


_FIX = ("le fichier a été modifié ou abîmé : remplacez-le par le fichier officiel non modifié (observatoire fetch "
        "--force) ; si le producteur publie vraiment ces valeurs, signalez-le aux mainteneurs de l'observatoire")


def check_values(t) -> None:
    """Counts < 0, percentages outside 0–100, numerators above their denominators → :class:`ValueCheckError`
    naming the file, the territory codes, the column and the values."""
    from .fr import format_nombre

    d = t.data
    if d.empty:
        return
    nat = {c: nature(c) for c in d.columns}
    counts = [c for c, k in nat.items() if k == "effectif"]
    if counts:
        v = d[counts].to_numpy(dtype=float)
        bad = v < 0
        if bad.any():
            r, c = np.nonzero(bad)
            cells = [f"{_where(t, d.index[i])}, colonne {_column_name(t, counts[j])} = {format_nombre(v[i, j], 1)}"
                     for i, j in zip(r, c)]
            raise _refuse_values(t, "effectif négatif (un nombre de personnes, de ménages ou d'allocataires ne peut pas "
                                 "être négatif)", cells, int(bad.sum()), _FIX)
    pct = [c for c, k in nat.items() if k == "pourcentage"]
    if pct:
        v = d[pct].to_numpy(dtype=float)
        bad = (v < 0) | (v > 100 + 1e-9)
        if bad.any():
            r, c = np.nonzero(bad)
            cells = [f"{_where(t, d.index[i])}, colonne {_column_name(t, pct[j])} = {format_nombre(v[i, j], 1)} %"
                     for i, j in zip(r, c)]
            raise _refuse_values(t, "taux hors de 0 à 100 %", cells, int(bad.sum()), _FIX)
    cols = set(d.columns)
    for ind_id, num, den in rules()[2]:
        if not (set(num) <= cols and set(den) <= cols):
            continue
        n = d[list(num)].sum(axis=1, min_count=len(num)).to_numpy(dtype=float)
        m = d[list(den)].sum(axis=1, min_count=len(den)).to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            bad = n > m + TOLERANCE_PAIRE
        if bad.any():
            idx = np.flatnonzero(bad)
            cells = [f"{_where(t, d.index[i])} : {' + '.join(_column_name(t, x) for x in num)} = {format_nombre(n[i], 1)} "
                     f"> {' + '.join(_column_name(t, x) for x in den)} = {format_nombre(m[i], 1)}" for i in idx]
            raise _refuse_values(t, f"numérateur supérieur à son dénominateur (indicateur {ind_id})", cells,
                                 len(idx), _FIX)


def dedupe_table(t):
    """Rows of one territory code present several times (identical: :func:`parse_cells` refused the
    differing ones) kept once, with a note."""
    dup = t.data.index.duplicated(keep="first")
    if not dup.any():
        return t
    codes = sorted(set(t.data.index[dup]))
    keep = ~dup
    t.data, t.statut = t.data[keep], t.statut[keep]
    if t.notes is not None:
        t.notes = t.notes[keep]
    if t.libelles is not None and len(t.libelles) == len(keep):
        t.libelles = t.libelles[keep]
    note(f"{Path(t.fichier).name or t.source} : {len(codes)} territoire(s) présent(s) deux fois à l'identique, "
         f"gardé(s) une fois : {_examples(codes)}.")
    return t


def check_table(t):
    """Every check of a statistical table (duplicates kept once, then values); returns the table."""
    t = dedupe_table(t)
    check_values(t)
    return t
