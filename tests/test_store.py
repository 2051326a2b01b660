"""GeoPackage store (observatoire/store.py): atomic writes, attribute tables, simulated inputs."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

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


# ---------------------------------------------------------------------------------------------------
# The system as it is: atomic writes, transactions, errors in French, temporaries of killed runs
# ---------------------------------------------------------------------------------------------------
import errno
import os

from observatoire.errors import OutputError
from observatoire.store import (atomic_path, ecriture_groupee, output_error, remove_stale_temporaries,
                                write_text_atomic)


def _dead_pid() -> int:
    pid = 4_000_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        pid += 1


def test_temporaries_of_killed_writers_are_removed(tmp_path):
    dead = _dead_pid()
    stale = [tmp_path / f".indicateurs.csv.{dead}.ab12.tmp", tmp_path / f".observatoire.gpkg.{dead}.x.tmp.gpkg-journal"]
    alive = tmp_path / f".indicateurs.csv.{os.getpid()}.cd34.tmp"   # a write in progress (this process)
    other = tmp_path / "notes.tmp"                                    # not ours: never touched
    for f in stale + [alive, other]:
        f.write_text("x")
    assert sorted(remove_stale_temporaries(tmp_path)) == sorted(stale)
    assert alive.exists() and other.exists()
    # the next atomic write of a target cleans that target's leftovers itself
    left = tmp_path / f".portrait.html.{dead}.zz.tmp"
    left.write_text("<html")
    write_text_atomic(tmp_path / "portrait.html", "<html></html>")
    assert not left.exists() and (tmp_path / "portrait.html").read_text() == "<html></html>"


def test_group_replaces_every_target_only_at_the_end(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("ancien a")
    with ecriture_groupee():
        write_text_atomic(a, "nouveau a")
        write_text_atomic(b, "nouveau b")
        assert a.read_text() == "ancien a" and not b.exists()   # nothing visible before the end
        with ecriture_groupee():                                  # a nested group joins the outer one
            write_text_atomic(tmp_path / "c.csv", "c")
        assert not (tmp_path / "c.csv").exists()
    assert (a.read_text(), b.read_text(), (tmp_path / "c.csv").read_text()) == ("nouveau a", "nouveau b", "c")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv", "c.csv"]


def test_group_failing_inside_changes_nothing(tmp_path):
    a = tmp_path / "a.csv"
    a.write_text("ancien a")
    with pytest.raises(ValueError):
        with ecriture_groupee():
            write_text_atomic(a, "nouveau a")
            raise ValueError("calcul interrompu")
    assert a.read_text() == "ancien a" and [p.name for p in tmp_path.iterdir()] == ["a.csv"]


def test_error_inside_an_atomic_write_keeps_the_previous_file(tmp_path):
    p = tmp_path / "indicateurs.csv"
    p.write_text("ancien")
    with pytest.raises(OutputError) as e:
        with atomic_path(p) as tmp:
            tmp.write_text("moitié")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert p.read_text() == "ancien" and [x.name for x in tmp_path.iterdir()] == ["indicateurs.csv"]
    assert "disque plein" in str(e.value) and str(tmp_path) in str(e.value)
    assert e.value.code == 4


@pytest.mark.parametrize("err,raison,fix", [
    (OSError(errno.ENOSPC, "No space left on device"), "disque plein", "libérez de la place"),
    (OSError(errno.EDQUOT, "Disk quota exceeded"), "quota de disque dépassé", "libérez de la place"),
    (OSError(errno.EROFS, "Read-only file system"), "lecture seule", "où vous pouvez écrire"),
    (PermissionError(errno.EACCES, "Permission denied"), "permission refusée", "fermez le fichier"),
    (OSError(errno.EBUSY, "Device or resource busy"), "verrouillé", "fermez le fichier"),
    (OSError(errno.EEXIST, "File exists"), "un fichier porte le nom d'un dossier", "renommez ou supprimez"),
])
def test_output_error_names_the_folder_the_cause_and_the_fix(tmp_path, err, raison, fix):
    e = output_error(tmp_path / "maps" / "index.html", err)
    text = str(e)
    assert text.startswith(f"Fichier : {tmp_path / 'maps' / 'index.html'}")
    assert f"dans le dossier {tmp_path / 'maps'} : " in text and raison in text.split("Correction")[0]
    assert "Le fichier index.html n'a pas été modifié" in text
    assert fix in text.split("Correction : ")[1]


def test_windows_sharing_violation_reads_as_a_locked_file(tmp_path):
    err = PermissionError(None, "Le processus ne peut pas accéder au fichier")
    err.winerror = 32
    err.errno = None
    assert "verrouillé" in str(output_error(tmp_path / "indicateurs.xlsx", err))


def test_gdal_commit_failure_reads_as_a_full_disk(tmp_path, monkeypatch):
    import pyogrio

    p = tmp_path / "o.gpkg"
    write_gpkg({"communes": COMMUNES}, p)
    before = p.read_bytes()

    def fail(*a, **k):
        raise pyogrio.errors.DataSourceError("sqlite3_exec(COMMIT) failed: database or disk is full")
    monkeypatch.setattr(pyogrio, "write_dataframe", fail)
    with pytest.raises(OutputError) as e:
        write_gpkg({"communes": COMMUNES}, p)
    assert "disque plein" in str(e.value)
    assert p.read_bytes() == before and [x.name for x in tmp_path.iterdir()] == ["o.gpkg"]


def test_a_zombie_writer_is_not_alive(tmp_path):
    """A worker killed with its run stays a zombie until reaped: its temporary file is stale."""
    import subprocess
    import sys

    from observatoire.store import _pid_alive, remove_stale_temporaries

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.time() + 10
    while time.time() < deadline:        # exited, not yet waited for: a zombie
        if Path(f"/proc/{child.pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0] == b"Z":
            break
        time.sleep(0.01)
    stale = tmp_path / f".indicateurs.csv.{child.pid}.ab12.tmp"
    stale.write_text("x")
    try:
        assert not _pid_alive(child.pid)
        assert remove_stale_temporaries(tmp_path, "indicateurs.csv") == [stale] and not stale.exists()
    finally:
        child.wait()
    assert _pid_alive(os.getpid())


def test_published_quartiers_of_an_empty_layer_keep_their_columns():
    """A territory with no 2024 quartier (Métropole Européenne de Lille in the real files at hand): the
    empty qpv_2024 layer must still answer « code_qp » (« observatoire quartiers » for make)."""
    from observatoire.store import quartiers_publies

    empty = gpd.GeoDataFrame({"code_qp": [], "lib_qp": [], "epci_reference": []}, geometry=[], crs=2154)
    assert list(quartiers_publies(empty).columns) == ["code_qp", "lib_qp", "epci_reference", "geometry"]
    layer = gpd.GeoDataFrame({"code_qp": ["QN05920M", "QN05999Z"], "epci_reference": ["245901160", None]},
                             geometry=[box(0, 0, 1, 1)] * 2, crs=2154)
    assert quartiers_publies(layer)["code_qp"].tolist() == ["QN05920M"]
