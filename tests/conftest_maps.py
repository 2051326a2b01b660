"""Fixture GeoPackage for the map tests, following docs/contracts.md (tidy table v2).

Real geometries (communes, QPV 2024 perimeters) from ``../shared/data/valenciennes`` when present,
otherwise a synthetic territory of squares. IRIS are synthetic (grid cells clipped to the communes,
densified to 10 m vertices so that simplification has work to do), QPV 2015 perimeters are
simulated (the 2024 ones shrunk). Every value is **invented**; what the fixture *says* about it
depends on ``mode``:

- ``"simule"``: every figure and every geometry source is flagged simulated;
- ``"mixte"``: the poverty rate (Filosofi) is flagged real at every scale, the employment rate and
  the share of 60+ simulated; the IRIS outlines are simulated (``sources`` row ``ign_iris``), the
  quartier perimeters real; partner figures are real (as partner figures always are);
- ``"reel"``: everything flagged real — only to test that no simulated mark appears anywhere.

Built in every mode: ``nd`` rows with their ``motif``, producer notes (``NOTE_CNAF:1``), ``qpv2015``
rows, partner rows (``methode = partenaire``, source ``etude_bailleur``, declared with its libellé in
``[[partenaires]]``) at the quartier 2024 and 2015 scales, and a partner indicator outside the catalogue.
Quartier values are deterministic (see :func:`quartier_value`) so that tests can compute classes by hand.
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
from observatoire.tidy import TIDY_COLUMNS

SHARED = Path(__file__).resolve().parents[2] / "shared"
VAL = SHARED / "data" / "valenciennes"
HAS_SHARED = (VAL / "qpv2024.geojson").exists() and (VAL / "communes.geojson").exists()
L93 = "EPSG:2154"
EVIL = "<img src=x onerror=alert(1)>"
EVIL_COMMUNE = "</script><script>alert(2)</script>"
PARTNER_ID = "etude_bailleur"
PARTNER_LABEL = "Bailleur social, enquête occupation du parc 2019"
MOTIF_ND = "taux publié sans dénominateur : pas de somme"
NOTE = "NOTE_CNAF:1"

CATALOGUE_YAML = """
indicateurs:
  - id: taux_pauvrete
    libelle: Taux de pauvreté au seuil de 60 %
    libelle_court: Taux de pauvreté
    theme: revenus
    unite: "%"
    type: valeur_producteur
    source: filosofi
    source_libelle: "Insee, Filosofi"
    polarite: 1
    decimales: 1
  - id: taux_emploi_1564
    libelle: Taux d'emploi des 15-64 ans
    libelle_court: Taux d'emploi
    theme: insertion
    unite: "%"
    type: ratio
    source: rp
    source_libelle: "Insee, RP"
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
    source_libelle: "Insee, RP"
    polarite: 0
