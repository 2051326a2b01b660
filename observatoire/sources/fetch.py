"""``observatoire fetch``: official files → ``data/raw/<source>/<file>``, verified, with a provenance manifest.

* Each :class:`~observatoire.sources.base.Source` expands into files (:func:`raw.expand_files`): one
  per vintage, per département or per commune of the territory. The INSEE EPCI composition comes
  first: the territory's départements are read from it (or given by the caller).
* Download with ``requests``, streamed into ``<file>.part`` while its size and sha256 are computed.
  Errors 429/5xx, cuts and timeouts are retried with exponential back-off; after a cut the transfer
  resumes with ``Range`` (and ``If-Range``, so a file replaced meanwhile comes whole) from the last
  complete 64 KiB block when the server accepts it (``Accept-Ranges: bytes``), else restarts. A
  transfer shorter than its ``Content-Length`` is never kept. A name-resolution or connection
  failure that survives its retries means « pas de réseau »: no other file is attempted.
* A mirror (``config.paths.mirror``: ``--mirror DIR`` / ``OBSERVATOIRE_MIRROR``) laid out like
  ``data/raw`` replaces the network: files are hard-linked (or copied) and keep the ``simule`` flag of
  the mirror's ``manifest.json`` (a file absent from it is real).
* **Verification.** A mirror copy is checked against the ``taille`` and ``sha256`` of the mirror
  manifest; a download against the ``Content-Length`` and, when this URL was downloaded before, the
  size and sha256 recorded then (``--force`` accepts a new version). A mismatch leaves nothing in
  ``data/raw`` for that file and stops the run with :class:`~observatoire.sources.raw.FingerprintError`.
* **Manifest.** ``data/raw/manifest.json`` is written once, at the end of a successful run,
  atomically. Meanwhile each installed file is recorded in ``manifest.journal.json`` *before* its final
  name appears, so a failed or killed run loses nothing: the next run re-verifies those files.
* **Concurrency and leftovers.** A run holds ``data/raw/fetch.lock`` (its PID); a lock whose process
  is dead is stale and taken over. The run then removes ``*.part`` / ``*.tmp`` files left by killed runs.
* Missing required files → :class:`~observatoire.errors.SourceMissingError` listing every file with
  its place, URL, cause and the fix (``--mirror``, ``make demo``, the source's official page).
  Missing optional sources only warn.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from .. import progress
from ..config import MIRROR_ENV
from ..errors import ObservatoireError, SourceMissingError
from ..fr import accord, compte, format_nombre
from . import registry
from .base import Source
from .insee_cog import EPCI_SOURCE, read_epci_composition
from .raw import (JOURNAL, MANIFEST, FingerprintError, Places, expand_files, fingerprint_problems, is_current,
                  is_temporary, read_manifest, sha256_file, write_manifest)
# Compatibility aliases: these readers moved to observatoire.sources.raw; callers still importing them
# from here (territory, pipeline, demo) are being switched to raw.

COMPOSITION_ID = EPCI_SOURCE.id
LOCK = "fetch.lock"
USER_AGENT = "observatoire-quartiers/0.1 (+https://github.com/; fetch des sources officielles)"
CHUNK = 1 << 16


# ----------------------------------------------------------------------------------------------------
# places of per-département sources
# ----------------------------------------------------------------------------------------------------
def composition_places(config) -> Places | None:
    """Départements and communes of ``config.territoire`` read from the fetched INSEE composition
    file; ``None`` when that file is not in ``data/raw`` yet.

    Only selects; :func:`observatoire.territory.resolve_territory` gives the full diagnosis (close
    EPCI matches…): a caller can pass it as ``fetch(…, resolve=try_resolve_territory)``.

    Raises
    ------
    ObservatoireError : no commune of the composition file matches ``[territoire]``.
    """
    path = config.paths.raw / EPCI_SOURCE.id / EPCI_SOURCE.fichier.format(
        millesime=config.millesime(EPCI_SOURCE.millesime_cle))
    if not path.exists():
        return None
    comp = read_epci_composition(path)
    t = config.territoire
    if t.kind == "epci":
        rows, what = comp[comp["siren_epci"] == t.epci], f"l'EPCI de SIREN {t.epci}"
    elif t.kind == "communes":
        rows, what = comp[comp["code_insee"].isin(list(t.communes))], "les communes " + ", ".join(t.communes)
    else:
        rows, what = comp[comp["dep"] == t.departement], f"le département {t.departement}"
    if rows.empty:
        raise ObservatoireError(
            f"Le territoire configuré ({what}) est absent du fichier INSEE des intercommunalités : "
            "impossible de savoir quels fichiers départementaux télécharger.", fichier=str(path),
            correction="corrigez [territoire] dans observatoire.toml (SIREN de l'EPCI, codes INSEE des "
            f"communes ou code du département, tels que les donne {EPCI_SOURCE.page})")
    return Places(tuple(sorted(rows["dep"].unique())), frozenset(rows["code_insee"]))


# ----------------------------------------------------------------------------------------------------
# lock and leftovers
# ----------------------------------------------------------------------------------------------------
def _process_start(pid: int) -> str | None:
    """Start time of ``pid`` (Linux ``/proc``), to tell a live process from a reused PID."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(holder: dict) -> bool:
    pid = holder.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    start = holder.get("debut")
    return start is None or _process_start(pid) in (None, start)


