#!/usr/bin/env python3
"""Map benchmark: Fisher-Jenks on 50,000 values, the maps stage timed on real and synthetic territories,
the size of every generated map, and how informative the quartier classes are.

::

    python scripts/bench_maps.py                      # all of it (``make bench``)
    python scripts/bench_maps.py --config data/mirror/demo/observatoire.toml   # one configuration
    python scripts/bench_maps.py --departement        # only the synthetic département
    python scripts/bench_maps.py --tailles maps       # only the sizes of the maps in a folder

Each timed run is a fresh Python process (imports included, as ``observatoire maps`` pays them)
writing into a temporary folder; wall time is measured around it, CPU time is the user + system
time of that process and of the page-writing processes it started (``RUSAGE_CHILDREN``). The load of
the machine (``os.getloadavg``) is printed with each figure: other work on the 2 cores slows it.

The synthetic département has 1 500 IRIS (Voronoi cells with wavy, densified borders, like real
contours), 300 communes, 91 quartiers 2024 and 80 quartiers 2015, every mappable indicator of the
catalogue at the three scales and partner figures for a third of the quartiers; its values are
random and flagged simulated.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from observatoire.fr import format_nombre
from observatoire.maps.build import BUDGET_QUARTIER, BUDGET_TERRITOIRE, map_sizes
from observatoire.maps.classify import bench_fisher_jenks

ROOT = Path(__file__).resolve().parents[1]

_RUN = """
import os, sys, dataclasses
os.environ["OBSERVATOIRE_SILENCE"] = "1"
from pathlib import Path
from observatoire.config import load_config
from observatoire.maps.build import build_maps
cfg = load_config(sys.argv[1])
cfg = dataclasses.replace(cfg, paths=dataclasses.replace(cfg.paths, maps=Path(sys.argv[2])))
cat = None
if len(sys.argv) > 3:
    from observatoire.catalogue import load_catalogue
    cat = load_catalogue(sys.argv[3], validate=False)