"""

#: Indicators of the fixture: id, years, value range of the IRIS, real in mode « mixte »?
SERIES = (("taux_pauvrete", (2019, 2021), 5, 55, True), ("taux_emploi_1564", (2017, 2022), 35, 70, False),
          ("part_60_plus", (2022,), 12, 35, False), ("population", (2022,), 500, 3000, False))


def quartier_value(ind: str, j: int, year: int) -> float:
    """Value of the j-th quartier (2024 or 2015): 20 + 2 j (+ 1 for the later year of a series)."""
    later = {"taux_pauvrete": 2021, "taux_emploi_1564": 2022}.get(ind)
    return 20.0 + 2 * j + (1.0 if year == later else 0.0)


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


def _row(kind, code, ind, year, geo_year, val, statut, methode, simule, *, qualite="", note="", motif="",
         source="fixture", couverture=np.nan, libelle=None):
    return {"type_territoire": kind, "code_territoire": code, "libelle_territoire": libelle or code,
            "indicateur": ind, "millesime": year, "millesime_geographie": geo_year, "valeur": val,
            "numerateur": np.nan, "denominateur": np.nan, "statut": statut, "methode": methode,
            "qualite": qualite, "couverture": couverture, "simule": bool(simule), "note_producteur": note,
            "motif": motif, "source": source}


def is_simulated(mode: str, ind: str) -> bool:
    """Whether the fixture flags the producer figures of ``ind`` simulated in ``mode``."""
    if mode == "simule":
        return True
    if mode == "reel":
        return False
    return not next(real for i, _, _, _, real in SERIES if i == ind)


def tidy_rows(iris_codes, qpv_codes, q15_codes, mode: str, seed: int = 42) -> pd.DataFrame:
    """The tidy table of the fixture (see the module docstring)."""
    rng = np.random.default_rng(seed)
    rows = []
    for ind, years, lo, hi, _ in SERIES:
        sim = is_simulated(mode, ind)
        for y in years:
            # IRIS: every 7th secret, every 11th (not secret) nd with its motif, every 13th a producer note
            for i, code in enumerate(iris_codes):
                secret, nd = i % 7 == 3, i % 11 == 5 and i % 7 != 3
                val = np.nan if (secret or nd) else float(np.round(rng.uniform(lo, hi), 2))
                rows.append(_row("iris", code, ind, y, 2024, val, "secret" if secret else "nd" if nd else "ok",
                                 "producteur", sim, motif=MOTIF_ND if nd else "",
                                 note=NOTE if i % 13 == 2 and not (secret or nd) else ""))
            # quartiers 2024: odd ones estimated from the IRIS, quartier 1 secret for the employment rate
            for j, code in enumerate(qpv_codes):
                est = j % 2 == 1
                secret = j == 1 and ind == "taux_emploi_1564"
                val = np.nan if secret else quartier_value(ind, j, y)
                statut = "secret" if secret else ("estime" if est else "ok")
                rows.append(_row("qpv2024", code, ind, y, 2024, val, statut, "dasymetrique" if est else "producteur",
                                 sim, qualite="moyenne" if est else "", couverture=0.8 if est else np.nan,
                                 note=NOTE if j == 0 else ""))
            # quartiers 2015: producer figures (INSEE's own series), the last one nd with its motif
            for j, code in enumerate(q15_codes):
                last = j == len(q15_codes) - 1
                rows.append(_row("qpv2015", code, ind, y, 2015, np.nan if last else quartier_value(ind, j, y),
                                 "nd" if last else "ok", "producteur", sim, motif=MOTIF_ND if last else ""))
    # partner figures: employment rate of quartiers 0 and the last (2011 and 2019 for quartier 0), of the
    # first 2015 quartier, poverty rate of the last quartier, and an indicator outside the catalogue (never mapped)
    for code, year, val in ((qpv_codes[0], 2011, 44.0), (qpv_codes[0], 2019, 41.0), (qpv_codes[-1], 2019, 35.5)):
        rows.append(_row("qpv2024", code, "taux_emploi_1564", year, 2024, val, "ok", "partenaire", False,
                         source=PARTNER_ID, libelle=f"{code} (périmètre du bailleur)"))
    rows.append(_row("qpv2024", qpv_codes[-1], "taux_pauvrete", 2020, 2024, 30.0, "ok", "partenaire", False,
                     source=PARTNER_ID))
    if len(q15_codes):
        rows.append(_row("qpv2015", q15_codes[0], "taux_emploi_1564", 2019, 2015, 38.0, "ok", "partenaire", False,
                         source=PARTNER_ID))
    rows.append(_row("qpv2024", qpv_codes[0], "part_logements_bailleur", 2019, 2024, 60.0, "ok", "partenaire",
                     False, source=PARTNER_ID))
    return pd.DataFrame(rows, columns=TIDY_COLUMNS)


def sources_table(mode: str) -> pd.DataFrame:
    """The ``sources`` layer: the invented values' file, IRIS contours, quartier perimeters, communes."""
    sim_values = mode != "reel"
    rows = [("fixture", "fixture/valeurs_inventees.csv", sim_values),
            ("ign_iris", "ign_iris/contours_iris.geojson", mode != "reel"),
            ("anct_qpv2024", "anct_qpv2024/qpv2024.zip", mode == "simule"),
            ("anct_qpv2015", "anct_qpv2015/qpv2015.zip", mode == "simule"),
            ("ign_communes", "ign_communes/communes.geojson", mode == "simule")]
    return pd.DataFrame({"source": [r[0] for r in rows], "fichier": [r[1] for r in rows], "millesime": 2024,
                         "simule": [bool(r[2]) for r in rows], "sha256": "", "url": ""})


def make_fixture(root: Path, *, mode: str = "simule", evil: bool = False, fond: str = "aucun",
                 real: bool | None = None, extra_cartes: dict | None = None, simulated: bool | None = None):
    """Write ``root/processed/observatoire.gpkg`` and return ``(config, catalogue, info)``.

    ``simulated`` (older tests): True → ``mode="simule"``, False → ``mode="reel"``.
    ``info`` has the expected counts and codes used by the tests.
    """
    if simulated is not None:
        mode = "simule" if simulated else "reel"
    assert mode in ("simule", "mixte", "reel"), mode
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
    ind = tidy_rows(list(iris["code_iris"]), list(qpv["code_qp"]), list(q15["code_qp"]), mode)

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
    pyogrio.write_dataframe(sources_table(mode), gpkg, layer="sources")

    cat_path = root / "indicateurs.yaml"
    cat_path.write_text(CATALOGUE_YAML, encoding="utf-8")
    catalogue = load_catalogue(cat_path, validate=False)
    cartes = {"fond": fond, "classification": "quantiles", "classes": 5, "annee_bornes": "reference"}
    cartes.update(extra_cartes or {})
    partner_file = root / "partenaires" / "bailleur.csv"
    cfg = parse_config({"territoire": {"epci": "245901160", "nom": "Valenciennes Métropole"},
                        "chemins": {"processed": str(processed), "cartes": str(root / "maps"),
                                    "raw": str(root / "raw"), "portraits": str(root / "portraits")},
                        "partenaires": [{"id": PARTNER_ID, "libelle": PARTNER_LABEL, "fichier": str(partner_file),
                                         "optionnel": True}],
                        "cartes": cartes}, root / "observatoire.toml")
    info = {"n_qpv2024": len(qpv), "n_qpv2015": len(q15), "n_iris": len(iris), "n_communes": len(com),
            "qpv_codes": list(qpv["code_qp"]), "q15_codes": list(q15["code_qp"]), "iris_codes": list(iris["code_iris"]),
            "real": real, "gpkg": gpkg, "mode": mode, "tidy": ind}
    return cfg, catalogue, info
