"""The system as it really is, on the output side (``observatoire/store.py``, ``exports.py``): full disk,
read-only, missing or refused folders, locked files. Every case checks that the previous outputs are
byte-identical and that no temporary file remains.

The CLI cases run the real command in a subprocess whose system calls are made to fail by a few lines
of Python run before ``observatoire.cli.main`` (a root user cannot make a folder read-only with chmod).
"""

from __future__ import annotations

import errno
import os

import pandas as pd
import pyogrio
import pytest

from observatoire.errors import OutputError
from observatoire.store import ecriture_groupee, write_gpkg, write_text_atomic

from .conftest import assert_message, assert_refused


def _tidy(projet) -> pd.DataFrame:
    return pd.read_csv(projet.processed / "indicateurs.csv", sep=";", encoding="utf-8-sig",
                       dtype={"code_territoire": str})


def _catalogue():
    from observatoire.catalogue import load_catalogue

    return load_catalogue()


FULL_ON_CSV = """
import errno, pandas, pyarrow.csv
def full(*a, **k):
    raise OSError(errno.ENOSPC, "No space left on device")
pandas.DataFrame.to_csv = full          # every CSV writer: pandas' and Arrow's (indicateurs.csv)
pyarrow.csv.write_csv = full
"""

READ_ONLY_PROCESSED = """
import errno, os, tempfile
_mkstemp = tempfile.mkstemp
def mkstemp(*a, dir=None, **k):
    if dir is not None and os.path.basename(str(dir)) == "processed":
        raise OSError(errno.EROFS, "Read-only file system", str(dir))
    return _mkstemp(*a, dir=dir, **k)
tempfile.mkstemp = mkstemp
"""


def _full_on_write_text(folder: str) -> str:
    return f"""
import errno, pathlib
_write = pathlib.Path.write_text
def write_text(self, *a, **k):
    if "/{folder}/" in str(self) and self.name.startswith("."):
        raise OSError(errno.ENOSPC, "No space left on device")
    return _write(self, *a, **k)
pathlib.Path.write_text = write_text
"""


# ------------------------------------------------------------------------------------------- CLI cases
@pytest.mark.corpus("sorties", "stop")
def test_full_disk_during_the_build(projet):
    before = projet.snapshot()
    run = projet.cli("build", driver=FULL_ON_CSV)
    assert run.code == OutputError.code
    assert_refused(run, fichier="indicateurs.csv", correction="libérez de la place",
                   contient=("disque plein", str(projet.processed), "Le fichier indicateurs.csv n'a pas été modifié"))
    assert projet.snapshot() == before and not projet.temporaries()


@pytest.mark.corpus("sorties", "stop")
def test_read_only_output_folder(projet):
    before = projet.snapshot()
    run = projet.cli("build", driver=READ_ONLY_PROCESSED)
    # the first output written names the folder (the workbook or the CSV: they are written together)
    assert_refused(run, fichier="processed/indicateurs.", correction="dossier de sortie où vous pouvez écrire",
                   contient=("lecture seule",))
    assert projet.snapshot() == before and not projet.temporaries()


@pytest.mark.corpus("sorties", "stop")
def test_full_disk_while_writing_portraits(projet):
    before = projet.snapshot()
    run = projet.cli("portraits", "--sans-pdf", driver=_full_on_write_text("portraits"))
    assert_refused(run, fichier="portraits", correction="libérez de la place", contient=("disque plein",))
    assert projet.snapshot() == before and not projet.temporaries()


@pytest.mark.corpus("sorties", "stop")
def test_full_disk_while_writing_maps(projet):
    run = projet.cli("maps", driver=_full_on_write_text("maps"))
    assert_refused(run, fichier="maps", correction="libérez de la place", contient=("disque plein",))
    assert not projet.temporaries()
    # what a map run leaves is complete: every HTML file present ends its document
    for f in projet.maps.rglob("*.html"):
        assert f.read_text(encoding="utf-8").rstrip().endswith("</html>"), f


@pytest.mark.corpus("sorties", "stop")
def test_output_folder_is_a_file(projet):
    import shutil

    shutil.rmtree(projet.processed)
    projet.processed.write_text("un fichier à la place du dossier\n")
    run = projet.cli("build")
    assert_refused(run, fichier="processed", correction="renommez ou supprimez ce fichier")


# --------------------------------------------------------------------------------------- library cases
@pytest.mark.corpus("sorties", "stop")
def test_geopackage_failed_to_commit_transaction(projet, monkeypatch):
    """GDAL's message when SQLite cannot grow the file on a full disk ended in « erreur inattendue »."""
    gpkg = projet.processed / "observatoire.gpkg"
    before = projet.snapshot()
    layers = {n: pyogrio.read_dataframe(gpkg, layer=n) for n in ("communes", "iris", "qpv_communes")}
    real = pyogrio.write_dataframe
    calls = []

    def failing(df, path, *a, **k):
        calls.append(k.get("layer"))
        if len(calls) == 3:
            raise pyogrio.errors.DataSourceError("sqlite3_exec(COMMIT) failed: database or disk is full\n"
                                                 "Failed to commit transaction")
        return real(df, path, *a, **k)
    monkeypatch.setattr(pyogrio, "write_dataframe", failing)
    with pytest.raises(OutputError) as e:
        write_gpkg(layers, gpkg)
    assert_message(str(e.value), fichier="observatoire.gpkg", correction="libérez de la place",
                   contient=("disque plein", "Failed to commit transaction"))
    assert projet.snapshot() == before and not projet.temporaries()


