"""GeoPackage store (observatoire/store.py): atomic writes, attribute tables, simulated inputs."""

from __future__ import annotations

import shutil
import subprocess

import geopandas as gpd
import pandas as pd
import pytest
from shapely import box

from observatoire.errors import ObservatoireError
from observatoire.store import list_layers, read_layer, simulated_inputs, sources_table, write_gpkg

COMMUNES = gpd.GeoDataFrame({"code_insee": ["59001", "59002"], "nom": ["Alpha", "Beta"],
                             "population": [1200.0, None]},
                            geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs=2154)
SHARES = pd.DataFrame({"code_qp": ["QN05902M", "QN05902M"], "millesime_qpv": [2024, 2024],
                       "insee_com": ["59001", "59002"], "nom_commune": ["Alpha", "Beta"],
                       "part_surface": [0.25, 0.75], "dans_territoire": [True, False]})
MANIFEST = {
    "ign_iris/contours_iris_59.geojson": {"source": "ign_iris", "url": "https://x/iris", "taille": 3,
                                          "sha256": "abc", "simule": True, "origine": "miroir", "date": "d"},
    "anct_qpv2024/q.zip": {"source": "anct_qpv2024", "url": "https://x/q", "taille": 5, "sha256": "def",
                           "simule": False, "origine": "miroir", "date": "d"},
}


def test_round_trip_spatial_and_attribute_layers(tmp_path):
    p = tmp_path / "o.gpkg"
    write_gpkg({"communes": COMMUNES, "qpv_communes": SHARES,
                "sources": sources_table(MANIFEST, {"iris": 2024}, {"ign_iris": "iris"})}, p)
    assert set(list_layers(p)) == {"communes", "qpv_communes", "sources"}
    c = read_layer(p, "communes")
    assert isinstance(c, gpd.GeoDataFrame) and c.crs.to_epsg() == 2154
    assert c["code_insee"].tolist() == ["59001", "59002"]
    assert c["population"].isna().tolist() == [False, True]
    s = read_layer(p, "qpv_communes")
    assert not isinstance(s, gpd.GeoDataFrame)
    assert s["part_surface"].tolist() == [0.25, 0.75]
    assert s["dans_territoire"].tolist() == [True, False]
    src = read_layer(p, "sources").set_index("fichier")
    assert src.loc["ign_iris/contours_iris_59.geojson", "millesime"] == "2024"
    assert src.loc["anct_qpv2024/q.zip", "millesime"] == ""  # no vintage key given for that source
    assert bool(src.loc["ign_iris/contours_iris_59.geojson", "simule"]) is True


def test_simulated_inputs(tmp_path):
    p = tmp_path / "o.gpkg"
    write_gpkg({"communes": COMMUNES, "sources": sources_table(MANIFEST)}, p)
    assert simulated_inputs(p) == ["ign_iris/contours_iris_59.geojson"]
    real = {k: dict(v, simule=False) for k, v in MANIFEST.items()}
    write_gpkg({"communes": COMMUNES, "sources": sources_table(real)}, p)
    assert simulated_inputs(p) == []
    write_gpkg({"communes": COMMUNES}, p)  # no sources layer: nothing known to be simulated
    assert simulated_inputs(p) == []


def test_failed_write_keeps_previous_file_and_leaves_no_temp(tmp_path):
    p = tmp_path / "o.gpkg"
    write_gpkg({"communes": COMMUNES}, p)
    before = p.read_bytes()
    no_crs = gpd.GeoDataFrame({"a": [1]}, geometry=[box(0, 0, 1, 1)])
    with pytest.raises(ObservatoireError):
        write_gpkg({"iris": COMMUNES, "bad": no_crs}, p)
    assert p.read_bytes() == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["o.gpkg"]


def test_rewrite_replaces_all_layers(tmp_path):
    p = tmp_path / "o.gpkg"
    write_gpkg({"communes": COMMUNES, "old": SHARES}, p)
    write_gpkg({"communes": COMMUNES}, p)
    assert list_layers(p) == ["communes"]
    with pytest.raises(ObservatoireError) as e:
        read_layer(p, "old")
    assert "old" in str(e.value)


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="ogrinfo (gdal-bin) absent")
def test_ogrinfo_lists_attribute_tables(tmp_path):
    p = tmp_path / "o.gpkg"
    write_gpkg({"communes": COMMUNES, "qpv_communes": SHARES}, p)
    out = subprocess.run(["ogrinfo", "-so", str(p)], capture_output=True, text=True, check=True).stdout
    assert "communes (Polygon)" in out or "communes (Multi Polygon)" in out
    assert "qpv_communes (None)" in out
