"""State of every official source for ``observatoire sources``: vintage, present, real or simulated.

It sits above the fetcher and the territory (it reads both), so nothing below imports it.
"""

from __future__ import annotations

from .sources import raw, registry
from .territory import try_resolve_territory


def _present_files(config, source, territory) -> tuple[list[str], int | None]:
    """Present ``source/file`` names of ``source`` and how many are expected (``None`` when the
    territory is unknown and the folder is all there is to look at)."""
    files = raw.expand_files(config, source, territory)
    if files is None:
        return [f"{source.id}/{p.name}" for p in raw.raw_files(config, source.id)], None
    return [rel for rel, _url in files if (config.paths.raw / rel).is_file()], len(files)


def status_rows(config) -> list[dict]:
    """One row per declared source.

    Returns
    -------
    Dicts with keys ``id, producteur, titre, millesime, present`` (« oui » / « non » / « partiel »),
    ``nature`` (« réel » / « simulé » / « — » when absent), ``statut_format``, ``url``, ``optionnel``.
    Per-département files are counted once the territory can be resolved (composition file present);
    a file is simulated when its manifest entry (or that of an interrupted fetch) says so.
    """
    manifest = raw.manifest_entries(config)
    territory = try_resolve_territory(config)
    rows = []
    for s in registry.all_sources().values():
        present_files, n_expected = _present_files(config, s, territory)
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
