"""``observatoire fetch``: official files → ``data/raw/<source>/<file>`` with a provenance manifest.

* Each :class:`~observatoire.sources.base.Source` expands into files: one per vintage when its name
  holds ``{millesime}`` and ``[millesimes]`` gives a list, one per département (``par="departement"``,
  ``{dep}``) or per commune (``par="commune"``, ``{code_insee}``) of the territory. The INSEE EPCI
  composition comes first: the territory's départements and communes are read from it.
* Download with ``requests``: streamed into ``<file>.part`` with a progress bar, size and sha256
  computed on the fly, then ``os.replace`` — an interrupted download never leaves a file that looks
  complete. Connection errors, timeouts, HTTP 429 and 5xx are retried with exponential back-off;
  after a connection failure survives all retries, the network is considered down and no other file
  is attempted (so an offline run fails fast).
* A mirror (``config.paths.mirror``: ``--mirror DIR`` / ``OBSERVATOIRE_MIRROR``) laid out like
  ``data/raw`` replaces the network: files are hard-linked (or copied) and keep the ``simule`` flag of
  the mirror's ``manifest.json`` (a file absent from it is real).
* ``data/raw/manifest.json`` (schema in ``docs/contracts.md``) records source, url, taille, sha256,
  simule, origine (``telechargement`` | ``miroir``), date. A file already present whose size and
  sha256 match its manifest entry is skipped, so a second run does nothing.
* Missing required files → :class:`~observatoire.errors.SourceMissingError` listing every missing
  file with its URL and the mirror option. Missing optional sources only warn.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from ..config import MIRROR_ENV
from ..errors import ObservatoireError, SourceMissingError
from .base import Source
from .registry import all_sources

MANIFEST = "manifest.json"
COMPOSITION_ID = "insee_epci"
USER_AGENT = "observatoire-quartiers/0.1 (+https://github.com/; fetch des sources officielles)"
CHUNK = 1 << 16

_console = Console(stderr=True)


# ----------------------------------------------------------------------------------------------------
# expansion of sources into files
# ----------------------------------------------------------------------------------------------------
def _millesimes(config, source: Source) -> list:
    if not source.millesime_cle:
        return [None]
    v = config.millesime(source.millesime_cle)
    if v is None:
        return [None]
    return list(v) if isinstance(v, (list, tuple)) else [v]


def expand_files(config, source: Source, territory=None) -> list[tuple[str, str]] | None:
    """``[(relpath "source/file", url), …]`` for ``source``; ``None`` when it is per département or
    per commune and ``territory`` (:class:`observatoire.territory.Territory`) is not known yet."""
    if source.par == "departement":
        if territory is None:
            return None
        places = [{"dep": d} for d in territory.departements]
    elif source.par == "commune":
        if territory is None:
            return None
        places = [{"code_insee": c} for c in sorted(territory.codes)]
    else:
        places = [{}]
    out: list[tuple[str, str]] = []
    templated = "{millesime}" in source.fichier or "{millesime}" in source.url
    for mil in (_millesimes(config, source) if templated else [None]):
        for place in places:
            kw = dict(place, millesime=mil)
            rel = f"{source.id}/{source.fichier.format(**kw)}"
            if rel not in {r for r, _ in out}:
                out.append((rel, source.url.format(**kw)))
    return out


def _ordered(sources: dict[str, Source]) -> list[Source]:
    rank = {"france": 1, "departement": 2, "commune": 3}
    items = list(sources.values())
    return sorted(items, key=lambda s: (0 if s.id == COMPOSITION_ID else rank.get(s.par, 4)))


# ----------------------------------------------------------------------------------------------------
# manifest
# ----------------------------------------------------------------------------------------------------
def read_manifest(path: Path) -> dict:
    """The ``fichiers`` mapping of a manifest file (empty when absent)."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ObservatoireError(f"Manifeste illisible (invalid JSON) : {e}.", fichier=str(path),
                                correction="supprimez ce fichier ; il sera reconstruit au prochain fetch") from e
    return dict(data.get("fichiers", {}))


