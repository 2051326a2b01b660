"""The ``observatoire`` command (observatoire/cli.py, cli_fr.py): French help and errors, exit codes,
and the two subcommands make reads (quartiers --mk, empreinte --ecrire)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box

from observatoire.cli import build_parser, main

# Texts argparse prints in English when it is not translated.
ENGLISH = ("usage:", "positional arguments", "optional arguments", "options:", "show this help",
           "error:", "the following arguments", "invalid choice", "unrecognized arguments",
           "expected one argument", "(choose from", "is required", "not allowed with")
SUBCOMMANDS = ["fetch", "build", "maps", "portraits", "all", "sources", "indicateurs", "quartiers", "empreinte"]


def _run(argv, capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def _english(text: str) -> list[str]:
    return [w for w in ENGLISH if w in text]


def test_program_help_is_french_and_lists_every_subcommand_on_one_line(capsys):
    code, out, _ = _run(["--help"], capsys)
    assert code == 0
    assert not _english(out), _english(out)
    assert out.startswith("usage\u00a0: observatoire")
    assert "afficher cette aide et quitter" in out
    lines = out.splitlines()
    for name in SUBCOMMANDS:
        line = next(lg for lg in lines if lg.strip().startswith(name + " "))
        assert len(line.split(name, 1)[1].strip()) > 10, line   # a one-line description follows


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_subcommand_help_is_french_with_a_description(capsys, name):
    code, out, _ = _run([name, "--help"], capsys)
    assert code == 0
    assert not _english(out), (name, _english(out))
    usage, _, rest = out.partition("\n\n")
    description = rest.split("options\u00a0:")[0].strip()
    assert len(description) > 40, (name, description)
    assert "options communes\u00a0:" in out and "--config FICHIER" in out


def test_missing_and_invalid_arguments_are_french(capsys):
    code, _, err = _run([], capsys)
    assert code == 2
    assert "observatoire : erreur : les arguments suivants sont requis : COMMANDE" in err
    code, _, err = _run(["portraits", "--quartier"], capsys)
    assert code == 2 and "argument --quartier : une valeur est attendue" in err
    code, _, err = _run(["portraits", "--geographie", "2016"], capsys)
    assert code == 2 and "choix invalide : '2016'" in err
    code, _, err = _run(["fech"], capsys)
    assert code == 2 and "vouliez-vous dire 'fetch' ?" in err
    code, _, err = _run(["sources", "--inconnu"], capsys)
    assert code == 2 and "arguments non reconnus : --inconnu" in err
    assert not _english(err)


def test_other_parsers_keep_their_own_language(capsys):
    build_parser().format_help()
    plain = argparse.ArgumentParser(prog="autre")
    assert plain.format_usage().startswith("usage: autre")


def test_user_error_exit_code_without_traceback(tmp_path, capsys):
    cfg = tmp_path / "observatoire.toml"
    cfg.write_text('[territoire]\nepci = "245901160"\n[chemin]\nraw = "x"\n', encoding="utf-8")
    code, out, err = _run(["build", "--config", str(cfg)], capsys)
    assert code == 2
    assert "Erreur" in err and "section inconnue [chemin] (ligne 3) : vouliez-vous dire [chemins] ?" in err
    assert "Traceback" not in err + out


def test_user_error_in_a_real_process(tmp_path):
    """The installed entry point: non-zero exit, French message, no traceback (stage never started)."""
    cfg = tmp_path / "observatoire.toml"
    cfg.write_text('[territoire]\nepci = "245901160"\n[cartes]\nclasses = 12\n', encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "observatoire", "maps", "--config", str(cfg)],
                       capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    assert r.returncode == 2
    assert "[cartes] classes = 12 (ligne 4) : il faut un entier de 2 à 9" in r.stderr
    assert "Traceback" not in r.stderr and "▶" not in r.stderr   # refused before the stage began


def _gpkg(tmp_path: Path, zones: bool) -> Path:
    gpkg = tmp_path / "data" / "processed" / "observatoire.gpkg"
    gpkg.parent.mkdir(parents=True)
    sq = [box(0, 0, 10, 10), box(20, 0, 30, 10)]
    gpd.GeoDataFrame({"code_qp": ["QN05930M", "QN05920M"], "lib_qp": ["Dutemple", "Verrerie"]},
                     geometry=sq, crs=2154).to_file(gpkg, layer="qpv_2024")
    gpd.GeoDataFrame({"code_qp": ["QP059020"], "nom_qp": ["Anzin"]}, geometry=sq[:1], crs=2154) \
        .to_file(gpkg, layer="qpv_2015")
    if zones:
        gpd.GeoDataFrame({"code": ["VEILLE_A"], "libelle": ["A"], "commune": ["59383"]}, geometry=sq[1:],
                         crs=2154).to_file(gpkg, layer="zones")
    return gpkg


@pytest.mark.parametrize("zones", [True, False])
def test_quartiers_mk_lists_the_built_codes(tmp_path, monkeypatch, capsys, zones):
    monkeypatch.chdir(tmp_path)
    _gpkg(tmp_path, zones)
    (tmp_path / "observatoire.toml").write_text('[territoire]\nepci = "245901160"\n', encoding="utf-8")
    code, _, err = _run(["quartiers", "--mk", "q.mk"], capsys)
    assert code == 0, err
    assert (tmp_path / "q.mk").read_text(encoding="utf-8").splitlines()[1:] == [
        "QUARTIERS_2024 := QN05920M QN05930M",          # sorted by code
        "QUARTIERS_2015 := QP059020",
        "QUARTIERS_zones := " + ("VEILLE_A" if zones else "")]
    code, out, _ = _run(["quartiers", "--geographie", "2024"], capsys)
    assert code == 0 and "QN05930M" in out and "Dutemple" in out and "QP059020" not in out


def test_quartiers_without_build_is_a_user_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "observatoire.toml").write_text('[territoire]\nepci = "245901160"\n', encoding="utf-8")
    code, _, err = _run(["quartiers", "--mk", "q.mk"], capsys)
    assert code == 2 and "GeoPackage" in err and "observatoire build" in err
    assert not (tmp_path / "q.mk").exists()


def test_empreinte_writes_a_footprint_only_when_it_changes(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OBSERVATOIRE_MIRROR", raising=False)
    cfg = tmp_path / "observatoire.toml"
    cfg.write_text('[territoire]\nepci = "245901160"\n[cartes]\nclasses = 5\n', encoding="utf-8")
    etat = tmp_path / "etat"
    assert _run(["empreinte", "--ecrire", str(etat)], capsys)[0] == 0
    files = {p.name: p for p in etat.glob("*.config")}
    assert sorted(files) == ["build.config", "cartes.config", "fetch.config", "portraits.config"]
    mk = (etat / "config.mk").read_text(encoding="utf-8")
    assert "GEOGRAPHIES := 2024 2015\n" in mk and "PDF := oui\n" in mk and "DOSSIER_CARTES := maps\n" in mk
    for p in files.values():
        os.utime(p, (1_000_000_000, 1_000_000_000))
    cfg.write_text('[territoire]\nepci = "245901160"\n[cartes]\nclasses = 6\n[[zones]]\ncode = "Z"\n'
                   'libelle = "z"\niris = ["593830101"]\n[portraits]\npdf = false\n', encoding="utf-8")
    code, _, err = _run(["empreinte", "--ecrire", str(etat)], capsys)
    assert code == 0
    changed = sorted(n for n, p in files.items() if p.stat().st_mtime > 1_000_000_000)
    assert changed == ["build.config", "cartes.config", "portraits.config"]   # not fetch
    assert "étape(s) à refaire : build, cartes, portraits" in err
    mk = (etat / "config.mk").read_text(encoding="utf-8")
    assert "GEOGRAPHIES := 2024 2015 zones\n" in mk and "PDF := non\n" in mk
    code, out, _ = _run(["empreinte", "--etape", "cartes"], capsys)
    assert code == 0 and '"classes": 6' in out
