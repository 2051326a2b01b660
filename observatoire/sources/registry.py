"""Registry of official sources: every producer module declares ``SOURCES: list[Source]`` once.

Producer modules are imported lazily by name (:data:`PRODUCER_MODULES`); a module not written yet is
skipped, so the registry grows as producers are added.
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
                raise ValueError(f"source id {s.id!r} declared twice (observatoire.sources.{name})")
            out[s.id] = s
    return out


def get_source(source_id: str) -> Source:
    """The source ``source_id``; unknown id → :class:`ObservatoireError` listing the known ids."""
    sources = all_sources()
    if source_id not in sources:
        raise ObservatoireError(f"Source inconnue : {source_id!r} (unknown source).",
                                correction="sources disponibles : " + ", ".join(sorted(sources)))
    return sources[source_id]


def status_rows(config) -> list[dict]:
    """One row per source for ``observatoire sources``.

    Keys: ``id, producteur, titre, millesime, present`` (« oui » / « non » / « partiel »),
    ``nature`` (« réel » / « simulé » / « — » when absent), ``statut_format``, ``url``, ``optionnel``.
    Per-département files are counted once the territory can be resolved (composition file present).
    """
    from .fetch import expand_files, manifest_entries
    from ..territory import try_resolve_territory

    manifest = manifest_entries(config)
    territory = try_resolve_territory(config)
    rows = []
    for s in all_sources().values():
        files = expand_files(config, s, territory)
        if files is None:  # per-département source, territory unknown: look at the folder
            folder = config.paths.raw / s.id
            present_files = [f"{s.id}/{p.name}" for p in sorted(folder.glob("*"))
                             if p.is_file() and not p.name.endswith(".part")] if folder.exists() else []
            n_expected = None
        else:
            present_files = [rel for rel, _url in files if (config.paths.raw / rel).exists()]
            n_expected = len(files)
        if not present_files:
            present = "non"
        elif n_expected is None or len(present_files) == n_expected:
            present = "oui"
        else:
            present = "partiel"
        simules = [manifest.get(rel, {}).get("simule", False) for rel in present_files]
        nature = "—" if not present_files else ("simulé" if any(simules) else "réel")
        mil = config.millesime(s.millesime_cle) if s.millesime_cle else None
        if isinstance(mil, (list, tuple)):
            mil = ", ".join(str(m) for m in mil)
        rows.append({"id": s.id, "producteur": s.producteur, "titre": s.titre,
                     "millesime": "" if mil is None else str(mil), "present": present, "nature": nature,
                     "statut_format": s.statut_format, "url": s.url, "optionnel": s.optionnel})
    return rows
