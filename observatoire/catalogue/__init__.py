"""The indicator catalogue: ``indicateurs.yaml`` → :class:`Indicateur` objects.

An analyst adds an indicator by editing the YAML file only. The public API used by every later
stage (maps, portraits) is :func:`load_catalogue`, :data:`THEMES` and the :class:`Indicateur`
attributes; the validator (see :mod:`observatoire.catalogue.validate`) rejects a wrong entry with a
message naming the entry and the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError

CATALOGUE_FILE = Path(__file__).with_name("indicateurs.yaml")

from .vocabulaire import THEMES, TYPES, UNITES  # noqa: E402,F401 (re-exported)


@dataclass(frozen=True)
class Indicateur:
    """One catalogue entry.

    ``polarite``: 1 when a higher value means a more fragile quartier (poverty rate), -1 when higher
    is better (employment rate), 0 when neutral (share of 60+). ``type``: ``ratio`` (numerator /
    denominator × 100 for ``%``), ``valeur_producteur`` (median, quartile: taken from the producer,
    never recomputed), ``effectif`` (a count).
    """

    id: str
    libelle: str
    theme: str
    unite: str
    type: str
    source: str
    polarite: int = 0
    libelle_court: str = ""
    numerateur: str | None = None
    denominateur: str | None = None
    variable: str | None = None          # producer variable for valeur_producteur / effectif
    taux_publie: str | None = None       # the producer's published rate, where it publishes no counts
    denominateur_publie: str | None = None  # count published with that rate (weights for sums of sets)
    facteur: float = 1.0                 # e.g. 1/12 to show a yearly income per month
    echelles: tuple[str, ...] = ()
    definition: str = ""
    limites: str = ""
    secret: str = ""
    source_libelle: str = ""             # « Insee, RP 2022 » style source line
    decimales: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def libelle_theme(self) -> str:
        return THEMES.get(self.theme, self.theme)

    def a_l_echelle(self, type_territoire: str) -> bool:
        """Is the indicator published at this territory type? ``ensemble_qpv_epci`` in ``echelles``
        stands for both geographies (``ensemble_qpv2015_epci`` and ``ensemble_qpv2024_epci``)."""
        if not self.echelles:
            return True
        generic = type_territoire.replace("ensemble_qpv2015_", "ensemble_qpv_").replace("ensemble_qpv2024_", "ensemble_qpv_")
        return type_territoire in self.echelles or generic in self.echelles


_FIELDS = {f for f in Indicateur.__dataclass_fields__}  # type: ignore[attr-defined]



def _load_yaml(text: str):
    """YAML through libyaml when PyYAML has it (ten times faster than the pure-Python loader: the
    catalogue is read by every stage)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader

def _to_indicateur(entry: dict[str, Any], where: str) -> Indicateur:
    data = dict(entry)
    extra = {k: data.pop(k) for k in list(data) if k not in _FIELDS}
    if "echelles" in data and data["echelles"] is not None:
        data["echelles"] = tuple(data["echelles"])
    try:
        return Indicateur(**data, extra=extra)
    except TypeError as e:
        raise ConfigError(f"Entrée de catalogue incomplète : {e}.", fichier=where,
                          correction="voir les champs obligatoires en tête du fichier") from e


def load_sources(path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """The ``sources`` block of the catalogue: ``{source_id: {"libelle", "variables", …}}``."""
    p = Path(path) if path else CATALOGUE_FILE
    raw = _load_yaml(p.read_text(encoding="utf-8")) or {}
    return dict(raw.get("sources", {}) or {}) if isinstance(raw, dict) else {}


def alias_map(catalogue: dict[str, "Indicateur"]) -> dict[str, str]:
    """``{id or alias: catalogue id}`` (aliases come from the optional ``alias`` field)."""
    out: dict[str, str] = {}
    for ind in catalogue.values():
        out[ind.id] = ind.id
        alias = ind.extra.get("alias", []) or []
        for a in ([alias] if isinstance(alias, str) else alias):
            out.setdefault(str(a), ind.id)
    return out


def load_catalogue(path: str | Path | None = None, validate: bool = True) -> dict[str, Indicateur]:
    """Load the catalogue (ordered as in the file) and validate it.

    >>> cat = load_catalogue()              # doctest: +SKIP
    >>> cat["taux_pauvrete"].unite            # doctest: +SKIP
    '%'
    """
    p = Path(path) if path else CATALOGUE_FILE
    try:
        raw = _load_yaml(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"Le catalogue n'est pas un YAML valide : {e}", fichier=str(p),
                          correction="corrigez la syntaxe YAML à la ligne indiquée") from e
    entries = raw.get("indicateurs", raw) if isinstance(raw, dict) else raw
    sources = raw.get("sources") if isinstance(raw, dict) else None
    if validate:
        from .validate import validate_entries
        validate_entries(entries, str(p), sources=sources)
    out: dict[str, Indicateur] = {}
    for e in entries:
        ind = _to_indicateur(e, str(p))
        out[ind.id] = ind
    return out


def variables_utilisees(catalogue: dict[str, Indicateur]) -> set[str]:
    """Every producer variable the catalogue reads (numerators, denominators, producer values,
    published rates and their denominators): the readers parse only these columns of the wide
    national tables."""
    from .validate import alternatives, expression_variables

    out: set[str] = set()
    for ind in catalogue.values():
        for expr in (ind.numerateur, ind.denominateur, ind.variable, ind.taux_publie, ind.denominateur_publie):
            for alt in alternatives(expr) if expr else []:
                out.update(expression_variables(alt))
    return out
