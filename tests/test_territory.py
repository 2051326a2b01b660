"""Territory resolution from INSEE's « Intercommunalité - Métropole » file (observatoire/territory.py,
observatoire/sources/insee_cog.py)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from observatoire.config import Territoire, parse_config
from observatoire.errors import FormatError, ObservatoireError, SourceMissingError
from observatoire.sources.insee_cog import read_epci_composition
from observatoire.territory import composition_path, resolve_territory, territory_from_composition

# Illustrative rows: 3 CAVM communes and 2 of the CA de la Porte du Hainaut (memberships as in the COG),
# plus one commune of two other EPCIs (Lille, Arras).
ROWS = [
    ("59014", "Anzin", "245901160", "CA Valenciennes Métropole", "59", "32"),
    ("59606", "Valenciennes", "245901160", "CA Valenciennes Métropole", "59", "32"),
    ("59383", "Marly", "245901160", "CA Valenciennes Métropole", "59", "32"),
    ("59491", "Raismes", "200042190", "CA de la Porte du Hainaut", "59", "32"),
    ("59564", "La Sentinelle", "200042190", "CA de la Porte du Hainaut", "59", "32"),
    ("59350", "Lille", "200093201", "Métropole Européenne de Lille", "59", "32"),
    ("62041", "Arras", "200033579", "CU d'Arras", "62", "32"),
]


def composition_zip(path: Path, rows=ROWS, title_rows: int = 5, member="EPCI_au_01-01-2025.xlsx") -> Path:
    """INSEE layout: sheets EPCI and Composition_communale, title rows, header CODGEO… then rows."""
    wb = Workbook()
    wb.active.title = "EPCI"
    ws = wb.create_sheet("Composition_communale")
    for i in range(title_rows):
        ws.append([f"Titre {i}"] if i < 2 else [None])
    ws.append(["CODGEO", "LIBGEO", "EPCI", "LIBEPCI", "DEP", "REG"])
    for r in rows:
        ws.append(list(r))
    buf = io.BytesIO()
    wb.save(buf)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(member, buf.getvalue())
    return path


def _config(tmp_path: Path, territoire: dict):
    return parse_config({"territoire": territoire, "millesimes": {"cog": 2025}}, tmp_path / "observatoire.toml")


@pytest.mark.parametrize("title_rows", [5, 3, 0])
def test_read_composition_finds_header_whatever_the_title_rows(tmp_path, title_rows):
    p = composition_zip(tmp_path / f"c{title_rows}.zip", title_rows=title_rows, member="Intercommunalite.xlsx")
    df = read_epci_composition(p)
    assert list(df.columns) == ["code_insee", "nom_commune", "siren_epci", "nom_epci", "dep", "reg"]
    assert len(df) == 7
    assert df.loc[df.code_insee == "59491", "siren_epci"].item() == "200042190"


def test_read_composition_rejects_a_zip_without_workbook(tmp_path):
    p = tmp_path / "x.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("readme.txt", "rien")
    with pytest.raises(FormatError) as e:
        read_epci_composition(p)
    assert str(p) in str(e.value) and ".xlsx" in str(e.value)


def test_resolve_epci(tmp_path):
    cfg = _config(tmp_path, {"epci": "245901160"})
    composition_zip(composition_path(cfg))
    t = resolve_territory(cfg)
    assert t.kind == "epci"
    assert t.codes == {"59014", "59383", "59606"}
    assert t.departements == ["59"]
    assert t.epci_nom == "CA Valenciennes Métropole" and t.nom == "CA Valenciennes Métropole"
    assert t.code == "245901160"
    assert t.communes["code_insee"].tolist() == ["59014", "59383", "59606"]  # sorted


def test_resolve_commune_list_across_departements(tmp_path):
    cfg = _config(tmp_path, {"communes": ["62041", "59606"], "nom": "Deux villes"})
    composition_zip(composition_path(cfg))
    t = resolve_territory(cfg)
    assert t.codes == {"59606", "62041"}
    assert t.departements == ["59", "62"]
    assert t.epci_siren is None and t.nom == "Deux villes" and t.code == "communes"


def test_resolve_departement(tmp_path):
    cfg = _config(tmp_path, {"departement": "59"})
    composition_zip(composition_path(cfg))
    t = resolve_territory(cfg)
    assert len(t.codes) == 6 and "62041" not in t.codes
    assert t.nom == "Département 59" and t.code == "59"


def test_unknown_siren_suggests_same_departement(tmp_path):
    cfg = _config(tmp_path, {"epci": "245901161"})  # typo on the last digit
    composition_zip(composition_path(cfg))
    with pytest.raises(ObservatoireError) as e:
        resolve_territory(cfg)
    msg = str(e.value)
    assert "245901161" in msg and "n'existe pas" in msg
    # 245901160 is both the closest string and an EPCI of département 59 (SIREN 24 59 …)
    assert "245901160 – CA Valenciennes Métropole (dép. 59)" in msg
    assert "observatoire.toml" in msg


def test_unknown_commune_code(tmp_path):
    comp = read_epci_composition(composition_zip(tmp_path / "c.zip"))
    with pytest.raises(ObservatoireError) as e:
        territory_from_composition(Territoire(communes=("59606", "59607")), comp, "c.zip")
    assert "59607" in str(e.value)
    assert "59606 Valenciennes" in str(e.value)  # close code proposed


def test_missing_composition_file(tmp_path):
    cfg = _config(tmp_path, {"epci": "245901160"})
    with pytest.raises(SourceMissingError) as e:
        resolve_territory(cfg)
    assert "observatoire fetch" in str(e.value)
    assert "Intercommunalite_Metropole_au_01-01-2025.zip" in str(e.value)


def test_build_geographic_layers_from_the_simulated_demo_mirror(tmp_path):
    """End to end on the fully simulated demo territory (no ../shared needed): mirror → fetch → layers
    → GeoPackage. Boxes of the fallback territory (observatoire/demo/geo.py::_fallback), in metres:
    00001 6000x5000, 00002 6000x5000, 00003 5000x3000, 00004 7000x3000 → EPCI outline 96 km²."""
    from observatoire.demo import build_mirror
    from observatoire.sources.fetch import fetch
    from observatoire.store import list_layers, simulated_inputs, write_gpkg
    from observatoire.territory import build_geographic_layers

    from observatoire.config import load_config
    from observatoire.demo.config import write_demo_config

    mirror = build_mirror(tmp_path / "miroir", shared_dir=False)
    (tmp_path / "observatoire.toml").write_text('[territoire]\nepci = "200099999"\n', encoding="utf-8")
    cfg = load_config(write_demo_config(mirror, tmp_path)).with_mirror(mirror)
    fetch(cfg, only=["insee_epci", "anct_qpv2024", "anct_qpv2015", "ign_communes", "ign_departement", "ign_iris"])
    layers = build_geographic_layers(cfg)
    assert layers["communes"]["code_insee"].tolist() == ["00001", "00002", "00003", "00004"]
    assert set(layers["communes"]["siren_epci"]) == {"200099999"}
    e = layers["epci"]
    assert e[["siren", "nom"]].values.tolist() == [["200099999", "CA Démo (simulée)"]]
    assert e.geometry.iloc[0].area == pytest.approx(96e6)
    assert layers["qpv_2024"]["code_qp"].tolist() == ["QN00001M", "QN00002M", "QN00003N"]
    s = layers["qpv_communes"]
    # 2024: 1 + 2 + 2 rows (QN00003N's part in Hors-Champ 00005 is read from the same IGN file);
    # 2015: QP000001 in one commune, QP000002 in two
    assert (s["millesime_qpv"] == 2024).sum() == 5 and (s["millesime_qpv"] == 2015).sum() == 3
    hors = s[(s.code_qp == "QN00003N") & (s.insee_com == "00005")]
    assert hors["part_surface"].item() == pytest.approx(400 / 1100) and not hors["dans_territoire"].item()
    layers.pop("communes_publiees")
    p = write_gpkg(layers, tmp_path / "observatoire.gpkg")
    assert set(list_layers(p)) == {"communes", "epci", "departement", "iris", "qpv_2024", "qpv_2015",
                                   "qpv_communes", "sources"}
    assert len(simulated_inputs(p)) == 6  # every input of the fallback is simulated
