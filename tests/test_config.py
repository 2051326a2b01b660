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


# ------------------------------------------------------------------ schema: typos refused at load
FULL_CONFIG = '''\
[territoire]
epci = "245901160"
nom = "Valenciennes Métropole"

[millesimes]
cog = 2025
rp = [2017, 2022]

[chemins]
raw = "data/raw"
processed = "data/processed"
cartes = "maps"
portraits = "portraits"

[[zones]]
code = "VEILLE_MARLY"
libelle = "Les Floralies (Marly)"
commune = "59383"
iris = ["593830101"]

[[partenaires]]
id = "bailleur_2024"
libelle = "Bailleur social"
fichier = "partenaires/occupation.xlsx"
feuille = "QPV"
disposition = "large"
colonne_code = "code_quartier"
type_territoire = "qpv2024"
millesime = 2024
indicateurs = { taux_hlm = "part_menages_locataires_hlm" }
transformations = { montant = "/12" }
unite = "%"
optionnel = true

[[partenaires]]
id = "en_anglais"
fichier = "p.csv"
layout = "long"
code = "code"
sheet = 1
optional = true

[cartes]
fond = "aucun"
classification = "fisher_jenks"
classes = 7
annee_bornes = 2017

[cartes.bornes]
taux_pauvrete = [20, 30, 40, 50]

[estimation]
raster = "donnees/population_200m.tif"

[portraits]
notes = "notes"
pdf = false
catalogue = "mon_catalogue.yaml"
annee_comparaison = 2017

[indicateurs]
annees_ecart_min = 0
'''


def test_every_section_and_key_in_use_is_accepted(tmp_path):
    cfg = load_config(_write(tmp_path, FULL_CONFIG))
    assert cfg.territoire.nom == "Valenciennes Métropole"
    assert cfg.section("cartes")["classes"] == 7
    assert [p["id"] for p in cfg.partenaires] == ["bailleur_2024", "en_anglais"]
    assert cfg.partenaires[0]["transformations"] == {"montant": "/12"}
    assert cfg.zones[0].iris == ("593830101",)
    assert cfg.annees_ecart_min == 0


def _error(tmp_path, text: str) -> str:
    with pytest.raises(ConfigError) as e:
        load_config(_write(tmp_path, text))
    return str(e.value)


def test_unknown_section_names_the_closest(tmp_path):
    msg = _error(tmp_path, '[territoire]\nepci = "245901160"\n\n[chemin]\nraw = "x"\n')
    assert str(tmp_path / "observatoire.toml") in msg
    assert "section inconnue [chemin] (ligne 4) : vouliez-vous dire [chemins] ?" in msg
    assert "renommez-la [chemins]" in msg


def test_unknown_key_names_the_closest(tmp_path):
    msg = _error(tmp_path, '[territoire]\nepci = "245901160"\n[cartes]\nclases = 5\n')
    assert "clé inconnue « clases » dans [cartes] (ligne 4) : vouliez-vous dire « classes » ?" in msg
    assert "classes = 5" in msg  # the fix shows a valid line


def test_unknown_key_of_a_partner_table_names_the_entry(tmp_path):
    msg = _error(tmp_path, '[territoire]\nepci = "245901160"\n[[partenaires]]\nid = "a"\nfichier = "a.csv"\n'
                           '[[partenaires]]\nid = "b"\nfichiers = "b.csv"\n')
    assert "clé inconnue « fichiers » dans [[partenaires]] n° 2 (b) (ligne 8)" in msg
    assert "« fichier » ?" in msg


def test_unknown_name_without_close_match_lists_the_valid_ones(tmp_path):
    msg = _error(tmp_path, '[territoire]\nepci = "245901160"\n[xyz]\na = 1\n')
    assert "section inconnue [xyz]" in msg and "vouliez-vous" not in msg
    assert "[territoire]" in msg and "[[partenaires]]" in msg and "[cartes]" in msg


def test_key_outside_any_section_and_table_written_as_single_section(tmp_path):
    msg = _error(tmp_path, 'epci = "245901160"\n[territoire]\nnom = "x"\n[zones]\ncode = "Z"\n')
    assert "2 erreurs" in msg
    assert "clé « epci » hors de toute section (ligne 1) : vouliez-vous dire [territoire] epci ?" in msg
    assert "[zones] doit s'écrire [[zones]] (ligne 4)" in msg


@pytest.mark.parametrize("cartes, attendu", [
    ("classes = 12", "[cartes] classes = 12 (ligne 4) : il faut un entier de 2 à 9"),
    ("classes = 1", "il faut un entier de 2 à 9"),
    ('classes = "5"', "il faut un nombre entier"),
    ('classification = "jenks"', "vouliez-vous dire \"fisher_jenks\" ?"),
    ('fond = "osm"', "valeurs possibles : aucun, ign"),
    ('annee_bornes = "dernière"', 'vouliez-vous dire "derniere" ?'),
    ('classification = "manuelle"', "sans bornes"),
    ("[cartes.bornes]\ntaux_pauvrete = [30, 20]", "liste croissante de nombres"),
    ("[cartes.bornes]\ntaux_pauvrete = [1, 2, 3, 4, 5, 6, 7, 8, 9]", "plus de 9 classes"),
    ("[cartes.bornes]\ntaux_pauvretee = [20, 30]", "« taux_pauvretee » (ligne 5) n'est pas dans le catalogue : "
                                                   "vouliez-vous dire « taux_pauvrete » ?"),
])
def test_cartes_section_is_checked_at_load(tmp_path, cartes, attendu):
    msg = _error(tmp_path, f'[territoire]\nepci = "245901160"\n[cartes]\n{cartes}\n')
    assert attendu in msg


