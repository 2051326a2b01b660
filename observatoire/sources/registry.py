"""Registry of official sources: every producer module declares ``SOURCES: list[Source]`` once.

Producer modules are imported lazily by name (:data:`PRODUCER_MODULES`); a module not written yet is
skipped, so the registry grows as producers are added.

This module only collects declarations: what is present in ``data/raw`` is
:mod:`observatoire.sources.raw`, the state of each source for ``observatoire sources`` is
:mod:`observatoire.status`.
"""

from __future__ import annotations

import importlib

from ..errors import ObservatoireError
from .base import Source

PRODUCER_MODULES = ["anct", "ign", "insee_cog", "insee_rp", "insee_filosofi", "insee_qpv", "filosofi_grid"]


def all_sources() -> dict[str, Source]:
    """Every declared source, by id, in producer order (geography first)."""
    out: dict[str, Source] = {}
    for name in PRODUCER_MODULES:
        try:
            mod = importlib.import_module(f"observatoire.sources.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"observatoire.sources.{name}":
                continue
            raise
        for s in getattr(mod, "SOURCES", []):
            if s.id in out:
                raise ValueError(f"source {s.id!r} déclarée deux fois (observatoire.sources.{name})")
            out[s.id] = s
    return out


def get_source(source_id: str) -> Source:
    """The source ``source_id``; unknown id → :class:`ObservatoireError` listing the known ids."""
    sources = all_sources()
    if source_id not in sources:
        raise ObservatoireError(f"Source inconnue : {source_id!r}.",
                                correction="sources disponibles : " + ", ".join(sorted(sources)))
    return sources[source_id]
