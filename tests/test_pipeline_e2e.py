"""End to end: demo mirror → fetch → build → maps → portraits, offline, in a temporary project.

Checks the acceptance criteria of the foundation, indicators, estimation, maps and portraits issues
on the real outputs of one run (module-scoped fixture: the pipeline runs once for all assertions).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from observatoire.config import load_config
from observatoire.demo import build_mirror
from observatoire.demo.config import write_demo_config

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
HAS_SHARED = (SHARED / "valenciennes" / "qpv2024.geojson").exists()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from observatoire.maps.build import build_maps
    from observatoire.pipeline import build
    from observatoire.portraits.render import build_portraits
    from observatoire.sources.fetch import fetch

    tmp = tmp_path_factory.mktemp("e2e")
    project = tmp / "projet"
    project.mkdir()
    (project / "observatoire.toml").write_text((ROOT / "observatoire.toml").read_text(encoding="utf-8")
                                               .replace("../shared/", f"{SHARED.parent.as_posix()}/"),
                                               encoding="utf-8")
    mirror = build_mirror(project / "data" / "mirror" / "demo", shared_dir=SHARED if HAS_SHARED else False)
    cfg_path = write_demo_config(mirror, project)
    cfg = load_config(cfg_path).with_mirror(mirror)
    fetch(cfg)
    gpkg = build(cfg)
    maps = build_maps(cfg)
    portraits = build_portraits(cfg, pdf=False)
    tidy = pd.read_csv(cfg.paths.indicateurs_csv, sep=";", dtype={"code_territoire": str}, encoding="utf-8-sig")
    return {"cfg": cfg, "gpkg": gpkg, "maps": maps, "portraits": portraits, "tidy": tidy, "mirror": mirror}


def test_geopackage_layers_and_official_quartiers(run):
    import pyogrio

    layers = {name for name, _ in pyogrio.list_layers(run["gpkg"])}
    assert {"communes", "epci", "iris", "qpv_2024", "qpv_2015", "qpv_communes", "zones", "indicateurs",
            "sources", "crosswalk_qpv2024"} <= layers
    qpv = gpd.read_file(run["gpkg"], layer="qpv_2024")
    assert qpv.crs.to_epsg() == 2154
    if not HAS_SHARED:
        assert len(qpv) == 3  # the simulated fallback territory's 3 quartiers
        return
    official = gpd.read_file(SHARED / "valenciennes" / "qpv2024.geojson").to_crs(2154)
    assert sorted(qpv["code_qp"]) == sorted(official["code_qp"])
    assert len(qpv) == 15
    merged = official.set_index("code_qp").geometry
    for code, geom in zip(qpv["code_qp"], qpv.geometry):
        ref = merged[code]
        # same shape: symmetric difference below a square millimetre (reprojection round-off only)
        assert shapely.symmetric_difference(geom, ref).area < 1e-6, code
    communes = gpd.read_file(run["gpkg"], layer="communes")
    assert len(communes) == 35
    assert communes["population"].sum() == 191_885


def test_indicator_table_covers_quartiers_and_references(run):
    t = run["tidy"]
    assert list(t.columns) == ["type_territoire", "code_territoire", "libelle_territoire", "indicateur", "millesime",
                               "millesime_geographie", "valeur", "numerateur", "denominateur", "statut", "methode",
                               "qualite", "source"]
    q = t[t["type_territoire"] == "qpv2024"]
    n_quartiers = 15 if HAS_SHARED else 3
    per_quartier = q.groupby("code_territoire")["indicateur"].nunique()
    assert len(per_quartier) == n_quartiers
    assert per_quartier.min() >= 30
    for kind in ("iris", "commune", "epci", "ensemble_qpv_epci", "departement", "france", "zone"):
        assert (t["type_territoire"] == kind).any(), kind
    # simulated inputs are marked, withheld cells are empty, never zero
    producer = t[t["methode"] != "partenaire"]
    assert set(producer["statut"]) <= {"simule", "secret", "nd"}
    withheld = t[t["statut"].isin(["secret", "nd"])]
    assert withheld["valeur"].isna().all() and withheld["numerateur"].isna().all()


def test_quartier_estimates_carry_method_and_quality(run):
    t = run["tidy"]
    est = t[t["type_territoire"].isin(["qpv2024", "zone"]) & t["methode"].isin(["dasymetrique", "surface"])]
    assert est["code_territoire"].nunique() == (15 if HAS_SHARED else 3) + 1  # quartiers + the demo watch zone
    assert set(est["qualite"].dropna()) <= {"bonne", "moyenne", "faible"}
    assert est["qualite"].notna().all()


@pytest.mark.skipif(not HAS_SHARED, reason="../shared absent : pas de chiffres du contrat de ville à importer")
def test_contract_figures_are_their_own_source(run):
    t = run["tidy"]
    partner = t[t["source"] == "contrat_ville_cavm"]
    assert len(partner) > 100
    assert set(partner["methode"]) == {"partenaire"} and set(partner["statut"]) == {"ok"}
    # « Une part de jeunes ni en emploi ni en formation atteignant 41% en 2019 » (Verrerie, doc 002 line 27)
    row = partner[(partner["code_territoire"] == "QN05920M") & (partner["indicateur"] == "part_neet_16_25")]
    assert row["valeur"].tolist() == [41.0] and row["millesime"].tolist() == [2019]


def test_maps_written_within_budget_and_marked_simulated(run):
    from observatoire.maps.build import map_sizes

    maps_dir = run["cfg"].paths.maps
    n_quartiers = 15 if HAS_SHARED else 3
    assert len(list((maps_dir / "quartiers").glob("*.html"))) == n_quartiers
    assert len(list((maps_dir / "themes").glob("*.html"))) == 8
    assert list((maps_dir / "comparaison").glob("*.html"))
    sizes = map_sizes(maps_dir)
    assert sizes["_budget_ok"], sizes
    for p in run["maps"]:
        text = p.read_text(encoding="utf-8")
        assert "Données simulées" in text or "données simulées" in text, p
        assert "cdn." not in text and "unpkg" not in text


def test_portraits_written_and_match_csv(run):
    out = run["cfg"].paths.portraits
    n_quartiers = 15 if HAS_SHARED else 3
    sheets = [p for p in out.glob("*.html") if p.name != "index.html"]
    assert len(sheets) == n_quartiers and (out / "index.html").exists()
    for p in sheets:
        assert "onnées simulées" in p.read_text(encoding="utf-8")


def test_fetch_without_network_or_mirror_fails_cleanly(run, tmp_path):
    """No network, no mirror: exit code 3, a French message naming the fix, no traceback, no file."""
    import tomllib

    import tomli_w

    data = tomllib.loads(run["cfg"].source_file.read_text(encoding="utf-8"))
    raw = tmp_path / "raw"
    data["chemins"] = {"raw": str(raw), "processed": str(tmp_path / "processed")}
    data["zones"], data["partenaires"] = [], []
    cfg = tmp_path / "observatoire.toml"
    cfg.write_text(tomli_w.dumps(data), encoding="utf-8")
    env = dict(os.environ, HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9",
               NO_PROXY="", OBSERVATOIRE_MIRROR="")
    proc = subprocess.run([sys.executable, "-m", "observatoire", "fetch", "--config", str(cfg)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "--mirror" in proc.stderr
    left = [p for p in raw.rglob("*") if p.is_file() and p.name != "manifest.json"] if raw.exists() else []
    assert left == []
