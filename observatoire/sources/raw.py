"""What is in ``data/raw``: the provenance manifest, the files of each source, their fingerprints.

Readers (``territory``, ``pipeline``, ``status``) and the fetcher share this module; it knows nothing
of the territory (the places of per-département sources are passed in), so data flows one way::

    registry (declarations) → raw (layout of data/raw) → fetch (download, mirror)
                                 ↑
                  territory, pipeline, status (readers)

* ``data/raw/manifest.json`` (:data:`MANIFEST`, schema in ``docs/contracts.md``) is written by
  ``observatoire fetch`` once, at the end of a successful run.
* ``data/raw/manifest.journal.json`` (:data:`JOURNAL`, same schema) records each file a run has
  verified and installed, before its final name appears; a run that fails or is killed leaves it, the
  next run re-verifies those files (sha256 recomputed) instead of fetching them again, and a successful
  run merges it into the manifest and removes it. :func:`manifest_entries` reads both, so a file
  fetched before a failure keeps its ``simule`` flag for every reader.
* ``*.part`` and ``*.tmp`` files (:func:`is_temporary`) are unfinished writes: never read, and removed
  by the next ``observatoire fetch``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import ObservatoireError
from . import registry
from .base import Source

MANIFEST = "manifest.json"
JOURNAL = "manifest.journal.json"
TEMP_SUFFIXES = (".part", ".tmp")


class FingerprintError(ObservatoireError):
    """A file's size or sha256 differs from the one a manifest records for it."""


@dataclass(frozen=True)
class Places:
    """The places per-département and per-commune sources expand over.

    :class:`observatoire.territory.Territory` has the same two attributes and can be passed instead.
    """

    departements: tuple[str, ...] = ()
    codes: frozenset = frozenset()


# ----------------------------------------------------------------------------------------------------
# manifest
# ----------------------------------------------------------------------------------------------------
def read_manifest(path: Path) -> dict:
    """The ``fichiers`` mapping of a manifest file (empty when absent).

    Raises
    ------
    ObservatoireError : the file is not valid JSON (names the file and how to rebuild it).
    """
    path = Path(path)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ObservatoireError(f"Manifeste illisible (JSON invalide) : {e}.", fichier=str(path),
                                correction="supprimez ce fichier ; il sera reconstruit au prochain "
                                "« observatoire fetch »") from e
    fichiers = data.get("fichiers", {}) if isinstance(data, dict) else None
    if not isinstance(fichiers, dict):
        raise ObservatoireError("Manifeste mal formé : la clé « fichiers » doit être un objet JSON.",
                                fichier=str(path), correction="supprimez ce fichier ; il sera reconstruit au "
                                "prochain « observatoire fetch »")
    return dict(fichiers)


def write_manifest(path: Path, fichiers: dict, durable: bool = True) -> None:
    """Write ``{"fichiers": …}`` atomically: a ``.tmp`` file beside ``path``, then renamed over
    ``path`` (a reader, or a run after a kill, sees the old manifest or the new one, never half of one).

    ``durable``: also flush it to disk before the rename (survives a power cut; about 8 ms). The
    fetch journal, rewritten after each file, skips it: the rename alone survives a killed process.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"fichiers": dict(sorted(fichiers.items()))}, ensure_ascii=False, indent=1)
    # not a hidden name: « make clean » (rm data/raw/*) removes one left by a killed run
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def manifest_entries(config) -> dict:
    """``{"source/file": entry}`` of ``data/raw/manifest.json``, completed by the journal of a fetch
    that stopped before the end (its entries are newer and win)."""
    raw = config.paths.raw
    return {**read_manifest(raw / MANIFEST), **read_manifest(raw / JOURNAL)}


def is_simulated(config, source_id: str) -> bool:
    """True when any recorded file of ``source_id`` is flagged ``simule``."""
    return any(e.get("simule", False) for e in manifest_entries(config).values() if e.get("source") == source_id)


# ----------------------------------------------------------------------------------------------------
# fingerprints
# ----------------------------------------------------------------------------------------------------
def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read by 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fingerprint_problems(expected: dict, taille: int, sha256: str | None) -> list[str]:
    """French lines describing how (``taille``, ``sha256``) differ from ``expected``'s ``taille`` and
    ``sha256`` (each checked only when ``expected`` gives it); empty when they agree."""
    out = []
    if expected.get("taille") is not None and int(expected["taille"]) != taille:
        out.append(f"taille attendue {expected['taille']} octets, trouvée {taille} octets")
    if expected.get("sha256") and sha256 is not None and expected["sha256"].lower() != sha256:
        out.append(f"sha256 attendu {expected['sha256']}, trouvé {sha256}")
    return out


def is_current(path: Path, entry: dict | None) -> bool:
    """``path`` exists and matches ``entry``'s size, then its sha256 (recomputed)."""
    if entry is None or not entry.get("sha256") or not path.exists():
        return False
    if entry.get("taille") != path.stat().st_size:
        return False
    return entry["sha256"].lower() == sha256_file(path)


def is_temporary(path: Path) -> bool:
    """An unfinished write (``*.part``, ``*.tmp``): never a raw file."""
    return path.name.endswith(TEMP_SUFFIXES)


# ----------------------------------------------------------------------------------------------------
# files of a source
# ----------------------------------------------------------------------------------------------------
def _millesimes(config, source: Source) -> list:
    if not source.millesime_cle:
        return [None]
    v = config.millesime(source.millesime_cle)
    if v is None:
        return [None]
    return list(v) if isinstance(v, (list, tuple)) else [v]


def expand_files(config, source: Source, places=None) -> list[tuple[str, str]] | None:
    """``[(relpath "source/file", url), …]`` of ``source`` for the configured vintages.

    Parameters
    ----------
    places : :class:`Places` (or a :class:`~observatoire.territory.Territory`): the départements and
        commune codes of the territory.

    Returns
    -------
    ``None`` when ``source`` is per département or per commune and ``places`` is not known.
    """
    if source.par == "departement":
        if places is None:
            return None
        spots = [{"dep": d} for d in places.departements]
    elif source.par == "commune":
        if places is None or not places.codes:
            return None
        spots = [{"code_insee": c} for c in sorted(places.codes)]
    else:
        spots = [{}]
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    templated = "{millesime}" in source.fichier or "{millesime}" in source.url
    for mil in (_millesimes(config, source) if templated else [None]):
        for spot in spots:
            kw = dict(spot, millesime=mil)
            rel = f"{source.id}/{source.fichier.format(**kw)}"
            if rel not in seen:
                seen.add(rel)
                out.append((rel, source.url.format(**kw)))
    return out


def raw_files(config, source_id: str, territory=None) -> list[Path]:
    """Present raw files of ``source_id`` for the configured vintages, in expansion order.

    Parameters
    ----------
    territory : :class:`~observatoire.territory.Territory` (or :class:`Places`); needed to list the
        files of a per-département / per-commune source. Without it, every finished file of
        ``data/raw/<source_id>/`` is returned, sorted by name.

    Raises
    ------
    ObservatoireError : unknown source id (lists the known ones).
    """
    source = registry.get_source(source_id)
    files = expand_files(config, source, territory)
    raw = config.paths.raw
    if files is None:
        folder = raw / source_id
        if not folder.exists():
            return []
        return sorted(p for p in folder.iterdir() if p.is_file() and not is_temporary(p))
    return [raw / rel for rel, _ in files if (raw / rel).is_file()]
