"""Downloads as a real user's first ``make`` meets them, on a loopback server serving official-format
files (an INSEE « base infracommunale » zip holding one CSV, CAF per-département CSVs, the INSEE EPCI
composition workbook): 5xx then success, cuts mid-file (resumed with Range, or restarted), a lying
Content-Length, fingerprints that differ from a manifest, 404 naming the source and its page,
redirects, a silent server, no network at all, a killed run, a concurrent run.

Every failing case checks the exception, the French message (file, place, fix) and that ``data/raw``
holds no partial and no unverified file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from httpserver import ScriptedServer
from openpyxl import Workbook

from observatoire.cli import main
from observatoire.config import parse_config
from observatoire.errors import ObservatoireError, SourceMissingError
from observatoire.sources import registry
from observatoire.sources.base import Source
from observatoire.sources import fetch as fetch_module
from observatoire.sources.fetch import LOCK, fetch
from observatoire.sources.insee_cog import EPCI_SOURCE
from observatoire.sources.raw import JOURNAL, MANIFEST, FingerprintError, manifest_entries, sha256_file

IC_PATH = "/fichier/8268806/base-ic-evol-struct-pop-2021_csv.zip"
IC_REL = "insee_rp_ic_pop/base-ic-evol-struct-pop-2021_csv.zip"
IC_PAGE = "https://www.insee.fr/fr/statistiques/8268806"
CAF_PATH = "/caf/rsa_s_type_iris_f_59_2023.csv"
CAF_REL = "caf_rsa_s_type_iris/rsa_s_type_iris_f_59_2023.csv"
EPCI_PATH = "/fichier/2510634/Intercommunalite_Metropole_au_01-01-2025.zip"
EPCI_REL = "insee_epci/Intercommunalite_Metropole_au_01-01-2025.zip"


# ----------------------------------------------------------------------------------------------------
# official-format files
# ----------------------------------------------------------------------------------------------------
def base_ic_zip(n_iris: int = 3000, corrige: bool = False) -> bytes:
    """INSEE « base infracommunale » population 2021: a zip (stored, so that byte offsets mean
    something) holding ``base-ic-evol-struct-pop-2021.CSV``, ``;``-separated, one row per IRIS of
    Valenciennes-like codes (about 240 ko: several 64 KiB blocks). ``corrige``: the republished
    version, where the first IRIS's population reads 1001 instead of 1000 (same size)."""
    pop = 1000
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\n")
    w.writerow(["IRIS", "REG", "DEP", "UU2020", "COM", "LIBCOM", "TRIRIS", "GRD_QUART", "LIBIRIS", "TYP_IRIS",
                "MODIF_IRIS", "LAB_IRIS", "P21_POP", "P21_POP0014", "P21_POP1529", "P21_POP3044"])
    for i in range(n_iris):
        iris = f"59606{i:04d}"
        w.writerow([iris, "32", "59", "59601", "59606", "Valenciennes", "", "", f"Iris {i}", "H", "00", "1",
                    f"{pop + i + (1 if corrige and i == 0 else 0)}.0", f"{(pop + i) // 5}.0",
                    f"{(pop + i) // 4}.0", f"{(pop + i) // 5}.0"])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr(zipfile.ZipInfo("base-ic-evol-struct-pop-2021.CSV", date_time=(2024, 6, 27, 12, 0, 0)),
                   buf.getvalue())
    return out.getvalue()


def caf_csv() -> bytes:
    return ("Numéro IRIS;Nom IRIS;Numéro commune;Nom commune;Nombre foyers RSA;Nombre foyers RSA socle\n"
            "596060101;Centre;59606;Valenciennes;412;371\n596060102;Gare;59606;Valenciennes;238;210\n"
            ).encode("utf-8")


