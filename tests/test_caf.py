"""data.caf.fr exports: long → wide pivot, full IRIS code, rounding kept, secrecy, errors."""

from __future__ import annotations

import numpy as np
import pytest

from observatoire.errors import FormatError
from observatoire.sources import caf


def _csv(tmp_path, name, lines):
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_qf_pivot_totals_and_secret(tmp_path):
    p = _csv(tmp_path, "ndur_s_qf_400_iris_f_59_2023.csv", [
        "dtreffre;numcomdo;numirisd;qf_400;indfoy_ndur",
        "2023-12-01;59606;0101;Moins de 400;120",
        "2023-12-01;59606;0101;Entre 400 et 799;85",
        "2023-12-01;59606;0101;800 et plus;300",
        "2023-12-01;59606;0102;Moins de 400;s",
        "2023-12-01;59606;0102;Entre 400 et 799;40",
        "2022-12-01;59606;0101;Moins de 400;100",
    ])
    t = caf.read_caf(p, "ndur_s_qf_400_iris_f", 2023)
    assert (t.niveau, t.millesime, t.millesime_geographie) == ("iris", 2023, 2024)
    assert t.source == "caf_ndur_s_qf_400_iris"
    assert list(t.data.index) == ["596060101", "596060102"]  # numcomdo + numirisd
    # 120 + 85 + 300 = 505 (counts rounded to 5 by CAF, summed as published)
    assert t.data.loc["596060101", "NB_FOY_NDUR"] == 505
    assert t.data.loc["596060101", "NB_FOY_QF_M400"] == 120
    assert t.data.loc["596060101", "NB_FOY_NDUR_800_ET_PLUS"] == 300  # unlisted modality keeps its slug
    # a secret modality withholds the total: never a number, never 0
    assert t.statut.loc["596060102", "NB_FOY_NDUR"] == "secret" and np.isnan(t.data.loc["596060102", "NB_FOY_NDUR"])
    assert t.statut.loc["596060102", "NB_FOY_QF_M400"] == "secret"
    assert t.data.loc["596060102", "NB_FOY_QF_400_799"] == 40
    # a modality absent for a territory counts 0 foyers
    assert t.data.loc["596060102", "NB_FOY_QF_INCONNU"] == 0 and t.statut.loc["596060102", "NB_FOY_QF_INCONNU"] == "ok"
    # latest year by default; another year on request
    assert caf.read_caf(p, "ndur_s_qf_400_iris_f").millesime == 2023
    assert caf.read_caf(p, "ndur_s_qf_400_iris_f", 2022).data.loc["596060101", "NB_FOY_NDUR"] == 100


def test_dependency_modalities_feed_two_variables(tmp_path):
    p = _csv(tmp_path, "dep.csv", [
        "dtreffre;numcomdo;nomcom;part_prest;indfoy_dep",
        "2023-12-01;59606;Valenciennes;Moins de 50 %;6000",
        "2023-12-01;59606;Valenciennes;De 50 à moins de 100 %;1500",
        "2023-12-01;59606;Valenciennes;100 %;2500",
    ])
    t = caf.read_caf(p, "dep_prest_s_com_f", 2023)
    assert t.niveau == "commune" and t.libelles["59606"] == "Valenciennes"
    # reference allocataires 6000 + 1500 + 2500 = 10000; ≥ 50 %: 1500 + 2500 = 4000; 100 %: 2500
    assert t.data.loc["59606", ["NB_ALLOC_REF", "NB_ALLOC_DEP50", "NB_ALLOC_DEP100"]].tolist() == [10000, 4000, 2500]


def test_two_count_fields_and_nd(tmp_path):
    p = _csv(tmp_path, "alloc.csv", [
        "dtreffre;numcomdo;numirisd;indfoy_alloc;indnbp_alloc",
        "2019-12-01;59014;0101;1235;2890",
        "2019-12-01;59014;0102;;nd",
    ])
    t = caf.read_caf(p, "alloc_s_iris_f", 2019)
    assert t.data.loc["590140101", "NB_PERS_COUV"] == 2890
    assert t.statut.loc["590140102", "NB_FOY_ALLOC"] == "nd" and np.isnan(t.data.loc["590140102", "NB_FOY_ALLOC"])


def test_missing_field_and_missing_year(tmp_path):
    p = _csv(tmp_path, "rsa.csv", ["dtreffre;numcomdo;numirisd;indfoy_rsa", "2023-12-01;59606;0101;40"])
    with pytest.raises(FormatError) as e:
        caf.read_caf(p, "rsa_s_type_iris_f", 2023)
    assert "rsa.csv" in str(e.value) and "rsa_type" in str(e.value) and "indfoy_rsa" in str(e.value)
    p2 = _csv(tmp_path, "aah.csv", ["dtreffre;numcomdo;numirisd;indfoy_aah", "2023-12-01;59606;0101;40"])
    with pytest.raises(FormatError, match="2019"):
        caf.read_caf(p2, "aah_s_iris_f", 2019)
    with pytest.raises(FormatError, match="séparateur|Séparateur"):
        caf.read_caf(_csv(tmp_path, "c.csv", ["dtreffre,numcomdo,numirisd,indfoy_aah"]), "aah_s_iris_f", 2023)


def test_sources_declared_per_departement():
    ids = {s.id: s for s in caf.SOURCES}
    s = ids["caf_rsa_s_type_iris"]
    assert s.par == "departement" and s.millesime_cle == "caf" and s.statut_format == "INFERRED"
    assert s.fichier.format(dep="59", millesime=2023) == "rsa_s_type_iris_f_59_2023.csv"
    assert "{dep}" in s.url and ids["caf_aah_s_iris"].statut_format == "ASSUMED" and ids["caf_aah_s_iris"].optionnel