@pytest.mark.corpus("sorties", "stop")
def test_one_transaction_for_the_four_exports(projet, monkeypatch):
    """In an ``ecriture_groupee``, a GeoPackage failure after the CSV, Parquet and XLSX leaves all four as they were."""
    from observatoire import exports

    gpkg = projet.processed / "observatoire.gpkg"
    tidy = _tidy(projet)
    before = projet.snapshot()
    monkeypatch.setattr(pyogrio, "write_dataframe", lambda *a, **k: (_ for _ in ()).throw(
        pyogrio.errors.DataSourceError("Failed to commit transaction")))
    with pytest.raises(OutputError) as e:
        with ecriture_groupee():
            exports.write_csv(tidy.assign(valeur=tidy["valeur"] * 2), projet.processed / "indicateurs.csv")
            exports.write_parquet(tidy, projet.processed / "indicateurs.parquet")
            exports.write_xlsx(tidy, _catalogue(), projet.processed / "indicateurs.xlsx", simulated=True)
            write_gpkg({"indicateurs": tidy}, gpkg)
    assert "observatoire.gpkg" in str(e.value)
    assert projet.snapshot() == before and not projet.temporaries()


@pytest.mark.corpus("sorties", "stop")
def test_workbook_locked_by_another_program(projet, monkeypatch):
    from observatoire import exports

    target = projet.processed / "indicateurs.xlsx"
    before = projet.snapshot()
    real = os.replace

    def locked(src, dst, *a, **k):
        if str(dst) == str(target):
            raise PermissionError(errno.EACCES, "Permission denied", str(dst))
        return real(src, dst, *a, **k)
    monkeypatch.setattr(os, "replace", locked)
    with pytest.raises(OutputError) as e:
        exports.write_xlsx(_tidy(projet), _catalogue(), target, simulated=True)
    assert_message(str(e.value), fichier="indicateurs.xlsx", correction="fermez le fichier s'il est ouvert",
                   contient=("verrouillé",))
    assert projet.snapshot() == before and not projet.temporaries()


@pytest.mark.corpus("sorties", "stop")
def test_group_commit_interrupted_by_a_locked_file_restores_the_others(projet, monkeypatch):
    a, b = projet.processed / "indicateurs.csv", projet.processed / "indicateurs.parquet"
    before = projet.snapshot()
    real = os.replace

    def busy(src, dst, *x, **k):
        if str(dst) == str(b):
            raise OSError(errno.EBUSY, "Device or resource busy", str(dst))
        return real(src, dst, *x, **k)
    monkeypatch.setattr(os, "replace", busy)
    with pytest.raises(OutputError) as e:
        with ecriture_groupee():
            write_text_atomic(a, "nouveau contenu\n")
            write_text_atomic(b, "nouveau contenu\n")
    assert_message(str(e.value), fichier="indicateurs.parquet", correction="fermez le fichier",
                   contient=("Aucun des résultats de cette étape n'a été remplacé",))
    assert projet.snapshot() == before and not projet.temporaries()


@pytest.mark.corpus("sorties", "stop")
def test_output_folder_that_cannot_be_created(projet):
    from observatoire import exports

    target = projet.root / "sorties" / "indicateurs.csv"
    (projet.root / "sorties").write_text("un fichier porte le nom du dossier\n")
    with pytest.raises(OutputError) as e:
        exports.write_csv(_tidy(projet), target)
    assert_message(str(e.value), fichier="indicateurs.csv", correction="renommez ou supprimez ce fichier",
                   contient=(str(projet.root / "sorties"),))


@pytest.mark.corpus("sorties", "stop")
def test_permission_refused_on_the_output_folder(projet, monkeypatch):
    import tempfile

    def refused(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", k.get("dir"))
    monkeypatch.setattr(tempfile, "mkstemp", refused)
    before = projet.snapshot()
    with pytest.raises(OutputError) as e:
        write_text_atomic(projet.portraits / "index.html", "<html></html>")
    assert_message(str(e.value), fichier="index.html", correction="vos droits d'écriture",
                   contient=("permission refusée", str(projet.portraits)))
    assert projet.snapshot() == before


@pytest.mark.corpus("sorties", "stop")
def test_workbook_writer_cannot_create_its_file(projet, monkeypatch):
    import xlsxwriter
    from xlsxwriter.exceptions import FileCreateError

    from observatoire import exports

    def close(self):
        raise FileCreateError(OSError(errno.ENOSPC, "No space left on device"))
    monkeypatch.setattr(xlsxwriter.Workbook, "close", close)
    before = projet.snapshot()
    with pytest.raises(OutputError) as e:
        exports.write_xlsx(_tidy(projet), _catalogue(), projet.processed / "indicateurs.xlsx", simulated=True)
    assert_message(str(e.value), fichier="indicateurs.xlsx", correction="libérez de la place",
                   contient=("disque plein",))
    assert projet.snapshot() == before and not projet.temporaries()