def composition_zip() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Composition_communale"
    for t in ("Intercommunalités au 1er janvier 2025", None, None, None, None):
        ws.append([t])
    ws.append(["CODGEO", "LIBGEO", "EPCI", "LIBEPCI", "DEP", "REG"])
    ws.append(["59606", "Valenciennes", "245901160", "CA Valenciennes Métropole", "59", "32"])
    ws.append(["59014", "Anzin", "245901160", "CA Valenciennes Métropole", "59", "32"])
    ws.append(["62041", "Arras", "200033579", "CU d'Arras", "62", "32"])
    b = io.BytesIO()
    wb.save(b)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("EPCI_au_01-01-2025.xlsx", b.getvalue())
    return out.getvalue()


def sources_for(base: str) -> dict[str, Source]:
    """The declarations of the real registry (same ids, file names, pages), pointed at ``base``."""
    return {
        "insee_epci": Source(id="insee_epci", producteur="INSEE", titre=EPCI_SOURCE.titre,
                             url=base + "/fichier/2510634/Intercommunalite_Metropole_au_01-01-{millesime}.zip",
                             fichier=EPCI_SOURCE.fichier, millesime_cle="cog", page=EPCI_SOURCE.page),
        "insee_rp_ic_pop": Source(id="insee_rp_ic_pop", producteur="INSEE", titre="Population (IRIS)",
                                  url=base + "/fichier/8268806/base-ic-evol-struct-pop-{millesime}_csv.zip",
                                  fichier="base-ic-evol-struct-pop-{millesime}_csv.zip", millesime_cle="rp",
                                  page=IC_PAGE),
        "caf_rsa_s_type_iris": Source(id="caf_rsa_s_type_iris", producteur="CNAF", titre="RSA (IRIS)",
                                      url=base + "/caf/rsa_s_type_iris_f_{dep}_{millesime}.csv",
                                      fichier="rsa_s_type_iris_f_{dep}_{millesime}.csv", millesime_cle="caf",
                                      par="departement",
                                      page="https://data.caf.fr/explore/dataset/rsa_s_type_iris_f/"),
    }


# ----------------------------------------------------------------------------------------------------
# fixtures and checks
# ----------------------------------------------------------------------------------------------------
CONFIG = {"territoire": {"epci": "245901160"}, "millesimes": {"cog": 2025, "rp": 2021, "caf": 2023}}


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    monkeypatch.delenv("OBSERVATOIRE_MIRROR", raising=False)
    monkeypatch.delenv("OBSERVATOIRE_SILENCE", raising=False)
    return parse_config(CONFIG, tmp_path / "observatoire.toml")


def serve(srv: ScriptedServer, monkeypatch) -> ScriptedServer:
    srv.files.update({EPCI_PATH: composition_zip(), IC_PATH: base_ic_zip(), CAF_PATH: caf_csv()})
    monkeypatch.setattr(registry, "all_sources", lambda: sources_for(srv.base))
    return srv


@pytest.fixture
def srv(monkeypatch):
    with ScriptedServer() as s:
        yield serve(s, monkeypatch)


@pytest.fixture
def srv_ranges(monkeypatch):
    with ScriptedServer(ranges=True) as s:
        yield serve(s, monkeypatch)


@pytest.fixture
def session():
    s = requests.Session()
    s.trust_env = False  # never route 127.0.0.1 through a proxy from the environment
    yield s
    s.close()


def fake_sleep(monkeypatch) -> list[float]:
    """Record the fetcher's back-off pauses instead of waiting."""
    sleeps: list[float] = []
    monkeypatch.setattr(fetch_module, "time", SimpleNamespace(sleep=sleeps.append))
    return sleeps


def run(cfg, session, **kw):
    kw = {"backoff": 0, "retries": 2, "timeout": 5, "session": session, **kw}
    return fetch(cfg, **kw)


def data_files(raw: Path) -> set[str]:
    """Every file of ``data/raw`` but the manifest and its journal, as ``source/file``."""
    if not raw.exists():
        return set()
    return {p.relative_to(raw).as_posix() for p in raw.rglob("*")
            if p.is_file() and p.name not in (MANIFEST, JOURNAL)}


