"""User-facing errors: a message in French (and English) naming the file, the problem and the fix.

The CLI catches :class:`ObservatoireError`, prints its message without a traceback and exits with
its ``code`` (non-zero). Raise it for anything a user can fix (bad input, missing file, no network).
"""

from __future__ import annotations


class ObservatoireError(Exception):
    """An error the user can fix. ``message`` is printed as is by the CLI."""

    code = 2

    def __init__(self, message: str, *, fichier: str | None = None, correction: str | None = None):
        self.fichier = fichier
        self.correction = correction
        parts = []
        if fichier:
            parts.append(f"Fichier : {fichier}")
        parts.append(message)
        if correction:
            parts.append(f"Correction : {correction}")
        super().__init__("\n".join(parts))


class ConfigError(ObservatoireError):
    """Invalid ``observatoire.toml``."""


class FormatError(ObservatoireError):
    """An input file does not have the expected official format (columns, separator, codes)."""


class SourceMissingError(ObservatoireError):
    """Official files could neither be downloaded nor found in a mirror."""

    code = 3


class GeometryError(FormatError):
    """A geographic input cannot be used as it is: missing geometries, coordinates outside the domain
    of the declared coordinate system, a raster without coordinate system."""


class ValueCheckError(FormatError):
    """A statistical file holds values that cannot be true (a negative count, a rate above 100 %, a
    numerator above its denominator): refused before any figure is computed from it."""


class UnsafePathError(ObservatoireError):
    """A code or name used to build a file path would write outside its output folder."""


class OutputError(ObservatoireError):
    """An output cannot be written (disk full, read-only or missing folder, permission denied, file
    locked by another program). The previous outputs are left as they were."""

    code = 4
