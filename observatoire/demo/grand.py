"""A large fully simulated territory — données simulées — for the benchmarks (``make bench``).

:func:`monde_grand` builds a :class:`~observatoire.demo.monde.Monde` of the same shape as
:func:`~observatoire.demo.monde.monde_fictif`, at any size: a simulated département ``00`` (région
``00``) of communes on a grid of rectangles, grouped into EPCIs of about 20 communes, the IRIS of each
commune (codes ``<commune>0101``…, one IRIS ``<commune>0000`` for a commune under 5,000 inhabitants),
2024 and 2015 quartiers as random polygons overlapping the IRIS, and the fragility of every place.
:func:`build_mirror_grand` then writes its mirror with the project's own writers
(:func:`observatoire.demo.simules.write_simulated_files`): every file in its official format, every
file marked ``simule: true``.

Sizes: ``monde_grand(48_000, 1_600)`` is a simulated France (about 48,000 IRIS and 1,600 quartiers);
``monde_grand(1_500, 91, n_communes=648)`` a simulated Nord. Official codes bound one département:
999 communes (``00001``…``00999``), 999 quartiers 2015 (``QP000001``…) and 2,400 quartiers 2024
(``QN00000M``…); the simulated France therefore has 999 communes of about 48 IRIS each where the real
one has 35,000 communes, most of them a single IRIS (see ``docs/benchmarks.md``).

Everything is vectorised (shapely arrays, numpy): the France takes about a minute to draw, and the
mirror is written by the package's own writers.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..config import Territoire
from ..territory import territory_from_composition
from .monde import MILLESIMES_FICTIFS, Monde
from .simulation import area_weights

L93 = 2154
DEP = "00"
REG = "00"
#: Most communes one département can hold (INSEE code: 2 digits of the département + 3).
MAX_COMMUNES = 999
#: Most 2015 quartiers of one département (``QP`` + 3 digits of the département + 3).
MAX_QPV2015 = 999
#: Letters of the 2024 codes (``QN`` + 3 + 2 digits + a letter), I and O left out.
LETTRES_QN = "MNPQRSTUVWXYZABCDEFGHJKL"
MAX_QPV2024 = 100 * len(LETTRES_QN)
#: A commune of fewer inhabitants is not split into IRIS (INSEE's rule).
SEUIL_IRIS = 5_000
#: Fragility given to the part of an IRIS lying in a quartier (as in observatoire.demo.simulation).
F_QUARTIER = 0.85

_DEBUTS = ["Villeneuve", "Beaumont", "Fontaine", "Saint-Essai", "Bourg", "Val", "Mont", "Pont", "Sainte-Démo",
           "Neuville", "Champ", "Bois", "Roche", "Marais", "Haut", "Bas", "Port", "Clos", "Mesnil", "Plessis",
           "Vieux", "Grand", "Petit", "Ville", "Moulin", "Chaussée", "Rivière", "Croix", "Lande", "Forge"]
_FINS = ["la-Démo", "le-Fictif", "sur-Essai", "les-Exemples", "en-Simulation", "du-Modèle", "sur-Maquette",
         "la-Feinte", "le-Test", "aux-Épreuves", "des-Essais", "sur-Canevas", "le-Brouillon", "la-Copie",
         "en-Banc", "du-Calcul", "sur-Table", "le-Jeu", "la-Maquette", "des-Données", "sur-Grille", "le-Carré",
         "du-Repère", "la-Mesure", "sur-Cote", "le-Gabarit", "des-Tirages", "la-Graine", "sur-Hasard",
         "le-Semis", "du-Motif", "la-Trame", "sur-Plan", "le-Calque"]
_QUARTIERS = ["Les Tilleuls", "Le Canal", "La Briqueterie", "Les Hauts", "Le Faubourg", "La Cité Jardin",
              "Les Peupliers", "Le Centre", "La Gare", "Les Acacias", "Le Moulin", "La Source", "Les Glycines",
              "Le Plateau", "La Sablière", "Les Rives", "Le Mail", "La Verrerie", "Les Coteaux", "La Filature"]


@dataclass
class MondeGrand(Monde):
    """A :class:`Monde` with its IRIS already drawn (``iris``: the columns of
    :func:`observatoire.demo.simulation.simulate_iris`)."""

    iris: gpd.GeoDataFrame | None = None


# ---------------------------------------------------------------------------------------------------
# Communes
# ---------------------------------------------------------------------------------------------------

def _iris_par_commune(n_iris: int, n_communes: int, rng: np.random.Generator) -> np.ndarray:
    """Number of IRIS of each commune: the communes split into IRIS hold about 10 each (like the Nord),
    the others one; with few communes for many IRIS, every commune is split."""
    k = np.ones(n_communes, dtype=np.int64)
    n_split = min(n_communes, int(np.ceil((n_iris - n_communes) / 9)))
    if n_split <= 0:
        return k
    rest = n_iris - (n_communes - n_split) - 2 * n_split
    w = rng.lognormal(0.0, 1.0, n_split)
    split = rng.choice(n_communes, n_split, replace=False)
    k[split] = 2 + rng.multinomial(rest, w / w.sum())
    return k


def _rectangles_en_rangees(poids: np.ndarray, x0: float, y0: float, largeur: float, hauteur: float,
                           rng: np.random.Generator) -> np.ndarray:
    """Tile the ``largeur`` × ``hauteur`` rectangle with one rectangle per weight, areas ∝ weights:
    rows of about √n rectangles (random order), row heights ∝ the row's weight, widths ∝ weights.
    Returns an (n, 4) array ``xmin, ymin, xmax, ymax``."""
    n = len(poids)
    ordre = rng.permutation(n)
    n_rangees = max(1, int(round(np.sqrt(n * hauteur / largeur))))
    rangee = np.repeat(np.arange(n_rangees), int(np.ceil(n / n_rangees)))[:n]
    w = poids[ordre]
    somme_rangee = np.bincount(rangee, w, minlength=n_rangees)
    h = hauteur * somme_rangee / somme_rangee.sum()
    y_bas = y0 + np.concatenate([[0.0], np.cumsum(h)[:-1]])
    cum = np.cumsum(w)
    debut_rangee = np.concatenate([[0.0], np.cumsum(somme_rangee)[:-1]])
    x_droite = x0 + largeur * (cum - debut_rangee[rangee]) / somme_rangee[rangee]
    x_gauche = x_droite - largeur * w / somme_rangee[rangee]
    out = np.empty((n, 4))
    out[ordre] = np.column_stack([x_gauche, y_bas[rangee], x_droite, y_bas[rangee] + h[rangee]])
    return out


def _noms_communes(n: int, rng: np.random.Generator) -> list[str]:
    combos = [f"{a}-{b}" for a in _DEBUTS for b in _FINS]
    idx = rng.permutation(len(combos))
    return [combos[idx[i % len(combos)]] + ("" if i < len(combos) else f" {i // len(combos) + 1}") for i in range(n)]


# ---------------------------------------------------------------------------------------------------
# IRIS: a sub-grid of each commune's rectangle
# ---------------------------------------------------------------------------------------------------

def _iris(communes: pd.DataFrame, rects: np.ndarray, k: np.ndarray, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """IRIS of every commune, vectorised: a commune of ``k`` IRIS is cut into ``b`` rows of ``a``
    cells (the last row holds the rest), with jittered widths; populations are a Dirichlet split of the
    commune's population."""
    n_c = len(communes)
    w = rects[:, 2] - rects[:, 0]
    h = rects[:, 3] - rects[:, 1]
    a = np.clip(np.round(np.sqrt(k * w / h)), 1, k).astype(np.int64)
    b = np.ceil(k / a).astype(np.int64)
    c = np.repeat(np.arange(n_c), k)                       # commune of each IRIS
    j = np.arange(len(c)) - np.repeat(np.cumsum(k) - k, k)  # rank of the IRIS in its commune
    r = j // a[c]
    col = j % a[c]
    dans_rangee = np.where(r < b[c] - 1, a[c], k[c] - a[c] * (b[c] - 1))
    # jittered widths within each (commune, row): cumulative sums per group
    u = rng.uniform(0.6, 1.4, len(c))
    groupe = np.repeat(np.cumsum(b) - b, k) + r
    tot = np.bincount(groupe, u)[groupe]
    cum = np.cumsum(u)
    debut = np.zeros(groupe.max() + 1)
    premier = np.flatnonzero(np.r_[True, np.diff(groupe) != 0])
    debut[groupe[premier]] = cum[premier] - u[premier]
    hi = (cum - debut[groupe]) / tot
    lo = hi - u / tot
    hi = np.where(col == dans_rangee - 1, 1.0, hi)          # exact right edge
    lo = np.where(col == 0, 0.0, lo)
    x_lo = rects[c, 0] + lo * w[c]
    x_hi = rects[c, 0] + hi * w[c]
    y_lo = rects[c, 1] + h[c] * r / b[c]
    y_hi = np.where(r == b[c] - 1, rects[c, 3], rects[c, 1] + h[c] * (r + 1) / b[c])
    geoms = shapely.box(x_lo, y_lo, x_hi, y_hi)

    code_c = communes["code_insee"].to_numpy()[c]
    nom_c = communes["nom"].to_numpy()[c]
    seul = k[c] == 1
    suffixe = np.char.add(np.char.zfill((1 + j // 99).astype(str), 2), np.char.zfill((1 + j % 99).astype(str), 2))
    code = np.where(seul, np.char.add(code_c.astype(str), "0000"), np.char.add(code_c.astype(str), suffixe))
    nom = np.where(seul, np.char.add(nom_c.astype(str), " (commune non irisée)"),
                   np.char.add(np.char.add(nom_c.astype(str), " "), (j + 1).astype(str)))
    tirage = rng.random(len(c))
    type_iris = np.where(seul, "Z", np.where(tirage < 0.03, "A", np.where(tirage < 0.04, "D", "H")))
    g = rng.gamma(20.0, 1.0, len(c))
    part = g / np.bincount(c, g)[c]
    pop = communes["population"].to_numpy(float)[c] * part
    return gpd.GeoDataFrame({"code_iris": code, "code_insee": code_c, "nom_iris": nom, "type_iris": type_iris,
                             "nom_commune": nom_c, "population": pop,
                             "f_commune": communes["f"].to_numpy(float)[c]}, geometry=geoms, crs=L93)


# ---------------------------------------------------------------------------------------------------
# Quartiers
# ---------------------------------------------------------------------------------------------------

def _etoiles(cx: np.ndarray, cy: np.ndarray, rayon: np.ndarray, rng: np.random.Generator, sommets: int = 12):
    """Irregular star-shaped polygons (always valid: vertices at increasing angles around the centre)."""
    n = len(cx)
    # evenly spaced angles, jittered: every gap below π, so the polygon is star-shaped about its centre
    ang = (2 * np.pi / sommets) * (np.arange(sommets)[None, :] + rng.uniform(-0.3, 0.3, (n, sommets))) \
        + rng.uniform(0, 2 * np.pi, (n, 1))
    rr = rayon[:, None] * rng.uniform(0.6, 1.0, (n, sommets))
    xy = np.stack([cx[:, None] + rr * np.cos(ang), cy[:, None] + rr * np.sin(ang)], axis=-1)
    xy = np.concatenate([xy, xy[:, :1]], axis=1)
    return shapely.polygons(xy)


def _sans_chevauchement(geoms: np.ndarray, n_max: int) -> np.ndarray:
    """Indices of at most ``n_max`` polygons, in order, none overlapping an earlier kept one."""
    a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    voisins: dict[int, list[int]] = {}
    for i, j in zip(a.tolist(), b.tolist()):
        if i != j:
            voisins.setdefault(i, []).append(j)
    garde = np.zeros(len(geoms), dtype=bool)
    n = 0
    for i in range(len(geoms)):
        if n >= n_max:
            break
        if not any(garde[j] for j in voisins.get(i, ())):
            garde[i] = True
            n += 1
    return np.flatnonzero(garde)


def _communes_touchees(geoms: np.ndarray, communes: gpd.GeoDataFrame) -> list[list[int]]:
    """For each quartier, the communes it overlaps by more than 100 m², largest share first."""
    q, c = shapely.STRtree(communes.geometry.to_numpy()).query(geoms, predicate="intersects")
    aire = shapely.area(shapely.intersection(geoms[q], communes.geometry.to_numpy()[c]))
    df = pd.DataFrame({"q": q, "c": c, "aire": aire})
    df = df[df["aire"] > 100.0].sort_values(["q", "aire"], ascending=[True, False])
    par_q = df.groupby("q")["c"].agg(list)
    return [par_q.get(i, []) for i in range(len(geoms))]


def _quartiers(communes: gpd.GeoDataFrame, k: np.ndarray, n_24: int, rng: np.random.Generator
               ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """2024 quartiers in communes split into IRIS (more where there are more IRIS), and 2015 quartiers:
    most redrawn around a 2024 one, some elsewhere (left the priority geography in 2024)."""
    rects = shapely.bounds(communes.geometry.to_numpy())
    villes = np.flatnonzero(k > 1)
    if len(villes) == 0:
        villes = np.arange(len(communes))
    p = k[villes] / k[villes].sum()

    def candidats(n: int):
        ci = villes[rng.choice(len(villes), size=n, p=p)]
        x0, y0, x1, y1 = rects[ci].T
        cx = rng.uniform(x0 + 0.05 * (x1 - x0), x1 - 0.05 * (x1 - x0))
        cy = rng.uniform(y0 + 0.05 * (y1 - y0), y1 - 0.05 * (y1 - y0))
        aire_iris = (x1 - x0) * (y1 - y0) / k[ci]
        aire = np.clip(rng.uniform(0.5, 3.0, n) * aire_iris, 8e4, 3e6)   # 8 to 300 ha
        return cx, cy, np.sqrt(aire / np.pi)

    cx, cy, r = candidats(int(n_24 * 2.5) + 10)
    g = _etoiles(cx, cy, r, rng)
    keep = _sans_chevauchement(g, n_24)
    cx, cy, r, g24 = cx[keep], cy[keep], r[keep], g[keep]
    n_24 = len(g24)
    n_15 = min(MAX_QPV2015, int(round(0.95 * n_24)))
    n_repris = int(round(0.8 * n_15))
    sel = rng.choice(n_24, size=n_repris, replace=False) if n_repris else np.array([], dtype=np.int64)
    cx15 = cx[sel] + rng.normal(0, 0.2, n_repris) * r[sel]
    cy15 = cy[sel] + rng.normal(0, 0.2, n_repris) * r[sel]
    r15 = r[sel] * rng.uniform(0.7, 1.1, n_repris)
    ax, ay, ar = candidats(3 * (n_15 - n_repris) + 10)
    g15 = _etoiles(np.r_[cx15, ax], np.r_[cy15, ay], np.r_[r15, ar], rng)
    g15 = g15[_sans_chevauchement(g15, n_15)]

    codes_c = communes["code_insee"].to_numpy()
    noms_c = communes["nom"].to_numpy()
    epci_c = communes["siren_epci"].to_numpy()
    t24 = _communes_touchees(g24, communes)
    codes24 = [f"QN{'0' + DEP}{i % 100:02d}{LETTRES_QN[i // 100]}" for i in range(n_24)]
    libs = [f"{_QUARTIERS[i % len(_QUARTIERS)]} (simulé)" for i in range(n_24)]
    q24 = gpd.GeoDataFrame({
        "code_qp": codes24, "lib_qp": libs,
        "insee_com": [", ".join(sorted(codes_c[t])) for t in t24],
        "lib_com": [", ".join(noms_c[sorted(t, key=lambda i: codes_c[i])]) for t in t24],
        "siren_epci": [", ".join(sorted(set(epci_c[t]))) for t in t24]}, geometry=g24, crs=L93)
    t15 = _communes_touchees(g15, communes)
    q15 = gpd.GeoDataFrame({
        "code_qp": [f"QP{'0' + DEP}{i:03d}" for i in range(1, len(g15) + 1)],
        "nom_qp": [f"{_QUARTIERS[(i * 7) % len(_QUARTIERS)]} (simulé)" for i in range(len(g15))],
        "commune_qp": [", ".join(noms_c[sorted(t, key=lambda i: codes_c[i])]) for t in t15]},
        geometry=g15, crs=L93)
    # a quartier that touches no commune (cannot happen: centres are inside communes) would be dropped
    return q24[[len(t) > 0 for t in t24]].reset_index(drop=True), q15[[len(t) > 0 for t in t15]].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------
# Fragility and area weights, vectorised
# ---------------------------------------------------------------------------------------------------

def _fragilite_iris(iris: gpd.GeoDataFrame, quartiers: gpd.GeoDataFrame, rng: np.random.Generator) -> np.ndarray:
    """The rule of :func:`observatoire.demo.simulation._fragility` for a fictitious world: the
    commune's fragility, raised towards 0.85 in proportion to the IRIS' area inside quartiers."""
    f = iris["f_commune"].to_numpy(float).copy()
    if len(quartiers):
        w = area_weights(iris, quartiers)
        share = pd.Series(iris.index, index=iris["code_iris"])
        part = np.bincount(share.loc[w["code_iris"]].to_numpy(), w["w"].to_numpy(), minlength=len(iris)).clip(0, 1)
        f = f * (1 - part) + F_QUARTIER * part
    return np.clip(f + rng.normal(0, 0.03, len(f)), 0, 1)


# ---------------------------------------------------------------------------------------------------
# The world
# ---------------------------------------------------------------------------------------------------

def monde_grand(n_iris: int = 48_000, n_quartiers: int = 1_600, seed: int = 2024, n_communes: int | None = None,
                surface_km2: float | None = None, communes_par_epci: int = 20) -> MondeGrand:
    """A large fully simulated territory: the département ``00`` of the région ``00``.

    Parameters
    ----------
    n_iris : number of IRIS (exact).
    n_quartiers : number of 2024 quartiers (fewer when the communes are too small to place them
        without overlaps); about 95 % as many 2015 quartiers (at most 999).
    seed : seed of every draw (same seed, same world).
    n_communes : default ``0.43 × n_iris`` like the Nord (648 communes, 1,500 IRIS), at most 999.
    surface_km2 : default 2.7 km² per IRIS, so that the simulated Filosofi grid of a France holds
        about as many inhabited 200 m squares as the real one (2.3 million).
    communes_par_epci : communes per EPCI (neighbours in the grid).

    Examples
    --------
    >>> m = monde_grand(300, 10, seed=1)
    >>> len(m.iris), m.territoire.kind, m.territoire.departements
    (300, 'departement', ['00'])
    """
    if n_quartiers > MAX_QPV2024:
        raise ValueError(f"au plus {MAX_QPV2024} quartiers 2024 dans un département (codes QN000nnX)")
    rng = np.random.default_rng(seed)
    n_communes = int(n_communes or min(MAX_COMMUNES, max(4, round(0.43 * n_iris))))
    if not 1 <= n_communes <= MAX_COMMUNES:
        raise ValueError(f"entre 1 et {MAX_COMMUNES} communes dans un département (codes Insee 00001…00999)")
    n_iris = max(int(n_iris), n_communes)
    k = _iris_par_commune(n_iris, n_communes, rng)
    pop = np.where(k > 1, 0.0, np.clip(rng.lognormal(np.log(900), 0.8, n_communes), 50, SEUIL_IRIS - 1))
    pop = np.where(k > 1, np.maximum(SEUIL_IRIS, k * rng.uniform(900, 1_900, n_communes)), pop).round()
    surface = float(surface_km2 or 2.7 * n_iris) * 1e6
    largeur = np.sqrt(surface * 1.2)
    hauteur = surface / largeur
    x0, y0 = 700_000.0 - largeur / 2, 6_600_000.0 - hauteur / 2
    rects = _rectangles_en_rangees(k.astype(float) ** 0.6 * rng.lognormal(0, 0.3, n_communes), x0, y0, largeur,
                                   hauteur, rng)
    codes = np.array([f"{DEP}{i:03d}" for i in range(1, n_communes + 1)])
    noms = _noms_communes(n_communes, rng)
    # EPCIs: square blocks of about ``communes_par_epci`` neighbouring communes (by their centre)
    cx, cy = (rects[:, 0] + rects[:, 2]) / 2, (rects[:, 1] + rects[:, 3]) / 2
    cote = np.sqrt(communes_par_epci * surface / n_communes)
    bloc = np.floor((cy - y0) / cote).astype(np.int64) * 100_000 + np.floor((cx - x0) / cote).astype(np.int64)
    _, epci_idx = np.unique(bloc, return_inverse=True)
    sirens = np.array([f"2000{e + 1:05d}" for e in range(epci_idx.max() + 1)])
    pop_epci = np.bincount(epci_idx, pop)
    nature = np.where(pop_epci >= 400_000, "Métropole", np.where(pop_epci >= 50_000, "CA", "CC"))
    noms_epci = np.array([f"{nature[e]} Démo {e + 1} (simulée)" for e in range(len(sirens))])
    f = np.clip(rng.beta(2.0, 4.0, n_communes) + 0.08 * np.log10(k), 0, 1)
    comp = pd.DataFrame({"code_insee": codes, "nom_commune": noms, "siren_epci": sirens[epci_idx],
                         "nom_epci": noms_epci[epci_idx], "dep": DEP, "reg": REG})
    terr = territory_from_composition(Territoire(departement=DEP), comp, "composition simulée")
    communes = gpd.GeoDataFrame({"code_insee": codes, "nom": noms, "siren_epci": sirens[epci_idx], "dep": DEP,
                                 "population": pop, "f": f}, geometry=shapely.box(*rects.T), crs=L93)
    communes_dep = pd.DataFrame(communes.drop(columns="geometry")).assign(reg=REG)
    dep = gpd.GeoDataFrame({"code": [DEP], "nom": ["Département simulé"]},
                           geometry=[shapely.box(x0, y0, x0 + largeur, y0 + hauteur)], crs=L93)
    iris = _iris(communes, rects, k, rng)
    q24, q15 = _quartiers(communes, k, n_quartiers, rng)
    iris["f"] = _fragilite_iris(iris, q15 if len(q15) else q24, rng)
    iris_ref = pd.DataFrame(iris[["code_iris", "nom_iris", "type_iris", "code_insee", "nom_commune"]])
    return MondeGrand(terr, comp, communes, communes_dep, dep, q15, q24, iris_ref, False, dict(MILLESIMES_FICTIFS),
                      iris=iris)


# ---------------------------------------------------------------------------------------------------
# Writing the mirror
# ---------------------------------------------------------------------------------------------------

def build_mirror_grand(dest: str | Path, monde: MondeGrand, seed: int = 2024) -> Path:
    """Write the mirror of ``monde`` into ``dest`` (replaced if it exists): every file simulated, in its
    official format, with ``manifest.json`` and ``territoire.toml``. Built in a temporary folder next to
    ``dest`` and renamed into place."""
    from ..sources.raw import MANIFEST, write_manifest
    from . import _write_territory
    from .ecriture import Miroir
    from .simules import write_simulated_files

    dest = Path(dest).resolve()
    dest.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + 1)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        m = Miroir(tmp)
        write_simulated_files(m, monde, monde.iris, rng)
        write_manifest(tmp / MANIFEST, m.entries)
        _write_territory(tmp, monde)
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return dest