def assert_clean(raw: Path, expected: set[str]) -> None:
    """``data/raw`` holds exactly ``expected``, each verified by its recorded size and sha256; no
    ``.part``/``.tmp`` file, no lock."""
    assert data_files(raw) == expected
    entries = {**json.loads((raw / MANIFEST).read_text())["fichiers"]} if (raw / MANIFEST).exists() else {}
    if (raw / JOURNAL).exists():
        entries.update(json.loads((raw / JOURNAL).read_text())["fichiers"])
    for rel in expected:
        assert entries[rel]["taille"] == (raw / rel).stat().st_size, rel
        assert entries[rel]["sha256"] == sha256_file(raw / rel), rel


# ----------------------------------------------------------------------------------------------------
# a first fetch that meets every hiccup and succeeds
# ----------------------------------------------------------------------------------------------------
def test_first_make_through_503_cut_and_redirect(cfg, srv_ranges, monkeypatch, capsys):
    """The CLI as ``make`` calls it: composition first (one 503), then the census zip (cut at byte
    100 000, resumed after the last whole 64 KiB block), the CAF file of the territory's département
    (moved: 301). Exit 0, every file verified, the manifest written, the journal gone."""
    srv = srv_ranges
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(k, raising=False)
    cfg.paths.root.mkdir(parents=True, exist_ok=True)
    (cfg.paths.root / "observatoire.toml").write_text(
        '[territoire]\nepci = "245901160"\n[millesimes]\ncog = 2025\nrp = 2021\ncaf = 2023\n', encoding="utf-8")
    srv.fail[EPCI_PATH] = 1
    srv.cuts[IC_PATH] = [100_000]
    srv.files["/caf/v2/rsa_59.csv"] = srv.files.pop(CAF_PATH)
    srv.redirects[CAF_PATH] = (301, "/caf/v2/rsa_59.csv")
    sleeps = fake_sleep(monkeypatch)
    code = main(["fetch", "--config", str(cfg.paths.root / "observatoire.toml")])
    err = capsys.readouterr().err
    assert code == 0, err
    assert sleeps == [0.5, 0.5]  # default back-off before each second attempt
    raw = cfg.paths.raw
    assert_clean(raw, {EPCI_REL, IC_REL, "caf_rsa_s_type_iris/rsa_s_type_iris_f_59_2023.csv"})
    assert not (raw / JOURNAL).exists() and not (raw / LOCK).exists()
    assert srv.log == [(EPCI_PATH, None), (EPCI_PATH, None), (IC_PATH, None), (IC_PATH, "bytes=65536-"),
                       (CAF_PATH, None), ("/caf/v2/rsa_59.csv", None)]
    assert (raw / IC_REL).read_bytes() == srv.files[IC_PATH]
    m = manifest_entries(cfg)
    assert m[CAF_REL]["url"] == srv.url(CAF_PATH)  # the declared address, not where it moved
    assert "3 fichiers présents" in err and "3 téléchargés" in err and "téléchargé : " + IC_REL in err


# ----------------------------------------------------------------------------------------------------
# server errors
# ----------------------------------------------------------------------------------------------------
def test_5xx_is_retried_then_succeeds(cfg, srv, session):
    srv.fail[IC_PATH] = 2
    run(cfg, session, departements=["59"], only=["insee_rp_ic_pop"])
    assert srv.paths() == [IC_PATH] * 3  # two 503, then the file
    assert (cfg.paths.raw / IC_REL).read_bytes() == srv.files[IC_PATH]
    assert_clean(cfg.paths.raw, {IC_REL})


def test_5xx_that_lasts_names_the_file_and_keeps_nothing(cfg, srv, session):
    srv.fail[IC_PATH] = 10
    with pytest.raises(SourceMissingError) as e:
        run(cfg, session, departements=["59"], only=["insee_rp_ic_pop", "caf_rsa_s_type_iris"])
    msg = str(e.value)
    assert f"{cfg.paths.raw / IC_REL}   (source insee_rp_ic_pop)" in msg
    assert "cause : HTTP 503 : serveur indisponible (3 tentatives)" in msg
    assert f"page officielle : {IC_PAGE}" in msg
    assert "réessayez plus tard" in msg and "--mirror" in msg
    assert e.value.code == 3
    assert srv.paths().count(IC_PATH) == 3
    assert not (cfg.paths.raw / MANIFEST).exists()  # a failed run leaves the manifest alone
    assert_clean(cfg.paths.raw, {CAF_REL})  # the other file is complete, verified and journaled