def _read_lock(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@contextmanager
def fetch_lock(raw: Path):
    """Hold ``raw/fetch.lock`` (``{"pid", "debut"}``) for the duration of a fetch.

    A lock whose process is dead (or whose PID now belongs to another process) is stale: it is
    replaced.

    Raises
    ------
    ObservatoireError : another fetch is running on the same ``data/raw``.
    """
    raw.mkdir(parents=True, exist_ok=True)
    path = raw / LOCK
    me = {"pid": os.getpid(), "debut": _process_start(os.getpid())}
    for _ in range(5):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _read_lock(path)
            if holder and _alive(holder):
                raise ObservatoireError(
                    f"Un autre « observatoire fetch » est en cours sur {raw} (processus {holder['pid']}).",
                    fichier=str(path), correction="attendez qu'il se termine ; si aucun ne tourne plus, "
                    "supprimez ce fichier de verrou") from None
            if _read_lock(path) == holder:  # still the same stale holder: take over
                path.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(me, f)
        break
    else:
        raise ObservatoireError("Impossible de prendre le verrou de téléchargement.", fichier=str(path),
                                correction="supprimez ce fichier si aucun « observatoire fetch » ne tourne")
    try:
        yield path
    finally:
        if _read_lock(path) == me:
            path.unlink(missing_ok=True)


def clean_temporary(raw: Path) -> list[Path]:
    """Remove ``*.part`` / ``*.tmp`` files under ``raw`` (left by killed runs); returns them.
    Call it only while holding :func:`fetch_lock`."""
    gone = []
    for p in sorted(raw.rglob("*")):
        if is_temporary(p) and p.is_file():
            p.unlink(missing_ok=True)
            gone.append(p)
    return gone


# ----------------------------------------------------------------------------------------------------
# transfer
# ----------------------------------------------------------------------------------------------------
class _Failure(Exception):
    """A file could not be fetched; ``cause`` is French, ``kind`` selects the fix."""

    kind = "http"

    def __init__(self, cause: str):
        super().__init__(cause)
        self.cause = cause


class _NetworkDown(_Failure):
    kind = "reseau"


class _ServerSilent(_Failure):
    kind = "serveur"


class _ServerBusy(_Failure):
    kind = "serveur"


class _HttpFailed(_Failure):
    kind = "http"


class _Incomplete(_Failure):
    kind = "transfert"


def _octets(n: int | None) -> str:
    if n is None:
        return "?"
    for unit, size in (("Go", 1 << 30), ("Mo", 1 << 20), ("ko", 1 << 10)):
        if n >= size:
            return f"{format_nombre(n / size, 1)} {unit}"
    return compte(n, "octet")


def _tentatives(n: int) -> str:
    return compte(n, "tentative")


def _is_name_resolution(e: Exception) -> bool:
    txt = repr(e)
    return any(k in txt for k in ("NameResolutionError", "Failed to resolve", "Name or service not known",
                                  "Temporary failure in name resolution", "nodename nor servname"))


_HTTP_MEANING = {401: "accès refusé", 403: "accès interdit", 404: "fichier introuvable à cette adresse",
                 410: "fichier retiré par le producteur", 429: "trop de requêtes", 500: "erreur du serveur",
                 502: "passerelle en erreur", 503: "serveur indisponible", 504: "passerelle sans réponse"}


def _http_cause(code: int, attempts: int) -> str:
    meaning = _HTTP_MEANING.get(code, "réponse inattendue")
    return f"HTTP {code} : {meaning}" + (f" ({_tentatives(attempts)})" if attempts > 1 else "")


class _Partial:
    """What is in ``<file>.part`` so far: size, running sha256, and whether the server lets us resume."""

    def __init__(self):
        self.start_over()

    def start_over(self, response=None) -> None:
        self.size = 0
        self.hash = hashlib.sha256()
        self.total = self.validator = None
        self.resumable = False
        if response is None:
            return
        h = response.headers
        encoded = h.get("Content-Encoding", "identity").lower() not in ("", "identity")
        # with Content-Encoding (gzip…), Content-Length counts compressed bytes: no size check, no resume
        self.total = None if encoded else (int(h.get("Content-Length") or 0) or None)
        self.resumable = not encoded and h.get("Accept-Ranges", "").lower() == "bytes"
        etag = h.get("ETag")
        self.validator = etag if etag and not etag.startswith("W/") else h.get("Last-Modified")

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self.hash.update(chunk)


def _content_range(response) -> tuple[int | None, int | None]:
    """(first byte, total length) of a ``Content-Range: bytes a-b/n`` header."""
    v = response.headers.get("Content-Range", "")
    try:
        unit, rest = v.split(" ", 1)
        span, total = rest.split("/", 1)
        return (int(span.split("-", 1)[0]) if unit == "bytes" else None,
                None if total.strip() == "*" else int(total))
    except ValueError:
        return None, None


def _cut_cause(state: _Partial, attempt: int) -> str:
    kept = "gardés" if state.size >= 2 else "gardé"
    return (f"transfert interrompu : {_octets(state.size)} {kept} sur {_octets(state.total)} annoncés "
            f"({_tentatives(attempt)})")


def _download(url: str, part: Path, *, session, retries: int, backoff: float, timeout: float,
              on_progress: Callable[[int, int | None], None] | None = None) -> tuple[int, str]:
    """Stream ``url`` into ``part`` (resuming with ``Range`` after a cut when possible).

    Returns
    -------
    (size, sha256) of the complete ``part``, whose size equals the announced ``Content-Length``.

    Raises
    ------
    _NetworkDown, _ServerSilent, _ServerBusy, _HttpFailed, _Incomplete : with a French ``cause``. ``part`` may be
        left behind: the caller removes it.
    """
    import requests

    part.parent.mkdir(parents=True, exist_ok=True)
    state = _Partial()
    last: _Failure | None = None
    for attempt in range(1, retries + 2):
        if attempt > 1:
            time.sleep(backoff * 2 ** (attempt - 2))
        headers, resume = _request_headers(state)
        streaming = False
        try:
            with session.get(url, stream=True, timeout=timeout, headers=headers) as r:
                last = _refused(r.status_code, r, state, resume, attempt)
                if last is not None:
                    continue
                streaming = True
                _stream(r, part, state, on_progress)
                return state.size, state.hash.hexdigest()
        except _Incomplete:
            last = _Incomplete(_cut_cause(state, attempt))
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError,
                requests.exceptions.Timeout) as e:
            last = _network_failure(e, url, state, attempt, timeout, streaming)
            if isinstance(last, _NetworkDown) and attempt >= 2 and _is_name_resolution(e):
                break  # offline machine: one retry is enough to tell
        except requests.exceptions.RequestException as e:  # too many redirects, invalid URL…
            kind = "trop de redirections" if isinstance(e, requests.exceptions.TooManyRedirects) else \
                f"requête impossible ({type(e).__name__})"
            raise _HttpFailed(kind) from e
    assert last is not None
    raise last


