"""How an official source is declared. Each producer module (``anct``, ``ign``, ``insee``…) lists its
sources in a module-level ``SOURCES: list[Source]``; :mod:`observatoire.sources.registry` collects them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Source:
    """An official source, declared once.

    ``url`` and ``fichier`` may hold ``{millesime}``, ``{dep}`` or ``{code_insee}`` placeholders when
    the producer publishes one file per year, département or commune (``par`` says which).
    ``statut_format``: ``VERIFIED`` (read from a real file), ``INFERRED`` (from public code using the
    file), ``ASSUMED`` (no open file found; documented shape).
    """

    id: str
    producteur: str
    titre: str
    url: str
    fichier: str
    licence: str = "Licence Ouverte / Etalab 2.0"
    format: str = ""
    millesime_cle: str = ""          # key of [millesimes] in observatoire.toml
    par: str = "france"              # france | departement | commune
    statut_format: str = "VERIFIED"
    page: str = ""
    optionnel: bool = False          # the pipeline runs without it (with the figures it feeds absent)
    description: str = ""
    membres: tuple[str, ...] = field(default_factory=tuple)  # files read inside an archive


class PagedUrl(str):
    """A URL template whose ``{page}`` is filled from the vintage when formatted.

    INSEE puts each vintage of a file under its own page number; the fetcher only knows
    ``{millesime}``, so ``PagedUrl.format(millesime=2022)`` looks the page up in ``pages``. An unknown
    vintage gives a visible ``PAGE-INCONNUE`` URL (the fetcher's error then lists it).
    """

    pages: dict[int, str]
    depuis: dict[int, str]

    def __new__(cls, template: str, pages: dict[int, str], depuis: dict[int, str] | None = None):
        obj = super().__new__(cls, template)
        obj.pages = pages
        obj.depuis = dict(depuis or {})
        return obj

    def format(self, *args, **kwargs):  # noqa: A003 - same API as str.format
        """``depuis``: ``{first edition: template}`` when INSEE renamed the file from that edition on."""
        template = str(self)
        mil = kwargs.get("millesime")
        if self.depuis and mil is not None:
            for first in sorted(self.depuis):
                if int(mil) >= first:
                    template = self.depuis[first]
        if "page" not in kwargs:
            mil = kwargs.get("millesime")
            try:
                kwargs["page"] = self.pages.get(int(mil), "") or "PAGE-INCONNUE"
            except (TypeError, ValueError):
                kwargs["page"] = "PAGE-INCONNUE"
        return str.format(template, *args, **kwargs)



class Gabarit(str):
    """A file-name template that may hold ``{aa}``, the last two digits of ``{millesime}``
    (``data_filo{aa}_qp_revdis.csv`` → ``data_filo19_qp_revdis.csv`` for 2019). It declares itself
    templated by the vintage like a ``{millesime}`` template."""

    def __contains__(self, item):  # the fetcher asks « "{millesime}" in fichier »
        return str.__contains__(self, item) or (item == "{millesime}" and str.__contains__(self, "{aa}"))

    def format(self, *args, **kwargs):  # noqa: A003 - same API as str.format
        mil = kwargs.get("millesime")
        if "aa" not in kwargs:
            kwargs["aa"] = f"{int(mil) % 100:02d}" if mil is not None else "AA"
        return str.format(str(self), *args, **kwargs)
