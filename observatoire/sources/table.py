"""The normalised statistical table every statistical reader returns, and the indicator engine reads.

Readers strip the vintage from variable names so that the catalogue is written once for every year:
``P22_ACTOCC1564`` → ``P_ACTOCC1564``, ``DISP_TP6021`` → ``DISP_TP60``, ``DISP_MED_A21`` → ``DISP_MED``;
INSEE's quartier tables map their columns through one declared table per source
(:mod:`observatoire.sources.insee_qpv`): ``POP_MUN`` → ``P_POP``, ``A`` (Cnaf) → ``CNAF_A``,
``ABC`` (Pôle emploi) → ``PE_ABC``. The year goes to :attr:`SourceTable.millesime`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

#: Cell statuses. ``secret``: withheld by the producer (INSEE « s »…); ``nd``: not available (« nd »,
#: « ns » non significatif, « so » sans objet, empty cell).
STATUTS = ("ok", "secret", "nd")

NIVEAUX = ("iris", "commune", "qpv2015", "qpv2024", "epci", "departement", "region", "france",
           "ensemble_qpv2015_france", "ensemble_qpv2024_france")


@dataclass
class SourceTable:
    """One producer table for one vintage, at one geographic level.

    ``data``: index = territory code (str: IRIS 9 chars, commune INSEE code, QP code…), float columns =
    normalised variable names; NaN where the value is missing. ``statut``: same index and columns, each
    cell one of :data:`STATUTS`; a NaN in ``data`` always has statut ``secret`` or ``nd``, never ``ok``.
    ``notes``: optional, same shape, the producer's quality note of each cell (``"NOTE_CNAF:1"``; empty
    string when none). ``libelles``: optional index → territory name. ``simule``: built from simulated
    files. ``fichier``: the file (and member) read, for messages and provenance.
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
    notes: pd.DataFrame | None = None

    def __post_init__(self):
        if self.niveau not in NIVEAUX:
            raise ValueError(f"niveau inconnu : {self.niveau}")
        if list(self.data.columns) != list(self.statut.columns) or not self.data.index.equals(self.statut.index):
            raise ValueError("data et statut doivent avoir le même index et les mêmes colonnes")
        if self.notes is not None and (list(self.notes.columns) != list(self.data.columns)
                                       or not self.notes.index.equals(self.data.index)):
            raise ValueError("notes doit avoir le même index et les mêmes colonnes que data")

    @property
    def variables(self) -> list[str]:
        return list(self.data.columns)