@pytest.mark.parametrize("section, attendu", [
    ('[portraits]\npdf = "oui"', "[portraits] pdf = \"oui\" (ligne 4) : il faut true ou false"),
    ("[indicateurs]\nannees_ecart_min = -1", "supérieur ou égal à 0"),
    ('[millesimes]\nrp = ["2022"]', "il faut une année ou une liste d'années"),
    ('[[partenaires]]\nid = "a"\nfichier = "a.csv"\ndisposition = "largue"', 'vouliez-vous dire "large" ?'),
    ('[[partenaires]]\nid = "a"\nfichier = "a.csv"\npreset = "reference"',
     'vouliez-vous dire "reference_figures" ?'),
    ('[[zones]]\ncode = "Z"\nlibelle = "z"\niris = "593830101"', "il faut une liste de codes"),
])
def test_values_of_other_sections_are_checked_at_load(tmp_path, section, attendu):
    assert attendu in _error(tmp_path, f'[territoire]\nepci = "245901160"\n{section}\n')


def test_syntax_error_is_french(tmp_path):
    msg = _error(tmp_path, '[territoire]\nepci = "245901160"\n[cartes\n')
    assert "« ] » attendu à la fin de l'en-tête de section, ligne 3" in msg
    assert "Expected" not in msg


def test_messages_have_no_english_gloss(tmp_path):
    for text in ('[millesimes]\ncog = 2025\n', '[territoire]\nepci = "1"\n'):
        with pytest.raises(ConfigError) as e:
            load_config(_write(tmp_path, text))
        assert not any(w in str(e.value) for w in ("missing", "not found", "unknown", "(not "))
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path / "absent.toml")
    assert "not found" not in str(e.value)


def test_schema_values_match_the_stages_that_use_them():
    """config.py declares the valid values without importing the stages (fast load): same lists."""
    from observatoire import config
    from observatoire.maps import assets, classify
    from observatoire.sources import partner
    from observatoire.sources.registry import all_sources

    assert config.METHODES == classify.METHODES
    assert config.ANNEES_BORNES == classify.ANNEES_BORNES
    assert config.FONDS == assets.FONDS
    assert set(config.PRESETS_PARTENAIRES) == set(partner.PRESETS)
    assert set(config.DISPOSITIONS) == set(partner._LAYOUTS)
    keys = config.SCHEMA["partenaires"].cles
    assert set(partner._SYNONYMS) <= set(keys)
    assert set(partner.PRESETS["reference_figures"]) <= set(keys) | {"types"}
    used = {s.millesime_cle for s in all_sources().values() if s.millesime_cle}
    assert used <= set(config.DEFAULT_MILLESIMES), used - set(config.DEFAULT_MILLESIMES)


# ------------------------------------------------------------- what each stage reads (for make)
def _footprints(tmp_path, text: str) -> dict:
    from observatoire.config import ETAPES, empreinte

    cfg = load_config(_write(tmp_path, text))
    return {e: empreinte(cfg, e) for e in ETAPES}


BASE = '[territoire]\nepci = "245901160"\n[cartes]\nclasses = 5\n[portraits]\npdf = true\n'


@pytest.mark.parametrize("change, stages", [
    (("classes = 5", "classes = 6"), {"cartes"}),
    (("pdf = true", "pdf = false"), {"portraits"}),
    (('epci = "245901160"', 'epci = "200067205"'), {"fetch", "build", "portraits"}),
    (('epci = "245901160"', 'epci = "245901160"\nnom = "VM"'), {"build", "cartes", "portraits"}),
    (("[cartes]", "[millesimes]\nrp = [2016, 2022]\n[cartes]"), {"fetch", "build"}),
    (("[cartes]", "[indicateurs]\nannees_ecart_min = 3\n[cartes]"), {"build", "portraits"}),
    (("[cartes]", '[estimation]\nraster = "r.tif"\n[cartes]'), {"build"}),
    (("[cartes]", '[[zones]]\ncode = "Z"\nlibelle = "z"\niris = ["593830101"]\n[cartes]'), {"build"}),
    (("[cartes]", '[[partenaires]]\nid = "p"\nfichier = "p.csv"\n[cartes]'), {"build", "portraits"}),
    (("[cartes]", '[chemins]\ncartes = "cartes"\n[cartes]'), {"cartes"}),
    (("[cartes]", '[chemins]\nmiroir = "m"\n[cartes]'), {"fetch"}),
    (("# rien", "# un commentaire"), set()),
])
def test_a_change_touches_only_the_stages_that_read_it(tmp_path, monkeypatch, change, stages):
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    before = _footprints(tmp_path, BASE + "# rien\n")
    after = _footprints(tmp_path, (BASE + "# rien\n").replace(*change))
    assert {e for e in before if before[e] != after[e]} == stages


def test_footprint_resolves_paths_and_says_whether_named_files_exist(tmp_path):
    text = BASE + '[[partenaires]]\nid = "p"\nfichier = "p.csv"\n'
    fp = _footprints(tmp_path, text)
    part = str((tmp_path / "p.csv").resolve())
    assert fp["build"]["sections"]["partenaires"][0]["fichier"] == part
    assert fp["build"]["fichiers"] == {part: False}
    (tmp_path / "p.csv").write_text("code;x\n", encoding="utf-8")
    assert _footprints(tmp_path, text)["build"]["fichiers"] == {part: True}
    # the same files named from another folder: same footprint
    other = tmp_path / "ailleurs"
    other.mkdir()
    moved = _footprints(other, text.replace('"p.csv"', f'"{part}"'))
    assert moved["build"]["sections"] == _footprints(tmp_path, text)["build"]["sections"]
    assert moved["build"]["dossiers"] != fp["build"]["dossiers"]   # its own data/raw, data/processed
