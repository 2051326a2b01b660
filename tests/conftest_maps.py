"""Fixture GeoPackage for the map tests, following docs/contracts.md.

Real geometries (communes, QPV 2024 perimeters) from ``../shared/data/valenciennes`` when present,
otherwise a synthetic territory of squares. IRIS are synthetic (grid cells clipped to the communes,
densified to 10 m vertices so that simplification has work to do), QPV 2015 perimeters are
simulated (the real ones are not in ../shared), and every indicator value is **invented** and
flagged as such (statut ``simule`` and a ``sources`` row with ``simule = True``) unless
``simulated=False`` is asked (then the values are still invented but flagged as real, only to test
that no banner appears when the inputs say they are real).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from observatoire.catalogue import load_catalogue
from observatoire.config import parse_config

SHARED = Path(__file__).resolve().parents[2] / "shared"
VAL = SHARED / "data" / "valenciennes"
HAS_SHARED = (VAL / "qpv2024.geojson").exists() and (VAL / "communes.geojson").exists()
L93 = "EPSG:2154"
EVIL = "<img src=x onerror=alert(1)>"
EVIL_COMMUNE = "</script><script>alert(2)</script>"

CATALOGUE_YAML = """
indicateurs:
  - id: taux_pauvrete
    libelle: Taux de pauvreté au seuil de 60 %
    libelle_court: Taux de pauvreté
    theme: revenus
    unite: "%"
    type: valeur_producteur
    source: filosofi
    source_libelle: "Insee, Filosofi (données simulées)"
    polarite: 1
    decimales: 1
  - id: taux_emploi_1564
    libelle: Taux d'emploi des 15-64 ans
    libelle_court: Taux d'emploi
    theme: insertion
    unite: "%"
    type: ratio
    source: rp
    source_libelle: "Insee, RP (données simulées)"
    polarite: -1
  - id: population
    libelle: Population municipale
    theme: demographie
    unite: nombre
    type: effectif
    source: rp
    polarite: 0
  - id: part_60_plus
    libelle: Part des 60 ans et plus
    theme: demographie
    unite: "%"
    type: ratio
    source: rp
    source_libelle: "Insee, RP (données simulées)"
    polarite: 0
