"""The world a demo mirror describes: the territory, its communes, quartiers and IRIS, and the
fragility of each place that the simulated files are calibrated on.

:func:`monde_reel` builds it for ANY territory (an EPCI, a département, a list of communes) from the
real national files of ``../shared/data/real`` (INSEE composition, IGN commune outlines, ANCT 2015
perimeters, INSEE IRIS reference, Filosofi communes and IRIS, INSEE quartier tables) and the real 2024
perimeters available in ``../shared/data`` (``*/qpv2024.geojson``). :func:`monde_fictif` is the small
fully simulated territory used when ``../shared`` is absent.

Fragility ``f`` (0 well-off … 1 priority quartier) drives every simulated value. It is calibrated on
real figures: the IRIS poverty rate of Filosofi where INSEE publishes it, the 2015 quartiers' real
poverty rates where an IRIS overlaps them, the commune's real median income elsewhere. Commune
populations are the real numbers of persons in fiscal households (Filosofi, the closest real count
to the municipal population available here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from ..config import Territoire
from ..errors import ObservatoireError
from ..sources import anct, ign
from ..sources.insee_cog import read_epci_composition, read_iris_reference
from ..territory import Territory, territory_from_composition

L93 = 2154

#: Vintages of the mirror of a real territory: the real files of ``../shared/data/real`` (Filosofi 2014–2019)
#: and the editions simulated next to them (Filosofi 2021, the last INSEE produces, carried forward from the
#: real 2019 by :mod:`observatoire.demo.prolongation` so that the 2021 quartier figures have references).
MILLESIMES_REELS = {
    "cog": 2020, "iris": 2021, "rp": [2017, 2022], "filosofi": [2014, 2015, 2016, 2017, 2018, 2019, 2021],
    "qp_insee": [2017, 2018, 2019, 2020, 2021, 2022], "caf": [2016, 2017, 2018, 2019, 2020], "cnam": [2022],
    "qp2024": [2024], "filosofi_qp2024": [2021], "qpv2024": 2024, "qpv2015": 2015,
}
#: Last real edition of Filosofi by 2015 quartier (``data_filo19_qp_revdis.csv``).
FILOSOFI_QP_REEL = 2019
#: Vintages of the fully simulated territory.
MILLESIMES_FICTIFS = {
    "cog": 2020, "iris": 2021, "rp": [2017, 2022], "filosofi": [2019, 2021], "qp_insee": [2017, 2022], "caf": [2020],
    "cnam": [2022], "qp2024": [2024], "filosofi_qp2024": [2021], "qpv2024": 2024, "qpv2015": 2015,
}


@dataclass
class Monde:
    """Everything the mirror writers need.

    ``composition``: the INSEE composition of every commune (``code_insee, nom_commune, siren_epci,
    nom_epci, dep, reg``). ``communes``: L93 outlines of the communes whose IRIS are simulated (the
    territory and the neighbours its quartiers touch) with ``population`` and ``f``. ``communes_dep``:
    every commune of the territory's départements (``code_insee, nom, dep, reg, population, f``).
    ``iris_ref``: the IRIS to simulate (real codes and names when ``reel``). ``tp60_iris``,
    ``tp60_qp``: real poverty rates used for calibration, ``filo_qp``: the real Filosofi values of the
    2015 quartiers (edition :data:`FILOSOFI_QP_REEL`) the 2024 quartier table is calibrated on (None in
    the fictitious world).
    """

    territoire: Territory
    composition: pd.DataFrame
    communes: gpd.GeoDataFrame
    communes_dep: pd.DataFrame
    departements: gpd.GeoDataFrame
    qpv2015: gpd.GeoDataFrame
    qpv2024: gpd.GeoDataFrame
    iris_ref: pd.DataFrame
    reel: bool
    millesimes: dict
    shared: Path | None = None
    tp60_iris: pd.Series | None = None
    tp60_qp: pd.Series | None = None
    notes: dict = field(default_factory=dict)
    filo_qp: pd.DataFrame | None = None


def real_dir(shared: Path) -> Path:
    return Path(shared) / "real"


def _commune_files(shared: Path, dep: str) -> list[Path]:
    folder = real_dir(shared) / "ign_communes"
    return sorted(folder.glob(f"communes-{dep}-*.geojson")) + sorted(folder.glob(f"communes-{dep}.geojson"))


def qpv2024_files(shared: Path) -> list[Path]:
    """Real 2024 perimeter files found under ``../shared/data`` (extracts of the national file)."""
    return sorted(Path(shared).glob("*/qpv2024.geojson"))


def _filosofi_communes(shared: Path, deps: list[str]) -> pd.DataFrame:
    """Real persons in fiscal households and median income of every commune (Filosofi 2019)."""
    from ..sources.insee_filosofi import read_filosofi_cc

    p = real_dir(shared) / "insee_filosofi" / "FILO2019_DISP_COM.csv"
    t = read_filosofi_cc(p)
    d = t.data
    d = d[d.index.str[:2].isin(deps) | d.index.str[:3].isin(deps)]
    return pd.DataFrame({"population": d.get("NB_PERSMENFISC"), "mediane": d.get("DISP_MED")})


def fragilite_commune(mediane: pd.Series) -> pd.Series:
    """Fragility of a commune from its real median disposable income (€/UC/year)."""
    return ((22_000 - mediane) / 9_000).clip(0, 1).fillna(0.3)


def fragilite_tp60(tp60: pd.Series) -> pd.Series:
    """Fragility from a real poverty rate (%): 8 % → 0, 53 % → 1."""
    return ((tp60 - 8.0) / 45.0).clip(0, 1)


def monde_reel(shared: Path, territoire: dict) -> Monde:
    """The demo world of ``territoire`` (``{"epci": …}``, ``{"departement": …}`` or ``{"communes": […]}``)
    from the real files of ``shared`` (``../shared/data``).

    Raises
    ------
    ObservatoireError : unknown territory (with close matches), or a département whose real commune
        outlines are not in ``shared`` (the message lists the départements available).
    """
    from ..sources.insee_filosofi import read_filosofi_iris, read_filosofi_qp

    real = real_dir(shared)
    comp_path = real / "insee_cog" / "EPCI_2020.csv"
    comp = read_epci_composition(comp_path)
    t = Territoire(epci=territoire.get("epci"), communes=tuple(territoire.get("communes") or ()),
                   departement=territoire.get("departement"))
    terr = territory_from_composition(t, comp, str(comp_path))
    deps = terr.departements
    missing = [d for d in deps if not _commune_files(shared, d)]
    if missing:
        have = sorted({p.name.split("-")[1] for p in (real / "ign_communes").glob("communes-*.geojson")})
        raise ObservatoireError(
            f"Pas de contours réels des communes pour le département {', '.join(missing)} dans "
            f"{real / 'ign_communes'} : la démonstration ne peut pas dessiner ce territoire.",
            fichier=str(real / "ign_communes"),
            correction=f"choisissez un territoire des départements disponibles ({', '.join(have) or 'aucun'}), "
                       "ou lancez « make » avec une connexion pour télécharger les fichiers officiels")
    dep_codes = set(comp.loc[comp["dep"].isin(deps), "code_insee"])
    outlines = pd.concat([ign.read_communes(_commune_files(shared, d), dep_codes) for d in deps], ignore_index=True)
    members = outlines[outlines["code_insee"].isin(terr.codes)]
    absent = sorted(set(terr.codes) - set(members["code_insee"]))
    if absent:
        raise ObservatoireError(f"Communes du territoire sans contour réel : {', '.join(absent[:10])}.",
                                fichier=str(real / "ign_communes"),
                                correction="les contours (ADMIN EXPRESS 2018) et la composition (Insee 2020) n'ont pas "
                                           "le même millésime pour ces communes : choisissez un autre territoire")
    outline = shapely.union_all(members.geometry.values)
    q15 = anct.read_qpv2015(real / "anct_qpv2015" / "QP_METROPOLEOUTREMER_WGS84_EPSG4326.shp", None, outline)
    q24 = _qpv2024(shared, set(terr.codes), tuple(members.total_bounds))
    touched = _touched(outlines, [q15, q24]) | set(terr.codes)
    communes = outlines[outlines["code_insee"].isin(touched)].copy()
    filo = _filosofi_communes(shared, deps)
    noms = dict(zip(comp["code_insee"], comp["nom_commune"]))
    dep_rows = comp[comp["dep"].isin(deps)].copy()
    communes_dep = pd.DataFrame({"code_insee": dep_rows["code_insee"], "nom": dep_rows["nom_commune"],
                                 "dep": dep_rows["dep"], "reg": dep_rows["reg"]})
    pop = communes_dep["code_insee"].map(filo["population"])
    communes_dep["population"] = pop.fillna(pop.median() * 0.25 if pop.notna().any() else 500).round()
    communes_dep["f"] = fragilite_commune(communes_dep["code_insee"].map(filo["mediane"])).to_numpy()
    communes["nom"] = communes["code_insee"].map(noms).fillna(communes["nom"])
    communes["population"] = communes["code_insee"].map(communes_dep.set_index("code_insee")["population"]).fillna(500)
    communes["f"] = communes["code_insee"].map(communes_dep.set_index("code_insee")["f"]).fillna(0.3)
    iris_ref = read_iris_reference(real / "insee_cog" / "iris_2021.csv", set(communes["code_insee"]))
    tp60_iris = read_filosofi_iris(real / "insee_filosofi" / "BASE_TD_FILO_DISP_IRIS_2019.csv",
                                   set(communes["code_insee"])).data["DISP_TP60"]
    qp = read_filosofi_qp(real / "insee_qpv2015" / f"data_filo{FILOSOFI_QP_REEL % 100:02d}_qp_revdis.csv",
                          set(q15["code_qp"]))
    filo_qp = qp[0].data if qp and qp[0].niveau == "qpv2015" else None
    tp60_qp = filo_qp["DISP_TP60"] if filo_qp is not None else None
    departements = pd.concat([ign.read_departement([real / "ign_communes" / "departements.geojson"], d) for d in deps],
                             ignore_index=True)
    notes = {"qpv2024_sans_perimetre": quartiers_sans_perimetre_2024(q15, q24, outline)}
    return Monde(terr, comp, gpd.GeoDataFrame(communes, geometry="geometry", crs=L93).reset_index(drop=True),
                 communes_dep.reset_index(drop=True), departements, q15, q24, iris_ref, True,
                 dict(MILLESIMES_REELS), Path(shared), tp60_iris, tp60_qp, notes, filo_qp)


def quartiers_sans_perimetre_2024(q15: gpd.GeoDataFrame, q24: gpd.GeoDataFrame, outline) -> list[str]:
    """The territory's 2015 quartiers (more than half of their area inside ``outline``) that no 2024
    perimeter of the mirror overlaps (more than 1 ha).

    ``../shared`` holds the real 2024 perimeters of one area only: for a territory elsewhere, its 2024
    quartiers are missing from the demo, and these codes say which 2015 quartiers show it.
    """
    if q15.empty:
        return []
    area = q15.geometry.area.to_numpy()
    inside = q15.geometry.intersection(outline).area.to_numpy()
    own = q15[inside > 0.5 * area]
    if q24.empty:
        return sorted(own["code_qp"].astype(str))
    u = shapely.union_all(q24.geometry.values)
    overlap = own.geometry.intersection(u).area.to_numpy()
    return sorted(own.loc[overlap <= 10_000.0, "code_qp"].astype(str))


def _qpv2024(shared: Path, codes: set[str], bbox) -> gpd.GeoDataFrame:
    frames = [anct.read_qpv2024(p, codes, bbox=bbox) for p in qpv2024_files(shared)]
    frames = [f for f in frames if len(f)]
    if not frames:
        return anct.read_qpv2024(qpv2024_files(shared)[0], set(), bbox=bbox) if qpv2024_files(shared) else \
            gpd.GeoDataFrame({c: [] for c in anct.QPV2024_COLUMNS}, geometry=[], crs=L93)
    out = pd.concat(frames, ignore_index=True).drop_duplicates("code_qp")
    return gpd.GeoDataFrame(out, geometry="geometry", crs=L93)


def _touched(outlines: gpd.GeoDataFrame, quartiers: list[gpd.GeoDataFrame]) -> set[str]:
    """Communes any of the quartiers overlaps (more than a sliver)."""
    out: set[str] = set()
    for q in quartiers:
        if q is None or q.empty:
            continue
        u = shapely.union_all(q.geometry.values)
        inter = outlines.geometry.intersection(u).area
        out |= set(outlines.loc[inter > 100.0, "code_insee"])
    return out


def monde_fictif() -> Monde:
    """A small fully simulated territory (département 00, EPCI 200099999): 4 communes of an EPCI, 1
    neighbour of another EPCI, 3 quartiers 2024 (one inside a commune, one across two communes, one
    spilling into the neighbouring EPCI) and 2 quartiers 2015."""
    box = shapely.box
    spec = [("00001", "Villeneuve-la-Démo", "200099999", 38200, box(700000, 6600000, 706000, 6605000)),
            ("00002", "Bourg-Fictif", "200099999", 14600, box(706000, 6600000, 712000, 6605000)),
            ("00003", "Val-d'Exemple", "200099999", 4200, box(700000, 6605000, 705000, 6608000)),
            ("00004", "Essai-le-Petit", "200099999", 1300, box(705000, 6605000, 712000, 6608000)),
            ("00005", "Hors-Champ", "200099998", 9800, box(712000, 6600000, 718000, 6608000))]
    noms_epci = {"200099999": "CA Démo (simulée)", "200099998": "CC Voisine (simulée)"}
    comp = pd.DataFrame({"code_insee": [s[0] for s in spec], "nom_commune": [s[1] for s in spec],
                         "siren_epci": [s[2] for s in spec], "nom_epci": [noms_epci[s[2]] for s in spec],
                         "dep": "00", "reg": "00"})
    terr = territory_from_composition(Territoire(epci="200099999"), comp, "composition simulée")
    communes = gpd.GeoDataFrame({"code_insee": comp["code_insee"], "nom": comp["nom_commune"],
                                 "siren_epci": comp["siren_epci"], "dep": "00",
                                 "population": [float(s[3]) for s in spec], "f": [0.45, 0.35, 0.2, 0.15, 0.3]},
                                geometry=[s[4] for s in spec], crs=L93)
    communes_dep = pd.DataFrame(communes.drop(columns="geometry")).assign(reg="00")
    dep = gpd.GeoDataFrame({"code": ["00"], "nom": ["Département simulé"]},
                           geometry=[shapely.union_all(communes.geometry.values).buffer(2000)], crs=L93)
    q24 = gpd.GeoDataFrame({
        "code_qp": ["QN00001M", "QN00002M", "QN00003N"],
        "lib_qp": ["Les Tilleuls (simulé)", "Zone intercommunale du Canal (simulé)", "Les Hauts du Val (simulé)"],
        "insee_com": ["00001", "00001, 00002", "00002, 00005"],
        "lib_com": ["Villeneuve-la-Démo", "Villeneuve-la-Démo, Bourg-Fictif", "Bourg-Fictif, Hors-Champ"],
        "siren_epci": ["200099999", "200099999", "200099998, 200099999"]},
        geometry=[shapely.Point(702500, 6602000).buffer(500), box(705400, 6601500, 706700, 6602600),
                  box(711300, 6603000, 712400, 6604200)], crs=L93)
    q15 = gpd.GeoDataFrame({"code_qp": ["QP000001", "QP000002"],
                            "nom_qp": ["Les Tilleuls (simulé)", "Quartier du Canal (simulé)"],
                            "commune_qp": ["Villeneuve-la-Démo", "Villeneuve-la-Démo, Bourg-Fictif"]},
                           geometry=[shapely.Point(702400, 6602050).buffer(430), box(705500, 6601600, 706500, 6602500)],
                           crs=L93)
    rows = []
    for c in communes.itertuples(index=False):
        n = 1 if c.population < 5000 else max(2, int(round(c.population / 2000)))
        if n == 1:
            rows.append((f"{c.code_insee}0000", f"{c.nom} (commune non irisée)", "Z", c.code_insee, c.nom))
        else:
            rows += [(f"{c.code_insee}{101 + k:04d}", f"{c.nom} {k + 1}", "H", c.code_insee, c.nom) for k in range(n)]
    iris_ref = pd.DataFrame(rows, columns=["code_iris", "nom_iris", "type_iris", "code_insee", "nom_commune"])
    return Monde(terr, comp, communes, communes_dep, dep, q15, q24, iris_ref, False, dict(MILLESIMES_FICTIFS))