def _request_headers(state: _Partial) -> tuple[dict[str, str], bool]:
    """Headers of the next request, and whether it resumes a cut download (``Range``, ``If-Range``)."""
    headers = {"User-Agent": USER_AGENT}
    resume = state.size > 0 and state.resumable
    if resume:
        headers.update({"Range": f"bytes={state.size}-", "Accept-Encoding": "identity"})
        if state.validator:
            headers["If-Range"] = state.validator
    return headers, resume


def _refused(code: int, r, state: _Partial, resume: bool, attempt: int) -> _Failure | None:
    """The failure to retry on (busy server, changed file, a range not asked for), ``None`` when the
    body can be read; raises :class:`_HttpFailed` on a client error (404…), never worth a retry."""
    if code == 429 or code >= 500:
        return _ServerBusy(_http_cause(code, attempt))
    if code == 416 and resume:  # the file changed size under us: start again
        state.start_over()
        return _HttpFailed(_http_cause(code, attempt))
    if code >= 400:
        raise _HttpFailed(_http_cause(code, attempt))
    if code != 206:
        state.start_over(r)
        return None
    first, total = _content_range(r)
    changed = total is not None and state.total is not None and total != state.total
    if not resume or first != state.size or changed:
        state.start_over()  # a range we did not ask for: ask for the whole file
        return _Incomplete("réponse partielle inattendue du serveur")
    state.total = total if total is not None else state.total
    return None