def test_404_names_the_source_and_its_official_page(cfg, srv, session):
    del srv.files[IC_PATH]
    with pytest.raises(SourceMissingError) as e:
        run(cfg, session, departements=["59"], only=["insee_rp_ic_pop"])
    msg = str(e.value)
    assert f"{cfg.paths.raw / IC_REL}   (source insee_rp_ic_pop)" in msg
    assert srv.url(IC_PATH) in msg
    assert "cause : HTTP 404 : fichier introuvable à cette adresse" in msg
    assert f"page officielle : {IC_PAGE}" in msg
    assert e.value.correction.startswith("vérifiez sur la page officielle de la source")
    assert "[millesimes]" in e.value.correction and "déposez le fichier à la main" in e.value.correction
    assert "pas de réseau" not in msg
    assert srv.paths() == [IC_PATH]  # a 404 is not retried
    assert_clean(cfg.paths.raw, set())


def test_302_is_followed_and_a_redirect_loop_is_named(cfg, srv, session):
    srv.files["/v2/base-ic.zip"] = srv.files.pop(IC_PATH)
    srv.redirects[IC_PATH] = (302, "/v2/base-ic.zip")
    srv.redirects[CAF_PATH] = (302, CAF_PATH)  # a misconfigured server sends the file to itself
    with pytest.raises(SourceMissingError) as e:
        run(cfg, session, departements=["59"], only=["insee_rp_ic_pop", "caf_rsa_s_type_iris"])
    msg = str(e.value)
    assert f"{cfg.paths.raw / CAF_REL}   (source caf_rsa_s_type_iris)" in msg
    assert "cause : trop de redirections" in msg
    assert "insee_rp_ic_pop" not in msg  # the moved file was fetched
    assert (cfg.paths.raw / IC_REL).read_bytes() == srv.files["/v2/base-ic.zip"]
    assert manifest_entries(cfg)[IC_REL]["url"] == srv.url(IC_PATH)
    assert_clean(cfg.paths.raw, {IC_REL})


# ----------------------------------------------------------------------------------------------------
# cuts and lying lengths
# ----------------------------------------------------------------------------------------------------
def test_cut_mid_file_resumes_with_range(cfg, srv_ranges, session):
    """Cut after 100 000 bytes: the bytes of the unfinished 64 KiB block are lost with the connection,
    the download resumes at 65 536 with the file's ETag, and the result is byte-identical."""
    srv = srv_ranges
    srv.cuts[IC_PATH] = [100_000]
    run(cfg, session, departements=["59"], only=["insee_rp_ic_pop"])
    assert srv.log == [(IC_PATH, None), (IC_PATH, "bytes=65536-")]
    assert srv.if_range[1] == ScriptedServer.etag(srv.files[IC_PATH])  # resumes only the same version
    body = (cfg.paths.raw / IC_REL).read_bytes()
    assert body == srv.files[IC_PATH]
    with zipfile.ZipFile(io.BytesIO(body)) as z:  # the resumed zip is whole: its CRC checks pass
        assert z.testzip() is None
        rows = z.read("base-ic-evol-struct-pop-2021.CSV").decode().splitlines()
    assert len(rows) == 3001 and rows[1].startswith("596060000;32;59;")
    assert manifest_entries(cfg)[IC_REL]["sha256"] == hashlib.sha256(srv.files[IC_PATH]).hexdigest()
    assert_clean(cfg.paths.raw, {IC_REL})


