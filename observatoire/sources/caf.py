"""CNAF open data (data.caf.fr, OpenDataSoft Explore API v2.1): allocataires by IRIS and commune.

A data.caf.fr CSV export (``…/exports/csv?delimiter=%3B``) is LONG: one row per reference date
(``dtreffre``, December of year N), territory (``numcomdo`` commune code; ``numirisd`` the 4-character
IRIS suffix, full IRIS code = numcomdo + numirisd) and modality (e.g. ``qf_400``), with counts
``indfoy_*`` (foyers allocataires) or ``indnbp_*`` (personnes couvertes). :func:`read_caf` pivots it
to one row per territory and one column per normalised variable (:data:`CAF_DATASETS`, the ONE place
to fix a field name).

Status (``../shared/data/formats/caf_data_caf_fr_iris.txt``): ``rsa_s_type_iris_f``,
``al_s_type_parc_iris_f``, ``ndur_s_qf_400_iris_f`` and ``rsa_s_type_com_f`` field names INFERRED
from public code; the modality field of the housing-aid dataset (``type_parc``) and the datasets for
allocataires/couverture, AAH, familles monoparentales and dépendance aux prestations are ASSUMED
(names and fields not verified: adjust :data:`CAF_DATASETS`).

Rounding: CAF open data round every count to 5 (« 7 est arrondi à 5 et 12 est arrondi à 10 »). Counts
are kept as published; a total built here as the sum of rounded modalities can differ from the
producer's own total, and IRIS sums differ from commune figures. Foyers of December N are located
in the geography of January N+1 (``millesime_geographie`` = N + 1). An empty count is ``nd``; a count
marked ``s`` is ``secret``; a total is secret (nd) as soon as one of its modalities is.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import FormatError
from .base import Source
from .insee import parse_cells, read_semicolon, read_text
from .table import SourceTable

#: dataset id → spec. ``valeurs``: count field → total variable (sum over modalities);
#: ``modalite``: modality field (None: one row per territory); ``modalites``: modality label →
#: variables it adds to (a modality absent from the dict gets ``<TOTAL>_<SLUG>``).
CAF_DATASETS: dict[str, dict] = {
    "rsa_s_type_iris_f": {
        "titre": "Foyers allocataires du RSA par type (IRIS)", "statut": "INFERRED",
        "valeurs": {"indfoy_rsa": "NB_FOY_RSA"}, "modalite": "rsa_type", "modalites": {},
    },
    "al_s_type_parc_iris_f": {
        "titre": "Foyers allocataires d'une aide au logement par type de parc (IRIS)",
        "statut": "INFERRED", "valeurs": {"indfoy_ndural": "NB_FOY_AL"}, "modalite": "type_parc",
        "modalites": {"Parc public": ("NB_FOY_AL_PUBLIC",), "Parc privé": ("NB_FOY_AL_PRIVE",)},
    },
    "ndur_s_qf_400_iris_f": {
        "titre": "Foyers allocataires par tranche de quotient familial (IRIS)", "statut": "INFERRED",
        "valeurs": {"indfoy_ndur": "NB_FOY_NDUR"}, "modalite": "qf_400",
        "modalites": {"Moins de 400": ("NB_FOY_QF_M400",),
                      "Entre 400 et 799": ("NB_FOY_QF_400_799",),
                      "Inconnu": ("NB_FOY_QF_INCONNU",)},
    },
    "alloc_s_iris_f": {
        "titre": "Foyers allocataires et personnes couvertes (IRIS)", "statut": "ASSUMED",
        "valeurs": {"indfoy_alloc": "NB_FOY_ALLOC", "indnbp_alloc": "NB_PERS_COUV"},
        "modalite": None, "modalites": {},
    },
    "aah_s_iris_f": {
        "titre": "Foyers allocataires de l'AAH (IRIS)", "statut": "ASSUMED",
        "valeurs": {"indfoy_aah": "NB_FOY_AAH"}, "modalite": None, "modalites": {},
    },
    "fam_s_type_iris_f": {
        "titre": "Familles allocataires par type de famille (IRIS)", "statut": "ASSUMED",
        "valeurs": {"indfoy_fam": "NB_FOY_FAM"}, "modalite": "type_fam",
        "modalites": {"Monoparent": ("NB_FOY_MONO",), "Couple avec enfant(s)": ("NB_FOY_COUPLE_ENF",)},
    },
    "dep_prest_s_iris_f": {
        "titre": "Allocataires de référence selon la part des prestations dans le revenu (IRIS)",
        "statut": "ASSUMED", "valeurs": {"indfoy_dep": "NB_ALLOC_REF"}, "modalite": "part_prest",
        "modalites": {"Moins de 50 %": ("NB_ALLOC_DEP_M50",),
                      "De 50 à moins de 100 %": ("NB_ALLOC_DEP50",),
                      "100 %": ("NB_ALLOC_DEP50", "NB_ALLOC_DEP100")},
        "note": "Allocataires de référence de moins de 65 ans, hors étudiants (définition CAF).",
    },
}
# Commune twins: same fields without numirisd (``…_com_f``), plus ``nomcom``.
for _id, _spec in list(CAF_DATASETS.items()):
    _twin = dict(_spec, titre=_spec["titre"].replace("(IRIS)", "(communes)"))
    CAF_DATASETS[_id.replace("_iris_f", "_com_f")] = _twin

API = "https://data.caf.fr/api/explore/v2.1/catalog/datasets"


def _source(dataset: str, spec: dict) -> Source:
    niveau = "IRIS" if dataset.endswith("_iris_f") else "commune"
    return Source(
        id=f"caf_{dataset.removesuffix('_f')}", producteur="Cnaf",
        titre=f"Caf : {spec['titre']}",
        url=(f"{API}/{dataset}/exports/csv?delimiter=%3B&where=startswith(numcomdo%2C%22{{dep}}%22)"
             f"%20and%20year(dtreffre)%3D{{millesime}}"),
        fichier=f"{dataset}_{{dep}}_{{millesime}}.csv", format="CSV ; (export data.caf.fr)",
        millesime_cle="caf", par="departement", statut_format=spec["statut"],
        page=f"https://data.caf.fr/explore/dataset/{dataset}/",
        optionnel=spec["statut"] == "ASSUMED" or niveau == "commune",
        description=f"Format long (dtreffre, numcomdo{', numirisd' if niveau == 'IRIS' else ''}, "
                    "modalité, effectifs) ; effectifs arrondis à 5 par la Caf. " + spec.get("note", ""))


SOURCES: list[Source] = [_source(d, s) for d, s in CAF_DATASETS.items()]


def source_id(dataset: str) -> str:
    """Registry id of a data.caf.fr dataset (``rsa_s_type_iris_f`` → ``caf_rsa_s_type_iris``)."""
    return f"caf_{dataset.removesuffix('_f')}"


def _slug(label: str) -> str:
    s = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Z0-9]+", "_", s.upper()).strip("_") or "VIDE"


def read_caf(path: str | Path, dataset: str, millesime: int | None = None,
             communes: set[str] | None = None, simule: bool = False) -> SourceTable:
    """Read a data.caf.fr CSV export and pivot it to one row per IRIS (or commune).

    Parameters
    ----------
    path : the CSV export (``;`` separator, UTF-8).
    dataset : a key of :data:`CAF_DATASETS` (``rsa_s_type_iris_f``…).
    millesime : year N of ``dtreffre`` (December N) to keep; the latest year in the file when None.
    communes : keep only these commune codes.

    Returns
    -------
    SourceTable niveau ``iris`` (``…_iris_f``) or ``commune``; counts as published (rounded to 5).
    """
    if dataset not in CAF_DATASETS:
        raise FormatError(f"Jeu de données Caf inconnu : {dataset!r} (connus : {', '.join(CAF_DATASETS)}).",
                          fichier=str(path), correction="ajoutez-le à CAF_DATASETS dans "
                                                        "observatoire/sources/caf.py")
    spec = CAF_DATASETS[dataset]
    iris = dataset.endswith("_iris_f")
    text, fichier = read_text(path)
    keys = ["dtreffre", "numcomdo"] + (["numirisd"] if iris else [])
    mod = spec["modalite"]
    expected = keys + ([mod] if mod else []) + list(spec["valeurs"])
    df = read_semicolon(text, fichier, expected)
    df.columns = [c.lower() for c in df.columns]
    missing = [c for c in expected if c not in df.columns]
    if missing:
        shown = ", ".join(df.columns[:25])
        raise FormatError(f"Colonne(s) manquante(s) dans l'export Caf « {dataset} » : {', '.join(missing)} "
                          f"(missing column). Colonnes trouvées : {shown}.", fichier=fichier,
                          correction="exportez le jeu depuis data.caf.fr au format CSV « ; » ; si un champ "
                                     "a été renommé, corrigez CAF_DATASETS dans observatoire/sources/caf.py")
    years = df["dtreffre"].astype(str).str.strip().str[:4]
    if millesime is None:
        millesime = int(years.max())
    keep = (years == str(millesime)).to_numpy()
    if not keep.any():
        raise FormatError(f"Aucune ligne de l'année {millesime} (dtreffre) dans l'export Caf ; années "
                          f"présentes : {', '.join(sorted(set(years)))}.", fichier=fichier,
                          correction="téléchargez l'export de l'année voulue ou changez [millesimes] caf")
    df = df[keep]
    com = df["numcomdo"].astype(str).str.strip().str.zfill(5)
    code = com + df["numirisd"].astype(str).str.strip().str.zfill(4) if iris else com
    if communes is not None:
        sel = com.isin(set(communes)).to_numpy()
        df, code = df[sel], code[sel]
    values, statut = parse_cells(df[list(spec["valeurs"])], fichier, pd.Index(code, name="code"))
    labels = df[mod].astype(str).str.strip().to_numpy() if mod else np.array([""] * len(df))
    # long → wide: each row adds its counts to the total variable and to its modality variables
    rank = {"ok": 0, "nd": 1, "secret": 2}
    frames_d, frames_s = [], []
    for field, total in spec["valeurs"].items():
        v = values[field].to_numpy()
        st = statut[field].map(rank).to_numpy()
        targets = [[total] for _ in labels]
        if mod:
            for i, lab in enumerate(labels):
                extra = spec["modalites"].get(lab)
                if extra is None:
                    extra = (f"{total}_{_slug(lab)}",)
                targets[i] = [total, *extra]
        long = pd.DataFrame({"code": np.repeat(code.to_numpy(), [len(t) for t in targets]),
                             "var": [t for ts in targets for t in ts],
                             "v": np.repeat(v, [len(t) for t in targets]),
                             "s": np.repeat(st, [len(t) for t in targets])})
        g = long.groupby(["code", "var"], sort=True)
        d = g["v"].sum(min_count=1).unstack("var")
        s = g["s"].max().unstack("var")
        d = d.where(s == 0)  # a withheld part withholds the sum
        frames_d.append(d)
        frames_s.append(s)
    data = pd.concat(frames_d, axis=1)
    rs = pd.concat(frames_s, axis=1)
    declared = [v for v in spec["valeurs"].values()] + [v for vs in spec["modalites"].values() for v in vs]
    extra_cols = [c for c in data.columns if c not in declared]
    cols = list(dict.fromkeys(declared)) + extra_cols
    data, rs = data.reindex(columns=cols), rs.reindex(columns=cols)
    # data.caf.fr omits the rows of empty modalities: a modality absent for a territory present in
    # the file counts 0 foyers (statut ok).
    absent = rs.isna()
    data = data.mask(absent, 0.0)
    inv = {v: k for k, v in rank.items()}
    statut_w = rs.fillna(0).astype(int).apply(lambda c: c.map(inv)).astype(object)
    data.index.name = statut_w.index.name = "code"
    data.columns.name = statut_w.columns.name = None
    libelles = None
    if "nomcom" in df.columns and not iris:
        libelles = pd.Series(df["nomcom"].to_numpy(), index=code.to_numpy()).groupby(level=0).first()
    return SourceTable(source=source_id(dataset), niveau="iris" if iris else "commune",
                       millesime=int(millesime), millesime_geographie=int(millesime) + 1,
                       data=data.astype(float), statut=statut_w, libelles=libelles, fichier=fichier,
                       simule=simule)
