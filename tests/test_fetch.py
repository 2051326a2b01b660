"""Fetcher (observatoire/sources/fetch.py) on a loopback server: expansion of sources into files,
downloads recorded with size and sha256, a second run that does nothing, a mirror directory, the
offline error path, the state of each source (observatoire/status.py)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
import requests
from httpserver import ScriptedServer
from openpyxl import Workbook

from observatoire.config import parse_config
from observatoire.errors import ObservatoireError, SourceMissingError
from observatoire.sources import registry
from observatoire.sources.base import Source
from observatoire.sources.fetch import composition_places, fetch
from observatoire.sources.insee_cog import EPCI_SOURCE
from observatoire.sources.raw import JOURNAL, Places, is_simulated, manifest_entries, raw_files
from observatoire.status import status_rows


def composition_bytes() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Composition_communale"
    for t in ("Intercommunalités au 1er janvier 2025", None, None, None, None):
        ws.append([t])
    ws.append(["CODGEO", "LIBGEO", "EPCI", "LIBEPCI", "DEP", "REG"])
    ws.append(["59606", "Valenciennes", "245901160", "CA Valenciennes Métropole", "59", "32"])
    ws.append(["62041", "Arras", "200033579", "CU d'Arras", "62", "32"])
    buf = io.BytesIO()
    wb.save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("EPCI_au_01-01-2025.xlsx", buf.getvalue())
    return out.getvalue()


@pytest.fixture
def server():
    with ScriptedServer() as s:
        yield s


def sources_for(base: str) -> dict[str, Source]:
    return {
        "insee_epci": Source(id="insee_epci", producteur="INSEE", titre="EPCI", url=base + "/epci_{millesime}.zip",
                             fichier=EPCI_SOURCE.fichier, millesime_cle="cog"),
        "stat": Source(id="stat", producteur="INSEE", titre="stat", url=base + "/stat_{millesime}.csv",
                       fichier="stat_{millesime}.csv", millesime_cle="rp"),
        "communes": Source(id="communes", producteur="IGN", titre="communes", url=base + "/communes_{dep}.geojson",
                           fichier="communes_{dep}.geojson", par="departement"),
        "opt": Source(id="opt", producteur="X", titre="optionnel", url=base + "/absent.csv", fichier="absent.csv",
                      optionnel=True),
    }


@pytest.fixture
def setup(tmp_path, server, monkeypatch):
    monkeypatch.setattr(registry, "all_sources", lambda: sources_for(server.base))
    monkeypatch.delenv("OBSERVATOIRE_MIRROR", raising=False)
    server.files.update({
        "/epci_2025.zip": composition_bytes(),
        "/stat_2017.csv": b"IRIS;P17_POP\n596060101;1234\n",
        "/stat_2022.csv": b"IRIS;P22_POP\n596060101;1250\n",
        "/communes_59.geojson": b'{"type":"FeatureCollection","features":[]}',
        "/communes_62.geojson": b'{"type":"FeatureCollection","features":[ ]}',
    })
    cfg = parse_config({"territoire": {"communes": ["59606", "62041"]},
                        "millesimes": {"cog": 2025, "rp": [2017, 2022]}}, tmp_path / "observatoire.toml")
    session = requests.Session()
    session.trust_env = False  # never route 127.0.0.1 through a proxy from the environment
    return cfg, session


def test_download_records_size_and_sha256(setup, server, capsys):
    cfg, session = setup
    got = fetch(cfg, backoff=0, session=session)
    raw = cfg.paths.raw
    # composition first, then france-level, then one file per département of the territory (59, 62)
    assert [p.relative_to(raw).as_posix() for p in got] == [
        "insee_epci/Intercommunalite_Metropole_au_01-01-2025.zip", "stat/stat_2017.csv", "stat/stat_2022.csv",
        "communes/communes_59.geojson", "communes/communes_62.geojson"]
    m = manifest_entries(cfg)
    body = server.files["/stat_2022.csv"]
    e = m["stat/stat_2022.csv"]
    assert e["sha256"] == hashlib.sha256(body).hexdigest()
    assert e["taille"] == len(body) == (raw / "stat/stat_2022.csv").stat().st_size
    assert e["url"] == server.base + "/stat_2022.csv"
    assert e["origine"] == "telechargement" and e["simule"] is False and e["source"] == "stat"
    assert json.loads((raw / "manifest.json").read_text())["fichiers"].keys() == m.keys()
    assert not list(raw.rglob("*.part"))
    assert not (raw / JOURNAL).exists() and not (raw / "fetch.lock").exists()
    err = capsys.readouterr().err
    assert "opt (1 fichier)" in err  # optional source missing (404): a warning, not an error
    assert "téléchargé : stat/stat_2022.csv (28 octets)" in err  # progress, per file: 13 + 15 bytes
    assert "5 fichiers présents" in err and "(5 téléchargés (5,2 ko))." in err
    both = [raw / "communes/communes_59.geojson", raw / "communes/communes_62.geojson"]
    assert raw_files(cfg, "communes", territory=Places(("59", "62"))) == both
    assert raw_files(cfg, "communes", territory=Places(("62",))) == both[1:]
    assert raw_files(cfg, "communes") == both  # territory unknown: the folder
    assert not is_simulated(cfg, "stat")


def test_second_run_does_nothing(setup, server):
    cfg, session = setup
    fetch(cfg, backoff=0, session=session)
    n = len(server.log)
    mtime = (cfg.paths.raw / "stat/stat_2017.csv").stat().st_mtime_ns
    again = fetch(cfg, backoff=0, session=session)
    assert len(again) == 5
    # only the optional missing file is asked again; every present file is skipped
    assert server.paths()[n:] == ["/absent.csv"]
    assert (cfg.paths.raw / "stat/stat_2017.csv").stat().st_mtime_ns == mtime


def test_corrupted_file_is_downloaded_again(setup, server):
    cfg, session = setup
    fetch(cfg, backoff=0, session=session)
    p = cfg.paths.raw / "stat/stat_2017.csv"
    p.write_bytes(b"IRIS;P17_POP\n596060101;9999\n")  # same size, different content
    fetch(cfg, backoff=0, session=session)
    assert p.read_bytes() == server.files["/stat_2017.csv"]


def test_retries_with_backoff(setup, server):
    cfg, session = setup
    server.fail["/stat_2017.csv"] = 2
    fetch(cfg, retries=3, backoff=0, session=session)
    assert server.paths().count("/stat_2017.csv") == 3  # two 503 answers, then the file
    assert (cfg.paths.raw / "stat/stat_2017.csv").read_bytes() == server.files["/stat_2017.csv"]


def test_truncated_download_leaves_no_file(setup, server):
    cfg, session = setup
    server.lie["/stat_2022.csv"] = 1000
    with pytest.raises(SourceMissingError) as e:
        fetch(cfg, retries=1, backoff=0, session=session)
    assert "data/raw/stat/stat_2022.csv" in str(e.value)
    assert not (cfg.paths.raw / "stat/stat_2022.csv").exists()
    assert not list(cfg.paths.raw.rglob("*.part"))
    # the manifest is written only by a successful run; what came before is complete and journaled
    assert not (cfg.paths.raw / "manifest.json").exists()
    assert "stat/stat_2017.csv" in manifest_entries(cfg)


def test_offline_without_mirror_lists_files_and_mirror_option(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "all_sources", lambda: sources_for("http://127.0.0.1:9"))  # nothing listens
    monkeypatch.delenv("OBSERVATOIRE_MIRROR", raising=False)
    cfg = parse_config({"territoire": {"epci": "245901160"}, "millesimes": {"cog": 2025, "rp": [2017, 2022]}},
                       tmp_path / "observatoire.toml")
    s = requests.Session()
    s.trust_env = False
    with pytest.raises(SourceMissingError) as e:
        fetch(cfg, retries=1, backoff=0, timeout=2, session=s)
    msg = str(e.value)
    assert "pas de réseau, et aucun miroir indiqué" in msg
    assert "make demo" in msg
    assert "data/raw/insee_epci/Intercommunalite_Metropole_au_01-01-2025.zip" in msg
    assert "http://127.0.0.1:9/epci_2025.zip" in msg
    assert "data/raw/stat/stat_2022.csv" in msg and "http://127.0.0.1:9/stat_2022.csv" in msg
    assert "communes/communes_{dep}.geojson" in msg  # per-département files: territory unknown yet
    assert "--mirror" in msg and "OBSERVATOIRE_MIRROR" in msg
    assert "absent.csv" not in msg  # optional
    assert e.value.code != 0
    assert not cfg.paths.raw.exists() or not [p for p in cfg.paths.raw.rglob("*") if p.is_file()]


def _mirror(tmp_path: Path, server: ScriptedServer) -> Path:
    m = tmp_path / "miroir"
    for rel, path in [("insee_epci/Intercommunalite_Metropole_au_01-01-2025.zip", "/epci_2025.zip"),
                      ("stat/stat_2017.csv", "/stat_2017.csv"), ("stat/stat_2022.csv", "/stat_2022.csv"),
                      ("communes/communes_59.geojson", "/communes_59.geojson"),
                      ("communes/communes_62.geojson", "/communes_62.geojson")]:
        (m / rel).parent.mkdir(parents=True, exist_ok=True)
        (m / rel).write_bytes(server.files[path])
    (m / "manifest.json").write_text(json.dumps({"fichiers": {
        "stat/stat_2022.csv": {"source": "stat", "url": "https://officiel/stat_2022.csv", "simule": True,
                               "note": "simulé pour la démonstration"}}}), encoding="utf-8")
    return m


def test_mirror_replaces_network_and_keeps_simule_flag(setup, server, tmp_path):
    cfg, session = setup
    cfg = cfg.with_mirror(_mirror(tmp_path, server))
    server.log.clear()
    got = fetch(cfg)
    assert server.log == []  # no network at all
    assert len(got) == 5
    m = manifest_entries(cfg)
    assert m["stat/stat_2022.csv"]["simule"] is True and m["stat/stat_2022.csv"]["origine"] == "miroir"
    assert m["stat/stat_2022.csv"]["url"] == "https://officiel/stat_2022.csv"
    assert m["stat/stat_2017.csv"]["simule"] is False  # absent from the mirror manifest → real
    assert m["stat/stat_2017.csv"]["sha256"] == hashlib.sha256(server.files["/stat_2017.csv"]).hexdigest()
    assert is_simulated(cfg, "stat") and not is_simulated(cfg, "communes")
    before = (cfg.paths.raw / "manifest.json").read_bytes()
    fetch(cfg)  # second run: nothing copied, manifest untouched
    assert (cfg.paths.raw / "manifest.json").read_bytes() == before


def test_file_missing_from_mirror(setup, server, tmp_path):
    cfg, _ = setup
    m = _mirror(tmp_path, server)
    (m / "communes/communes_62.geojson").unlink()
    with pytest.raises(SourceMissingError) as e:
        fetch(cfg.with_mirror(m))
    assert "absents du miroir" in str(e.value)
    assert "data/raw/communes/communes_62.geojson" in str(e.value)
    assert (cfg.paths.raw / "communes/communes_59.geojson").exists()


def test_only_unknown_source(setup):
    cfg, session = setup
    with pytest.raises(ObservatoireError) as e:
        fetch(cfg, only="inconnue", session=session)
    assert "inconnue" in str(e.value) and "stat" in str(e.value)


def test_only_per_departement_source_pulls_the_composition(setup, server):
    cfg, session = setup
    got = fetch(cfg, only=["communes"], backoff=0, session=session)
    assert [p.name for p in got] == ["Intercommunalite_Metropole_au_01-01-2025.zip", "communes_59.geojson",
                                     "communes_62.geojson"]


def test_status_rows(setup, server, tmp_path):
    cfg, _ = setup
    rows = {r["id"]: r for r in status_rows(cfg)}
    # nothing fetched: per-département source cannot be expanded yet, nothing is present
    assert {k: r["present"] for k, r in rows.items()} == {"insee_epci": "non", "stat": "non", "communes": "non",
                                                          "opt": "non"}
    m = _mirror(tmp_path, server)
    (m / "communes/communes_62.geojson").unlink()
    with pytest.raises(SourceMissingError):
        fetch(cfg.with_mirror(m))
    # the failed run wrote no manifest: its journal still tells the simulated files apart
    assert not (cfg.paths.raw / "manifest.json").exists()
    rows = {r["id"]: r for r in status_rows(cfg)}
    assert (rows["stat"]["present"], rows["stat"]["nature"], rows["stat"]["millesime"]) == ("oui", "simulé",
                                                                                          "2017, 2022")
    assert (rows["insee_epci"]["present"], rows["insee_epci"]["nature"]) == ("oui", "réel")
    assert rows["communes"]["present"] == "partiel"  # 59 present, 62 missing
    assert (rows["opt"]["present"], rows["opt"]["nature"], rows["opt"]["optionnel"]) == ("non", "—", True)
    assert rows["stat"]["url"] == server.base + "/stat_{millesime}.csv"


def test_gzip_encoded_answer_is_stored_decoded(setup, server):
    """A WFS answer sent with Content-Encoding: gzip: the file on disk is the decoded GeoJSON."""
    cfg, session = setup
    server.gzip.add("/communes_59.geojson")
    fetch(cfg, backoff=0, session=session)
    p = cfg.paths.raw / "communes/communes_59.geojson"
    assert p.read_bytes() == server.files["/communes_59.geojson"]
    assert manifest_entries(cfg)["communes/communes_59.geojson"]["sha256"] == \
        hashlib.sha256(server.files["/communes_59.geojson"]).hexdigest()


def test_demo_files_are_replaced_by_a_real_fetch(setup, server, tmp_path):
    """After « make demo », fetching without a mirror downloads the official files again: a simulated
    file, or a real but reduced demo extract (``demo: true``), never stands for the official one."""
    cfg, session = setup
    m = _mirror(tmp_path, server)
    entries = json.loads((m / "manifest.json").read_text(encoding="utf-8"))["fichiers"]
    entries["stat/stat_2017.csv"] = {"source": "stat", "simule": False, "demo": True}
    (m / "manifest.json").write_text(json.dumps({"fichiers": entries}), encoding="utf-8")
    fetch(cfg.with_mirror(m))
    server.log.clear()
    fetch(cfg, backoff=0, session=session)
    server_paths = server.paths()
    # 2022 was simulated, 2017 a demo extract: both downloaded again; the other mirror files were real
    assert sorted(p for p in server_paths if p.startswith("/stat")) == ["/stat_2017.csv", "/stat_2022.csv"]
    e = manifest_entries(cfg)
    assert e["stat/stat_2022.csv"]["simule"] is False and e["stat/stat_2022.csv"]["origine"] == "telechargement"
    assert "demo" not in e["stat/stat_2017.csv"]


def test_manifest_is_written_once_at_the_end(setup, monkeypatch):
    """Each installed file is journaled (5 journal writes); ``manifest.json`` is written once."""
    from observatoire.sources import fetch as fetch_module

    cfg, session = setup
    writes = []
    real = fetch_module.write_manifest
    monkeypatch.setattr(fetch_module, "write_manifest", lambda path, f, **kw: (writes.append(Path(path).name), real(path, f, **kw)))
    fetch(cfg, backoff=0, session=session)
    assert writes == ["manifest.journal.json"] * 5 + ["manifest.json"]
    writes.clear()
    fetch(cfg, backoff=0, session=session)
    assert writes == []  # nothing new: the manifest is not rewritten


def test_territory_absent_from_the_composition_stops_before_per_departement_files(tmp_path, server, setup):
    _, session = setup
    cfg = parse_config({"territoire": {"epci": "200099999"}, "millesimes": {"cog": 2025, "rp": [2017, 2022]}},
                       tmp_path / "autre.toml")
    with pytest.raises(ObservatoireError) as e:
        fetch(cfg, backoff=0, session=session)
    assert "Le territoire configuré (l'EPCI de SIREN 200099999) est absent du fichier INSEE" in str(e.value)
    assert e.value.fichier == str(cfg.paths.raw / "insee_epci/Intercommunalite_Metropole_au_01-01-2025.zip")
    assert "corrigez [territoire]" in e.value.correction
    assert not any(p.startswith("/communes") for p in server.paths())
    assert not (cfg.paths.raw / "manifest.json").exists()
    assert sorted(manifest_entries(cfg)) == ["insee_epci/Intercommunalite_Metropole_au_01-01-2025.zip",
                                             "stat/stat_2017.csv", "stat/stat_2022.csv"]


def test_composition_places_by_territory_kind(setup, tmp_path):
    cfg, session = setup
    fetch(cfg, only="insee_epci", backoff=0, session=session)
    assert composition_places(cfg) == Places(("59", "62"), frozenset({"59606", "62041"}))
    for terr, expected in (({"epci": "245901160"}, Places(("59",), frozenset({"59606"}))),
                           ({"departement": "62"}, Places(("62",), frozenset({"62041"})))):
        other = parse_config({"territoire": terr, "millesimes": {"cog": 2025}}, tmp_path / "observatoire.toml")
        assert composition_places(other) == expected
    missing = parse_config({"territoire": {"epci": "245901160"}, "millesimes": {"cog": 2024}},
                           tmp_path / "observatoire.toml")
    assert composition_places(missing) is None  # the 2024 file is not fetched


def test_places_given_by_the_caller(setup, server):
    cfg, session = setup
    # départements given: the composition is not needed
    got = fetch(cfg, only=["communes"], departements=["62"], backoff=0, session=session)
    assert [p.name for p in got] == ["communes_62.geojson"]
    assert server.paths() == ["/communes_62.geojson"]
    # a resolver (e.g. territory.try_resolve_territory) is called once the composition is fetched
    seen = []

    def resolve(config):
        seen.append((cfg.paths.raw / "insee_epci/Intercommunalite_Metropole_au_01-01-2025.zip").exists())
        return Places(("59",), frozenset())
    got = fetch(cfg, only=["communes"], resolve=resolve, backoff=0, session=session)
    assert seen == [True]
    assert [p.name for p in got] == ["Intercommunalite_Metropole_au_01-01-2025.zip", "communes_59.geojson"]


def test_mirror_without_fingerprints_on_another_disk(setup, server, tmp_path, monkeypatch):
    """No hard link possible (another file system): files are copied; a second run recognises them by
    hashing both sides, and a mirror file changed in place (same size) is copied again."""
    from observatoire.sources import fetch as fetch_module

    cfg, _ = setup
    m = _mirror(tmp_path, server)
    (m / "manifest.json").write_text(json.dumps({"fichiers": {}}), encoding="utf-8")  # no taille, no sha256
    def no_link(src, dst):
        raise OSError("cross-device link")
    monkeypatch.setattr(fetch_module.os, "link", no_link)
    cfg = cfg.with_mirror(m)
    fetch(cfg)
    p = cfg.paths.raw / "stat/stat_2017.csv"
    assert not p.samefile(m / "stat/stat_2017.csv") and p.read_bytes() == server.files["/stat_2017.csv"]
    before = p.stat().st_mtime_ns
    fetch(cfg)
    assert p.stat().st_mtime_ns == before  # not copied again
    (m / "stat/stat_2017.csv").write_bytes(b"IRIS;P17_POP\n596060101;4321\n")
    fetch(cfg)
    assert p.read_bytes() == b"IRIS;P17_POP\n596060101;4321\n"
    assert manifest_entries(cfg)["stat/stat_2017.csv"]["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()


def test_simulated_files_of_a_failed_mirror_run_are_never_taken_for_real(setup, server, tmp_path):
    """A mirror run stops (a file missing from the mirror): its simulated file is journaled as such;
    a later run on the network downloads the official file instead of recording the simulated one."""
    cfg, session = setup
    m = _mirror(tmp_path, server)
    (m / "communes/communes_62.geojson").unlink()
    (m / "stat/stat_2022.csv").write_bytes(b"IRIS;P22_POP\n596060101;9999\n")  # the simulated figure
    with pytest.raises(SourceMissingError):
        fetch(cfg.with_mirror(m))
    assert is_simulated(cfg, "stat")
    server.log.clear()
    fetch(cfg, backoff=0, session=session)
    assert "/stat_2022.csv" in server.paths() and "/stat_2017.csv" not in server.paths()
    assert (cfg.paths.raw / "stat/stat_2022.csv").read_bytes() == server.files["/stat_2022.csv"]
    assert not is_simulated(cfg, "stat")
    assert not (cfg.paths.raw / JOURNAL).exists()
