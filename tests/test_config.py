"""observatoire.toml validation (observatoire/config.py): errors name the file, the problem and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from observatoire.config import MIRROR_ENV, load_config
from observatoire.errors import ConfigError, ObservatoireError


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "observatoire.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_default_config_of_the_repository_loads():
    cfg = load_config(Path(__file__).resolve().parents[1] / "observatoire.toml")
    assert cfg.territoire.epci == "245901160"
    assert cfg.territoire.kind == "epci"
    assert cfg.paths.gpkg.name == "observatoire.gpkg"
    assert cfg.millesime("cog") == 2025


def test_invalid_toml_names_file_and_line(tmp_path):
    p = _write(tmp_path, '[territoire]\nepci = "245901160\n')  # unterminated string on line 2
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    assert str(p) in msg
    assert "TOML valide" in msg
    assert "ligne" in msg  # the fix points at the line


def test_two_territory_keys_rejected(tmp_path):
    p = _write(tmp_path, '[territoire]\nepci = "245901160"\ndepartement = "59"\n')
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert "exactement une clé" in str(e.value)
    assert "epci, departement" in str(e.value)


@pytest.mark.parametrize("siren", ["24590116", "2459011600", "24590116A"])
def test_bad_siren_rejected(tmp_path, siren):
    p = _write(tmp_path, f'[territoire]\nepci = "{siren}"\n')
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert siren in str(e.value) and "SIREN" in str(e.value)


def test_missing_territory_section(tmp_path):
    p = _write(tmp_path, '[millesimes]\ncog = 2025\n')
    with pytest.raises(ObservatoireError) as e:
        load_config(p)
    assert "[territoire]" in str(e.value)


def test_bad_commune_code_rejected(tmp_path):
    p = _write(tmp_path, '[territoire]\ncommunes = ["59606", "5960"]\n')
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert "'5960'" in str(e.value)


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path / "absent.toml")
    assert "introuvable" in str(e.value)


def test_relative_paths_and_mirror(tmp_path, monkeypatch):
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    p = _write(tmp_path, '[territoire]\ncommunes = ["59606"]\n[chemins]\nraw = "brut"\nmiroir = "m"\n')
    cfg = load_config(p)
    assert cfg.territoire.kind == "communes"
    assert cfg.paths.raw == tmp_path.resolve() / "brut"
    assert cfg.paths.mirror == tmp_path.resolve() / "m"
    # --mirror on the command line wins over the file
    assert cfg.with_mirror(tmp_path / "autre").paths.mirror == tmp_path / "autre"


def test_mirror_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(MIRROR_ENV, str(tmp_path / "env_mirror"))
    cfg = load_config(_write(tmp_path, '[territoire]\ndepartement = "59"\n'))
    assert cfg.paths.mirror == tmp_path / "env_mirror"
    assert cfg.territoire.kind == "departement"