def test_file_replaced_during_a_resume_comes_whole(cfg, srv_ranges, session):
    """The producer replaces the file between the cut and the resume: If-Range no longer matches, the
    server sends the new file whole, and no mix of the two versions is kept."""
    srv = srv_ranges
    srv.cuts[IC_PATH] = [100_000]
    new = base_ic_zip(corrige=True)
    real_get = session.get

    def get(url, **kw):
        r = real_get(url, **kw)
        srv.files[IC_PATH] = new  # replaced right after the first answer started
        return r
    session.get = get
    run(cfg, session, departements=["59"], only=["insee_rp_ic_pop"])
    assert srv.log == [(IC_PATH, None), (IC_PATH, "bytes=65536-")]
    assert (cfg.paths.raw / IC_REL).read_bytes() == new
    assert_clean(cfg.paths.raw, {IC_REL})


def test_cut_mid_file_restarts_when_the_server_ignores_range(cfg, srv, session):
    srv.cuts[IC_PATH] = [100_000, 200_000]
    run(cfg, session, departements=["59"], only=["insee_rp_ic_pop"])
    assert srv.log == [(IC_PATH, None)] * 3  # no Accept-Ranges: whole file asked again each time
    assert (cfg.paths.raw / IC_REL).read_bytes() == srv.files[IC_PATH]
    assert_clean(cfg.paths.raw, {IC_REL})


def test_cut_every_time_keeps_no_truncated_file(cfg, srv, session):
    n = len(srv.files[IC_PATH])
    srv.cuts[IC_PATH] = [100_000] * 3
    with pytest.raises(SourceMissingError) as e:
        run(cfg, session, departements=["59"], only=["insee_rp_ic_pop"])
    total = format(n / 1024, ".1f").replace(".", ",")
    msg = str(e.value)
    # one whole 64 KiB block kept from the last attempt, of the file's n bytes
    assert f"cause : transfert interrompu : 64,0 ko gardés sur {total} ko annoncés (3 tentatives)" in msg
    assert f"page officielle : {IC_PAGE}" in msg
    assert "relancez « observatoire fetch »" in e.value.correction
    assert_clean(cfg.paths.raw, set())


def test_content_length_larger_than_the_body_is_never_kept(cfg, srv, session):
    n = len(srv.files[CAF_PATH])
    srv.lie[CAF_PATH] = 500
    with pytest.raises(SourceMissingError) as e:
        run(cfg, session, departements=["59"], only=["caf_rsa_s_type_iris"])
    assert f"{cfg.paths.raw / CAF_REL}   (source caf_rsa_s_type_iris)" in str(e.value)
    # the whole body came, but less than announced: nothing is kept
    assert f"transfert interrompu : 0 octet gardé sur {n + 500} octets annoncés" in str(e.value)
    assert_clean(cfg.paths.raw, set())


def test_resume_past_the_end_of_a_shrunk_file_starts_again(monkeypatch, cfg, session):
    """No validator (no ETag): the file shrank below the resume point, the server answers 416 to the
    Range, the next attempt fetches the new file whole."""
    with ScriptedServer(ranges=True, validators=False) as srv:
        serve(srv, monkeypatch)
        srv.cuts[IC_PATH] = [100_000]
        short = caf_csv() * 100  # about 18 ko, below 65 536
        real_get = session.get

        def get(url, **kw):
            r = real_get(url, **kw)
            srv.files[IC_PATH] = short
            return r
        session.get = get
        run(cfg, session, departements=["59"], only=["insee_rp_ic_pop"])
        assert srv.log == [(IC_PATH, None), (IC_PATH, "bytes=65536-"), (IC_PATH, None)]
        assert (cfg.paths.raw / IC_REL).read_bytes() == short
        assert_clean(cfg.paths.raw, {IC_REL})