def write_manifest(path: Path, fichiers: dict) -> None:
    """Write ``{"fichiers": …}`` atomically (temporary file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps({"fichiers": dict(sorted(fichiers.items()))}, ensure_ascii=False, indent=1),
                   encoding="utf-8")
    os.replace(tmp, path)


def manifest_entries(config) -> dict:
    """``{"source/file": entry}`` of ``data/raw/manifest.json``."""
    return read_manifest(config.paths.raw / MANIFEST)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _is_current(dest: Path, entry: dict | None) -> bool:
    """``dest`` exists and matches its manifest entry (size, then sha256)."""
    if not dest.exists() or not entry:
        return False
    if entry.get("taille") != dest.stat().st_size:
        return False
    return entry.get("sha256") == sha256_file(dest)


# ----------------------------------------------------------------------------------------------------
# transfer
# ----------------------------------------------------------------------------------------------------
class _NetworkDown(Exception):
    pass


class _HttpFailed(Exception):
    pass


def _is_name_resolution(e: Exception) -> bool:
    txt = repr(e)
    return any(k in txt for k in ("NameResolutionError", "Failed to resolve", "Name or service not known",
                                  "Temporary failure in name resolution", "nodename nor servname"))


def _download(url: str, dest: Path, progress: Progress | None, retries: int, backoff: float,
              timeout: float, session) -> tuple[int, str]:
    """Stream ``url`` into ``dest`` atomically; returns (size, sha256)."""
    import requests

    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    last: Exception | None = None
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        try:
            with session.get(url, stream=True, timeout=timeout, headers={"User-Agent": USER_AGENT}) as r:
                if r.status_code == 429 or r.status_code >= 500:
                    last = _HttpFailed(f"HTTP {r.status_code}")
                    continue
                if r.status_code >= 400:
                    raise _HttpFailed(f"HTTP {r.status_code}")
                # with Content-Encoding (gzip…), Content-Length counts compressed bytes: no size check
                encoded = r.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
                total = None if encoded else (int(r.headers.get("Content-Length") or 0) or None)
                task = progress.add_task(dest.name, total=total) if progress is not None else None
                h = hashlib.sha256()
                size = 0
                try:
                    with open(part, "wb") as f:
                        for chunk in r.iter_content(CHUNK):
                            if not chunk:
                                continue
                            f.write(chunk)
                            h.update(chunk)
                            size += len(chunk)
                            if task is not None:
                                progress.update(task, advance=len(chunk))
                    if total is not None and size != total:
                        raise requests.exceptions.ChunkedEncodingError(
                            f"transfert incomplet : {size} octets reçus sur {total}")
                    os.replace(part, dest)
                    return size, h.hexdigest()
                finally:
                    if task is not None:
                        progress.remove_task(task)
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                requests.exceptions.ChunkedEncodingError) as e:
            last = e
            if attempt >= 1 and _is_name_resolution(e):
                break  # offline machine: one retry is enough to tell
        finally:
            if part.exists():
                part.unlink()
    if isinstance(last, _HttpFailed):
        raise last
    raise _NetworkDown(str(last))


def _copy_from_mirror(src: Path, dest: Path) -> None:
    """Hard-link (or copy) ``src`` to ``dest`` through a ``.part`` name, then rename."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    if part.exists():
        part.unlink()
    try:
        try:
            os.link(src, part)
        except OSError:
            shutil.copyfile(src, part)
        os.replace(part, dest)
    finally:
        if part.exists():
            part.unlink()


# ----------------------------------------------------------------------------------------------------
# fetch
# ----------------------------------------------------------------------------------------------------
def _missing_message(missing: list[tuple[str, str, str]], mirror: Path | None) -> str:
    lines = []
    n = f"{len(missing)} fichier{'s' if len(missing) > 1 else ''}"
    if mirror is not None:
        lines.append(f"Fichiers officiels absents du miroir {mirror} ({n} ; files missing from the mirror) :")
    else:
        lines.append(f"Fichiers officiels introuvables : ni réseau, ni miroir ({n} ; no network and no mirror) :")
    for rel, url, why in missing:
        lines.append(f"  - data/raw/{rel}\n      {url}" + (f"\n      ({why})" if why else ""))
    return "\n".join(lines)


