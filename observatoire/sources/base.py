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
