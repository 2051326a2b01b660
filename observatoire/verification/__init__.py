"""Back-test of the quartier estimates on INSEE's own figures for the 2015 quartiers.

The observatory estimates the figures of a quartier from its IRIS (area or dasymetric weights,
:func:`observatoire.indicators.aggregate.estimate_units`) wherever the producer publishes nothing on
its perimeter — every 2024 quartier for most sources. INSEE does publish figures for the **2015**
quartiers (tables DEMO, IPRO, REVN, Filosofi by QP), and the same engine can estimate those 2015
quartiers from the same IRIS exactly as it estimates the 2024 ones. The gap between the two measures
how far an estimate may be from the truth *on this territory*:

1. :func:`backtest` — one row per indicator × millésime × method × quartier;
2. :func:`summarise` — per indicator × method × millésime: number of quartiers, median absolute error,
   bias, share within the tolerance (±2 points for a rate, ±10 % of INSEE's value for a count);
3. :func:`~observatoire.indicators.qualite.quality_from_backtest` — the measured error of a family
   caps the quality class of the same kind of estimate (``observatoire build`` applies it);
4. :func:`verifier` — the ``observatoire verifier`` stage writes ``maps/verification.html``.

Modules: :mod:`.backtest` (computation), :mod:`.page` (the French page), :mod:`.stage` (stage and
writers), :mod:`.synthetic` (a simulated ground truth, individual by individual, on which the
estimators were chosen: benches and tests only, never imported by the pipeline). Method (reference): hold-out validation of areal interpolation, Goodchild & Lam (1980),
Eicher & Brewer (2001). Every row carries ``simule``: an estimate built from simulated IRIS outlines
(the demo) or from a simulated statistical file measures nothing real, and says so.

Example
-------
>>> import numpy as np, pandas as pd
>>> from observatoire.catalogue import Indicateur
>>> cat = {"pop": Indicateur("pop", "Population", "demographie", "nombre", "effectif", "s",
...                          variable="P")}
>>> iris = pd.DataFrame({"code": ["A", "B"], "ind": "pop", "num": [100.0, 300.0], "den": np.nan,
...                      "val": [100.0, 300.0], "rang": 2, "nature": "compte", "simule": False,
...                      "protege": False, "note": "", "source": "s", "geo": 2015,
...                      "methode": "producteur", "qualite": 0, "couverture": np.nan, "motif": "",
...                      "millesime": 2017})
>>> qp = iris.iloc[:1].assign(code="Q", num=210.0, val=210.0)
>>> cw = pd.DataFrame({"code_iris": ["A", "B"], "code_zone": "Q", "poids_surface": [0.9, 0.4],
...                    "surface_inter_m2": [9.0, 4.0]})
>>> e = backtest(iris, qp, cw, methods=("surface",), catalogue=cat)
>>> float(e["valeur_estimee"].iloc[0]), round(float(e["ecart"].iloc[0]), 2)  # 0.9×100+0.4×300 = 210
(210.0, 0.0)
"""

from ..indicators.qualite import (METHODES, N_MIN_QUARTIERS, PLAFOND_COLUMNS, REGLES_QUALITE, cap_quality,
                                  choose_method, error_unit, family, quality_from_backtest)
from .backtest import (ESTIMATION_COLUMNS, RESUME_COLUMNS, TOLERANCES, backtest, backtest_inputs,
                       methods_available, summarise)
from .page import family_label, format_ecart, method_note, render_html
from .stage import add_layers, verifier, write_csv

__all__ = ["backtest", "summarise", "quality_from_backtest", "cap_quality", "choose_method", "method_note",
           "backtest_inputs", "verifier", "add_layers", "write_csv", "render_html", "family", "error_unit",
           "family_label", "format_ecart", "methods_available", "ESTIMATION_COLUMNS", "RESUME_COLUMNS",
           "PLAFOND_COLUMNS", "TOLERANCES", "REGLES_QUALITE", "METHODES", "N_MIN_QUARTIERS"]
