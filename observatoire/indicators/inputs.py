"""What the indicator engine needs besides the catalogue (built by :mod:`observatoire.pipeline`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..sources.table import SourceTable


@dataclass
class Quartiers:
    """The quartiers of one geography (2015 or 2024).

    ``liste``: the territory's quartiers — ``code``, ``libelle``, ``epci`` (SIREN of the EPCI they are
    compared with: the EPCI of their main commune), ``dep``, ``debordant`` (bool: part of the quartier
    lies outside that EPCI; it is still counted whole in the EPCI's set, as INSEE counts quartiers).
    ``departement``: ``{dep: set of codes}`` of every quartier of the perimeter file in each
    département (the expected parts of the département's set); ``None`` when unknown.
    """

    geo: int
    liste: pd.DataFrame
    departement: dict[str, set[str]] | None = None

    @property
    def codes(self) -> list[str]:
        return sorted(self.liste["code"].astype(str)) if len(self.liste) else []


@dataclass
class IndicatorInputs:
    """Inputs of :func:`observatoire.indicators.compute_indicators`.

    ``communes``: communes to publish (territory + neighbours named by its quartiers): ``code_insee,
    nom, dep, siren_epci``. ``composition``: every commune of France (INSEE composition file:
    ``code_insee, dep, siren_epci``), for the completeness of EPCI, département and France sums.
    ``iris``: expected IRIS of the published communes (``code_iris, code_insee, nom_iris``).
    ``epcis``: EPCIs to publish (``siren, nom``); ``departements``: ``code, nom``.
    ``crosswalks``: ``qpv2015``, ``qpv2024``, ``partie_qpv2024``, ``zone`` (IRIS → zone) and
    ``qpv2015_qpv2024``; ``zones_total``: per crosswalk key, ``code_zone, surface_m2`` and optionally
    ``population_zone`` (whole zone, inside or outside the IRIS layer); ``geometrie_simulee``: per key,
    whether the geometries behind the crosswalk are simulated (every estimate is then simulated).
    ``plafonds_qualite``: caps on the quality class of estimates measured by the back-test
    (:func:`observatoire.indicators.qualite.quality_from_backtest`); ``None``: coverage rule alone.
    """

    tables: list[SourceTable]
    communes: pd.DataFrame | None = None
    composition: pd.DataFrame | None = None
    iris: pd.DataFrame | None = None
    epcis: pd.DataFrame | None = None
    departements: pd.DataFrame | None = None
    quartiers: dict[int, Quartiers] = field(default_factory=dict)
    zones: pd.DataFrame | None = None
    parties: pd.DataFrame | None = None
    crosswalks: dict[str, pd.DataFrame] = field(default_factory=dict)
    zones_total: dict[str, pd.DataFrame] = field(default_factory=dict)
    geometrie_simulee: dict[str, bool] = field(default_factory=dict)
    iris_population: pd.Series | None = None
    estimation_method: str = "dasymetrique"
    annees_ecart_min: int = 5
    plafonds_qualite: pd.DataFrame | None = None
    #: Results computed once per inputs (the evaluated producer tables), shared by the back-test and
    #: the engine.
    cache: dict = field(default_factory=dict, repr=False, compare=False)