build_maps(cfg, cat)
"""


def timed_maps(config: Path, out: Path, catalogue: Path | None = None) -> dict:
    """Run the maps stage of ``config`` into ``out`` in a fresh process: wall, CPU, load."""
    load = os.getloadavg()[0]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    args = [sys.executable, "-c", _RUN, str(config), str(out)] + ([str(catalogue)] if catalogue else [])
    subprocess.run(args, check=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return {"mur": wall, "cpu": cpu, "charge": load}


def report_sizes(maps: Path) -> dict:
    sizes = map_sizes(maps)
    files = {k: v for k, v in sizes.items() if not k.startswith("_")}
    total = sum(files.values())
    by_kind = {}
    for k, v in files.items():
        kind = k.split("/")[0] if "/" in k else "index"
        n, s, m = by_kind.get(kind, (0, 0, 0))
        by_kind[kind] = (n + 1, s + v, max(m, v))
    print(f"  {len(files)} fichiers, {format_nombre(total / 1e6, 1)} Mo au total")
    for kind, (n, s, m) in sorted(by_kind.items()):
        print(f"    {kind:<12} {n:>4} fichiers, moyenne {format_nombre(s / n / 1000, 0):>6} ko, "
              f"plus grand {format_nombre(m / 1000, 0):>6} ko")
    print(f"  Plus grande carte de territoire : {format_nombre(sizes['_max_territoire'] / 1e6, 2)} Mo "
          f"(budget {format_nombre(BUDGET_TERRITOIRE / 1e6, 0)} Mo) ; plus grande carte de quartier : "
          f"{format_nombre(sizes['_max_quartier'] / 1e6, 2)} Mo (budget {format_nombre(BUDGET_QUARTIER / 1e6, 0)} Mo) ; "
          f"budgets {'respectés' if sizes['_budget_ok'] else 'DÉPASSÉS'}.")
    return sizes


def class_diagnosis(maps: Path) -> None:
    """Quartier panels where 80 % or more of the quartiers with a value fall into one class."""
    import re
    from collections import Counter

    n_panels = n_flat = 0
    for page in sorted(maps.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        for cfg in re.findall(r"ObsCarte\.init\(map_\w+, (\{.*?\}), OBS_DATA\);", text):
            for lay in json.loads(cfg)["layers"]:
                if lay["geo"] != "qpv2024" or lay.get("partner") or page.parent.name == "quartiers":
                    continue
                keys = [k.rstrip("e") for k in lay["k"] if k.rstrip("e").isdigit()]
                if len(keys) < 3:
                    continue
                n_panels += 1
                n_flat += Counter(keys).most_common(1)[0][1] >= 0.8 * len(keys)
    print(f"  Panneaux « quartiers » (thèmes et comparaisons) : {n_panels}, dont {n_flat} avec 80 % ou plus "
          "des quartiers dans une seule classe")


def print_timing(what: str, t: dict, n_files: int) -> None:
    print(f"{what} : {n_files} cartes en {format_nombre(t['mur'], 2)} s (mur), CPU {format_nombre(t['cpu'], 2)} s, "
          f"charge de la machine {format_nombre(t['charge'], 2)}")


def bench_config(config: Path) -> None:
    config = Path(config)
    from observatoire.config import load_config

    if not load_config(config).paths.gpkg.exists():
        print(f"Pas de GeoPackage pour {config} : lancez « make » ou « make demo » d'abord.")
        return
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "maps"
        t = timed_maps(config, out)
        print_timing(f"Cartes de {config}", t, sum(1 for _ in out.rglob("*.html")))
        report_sizes(out)
        class_diagnosis(out)


def bench_departement(seed: int = 0) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        config, catalogue, info = write_departement(Path(tmp), seed=seed)
        print(f"Département synthétique ({info['n_iris']} IRIS, {info['n_communes']} communes, "
              f"{info['n_qpv2024']} quartiers 2024, {info['n_qpv2015']} quartiers 2015, "
              f"{format_nombre(info['n_lignes'], 0)} lignes d'indicateurs) écrit en "
              f"{format_nombre(time.perf_counter() - t0, 1)} s")
        out = Path(tmp) / "maps"
        t = timed_maps(config, out, catalogue)
        print_timing("Cartes du département synthétique", t, sum(1 for _ in out.rglob("*.html")))
        report_sizes(out)


# --------------------------------------------------------------------------------------------
# a synthetic département (what a département-wide run has to draw)


def _wavy(geoms, amplitude: float = 12.0):
    """Densify to 10 m then displace every vertex by a smooth function of its position: shared
    borders stay shared (same vertices, same displacement) and become curvy, as real contours are."""
    import numpy as np
    import shapely

    def warp(c):
        x, y = c[:, 0], c[:, 1]
        return np.column_stack([x + amplitude * np.sin(y / 37.0) + 0.5 * amplitude * np.sin(y / 11.0),
                                y + amplitude * np.cos(x / 41.0) + 0.5 * amplitude * np.cos(x / 13.0)])

    return shapely.transform(shapely.segmentize(np.asarray(geoms), 10.0), warp)


def write_departement(root: Path, seed: int = 0, n_iris: int = 1500, n_communes: int = 300, n_qpv: int = 91,
                      n_qpv2015: int = 80):
    """Write a GeoPackage and a configuration for a synthetic département; return (config path, None, info)."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import pyogrio
    import shapely

    from observatoire.catalogue import load_catalogue
    from observatoire.tidy import TIDY_COLUMNS

    rng = np.random.default_rng(seed)
    crs = "EPSG:2154"
    x0, y0, size = 650_000.0, 6_950_000.0, 60_000.0
    frame = shapely.box(x0, y0, x0 + size, y0 + size)
    origin = np.array([x0, y0])
    pts = shapely.points(origin + rng.uniform(0, size, (n_iris, 2)))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=frame))
    cells = shapely.intersection(cells, frame)
    iris_geoms = _wavy(cells)
    seeds = origin + rng.uniform(0, size, (n_communes, 2))
    centres = shapely.get_coordinates(shapely.centroid(cells))
    owner = np.argmin(((centres[:, None, :] - seeds[None, :, :]) ** 2).sum(-1), axis=1)
    com_codes = [f"59{i:03d}" for i in range(n_communes)]
    used = sorted(set(owner.tolist()))
    communes = gpd.GeoDataFrame({"code_insee": [com_codes[i] for i in used], "nom": [f"Commune {i}" for i in used],
                                 "siren_epci": "200000000", "dep": "59",
                                 "population": rng.integers(300, 40_000, len(used)).astype(float)},
                                geometry=[shapely.union_all(iris_geoms[owner == i]) for i in used], crs=crs)
    iris_codes = [f"{com_codes[o]}{i:04d}" for i, o in enumerate(owner)]
    iris = gpd.GeoDataFrame({"code_iris": iris_codes, "code_insee": [com_codes[o] for o in owner],
                             "nom_iris": [f"IRIS {i}" for i in range(len(cells))], "type_iris": "H",
                             "nom_commune": [f"Commune {o}" for o in owner]}, geometry=iris_geoms, crs=crs)
    qc = origin + rng.uniform(2000, size - 2000, (n_qpv, 2))
    blobs = [shapely.union_all([shapely.Point(cx + dx, cy + dy).buffer(r, 16)
                                for dx, dy, r in zip(rng.normal(0, 250, 4), rng.normal(0, 250, 4),
                                                     rng.uniform(150, 400, 4))]) for cx, cy in qc]
    qpv_codes = [f"QN059{i:02d}M" if i < 100 else f"QN05{i:03d}M" for i in range(n_qpv)]
    qpv = gpd.GeoDataFrame({"code_qp": qpv_codes, "lib_qp": [f"Quartier {i}" for i in range(n_qpv)],
                            "insee_com": "", "lib_com": "", "siren_epci": "200000000", "communes": "",
                            "surface_ha": 0.0}, geometry=_wavy(blobs, 4.0), crs=crs)
    q15_codes = [f"QP059{i:03d}" for i in range(n_qpv2015)]
    q15 = gpd.GeoDataFrame({"code_qp": q15_codes, "nom_qp": [f"Quartier 2015 {i}" for i in range(n_qpv2015)],
                            "commune_qp": "", "surface_ha": 0.0},
                           geometry=shapely.buffer(np.asarray(qpv.geometry.values[:n_qpv2015]), -40), crs=crs)
    epci = gpd.GeoDataFrame({"siren": ["200000000"], "nom": ["Département synthétique"]}, geometry=[frame], crs=crs)

    catalogue = load_catalogue()
    rows = []
    for ind_id, ind in catalogue.items():
        if ind.type == "effectif" or ind.unite == "nombre":
            continue
        for year in (2017, 2022):
            for kind, codes in (("iris", iris_codes), ("qpv2024", qpv_codes), ("qpv2015", q15_codes)):
                vals = np.round(rng.gamma(4.0, 6.0, len(codes)), 1)
                secret = rng.random(len(codes)) < 0.05
                for code, v, s in zip(codes, vals, secret):
                    rows.append((kind, code, code, ind_id, year, 2024, np.nan if s else float(v), np.nan, np.nan,
                                 "secret" if s else "ok", "producteur", "", np.nan, True, "", "", "synthetique"))
        for code in qpv_codes[::3]:
            rows.append(("qpv2024", code, code, ind_id, 2019, 2024, float(np.round(rng.gamma(4.0, 6.0), 1)),
                         np.nan, np.nan, "ok", "partenaire", "", np.nan, False, "", "", "partenaire_synthetique"))
    tidy = pd.DataFrame(rows, columns=TIDY_COLUMNS)
    sources = pd.DataFrame({"source": ["synthetique", "ign_iris"], "fichier": ["synthetique/valeurs.csv",
                                                                             "ign_iris/contours.gpkg"],
                            "millesime": 2024, "simule": True, "sha256": "", "url": ""})
    processed = root / "processed"
    processed.mkdir(parents=True, exist_ok=True)
    gpkg = processed / "observatoire.gpkg"
    for name, gdf in (("communes", communes), ("epci", epci), ("iris", iris), ("qpv_2024", qpv), ("qpv_2015", q15)):
        gdf.to_file(gpkg, layer=name)
    pyogrio.write_dataframe(tidy, gpkg, layer="indicateurs")
    pyogrio.write_dataframe(sources, gpkg, layer="sources")
    config = root / "observatoire.toml"
    config.write_text(
        '[territoire]\ndepartement = "59"\nnom = "Département synthétique"\n\n'
        f'[chemins]\nraw = "{(root / "raw").as_posix()}"\nprocessed = "{processed.as_posix()}"\n'
        f'cartes = "{(root / "maps").as_posix()}"\nportraits = "{(root / "portraits").as_posix()}"\n\n'
        '[[partenaires]]\nid = "partenaire_synthetique"\nlibelle = "Partenaire synthétique"\n'
        f'fichier = "{(root / "partenaire.csv").as_posix()}"\noptionnel = true\n', encoding="utf-8")
    info = {"n_iris": len(iris), "n_communes": len(communes), "n_qpv2024": n_qpv, "n_qpv2015": n_qpv2015,
            "n_lignes": len(tidy)}
    return config, None, info


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", action="append", help="configuration dont on chronomètre les cartes")
    ap.add_argument("--departement", action="store_true", help="seulement le département synthétique")
    ap.add_argument("--tailles", help="seulement les tailles des cartes de ce dossier")
    ap.add_argument("maps", nargs="?", help="(ancienne forme) dossier de cartes dont on donne les tailles")
    a = ap.parse_args(argv)
    if a.tailles or a.maps:
        maps = Path(a.tailles or a.maps)
        print(f"Tailles des cartes ({maps}) :")
        return 0 if report_sizes(maps)["_budget_ok"] else 1
    if not a.departement:
        fj = bench_fisher_jenks(n=50_000, k=5)
        print("Fisher-Jenks, 50 000 valeurs, 5 classes :",
              ", ".join(f"{k} = {format_nombre(v, 3) if isinstance(v, float) else v}" for k, v in fj.items()))
        # the demo's configuration when it was built (same GeoPackage as « make demo »), else the project's
        demo = ROOT / "data/mirror/demo/observatoire.toml"
        configs = a.config or [demo if demo.exists() else ROOT / "observatoire.toml"]
        for c in configs:
            bench_config(Path(c))
        if a.config:
            return 0
    bench_departement()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