# ----------------------------------------------------------------------------------------------------
# fingerprints against a manifest
# ----------------------------------------------------------------------------------------------------
def test_download_differing_from_its_recorded_sha256_stops_and_force_accepts_it(cfg, srv, session):
    run(cfg, session, departements=["59"], only=["insee_rp_ic_pop"])
    old = srv.files[IC_PATH]
    old_sha = hashlib.sha256(old).hexdigest()
    new = base_ic_zip(corrige=True)  # INSEE republished the file under the same name: same size, new figures
    assert len(new) == len(old) and new != old
    srv.files[IC_PATH] = new
    (cfg.paths.raw / IC_REL).write_bytes(old[:-1] + b"!")  # damaged on disk: fetched again
    with pytest.raises(FingerprintError) as e:
        run(cfg, session, departements=["59"], only=["insee_rp_ic_pop"])
    msg = str(e.value)
    assert e.value.fichier == str(cfg.paths.raw / IC_REL)
    assert f"téléchargé de {srv.url(IC_PATH)}" in msg
    assert f"sha256 attendu {old_sha}, trouvé {hashlib.sha256(new).hexdigest()}" in msg
    assert "taille attendue" not in msg  # same size: only the hash differs
    assert "« observatoire fetch --force »" in e.value.correction
    assert_clean(cfg.paths.raw, set())  # neither the damaged nor the unexpected file is kept
    run(cfg, session, departements=["59"], only=["insee_rp_ic_pop"], force=True)
    assert (cfg.paths.raw / IC_REL).read_bytes() == new
    assert manifest_entries(cfg)[IC_REL]["sha256"] == hashlib.sha256(new).hexdigest()
    assert_clean(cfg.paths.raw, {IC_REL})


def make_mirror(root: Path, files: dict[str, bytes], entries: dict[str, dict]) -> Path:
    for rel, body in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(body)
    (root / MANIFEST).write_text(json.dumps({"fichiers": entries}), encoding="utf-8")
    return root


@pytest.fixture
def no_server(monkeypatch):
    """Sources for mirror tests: the same declarations at an address nobody serves (never contacted)."""
    monkeypatch.setattr(registry, "all_sources", lambda: sources_for(f"http://127.0.0.1:{_closed_port()}"))


def test_mirror_file_with_a_false_sha256_is_not_copied(cfg, tmp_path, no_server):
    body = base_ic_zip()
    good = {"source": "insee_rp_ic_pop", "taille": len(body), "sha256": hashlib.sha256(body).hexdigest(),
            "simule": True}
    mirror = make_mirror(tmp_path / "miroir", {IC_REL: body}, {IC_REL: good})
    cfg = cfg.with_mirror(mirror)
    fetch(cfg, only=["insee_rp_ic_pop"])  # a good copy first
    assert_clean(cfg.paths.raw, {IC_REL})
    false = "0" * 64
    (mirror / MANIFEST).write_text(json.dumps({"fichiers": {IC_REL: {**good, "sha256": false}}}), encoding="utf-8")
    with pytest.raises(FingerprintError) as e:
        fetch(cfg, only=["insee_rp_ic_pop"])
    msg = str(e.value)
    assert e.value.fichier == str(cfg.paths.raw / IC_REL)
    assert f"copié du miroir {mirror / IC_REL}" in msg
    assert f"sha256 attendu {false}, trouvé {good['sha256']}" in msg
    assert "supprimez le fichier du miroir et reconstruisez-le" in e.value.correction
    assert "make demo" in e.value.correction
    assert_clean(cfg.paths.raw, set())  # the earlier copy is gone too: nothing unverified stays


def test_mirror_file_of_the_wrong_size_is_not_copied(cfg, tmp_path, no_server):
    body = caf_csv()
    mirror = make_mirror(tmp_path / "miroir", {CAF_REL: body},
                         {CAF_REL: {"source": "caf_rsa_s_type_iris", "taille": len(body) + 3}})
    cfg = cfg.with_mirror(mirror)
    with pytest.raises(FingerprintError) as e:
        fetch(cfg, only=["caf_rsa_s_type_iris"], departements=["59"])
    assert f"taille attendue {len(body) + 3} octets, trouvée {len(body)} octets" in str(e.value)
    assert "sha256" not in str(e.value)  # the mirror gives no hash: only the size is checked
    assert_clean(cfg.paths.raw, set())


