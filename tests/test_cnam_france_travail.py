"""CNAM C2S and France Travail jobseekers: partner-table presets (shape ASSUMED, documented)."""

from __future__ import annotations

import numpy as np
import pytest

from observatoire.errors import FormatError
from observatoire.sources import cnam, france_travail


def _csv(tmp_path, name, lines):
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_c2s_by_commune_and_by_quartier(tmp_path):
    hdr = "CODGEO;LIBGEO;POP_PROTEGEE;BENEF_C2S;BENEF_C2S_NP;BENEF_C2S_P"
    c = cnam.read_c2s(_csv(tmp_path, "c.csv", [hdr, "59014;Anzin;12403;2723;2234;489"]), 2023)
    assert (c.niveau, c.source, c.millesime) == ("commune", "cnam_c2s_commune", 2023)
    # CMU-C share of Anzin in the 2015 contract: 2723 / 12403 = 21.95 %
    assert round(100 * c.data.loc["59014", "NB_BENEF_C2S"] / c.data.loc["59014", "POP_PROTEGEE"], 2) == 21.95
    q = cnam.read_c2s(_csv(tmp_path, "q.csv", [hdr, "QN05930M;Dutemple;8000;2100;1700;400",
                                                "QN05992N;Bruay Centre;s;s;s;s"]), 2023)
    assert (q.niveau, q.source, q.millesime_geographie) == ("qpv2024", "cnam_c2s_qpv", 2024)
    assert q.statut.loc["QN05992N", "NB_BENEF_C2S"] == "secret" and np.isnan(q.data.loc["QN05992N", "NB_BENEF_C2S"])


def test_c2s_missing_column(tmp_path):
    p = _csv(tmp_path, "c2s.csv", ["CODGEO;LIBGEO;POP_PROTEGEE;BENEF_C2S", "59014;Anzin;12403;2723"])
    with pytest.raises(FormatError) as e:
        cnam.read_c2s(p, 2023)
    assert "c2s.csv" in str(e.value) and "BENEF_C2S_NP" in str(e.value)


def test_defm_by_quartier_2015_codes(tmp_path):
    hdr = "CODGEO;LIBGEO;DEFM_A;DEFM_ABC;DEFM_ABC_F;DEFM_ABC_M26;DEFM_ABC_1AN;DEFM_ABC_2ANS"
    t = france_travail.read_defm(_csv(tmp_path, "d.csv", [hdr, "QP059030;Dutemple;700;1100;540;180;600;350",
                                                            "QP059020;Verrerie;90;150;s;s;nd;s"]), 2023)
    assert (t.niveau, t.millesime_geographie, t.source) == ("qpv2015", 2015, "france_travail_defm_qpv")
    # long-term share: 600 / 1100 = 54.5 %
    assert round(100 * t.data.loc["QP059030", "DEFM_ABC_1AN"] / t.data.loc["QP059030", "DEFM_ABC"], 1) == 54.5
    assert t.statut.loc["QP059020", "DEFM_ABC_1AN"] == "nd" and t.statut.loc["QP059020", "DEFM_ABC_F"] == "secret"


def test_presets_are_optional_and_assumed():
    for s in cnam.SOURCES + france_travail.SOURCES:
        assert s.optionnel and s.statut_format == "ASSUMED" and s.url.startswith("https://")
        assert "SUPPOSÉ" in s.description