"""

IND_COLUMNS = ["type_territoire", "code_territoire", "libelle_territoire", "indicateur", "millesime",
               "millesime_geographie", "valeur", "numerateur", "denominateur", "statut", "methode",
               "qualite", "source"]


def _synthetic_geo():
    """Six 3 km square communes (2 × 3) and three square quartiers: no ../shared needed."""
    x0, y0 = 720_000, 7_030_000
    communes = []
    for i in range(6):
        cx, cy = x0 + (i % 3) * 3000, y0 + (i // 3) * 3000
        communes.append({"code_insee": f"5990{i}", "nom": f"Commune {i}", "siren_epci": "245901160",
                         "dep": "59", "population": 5000.0 + i,
                         "geometry": shapely.box(cx, cy, cx + 3000, cy + 3000)})
    com = gpd.GeoDataFrame(communes, crs=L93)
    qpv = []
    for j, (cx, cy) in enumerate([(x0 + 800, y0 + 800), (x0 + 3800, y0 + 3500), (x0 + 6500, y0 + 1000)]):
        qpv.append({"code_qp": f"QN0599{j}M", "lib_qp": f"Quartier {j}", "insee_com": f"5990{j}",
                    "lib_com": f"Commune {j}", "siren_epci": "245901160", "communes": f"5990{j}",
                    "surface_ha": 64.0, "geometry": shapely.box(cx, cy, cx + 800, cy + 800)})
    return com, gpd.GeoDataFrame(qpv, crs=L93)


def _real_geo():
    com = gpd.read_file(VAL / "communes.geojson").to_crs(L93)
    com = gpd.GeoDataFrame({"code_insee": com["code"].astype(str), "nom": com["nom"].astype(str),
                            "siren_epci": com["siren_epci"].astype(str), "dep": "59",
                            "population": com["population_municipale"].astype(float)},
                           geometry=com.geometry, crs=L93)
    q = gpd.read_file(VAL / "qpv2024.geojson").to_crs(L93)
    qpv = gpd.GeoDataFrame({"code_qp": q["code_qp"].astype(str), "lib_qp": q["lib_qp"].astype(str),
                            "insee_com": q["insee_com"].astype(str), "lib_com": q["lib_com"].astype(str),
                            "siren_epci": q["siren_epci"].astype(str), "communes": q["insee_com"].astype(str),
                            "surface_ha": (q.area / 10_000).round(1)}, geometry=q.geometry, crs=L93)
    return com, qpv


def make_iris(communes: gpd.GeoDataFrame, cell: float = 1500.0, densify: float = 10.0) -> gpd.GeoDataFrame:
    """Synthetic IRIS: a ``cell`` metre grid clipped to each commune (a coverage of the territory)."""
    rows = []
    for _, c in communes.iterrows():
        minx, miny, maxx, maxy = c.geometry.bounds
        n = 0
        for x in np.arange(np.floor(minx / cell) * cell, maxx, cell):
            for y in np.arange(np.floor(miny / cell) * cell, maxy, cell):
                piece = c.geometry.intersection(shapely.box(x, y, x + cell, y + cell))
                if piece.is_empty or piece.area < 1.0:
                    continue
                n += 1
                rows.append({"code_iris": f"{c['code_insee']}{n:04d}", "code_insee": c["code_insee"],
                             "nom_iris": f"{c['nom']} {n}", "type_iris": "H", "nom_commune": c["nom"],
                             "geometry": shapely.segmentize(piece, densify)})
    return gpd.GeoDataFrame(rows, crs=communes.crs)


def make_fixture(root: Path, *, simulated: bool = True, evil: bool = False, fond: str = "aucun",
                 real: bool | None = None, extra_cartes: dict | None = None):
    """Write ``root/processed/observatoire.gpkg`` and return ``(config, catalogue, info)``.

    ``info`` has the expected counts used by the tests (quartiers, secret IRIS…).
    """
    root = Path(root)
    real = HAS_SHARED if real is None else real
    com, qpv = _real_geo() if real else _synthetic_geo()
    if evil:
        qpv.loc[qpv.index[0], "lib_qp"] = EVIL
        com.loc[com.index[0], "nom"] = EVIL_COMMUNE
    iris = make_iris(com)
    epci = gpd.GeoDataFrame({"siren": ["245901160"], "nom": ["CA Valenciennes Métropole"]},
                            geometry=[shapely.union_all(com.geometry.values)], crs=L93)
    # simulated QPV 2015 perimeters: the 2024 ones shrunk by 60 m, minus the new quartier (suffix N)
    q15 = qpv[~qpv["code_qp"].str.endswith("N")].copy()
    q15 = gpd.GeoDataFrame({"code_qp": "QP" + q15["code_qp"].str[2:8], "nom_qp": q15["lib_qp"],
                            "commune_qp": q15["lib_com"], "surface_ha": 0.0},
                           geometry=q15.geometry.buffer(-60), crs=L93)
    q15 = q15[~q15.geometry.is_empty]
    zone_iris = iris[iris["code_insee"] == iris["code_insee"].iloc[-1]].head(2)
    zones = gpd.GeoDataFrame({"code": ["VEILLE_TEST"], "libelle": ["Zone de veille (test)"],
                              "commune": [zone_iris["code_insee"].iloc[0]]},
                             geometry=[shapely.union_all(zone_iris.geometry.values)], crs=L93)

    rng = np.random.default_rng(42)
    rows = []
    st_sim = "simule" if simulated else "ok"
    # IRIS values: every 7th IRIS secret, every 11th (not secret) nd
    for ind, years, lo, hi in (("taux_pauvrete", (2019, 2021), 5, 55), ("taux_emploi_1564", (2017, 2022), 35, 70),
                               ("part_60_plus", (2022,), 12, 35), ("population", (2022,), 500, 3000)):
        for y in years:
            for i, code in enumerate(iris["code_iris"]):
                secret, nd = i % 7 == 3, i % 11 == 5 and i % 7 != 3
                val = np.nan if (secret or nd) else float(np.round(rng.uniform(lo, hi), 2))
                rows.append(["iris", code, code, ind, y, 2024, val, np.nan, np.nan,
                             "secret" if secret else "nd" if nd else st_sim, "producteur", "", "fixture"])
            for j, code in enumerate(qpv["code_qp"]):
                est = ind != "taux_pauvrete" or j % 2 == 0
                secret = j == 1 and ind == "taux_emploi_1564"
                val = np.nan if secret else float(np.round(rng.uniform(lo, hi), 2))
                statut = "secret" if secret else (st_sim if simulated else ("estime" if est else "ok"))
                rows.append(["qpv2024", code, code, ind, y, 2024, val, np.nan, np.nan, statut,
                             "surface" if est else "producteur", "moyenne" if est else "", "fixture"])
    ind = pd.DataFrame(rows, columns=IND_COLUMNS)
    sources = pd.DataFrame({"source": ["fixture"], "fichier": ["fixture/valeurs_inventees.csv"],
                            "millesime": [2021], "simule": [bool(simulated)], "sha256": [""], "url": [""]})

    processed = root / "processed"
    processed.mkdir(parents=True, exist_ok=True)
    gpkg = processed / "observatoire.gpkg"
    if gpkg.exists():
        gpkg.unlink()
    com.to_file(gpkg, layer="communes")
    epci.to_file(gpkg, layer="epci")
    iris.to_file(gpkg, layer="iris")
    qpv.to_file(gpkg, layer="qpv_2024")
    q15.to_file(gpkg, layer="qpv_2015")
    zones.to_file(gpkg, layer="zones")
    pyogrio.write_dataframe(ind, gpkg, layer="indicateurs")
    pyogrio.write_dataframe(sources, gpkg, layer="sources")

    cat_path = root / "indicateurs.yaml"
    yaml_text = CATALOGUE_YAML if simulated else CATALOGUE_YAML.replace(" (données simulées)", "")
    cat_path.write_text(yaml_text, encoding="utf-8")
    catalogue = load_catalogue(cat_path, validate=False)
    cartes = {"fond": fond, "classification": "quantiles", "classes": 5, "annee_bornes": "reference"}
    cartes.update(extra_cartes or {})
    cfg = parse_config({"territoire": {"epci": "245901160", "nom": "Valenciennes Métropole"},
                        "chemins": {"processed": str(processed), "cartes": str(root / "maps"),
                                    "raw": str(root / "raw"), "portraits": str(root / "portraits")},
                        "cartes": cartes}, root / "observatoire.toml")
    info = {"n_qpv2024": len(qpv), "n_qpv2015": len(q15), "n_iris": len(iris), "n_communes": len(com),
            "qpv_codes": list(qpv["code_qp"]), "real": real, "gpkg": gpkg}
    return cfg, catalogue, info