# ----------------------------------------------------------------------------------------------------
# silence and no network
# ----------------------------------------------------------------------------------------------------
def test_server_that_never_answers_times_out_in_french(cfg, srv, session):
    srv.silent.add(IC_PATH)
    t0 = time.perf_counter()
    with pytest.raises(SourceMissingError) as e:
        run(cfg, session, retries=1, timeout=0.3)
    assert time.perf_counter() - t0 < 5
    msg = str(e.value)
    assert f"{cfg.paths.raw / IC_REL}   (source insee_rp_ic_pop)" in msg
    assert f"le serveur 127.0.0.1:{srv.base.rsplit(':', 1)[1]} ne répond pas (aucune réponse en 0,3 s, " \
           "2 tentatives)" in msg
    assert "réessayez plus tard" in e.value.correction
    # the other files of that server are not waited for again
    assert srv.paths() == [EPCI_PATH, IC_PATH, IC_PATH]
    assert f"{cfg.paths.raw / CAF_REL}   (source caf_rsa_s_type_iris)" in msg
    assert_clean(cfg.paths.raw, {EPCI_REL})


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_no_network_lists_missing_files_and_suggests_mirror_and_demo(cfg, tmp_path, monkeypatch, capsys):
    """Through the CLI: connection refused everywhere → exit 3, the « pas de réseau » message."""
    base = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setattr(registry, "all_sources", lambda: sources_for(base))
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(k, raising=False)
    (tmp_path / "observatoire.toml").write_text('[territoire]\nepci = "245901160"\n[millesimes]\ncog = 2025\n'
                                                 'rp = 2021\ncaf = 2023\n', encoding="utf-8")
    sleeps = fake_sleep(monkeypatch)
    code = main(["fetch", "--config", str(tmp_path / "observatoire.toml")])
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert code == 3
    assert "Fichiers officiels introuvables : pas de réseau, et aucun miroir indiqué (3 fichiers)" in err
    for rel, url in ((EPCI_REL, EPCI_PATH), (IC_REL, IC_PATH)):
        assert f"{cfg.paths.raw / rel} (source" in err and base + url in err
    assert "caf_rsa_s_type_iris/rsa_s_type_iris_f_{dep}_{millesime}.csv" in err  # départements unknown yet
    assert f"pas de réseau : connexion impossible à 127.0.0.1:{base.rsplit(':', 1)[1]} (4 tentatives)" in err
    assert sleeps == [0.5, 1.0, 2.0]  # exponential back-off, then no other file is attempted
    assert "observatoire fetch --mirror DOSSIER" in err and "OBSERVATOIRE_MIRROR" in err and "make demo" in err
    assert "no network" not in err and "missing from" not in err  # no English gloss
    assert_clean(cfg.paths.raw, set())
    assert not (cfg.paths.raw / MANIFEST).exists()


# ----------------------------------------------------------------------------------------------------
# a killed run, a concurrent run, leftovers
# ----------------------------------------------------------------------------------------------------
CHILD = textwrap.dedent("""
    import sys, requests
    from pathlib import Path
    sys.path.insert(0, sys.argv[3])
    from test_fetch_http import CONFIG, sources_for
    from observatoire.config import parse_config
    from observatoire.sources import registry
    from observatoire.sources.fetch import fetch
    registry.all_sources = lambda: sources_for(sys.argv[1])
    cfg = parse_config(CONFIG, Path(sys.argv[2]) / "observatoire.toml")
    s = requests.Session()
    s.trust_env = False
    fetch(cfg, session=s, retries=0, timeout=60)
""")