def _fix_message(mirror: Path | None) -> str:
    if mirror is not None:
        return (f"complétez le miroir {mirror} (même arborescence que data/raw/), ou lancez sans miroir "
                "avec un accès à Internet")
    return ("connectez-vous à Internet et relancez « observatoire fetch », ou utilisez un miroir hors ligne : "
            f"« observatoire fetch --mirror DOSSIER » ou la variable d'environnement {MIRROR_ENV}=DOSSIER "
            "(dossier organisé comme data/raw/, par exemple data/mirror/demo créé par « make demo »)")


def fetch(config, only=None, force: bool = False, *, retries: int = 3, backoff: float = 0.5,
          timeout: float = 60.0, session=None) -> list[Path]:
    """Bring every official file of the configured territory into ``data/raw``.

    Parameters
    ----------
    config : :class:`observatoire.config.Config` (``paths.raw``, ``paths.mirror``, millésimes, territory).
    only : a source id or an iterable of ids (the EPCI composition is added when a per-département or
        per-commune source needs the territory).
    force : download/copy again even when the file is present and matches the manifest.
    retries, backoff, timeout : network retry policy (back-off ``backoff × 2**k`` seconds).
    session : a ``requests.Session`` (one is created by default).

    Returns
    -------
    The paths of the present files of the selected sources, in fetch order.

    Raises
    ------
    SourceMissingError : required files could neither be downloaded nor found in the mirror; the
        message lists each file with its URL and explains ``--mirror`` / ``OBSERVATOIRE_MIRROR``.
        Files fetched before the failure are complete and recorded; no partial file is left.
    ObservatoireError : unknown source id in ``only``; invalid territory.
    """
    from ..territory import try_resolve_territory

    sources = all_sources()
    if only is not None:
        wanted = [only] if isinstance(only, str) else list(only)
        unknown = [w for w in wanted if w not in sources]
        if unknown:
            raise ObservatoireError(f"Source inconnue : {', '.join(unknown)} (unknown source).",
                                    correction="sources disponibles : " + ", ".join(sorted(sources)))
        if any(sources[w].par != "france" for w in wanted) and COMPOSITION_ID in sources:
            wanted.append(COMPOSITION_ID)
        sources = {k: v for k, v in sources.items() if k in set(wanted)}

    raw = config.paths.raw
    mirror = config.paths.mirror
    manifest_path = raw / MANIFEST
    manifest = read_manifest(manifest_path)
    mirror_manifest = read_manifest(mirror / MANIFEST) if mirror is not None else {}
    if mirror is not None and not mirror.is_dir():
        raise SourceMissingError(f"Le dossier miroir n'existe pas : {mirror} (mirror directory not found).",
                                 fichier=str(mirror), correction=_fix_message(None))

    if session is None and mirror is None:
        import requests

        session = requests.Session()

    present: list[Path] = []
    missing: list[tuple[str, str, str]] = []
    optional_missing: list[tuple[str, str, str]] = []
    network_down: str | None = None
    counts = {"telecharges": 0, "copies": 0, "a_jour": 0}
    territory = None
    territory_tried = False

    progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                        TransferSpeedColumn(), console=_console, transient=True,
                        disable=not _console.is_terminal)
    with progress:
        for source in _ordered(sources):
            if source.par != "france" and not territory_tried:
                territory_tried = True
                territory = try_resolve_territory(config)
            files = expand_files(config, source, territory)
            if files is None:
                placeholder = "{dep}" if source.par == "departement" else "{code_insee}"
                rel = f"{source.id}/{source.fichier}"
                why = (f"un fichier par {'département' if placeholder == '{dep}' else 'commune'} du territoire, "
                       "connu une fois le fichier INSEE des EPCI obtenu")
                (optional_missing if source.optionnel else missing).append((rel, source.url, why))
                continue
            for rel, url in files:
                dest = raw / rel
                entry = manifest.get(rel)
                if mirror is not None:
                    src = mirror / rel
                    if not src.exists():
                        (optional_missing if source.optionnel else missing).append((rel, url, ""))
                        continue
                    m_entry = mirror_manifest.get(rel, {})
                    size = src.stat().st_size
                    if (not force and entry and entry.get("origine") == "miroir" and dest.exists()
                            and entry.get("taille") == size == dest.stat().st_size
                            and (dest.samefile(src) or _is_current(dest, entry))
                            and entry.get("simule", False) == bool(m_entry.get("simule", False))):
                        present.append(dest)
                        counts["a_jour"] += 1
                        continue
                    _copy_from_mirror(src, dest)
                    manifest[rel] = {"source": source.id, "url": m_entry.get("url", url), "taille": size,
                                     "sha256": m_entry.get("sha256") or sha256_file(dest),
                                     "simule": bool(m_entry.get("simule", False)), "origine": "miroir",
                                     "date": _now()}
                    if m_entry.get("note"):
                        manifest[rel]["note"] = m_entry["note"]
                    if m_entry.get("demo"):
                        manifest[rel]["demo"] = True
                    write_manifest(manifest_path, manifest)
                    present.append(dest)
                    counts["copies"] += 1
                    continue
                if not force and dest.exists():
                    if entry is None:
                        # placed by hand: trust it, record its fingerprint
                        manifest[rel] = {"source": source.id, "url": url, "taille": dest.stat().st_size,
                                         "sha256": sha256_file(dest), "simule": False,
                                         "origine": "telechargement", "date": _now()}
                        write_manifest(manifest_path, manifest)
                        present.append(dest)
                        continue
                    # a file left by « make demo » (simulated, or a real but reduced extract) never
                    # stands for the official one
                    if _is_current(dest, entry) and not entry.get("simule", False) and not entry.get("demo"):
                        present.append(dest)
                        counts["a_jour"] += 1
                        continue
                if network_down is not None:
                    (optional_missing if source.optionnel else missing).append(
                        (rel, url, "réseau injoignable"))
                    continue
                try:
                    size, digest = _download(url, dest, progress, retries, backoff, timeout, session)
                except _NetworkDown as e:
                    network_down = str(e)
                    (optional_missing if source.optionnel else missing).append(
                        (rel, url, "réseau injoignable"))
                    continue
                except _HttpFailed as e:
                    (optional_missing if source.optionnel else missing).append((rel, url, str(e)))
                    continue
                manifest[rel] = {"source": source.id, "url": url, "taille": size, "sha256": digest,
                                 "simule": False, "origine": "telechargement", "date": _now()}
                write_manifest(manifest_path, manifest)
                present.append(dest)
                counts["telecharges"] += 1

    if optional_missing:
        by_source: dict[str, int] = {}
        for rel, _url, _why in optional_missing:
            by_source[rel.split("/", 1)[0]] = by_source.get(rel.split("/", 1)[0], 0) + 1
        _console.print("[yellow]Avertissement[/] : sources optionnelles absentes, ignorées (les indicateurs qui "
                       "en dépendent seront absents) : "
                       + ", ".join(f"{k} ({v} fichier{'s' if v > 1 else ''})" for k, v in by_source.items()),
                       highlight=False, soft_wrap=True)
    if missing:
        raise SourceMissingError(_missing_message(missing, mirror), correction=_fix_message(mirror))
    _console.print(f"Sources : {len(present)} fichiers présents dans {raw} ({counts['telecharges']} téléchargés, "
                   f"{counts['copies']} copiés du miroir, {counts['a_jour']} déjà à jour).", highlight=False)
    return present


