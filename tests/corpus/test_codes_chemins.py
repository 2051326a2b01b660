"""Codes that would become file paths: refused when read (``anct.py``) and by :func:`observatoire.paths.safe_child`
for every name a writer builds from data."""

from __future__ import annotations

import os

import pytest

from observatoire.errors import ObservatoireError, UnsafePathError
from observatoire.paths import safe_child
from observatoire.territory import build_geographic_layers

from . import hostile as h
from .conftest import assert_message, assert_refused

QPV24 = "QP2024_France_Hexagonale_Outre_Mer_WGS84.zip"


@pytest.mark.corpus("codes et chemins", "refuse")
def test_qpv2024_code_climbing_out_of_the_output_folders_refused_by_the_cli(projet):
    """« a QPV code ../../../escaped_QN05920M makes maps and portraits write files outside their folders »."""
    h.rewrite_member(projet.raw_file("anct_qpv2024"), lambda raw: h.edit_geojson(
        raw, lambda fc: h.feature(fc, "code_qp", "QN00001M")["properties"].update(code_qp="../../../escaped_QN00001M")),
        r"\.geojson$")
    before = projet.snapshot()
    run = projet.cli("build")
    assert_refused(run, fichier=QPV24, correction="fichier officiel non modifié",
                   contient=("'../../../escaped_QN00001M'", "quartier 2024"))
    assert projet.snapshot() == before
    assert not list(projet.root.parent.rglob("escaped_QN00001M*"))


@pytest.mark.corpus("codes et chemins", "refuse")
def test_qpv2015_code_that_is_not_an_official_code(projet):
    def edit(gdf):
        gdf.loc[gdf["CODE_QP"] == "QP000001", "CODE_QP"] = "QP0000/1"
        return gdf
    h.edit_shapefile_zip(projet.raw_file("anct_qpv2015"), edit)
    with pytest.raises(ObservatoireError) as e:
        build_geographic_layers(projet.config())
    assert_message(str(e.value), fichier="qp-politiquedelaville-shp.zip", correction="fichier officiel",
                   contient=("'QP0000/1'",))


@pytest.mark.corpus("codes et chemins", "refuse")
@pytest.mark.parametrize("name", ["../escaped.html", "..", "sous/dossier.html", "/etc/passwd", "a\x00b.html",
                                  "CON.html", "x" * 250 + ".html"],
                         ids=["parent", "dotdot", "separator", "absolute", "nul", "windows-reserved", "too-long"])
def test_safe_child_refuses_names_leaving_their_folder(tmp_path, name):
    with pytest.raises(UnsafePathError) as e:
        safe_child(tmp_path / "portraits", name, origine="observatoire.gpkg")
    assert_message(str(e.value), fichier="observatoire.gpkg", correction="code de territoire officiel",
                   contient=(str(tmp_path / "portraits"),))


@pytest.mark.corpus("codes et chemins", "refuse")
def test_safe_child_refuses_a_symbolic_link_out_of_the_folder(tmp_path):
    folder = tmp_path / "portraits"
    folder.mkdir()
    os.symlink(tmp_path / "ailleurs", folder / "QN00001M.html")
    with pytest.raises(UnsafePathError) as e:
        safe_child(folder, "QN00001M.html")
    assert "lien symbolique" in str(e.value)


def test_safe_child_accepts_official_codes(tmp_path):
    for name in ("QN05920M.html", "QP059030.pdf", "590140101.html", "VEILLE_MARLY-FLORALIES.html",
                 "QN05921M_59014.html"):
        assert safe_child(tmp_path, name) == tmp_path / name


@pytest.mark.corpus("codes et chemins", "refuse")
def test_every_atomic_write_refuses_a_path_climbing_out(projet):
    """Defence in depth for writers that join a data code to their folder without safe_child (maps,
    portraits): the store never writes a path holding « .. »."""
    from observatoire.store import write_text_atomic

    before = projet.snapshot()
    with pytest.raises(UnsafePathError) as e:
        write_text_atomic(projet.portraits / "../../../escaped_QN00001M.html", "<html></html>")
    assert_message(str(e.value), fichier="escaped_QN00001M.html", correction="corrigez le code de territoire",
                   contient=("remonte dans l'arborescence",))
    assert projet.snapshot() == before and not list(projet.root.parent.rglob("escaped_QN00001M*"))
