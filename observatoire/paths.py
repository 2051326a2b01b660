"""File names built from data: never outside their folder.

Maps and portraits name their files after territory codes (``maps/quartiers/QN05920M.html``,
``portraits/QN05920M.html``). A code comes from a file a user downloaded or edited (a QPV perimeter
file, a partner table, ``[[zones]]``): ``../../../escaped_QN05920M`` must never become a path.
:func:`safe_child` is the one gate every writer calls before joining a data-derived name to a folder::

    from observatoire.paths import safe_child
    path = safe_child(config.paths.portraits, f"{code}.html")

It refuses separators, ``..``, absolute names, control characters and anything whose resolved path
leaves the folder (a symbolic link included), with a French message naming the folder and the name.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import UnsafePathError

#: Characters refused in a file name built from data (path separators, NUL and control characters,
#: and the characters Windows refuses, so that an output folder copied to a Windows share stays valid).
_BAD = re.compile(r'[/\\\x00-\x1f<>:"|?*]')
#: Windows reserved device names (``CON.html`` cannot be opened there).
_RESERVED = re.compile(r"^(CON|PRN|AUX|NUL|COM\d|LPT\d)(\..*)?$", re.IGNORECASE)
MAX_NAME = 200


def _refuse(folder: Path, name: str, why: str, origine: str | None) -> UnsafePathError:
    src = f" (valeur lue dans {origine})" if origine else ""
    return UnsafePathError(
        f"Nom de fichier refusé « {name} »{src} : {why}. Il serait écrit hors du dossier de sortie "
        f"{folder} (unsafe file name).",
        fichier=origine or str(folder),
        correction="corrigez le code dans le fichier d'origine : un code de territoire officiel "
                   "(QN05920M, QP059030, 590140101…) ou un code de zone fait de lettres, chiffres, « _ » et « - »")


def safe_child(folder: str | Path, name: str, *, origine: str | None = None) -> Path:
    """``folder / name`` after checking that ``name`` is a plain file name that stays in ``folder``.

    Parameters
    ----------
    folder : the output folder (``maps/quartiers``, ``portraits``…).
    name : a file name built from data, such as ``f"{code}.html"``.
    origine : the input file the name comes from, named in the error message.

    Raises
    ------
    UnsafePathError : separators, ``..``, an absolute name, control or Windows-reserved characters, a
        name longer than 200 characters, or a resolved path outside ``folder`` (symbolic links included).

    >>> safe_child("portraits", "QN05920M.html").as_posix()
    'portraits/QN05920M.html'
    """
    folder = Path(folder)
    name = str(name)
    if not name or name in (".", "..") or name.strip(". ") == "":
        raise _refuse(folder, name, "nom vide ou fait de points", origine)
    if _BAD.search(name):
        raise _refuse(folder, name, "il contient un séparateur de dossier ou un caractère interdit", origine)
    if name.startswith("..") or Path(name).is_absolute():
        raise _refuse(folder, name, "il remonte dans l'arborescence", origine)
    if _RESERVED.match(name):
        raise _refuse(folder, name, "c'est un nom réservé par Windows", origine)
    if len(name) > MAX_NAME:
        raise _refuse(folder, name[:40] + "…", f"il dépasse {MAX_NAME} caractères", origine)
    child = folder / name
    base = folder.resolve()
    if not child.resolve().is_relative_to(base):
        raise _refuse(folder, name, "son chemin résolu (lien symbolique) sort du dossier", origine)
    return child