def test_killed_run_leaves_a_journal_and_the_next_run_resumes(cfg, srv, session, capsys):
    """kill -9 while the CAF file hangs after 70 000 bytes: the manifest is not half-written (absent),
    the journal lists the two verified files, a ``.part`` and the lock stay. The next run removes the
    leftovers, takes over the stale lock, re-verifies the journaled files without downloading them
    again, fetches the last one and writes the manifest once."""
    srv.files[CAF_PATH] = caf_csv() * 1000  # about 190 ko
    srv.stalls[CAF_PATH] = 70000
    child = subprocess.Popen([sys.executable, "-c", CHILD, srv.base, str(cfg.paths.root), str(Path(__file__).parent)],
                             stderr=subprocess.PIPE, env={**os.environ, "OBSERVATOIRE_SILENCE": "1"})
    raw = cfg.paths.raw
    part = raw / (CAF_REL + ".part")
    deadline = time.monotonic() + 30
    while not (part.exists() and part.stat().st_size >= 65536) and time.monotonic() < deadline:
        assert child.poll() is None, child.stderr.read().decode()
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stderr.close()
    assert part.exists() and (raw / LOCK).exists()
    assert not (raw / MANIFEST).exists()
    journal = json.loads((raw / JOURNAL).read_text())["fichiers"]
    assert sorted(journal) == [EPCI_REL, IC_REL]
    assert sorted(manifest_entries(cfg)) == [EPCI_REL, IC_REL]  # readers see what was verified

    del srv.stalls[CAF_PATH]
    srv.log.clear()
    run(cfg, session)
    assert srv.paths() == [CAF_PATH]  # the journaled files were re-verified, not downloaded
    assert "1 fichier temporaire d'une exécution interrompue supprimé" in capsys.readouterr().err
    assert sorted(json.loads((raw / MANIFEST).read_text())["fichiers"]) == [CAF_REL, EPCI_REL, IC_REL]
    assert not (raw / JOURNAL).exists() and not (raw / LOCK).exists()
    assert_clean(raw, {EPCI_REL, IC_REL, CAF_REL})


def test_journaled_file_damaged_on_disk_is_fetched_again(cfg, srv, session):
    del srv.files[CAF_PATH]
    with pytest.raises(SourceMissingError):
        run(cfg, session)
    assert sorted(json.loads((cfg.paths.raw / JOURNAL).read_text())["fichiers"]) == [EPCI_REL, IC_REL]
    p = cfg.paths.raw / IC_REL
    p.write_bytes(p.read_bytes()[:-1] + b"?")  # same size, other content
    srv.files[CAF_PATH] = caf_csv()
    srv.log.clear()
    run(cfg, session)
    assert srv.paths() == [IC_PATH, CAF_PATH]  # the composition was verified, the damaged zip fetched
    assert p.read_bytes() == srv.files[IC_PATH]
    assert_clean(cfg.paths.raw, {EPCI_REL, IC_REL, CAF_REL})


def test_a_running_fetch_is_not_disturbed(cfg, srv, session):
    raw = cfg.paths.raw
    raw.mkdir(parents=True)
    (raw / LOCK).write_text(json.dumps({"pid": os.getppid()}), encoding="utf-8")  # alive: pytest's parent
    (raw / "insee_rp_ic_pop").mkdir()
    leftover = raw / (IC_REL + ".part")
    leftover.write_bytes(b"PK\x03\x04")
    with pytest.raises(ObservatoireError) as e:
        run(cfg, session)
    assert f"Un autre « observatoire fetch » est en cours sur {raw} (processus {os.getppid()})" in str(e.value)
    assert e.value.fichier == str(raw / LOCK)
    assert srv.log == [] and leftover.exists()  # the other run's download is left alone


def test_stale_lock_and_temporary_files_are_cleaned(cfg, srv, session):
    raw = cfg.paths.raw
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (raw / "caf_rsa_s_type_iris").mkdir(parents=True)
    (raw / LOCK).write_text(json.dumps({"pid": dead.pid}), encoding="utf-8")
    leftovers = [raw / (CAF_REL + ".part"), raw / "manifest.json.x1y2.tmp", raw / "caf_rsa_s_type_iris/a.tmp"]
    for p in leftovers:
        p.write_bytes(b"debut")
    run(cfg, session)
    assert not any(p.exists() for p in leftovers)
    assert not (raw / LOCK).exists()
    assert_clean(raw, {EPCI_REL, IC_REL, CAF_REL})
