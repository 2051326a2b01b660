"""The normalised statistical table every statistical reader returns, and the indicator engine reads.

Readers strip the vintage from variable names so that the catalogue is written once for every year:
``P22_ACTOCC1564`` → ``P_ACTOCC1564``, ``C19_MENPSEUL`` → ``C_MENPSEUL``, ``DISP_TP6021`` → ``DISP_TP60``,
``DISP_MED_A21`` → ``DISP_MED``. The year goes to :attr:`SourceTable.millesime`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

#: Cell statuses. ``secret``: withheld by the producer (INSEE « s », fewer than 11 households…);
#: ``nd``: not available (« nd », « ns » non significatif, « so » sans objet, empty cell).
STATUTS = ("ok", "secret", "nd")

NIVEAUX = ("iris", "commune", "qpv2015", "qpv2024", "epci", "departement", "france")


@dataclass
class SourceTable:
    """One producer table for one vintage, at one geographic level.

    ``data``: index = territory code (str: IRIS 9 chars, commune INSEE code, QP code…), float columns =
    normalised variable names; NaN where the value is missing. ``statut``: same index and columns, each
    cell one of :data:`STATUTS`; a NaN in ``data`` always has statut ``secret`` or ``nd``, never ``ok``.
    ``libelles``: optional index → territory name. ``simule``: built from simulated files.
    """

    source: str
    niveau: str
    millesime: int
    millesime_geographie: int
    data: pd.DataFrame
    statut: pd.DataFrame
    simule: bool = False
    libelles: pd.Series | None = None
    fichier: str = ""

    def __post_init__(self):
        if self.niveau not in NIVEAUX:
            raise ValueError(f"niveau inconnu : {self.niveau}")
        if list(self.data.columns) != list(self.statut.columns) or not self.data.index.equals(self.statut.index):
            raise ValueError("data et statut doivent avoir le même index et les mêmes colonnes")

    @property
    def variables(self) -> list[str]:
        return list(self.data.columns)