def _stream(r, part: Path, state: _Partial, on_progress) -> None:
    """Append (206) or write (200) the body to ``part``; :class:`_Incomplete` when it stops short."""
    with open(part, "ab" if r.status_code == 206 else "wb") as f:
        for chunk in r.iter_content(CHUNK):
            if chunk:
                f.write(chunk)
                state.add(chunk)
                if on_progress is not None:
                    on_progress(state.size, state.total)
    if state.total is not None and state.size != state.total:
        raise _Incomplete("")


def _network_failure(e: Exception, url: str, state: _Partial, attempt: int, timeout: float,
                     streaming: bool) -> _Failure:
    """A cut connection: mid-file (resumable), a silent server (timeout) or no network at all."""
    import requests

    if streaming:
        return _Incomplete(_cut_cause(state, attempt))
    host = urlsplit(url).netloc
    if isinstance(e, requests.exceptions.Timeout):
        return _ServerSilent(f"le serveur {host} ne répond pas (aucune réponse en "
                             f"{format_nombre(timeout, 1)} s, {_tentatives(attempt)})")
    return _NetworkDown(f"pas de réseau : connexion impossible à {host} ({_tentatives(attempt)})")


def _link_or_copy(src: Path, part: Path) -> None:
    part.unlink(missing_ok=True)
    try:
        os.link(src, part)
    except OSError:
        shutil.copyfile(src, part)


# ----------------------------------------------------------------------------------------------------
# one run
# ----------------------------------------------------------------------------------------------------
@dataclass
class _Missing:
    rel: str
    url: str
    source: Source
    cause: str
    kind: str  # reseau | serveur | http | transfert | miroir | territoire


@dataclass
class _Mismatch:
    rel: str
    source: Source
    origin: str  # « copié du miroir … » / « téléchargé de … »
    problems: list
    kind: str  # miroir | telechargement
    date: str = ""


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