# ----------------------------------------------------------------------------------------------------
# helpers for readers
# ----------------------------------------------------------------------------------------------------
def raw_files(config, source_id: str) -> list[Path]:
    """Present raw files of ``source_id`` for the configured territory and vintages, in expansion order.

    Per-département / per-commune sources need the composition file; without it, every file present in
    ``data/raw/<source_id>/`` is returned.
    """
    from ..territory import try_resolve_territory

    sources = all_sources()
    if source_id not in sources:
        raise ObservatoireError(f"Source inconnue : {source_id!r} (unknown source).",
                                correction="sources disponibles : " + ", ".join(sorted(sources)))
    source = sources[source_id]
    territory = try_resolve_territory(config) if source.par != "france" else None
    files = expand_files(config, source, territory)
    if files is None:
        folder = config.paths.raw / source_id
        return sorted(p for p in folder.glob("*") if p.is_file() and not p.name.endswith(".part")) \
            if folder.exists() else []
    return [config.paths.raw / rel for rel, _ in files if (config.paths.raw / rel).exists()]


def is_simulated(config, source_id: str) -> bool:
    """True when any recorded file of ``source_id`` is flagged ``simule`` in ``data/raw/manifest.json``."""
    return any(e.get("simule", False) for e in manifest_entries(config).values() if e.get("source") == source_id)
