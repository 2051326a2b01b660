"""One entry point for the build: a raw file of a statistical source → its :class:`SourceTable` list.

The dispatch from source ids to producer readers lives here, above the producer modules (which never
import each other): :data:`READERS` maps a source id, or a prefix ending with ``_``, to a function
``(path, communes, simule, variables) -> list[SourceTable]`` (``variables``: the producer variables
to parse, ``None`` for all; the wide national quartier tables use it).
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from typing import Callable

import pandas as pd

from ..errors import FormatError, ObservatoireError
from ..validation import check_table
from . import insee_filosofi, insee_qpv, insee_rp
from .table import SourceTable
from .tabular import REFETCH, unreadable

Reader = Callable[[Path, "set[str] | None", bool, "set[str] | None"], list[SourceTable]]


def _rp_ic(path, communes, simule, variables=None):
    return [insee_rp.read_base_ic(path, communes=communes, simule=simule)]


def _rp_cc(path, communes, simule, variables=None):  # kept whole: département and France sums need every commune
    return [insee_rp.read_base_cc(path, simule=simule)]


def _filo_iris(path, communes, simule, variables=None):
    return [insee_filosofi.read_filosofi_iris(path, communes=communes, simule=simule)]


def _filo_cc(source_id):
    def read(path, communes, simule, variables=None):
        keep = {"commune": set(communes)} if communes is not None else None
        return insee_filosofi.read_filosofi_zip(path, keep, source=source_id, simule=simule)
    return read


def _filo_qp(source_id):
    def read(path, communes, simule, variables=None):
        return insee_filosofi.read_filosofi_qp(path, source=source_id, simule=simule)
    return read


def _qp(source_id):
    kind = insee_qpv.KINDS[source_id]

    def read(path, communes, simule, variables=None):
        return insee_qpv.read_insee_qpv(path, kind=kind, source=source_id, communes=communes, simule=simule,
                                        variables=variables)
    return read


READERS: dict[str, Reader] = {
    "insee_rp_ic_": _rp_ic,
    "insee_rp_cc_": _rp_cc,
    "insee_filosofi_iris": _filo_iris,
    "insee_filosofi_com": _filo_cc("insee_filosofi_com"),
    "insee_filosofi_supra": _filo_cc("insee_filosofi_supra"),
    "insee_filosofi_qp": _filo_qp("insee_filosofi_qp"),
    "insee_filosofi_qp2024": _filo_qp("insee_filosofi_qp2024"),
    **{sid: _qp(sid) for sid in insee_qpv.KINDS},
}


def reader_for(source_id: str) -> Reader | None:
    """The reader of a statistical source id (exact id first, then the longest ``…_`` prefix)."""
    if source_id in READERS:
        return READERS[source_id]
    prefixes = [p for p in READERS if p.endswith("_") and source_id.startswith(p)]
    return READERS[max(prefixes, key=len)] if prefixes else None


def is_statistical(source_id: str) -> bool:
    return reader_for(source_id) is not None


def _full_path(e: ObservatoireError, path: Path) -> None:
    """Readers name a file by its name (``archive.zip/member.csv``): the message gets the full path, so
    that the user finds it (``data/raw/<source>/archive.zip/member.csv``)."""
    name = getattr(e, "fichier", None)
    if not name or Path(name).is_absolute() or not str(name).startswith(path.name):
        return
    full = str(path.parent / name)
    e.args = (str(e).replace(f"Fichier : {name}", f"Fichier : {full}", 1),) + tuple(e.args[1:])
    e.fichier = full


#: Low-level errors a damaged or unexpected file can raise inside a reader: turned into a
#: :class:`FormatError` naming the file (never pandas' ParserError or a bare KeyError for the user).
_FILE_ERRORS = (pd.errors.ParserError, pd.errors.EmptyDataError, zipfile.BadZipFile, zlib.error, EOFError,
                UnicodeError)
_READER_ERRORS = (ValueError, KeyError, IndexError, TypeError)


def read_source(source_id: str, path: str | Path, communes: set[str] | None = None,
                simule: bool = False, variables: set[str] | None = None) -> list[SourceTable]:
    """Read the raw file ``path`` of the statistical source ``source_id`` into its SourceTables,
    flagged ``simule`` as the raw manifest says. IRIS and commune tables are filtered to ``communes``
    (census commune files are kept whole for the département and France sums).

    Every table is checked by :func:`observatoire.validation.check_table` (a territory present twice
    with identical rows kept once with a note; negative counts, rates outside 0–100 and numerators
    above their denominators refused).

    Raises
    ------
    FormatError : the file is damaged, truncated, unreadable or not in the official format, or holds
        impossible values; the message names the file, the place and the fix.
    """
    reader = reader_for(source_id)
    if reader is None:
        raise ValueError(f"source statistique inconnue : {source_id}")
    path = Path(path)
    try:
        tables = reader(path, communes, simule, variables)
    except ObservatoireError as e:
        _full_path(e, path)
        raise
    except OSError as e:
        raise unreadable(path, e) from e
    except _FILE_ERRORS as e:
        raise FormatError(f"Fichier de la source {source_id} illisible ({type(e).__name__} : {e}).", fichier=str(path),
                          correction=REFETCH) from e
    except _READER_ERRORS as e:
        raise FormatError(f"Le fichier de la source {source_id} n'a pas la forme attendue par son lecteur "
                          f"({type(e).__name__} : {e}).", fichier=str(path),
                          correction="vérifiez qu'il s'agit du fichier officiel non modifié (observatoire fetch "
                                     "--force) ; s'il l'est, signalez-le aux mainteneurs avec ce message") from e
    return [check_table(t) for t in tables]