class _Run:
    """State of one fetch: entries recorded so far, files present, missing and mismatched."""

    def __init__(self, config, force: bool, retries: int, backoff: float, timeout: float, session):
        self.raw = config.paths.raw
        self.mirror = config.paths.mirror
        self.force = force
        self.net = {"retries": retries, "backoff": backoff, "timeout": timeout}
        self.session = session
        self.manifest = read_manifest(self.raw / MANIFEST)
        self.journal = read_manifest(self.raw / JOURNAL)
        self.known = {**self.manifest, **self.journal}
        self.mirror_manifest = read_manifest(self.mirror / MANIFEST) if self.mirror is not None else {}
        self.present: list[Path] = []
        self.missing: list[_Missing] = []
        self.optional_missing: list[_Missing] = []
        self.mismatches: list[_Mismatch] = []
        self.counts = {"telecharges": 0, "copies": 0, "a_jour": 0, "manuels": 0}
        self.bytes = 0
        self.network_down: str | None = None
        self.silent_hosts: dict[str, str] = {}
        self.bar = None

    # -- bookkeeping ----------------------------------------------------------------------------------
    def lack(self, source: Source, rel: str, url: str, cause: str, kind: str) -> None:
        (self.optional_missing if source.optionnel else self.missing).append(_Missing(rel, url, source, cause, kind))

    def record(self, rel: str, entry: dict) -> None:
        """Journal ``entry`` (atomically) before the file takes its final name."""
        self.journal[rel] = entry
        self.known[rel] = entry
        write_manifest(self.raw / JOURNAL, self.journal, durable=False)

    def forget(self, rel: str, dest: Path) -> None:
        """Nothing stays in ``data/raw`` for a file that failed verification."""
        dest.unlink(missing_ok=True)
        if self.journal.pop(rel, None) is not None:
            write_manifest(self.raw / JOURNAL, self.journal, durable=False)
        self.known.pop(rel, None)

    def install(self, part: Path, dest: Path, rel: str, entry: dict) -> None:
        dest.unlink(missing_ok=True)  # never a journal entry next to the old content
        self.record(rel, entry)
        os.replace(part, dest)
        self.present.append(dest)

    # -- one file -------------------------------------------------------------------------------------
    def fetch_file(self, source: Source, rel: str, url: str) -> None:
        dest = self.raw / rel
        part = dest.with_name(dest.name + ".part")
        try:
            if self.mirror is not None:
                self._from_mirror(source, rel, url, dest, part)
            else:
                self._from_network(source, rel, url, dest, part)
        finally:
            part.unlink(missing_ok=True)

    def _from_mirror(self, source: Source, rel: str, url: str, dest: Path, part: Path) -> None:
        src = self.mirror / rel
        if not src.is_file():
            self.lack(source, rel, url, "absent du miroir", "miroir")
            return
        m_entry = self.mirror_manifest.get(rel, {})
        if not self.force and self._mirror_current(dest, src, self.known.get(rel), m_entry):
            self.present.append(dest)
            self.counts["a_jour"] += 1
            return
        size = src.stat().st_size
        problems = fingerprint_problems(m_entry, size, None)  # size first: no copy of a wrong file
        digest = None
        if not problems:
            dest.parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(src, part)
            digest = sha256_file(part)
            problems = fingerprint_problems(m_entry, size, digest)
        if problems:
            self.forget(rel, dest)
            self.mismatches.append(_Mismatch(rel, source, f"copié du miroir {src}", problems, "miroir"))
            return
        entry = {"source": source.id, "url": m_entry.get("url") or url, "taille": size, "sha256": digest,
                 "simule": bool(m_entry.get("simule", False)), "origine": "miroir", "date": _now()}
        for key in ("note", "demo"):
            if m_entry.get(key):
                entry[key] = m_entry[key]
        self.install(part, dest, rel, entry)
        self.counts["copies"] += 1

    @staticmethod
    def _mirror_current(dest: Path, src: Path, entry: dict | None, m_entry: dict) -> bool:
        """``dest`` already holds the mirror's file with the mirror's flags."""
        if not entry or entry.get("origine") != "miroir" or not dest.is_file():
            return False
        if bool(entry.get("simule")) != bool(m_entry.get("simule")) or \
                bool(entry.get("demo")) != bool(m_entry.get("demo")):
            return False
        size = src.stat().st_size
        if not entry.get("taille") == size == dest.stat().st_size:
            return False
        if m_entry.get("sha256"):
            return entry.get("sha256") == m_entry["sha256"] and (dest.samefile(src) or is_current(dest, entry))
        # a mirror without fingerprints: same inode, or both files hash to the recorded sha256
        return dest.samefile(src) or (is_current(dest, entry) and sha256_file(src) == entry.get("sha256"))

    def _from_network(self, source: Source, rel: str, url: str, dest: Path, part: Path) -> None:
        entry = self.known.get(rel)
        if not self.force and dest.is_file():
            if entry is None:  # placed by hand: trust it, record its fingerprint
                self.record(rel, {"source": source.id, "url": url, "taille": dest.stat().st_size,
                                  "sha256": sha256_file(dest), "simule": False, "origine": "telechargement",
                                  "date": _now(), "note": "fichier déposé à la main dans data/raw"})
                self.present.append(dest)
                self.counts["manuels"] += 1
                return
            # a file left by « make demo » (simulated, or a real but reduced extract) never stands for
            # the official one
            if not entry.get("simule") and not entry.get("demo") and is_current(dest, entry):
                self.present.append(dest)
                self.counts["a_jour"] += 1
                return
        if self.network_down is not None:
            self.lack(source, rel, url, self.network_down, "reseau")
            return
        host = urlsplit(url).netloc
        if host in self.silent_hosts:
            self.lack(source, rel, url, self.silent_hosts[host], "serveur")
            return
        expected = entry if (not self.force and entry and entry.get("origine") == "telechargement"
                             and not entry.get("simule") and not entry.get("demo")
                             and entry.get("url") == url and not entry.get("note")) else None
        task = self.bar.add_task(rel, total=None) if self.bar is not None else None
        try:
            size, digest = _download(url, part, session=self.session, **self.net, on_progress=None if task is None
                                     else lambda done, total: self.bar.update(task, completed=done, total=total))
        except _NetworkDown as e:
            self.network_down = e.cause
            self.lack(source, rel, url, e.cause, e.kind)
            return
        except _ServerSilent as e:
            self.silent_hosts[host] = e.cause
            self.lack(source, rel, url, e.cause, e.kind)
            return
        except _Failure as e:
            self.lack(source, rel, url, e.cause, e.kind)
            return
        finally:
            if task is not None:
                self.bar.remove_task(task)
        problems = fingerprint_problems(expected, size, digest) if expected else []
        if problems:
            self.forget(rel, dest)
            self.mismatches.append(_Mismatch(rel, source, f"téléchargé de {url}", problems, "telechargement",
                                             expected.get("date", "")))
            return
        self.install(part, dest, rel, {"source": source.id, "url": url, "taille": size, "sha256": digest,
                                       "simule": False, "origine": "telechargement", "date": _now()})
        self.counts["telecharges"] += 1
        self.bytes += size
        progress.info(f"  téléchargé : {rel} ({_octets(size)})")

    # -- progress -------------------------------------------------------------------------------------
    @contextmanager
    def showing_bytes(self):
        """A transient byte bar per download on a terminal (nothing otherwise, or when silenced)."""
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

        if not progress.console.is_terminal or os.environ.get("OBSERVATOIRE_SILENCE", "") not in ("", "0"):
            yield
            return
        with Progress(TextColumn("  {task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                      console=progress.console, transient=True) as bar:
            self.bar = bar
            try:
                yield
            finally:
                self.bar = None

    # -- end ------------------------------------------------------------------------------------------
    def finish(self) -> list[Path]:
        """Warn about optional files, raise for missing or mismatched ones, else write the manifest
        once and drop the journal."""
        if self.optional_missing:
            by_source: dict[str, int] = {}
            for m in self.optional_missing:
                by_source[m.source.id] = by_source.get(m.source.id, 0) + 1
            progress.avertir("sources optionnelles absentes, ignorées (les indicateurs qui en dépendent seront "
                             "absents) : " + ", ".join(f"{k} ({compte(v, 'fichier')})"
                                                       for k, v in by_source.items()))
        if self.mismatches:
            raise FingerprintError(_mismatch_message(self.mismatches, self.raw, len(self.missing)),
                                   fichier=str(self.raw / self.mismatches[0].rel),
                                   correction=_mismatch_fix(self.mismatches))
        if self.missing:
            raise SourceMissingError(_missing_message(self.missing, self.mirror, self.raw),
                                     correction=_missing_fix(self.missing, self.mirror))
        final = {**self.manifest, **self.journal}
        if final != self.manifest or not (self.raw / MANIFEST).exists():
            write_manifest(self.raw / MANIFEST, final)
        (self.raw / JOURNAL).unlink(missing_ok=True)
        c = self.counts
        parts = [f"{c['telecharges']} {_accord(c['telecharges'], 'téléchargé')} ({_octets(self.bytes)})",
                 f"{c['copies']} {_accord(c['copies'], 'copié')} du miroir et {_accord(c['copies'], 'vérifié')}",
                 f"{c['a_jour']} déjà à jour", f"{c['manuels']} {_accord(c['manuels'], 'déposé')} à la main"]
        said = [p for p, n in zip(parts, (c["telecharges"], c["copies"], c["a_jour"], c["manuels"])) if n]
        progress.info(f"Sources : {_n_fichiers(len(self.present))} {_accord(len(self.present), 'présent')} dans "
                      f"{self.raw}" + (f" ({' ; '.join(said)})." if said else "."))
        return self.present


# ----------------------------------------------------------------------------------------------------
# messages
# ----------------------------------------------------------------------------------------------------
def _n_fichiers(n: int) -> str:
    return compte(n, "fichier")


_accord = accord   # « 0 téléchargé », « 2 téléchargés »


def _missing_message(missing: list[_Missing], mirror: Path | None, raw: Path) -> str:
    if mirror is not None:
        head = f"Fichiers officiels absents du miroir {mirror} ({_n_fichiers(len(missing))}) :"
    elif any(m.kind == "reseau" for m in missing):
        head = ("Fichiers officiels introuvables : pas de réseau, et aucun miroir indiqué "
                f"({_n_fichiers(len(missing))}) :")
    else:
        head = f"Fichiers officiels introuvables ({_n_fichiers(len(missing))}) :"
    lines = [head]
    for m in missing:
        lines.append(f"  - {raw / m.rel}   (source {m.source.id})\n      {m.url}\n      cause : {m.cause}")
        if m.kind in ("http", "transfert", "serveur") and m.source.page:
            lines.append(f"      page officielle : {m.source.page}")
    return "\n".join(lines)


def _missing_fix(missing: list[_Missing], mirror: Path | None) -> str:
    kinds = {m.kind for m in missing}
    fixes = []
    if mirror is not None:
        fixes.append(f"complétez le miroir {mirror} (même arborescence que data/raw/), ou lancez sans miroir "
                     "avec un accès à Internet")
    if kinds & {"reseau", "territoire"} and mirror is None:
        fixes.append("connectez-vous à Internet et relancez « observatoire fetch », ou utilisez un miroir hors "
                     f"ligne : « observatoire fetch --mirror DOSSIER » ou {MIRROR_ENV}=DOSSIER (dossier organisé "
                     "comme data/raw/) ; pour essayer l'observatoire sans réseau : « make demo »")
    if "serveur" in kinds:
        fixes.append("le serveur du producteur est indisponible ou surchargé : réessayez plus tard, ou utilisez "
                     "un miroir hors ligne (« observatoire fetch --mirror DOSSIER »)")
    if "http" in kinds:
        fixes.append("vérifiez sur la page officielle de la source l'adresse du fichier pour le millésime demandé "
                     "(le producteur a pu le déplacer ou ne pas encore le publier) ; corrigez [millesimes] dans "
                     "observatoire.toml, ou déposez le fichier à la main sous le nom indiqué puis relancez "
                     "« observatoire fetch »")
    if "transfert" in kinds:
        fixes.append("relancez « observatoire fetch » (la connexion a été coupée) ; si la coupure se répète, "
                     "téléchargez le fichier depuis sa page officielle et déposez-le à la main sous le nom "
                     "indiqué")
    return " ;\n  ou ".join(fixes)


def _mismatch_message(mismatches: list[_Mismatch], raw: Path, n_missing: int) -> str:
    lines = [f"Empreinte incorrecte ({_n_fichiers(len(mismatches))}) : le contenu ne correspond pas au "
             "manifeste ; rien n'a été gardé dans data/raw pour ce fichier."]
    for m in mismatches:
        when = f" (enregistré le {m.date[:10]})" if m.date else ""
        lines.append(f"  - {raw / m.rel}   (source {m.source.id}), {m.origin}{when}")
        lines.extend(f"      {p}" for p in m.problems)
    if n_missing:
        lines.append(f"De plus, {_n_fichiers(n_missing)} {accord(n_missing, 'introuvable')} : relancez "
                     "après correction pour la liste.")
    return "\n".join(lines)


def _mismatch_fix(mismatches: list[_Mismatch]) -> str:
    fixes = []
    if any(m.kind == "miroir" for m in mismatches):
        fixes.append("le miroir est altéré : supprimez le fichier du miroir et reconstruisez-le (miroir de "
                     "démonstration : « make demo »), puis relancez « observatoire fetch »")
    if any(m.kind == "telechargement" for m in mismatches):
        fixes.append("le fichier publié à cette adresse a changé depuis son enregistrement : relancez "
                     "« observatoire fetch --force » pour accepter la nouvelle version (les chiffres qui en "
                     "dépendent peuvent changer)")
    return " ;\n  ".join(fixes)


# ----------------------------------------------------------------------------------------------------
# fetch
# ----------------------------------------------------------------------------------------------------
def _select(sources: dict[str, Source], only, places_known: bool) -> dict[str, Source]:
    """The sources ``only`` names, plus the EPCI composition when a per-département source needs the
    territory and its places are not given."""
    if only is None:
        return sources
    wanted = [only] if isinstance(only, str) else list(only)
    unknown = [w for w in wanted if w not in sources]
    if unknown:
        raise ObservatoireError(f"Source inconnue : {', '.join(unknown)}.",
                                correction="sources disponibles : " + ", ".join(sorted(sources)))
    if not places_known and any(sources[w].par != "france" for w in wanted) and COMPOSITION_ID in sources:
        wanted.append(COMPOSITION_ID)
    return {k: v for k, v in sources.items() if k in set(wanted)}


def _ordered(sources: dict[str, Source]) -> list[Source]:
    rank = {"france": 1, "departement": 2, "commune": 3}
    return sorted(sources.values(), key=lambda s: (0 if s.id == COMPOSITION_ID else rank.get(s.par, 4)))


def _places_given(departements, communes) -> Places | None:
    if departements is None and communes is None:
        return None
    return Places(tuple(sorted(departements or ())), frozenset(communes or ()))


def fetch(config, only=None, force: bool = False, *, departements=None, communes=None,
          resolve: Callable | None = None, retries: int = 3, backoff: float = 0.5, timeout: float = 60.0,
          session=None) -> list[Path]:
    """Bring every official file of the configured territory into ``data/raw``, verified.

    Parameters
    ----------
    config : :class:`observatoire.config.Config` (``paths.raw``, ``paths.mirror``, millésimes, territory).
    only : a source id or an iterable of ids (the EPCI composition is added when a per-département or
        per-commune source needs the territory and ``departements``/``communes`` are not given).
    force : download/copy again even when the file is present and verified, and accept a new version
        of a file whose fingerprint was recorded.
    departements, communes : the territory's départements / commune codes for per-département /
        per-commune sources. When both are ``None``: ``resolve(config)`` if given (any object with
        ``departements`` and ``codes``, or ``None`` when unknown, e.g.
        :func:`observatoire.territory.try_resolve_territory`), else :func:`composition_places` once the
        composition file is fetched.
    retries, backoff, timeout : network retry policy (back-off ``backoff × 2**k`` seconds; ``timeout``
        seconds without an answer).
    session : a ``requests.Session`` (one is created by default).

    Returns
    -------
    The paths of the present files of the selected sources, in fetch order.

    Raises
    ------
    SourceMissingError : required files could neither be downloaded nor found in the mirror; the
        message lists each file with its place, URL and cause, and the fix.
    FingerprintError : a file's size or sha256 differs from its manifest (nothing kept for it).
    ObservatoireError : unknown source id in ``only``; territory absent from the composition file;
        another fetch running on the same ``data/raw``.

    In every case no partial file is left; files fetched before a failure are journaled and
    re-verified by the next run; ``manifest.json`` changes only when a run succeeds.
    """
    places = _places_given(departements, communes)
    sources = _ordered(_select(registry.all_sources(), only, places is not None))
    mirror = config.paths.mirror
    if mirror is not None and not mirror.is_dir():
        raise SourceMissingError(f"Le dossier miroir n'existe pas : {mirror}.", fichier=str(mirror),
                                 correction="vérifiez le dossier donné à --mirror ou à "
                                 f"{MIRROR_ENV} (le miroir de démonstration, data/mirror/demo, est créé par "
                                 "« make demo »), ou lancez sans miroir avec un accès à Internet")
    if session is None and mirror is None:
        import requests

        session = requests.Session()
    tried = places is not None
    raw = config.paths.raw
    with fetch_lock(raw):
        stale = clean_temporary(raw)
        if stale:
            progress.info(f"  {_n_fichiers(len(stale))} {accord(len(stale), 'temporaire')} d'une exécution "
                          f"interrompue {accord(len(stale), 'supprimé')}")
        run = _Run(config, force, retries, backoff, timeout, session)
        with run.showing_bytes():
            for source in sources:
                if source.par != "france" and not tried:
                    tried = True
                    places = resolve(config) if resolve is not None else composition_places(config)
                files = expand_files(config, source, places)
                if files is None:
                    what = "département" if source.par == "departement" else "commune"
                    run.lack(source, f"{source.id}/{source.fichier}", source.url,
                             f"un fichier par {what} du territoire, connu une fois le fichier INSEE des EPCI "
                             "obtenu", "territoire")
                    continue
                for rel, url in files:
                    run.fetch_file(source, rel, url)
        return run.finish()
