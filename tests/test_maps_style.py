"""Map styles: ramps readable in grey, secret / not available / estimate styles, per-feature layer data."""

import numpy as np
import pandas as pd
import pytest

from observatoire.catalogue import Indicateur
from observatoire.fr import NBSP
from observatoire.maps import style
from observatoire.maps.build import indicator_layer
from observatoire.maps.classify import Classes


@pytest.mark.parametrize("k", range(3, 10))
def test_ramps_monotone_lightness_and_polarity(k):
    up = [style.relative_luminance(c) for c in style.ramp(k, 1)]
    assert all(a > b for a, b in zip(up, up[1:]))          # higher value → darker (more fragile)
    down = [style.relative_luminance(c) for c in style.ramp(k, -1)]
    assert all(a < b for a, b in zip(down, down[1:]))      # higher value → lighter (better)
    neutral = [style.relative_luminance(c) for c in style.ramp(k, 0)]
    assert all(a > b for a, b in zip(neutral, neutral[1:]))
    assert style.ramp(k, 0) != style.ramp(k, 1)             # neutral indicators use another hue
    # never black: the darkest ColorBrewer colour used (#662506) has luminance ≈ 0.042
    assert min(up + neutral) > 0.03


def test_secret_and_nd_never_a_class_colour():
    for k in range(1, 10):
        for pol in (-1, 0, 1):
            cols = style.ramp(k, pol)
            secret = style.feature_style(style.SECRET, cols)
            nd = style.feature_style(style.ND, cols)
            assert secret["fillColor"] == f"url(#{style.HATCH_ID})"
            assert nd["fillColor"] == style.ND_FILL
            assert style.ND_FILL not in cols and style.SECRET_FILL not in cols
            assert "#000000" not in cols and style.ND_FILL != "#000000"
    assert f'id="{style.HATCH_ID}"' in style.hatch_pattern_svg()


def test_estimate_gets_dotted_outline_and_keeps_class_colour():
    cols = style.ramp(5, 1)
    est = style.feature_style(2, cols, estime=True)
    assert est["fillColor"] == cols[2] and est["dashArray"] == "2 3"
    assert "dashArray" not in style.feature_style(2, cols)


IND = Indicateur(id="taux_pauvrete", libelle="Taux de pauvreté", theme="revenus", unite="%",
                 type="valeur_producteur", source="filosofi", polarite=1, source_libelle="Insee, Filosofi 2021")


COLUMNS = ["code_territoire", "valeur", "statut", "methode", "qualite", "simule", "note_producteur", "motif",
           "couverture", "millesime"]


def _rows(data):
    return pd.DataFrame(data, columns=COLUMNS)


def test_indicator_layer_statuses():
    rows = _rows([["A", 12.34, "ok", "producteur", "", False, "", "", np.nan, 2021],        # class 0 (≤ 20)
                  ["B", np.nan, "secret", "producteur", "", False, "", "", np.nan, 2021],
                  ["C", np.nan, "nd", "producteur", "", False, "", "pas de dénominateur publié", np.nan, 2021],
                  ["D", 45.0, "estime", "surface", "moyenne", False, "", "", 0.6, 2021],  # class 3, estimate
                  ["E", 55.5, "ok", "producteur", "", True, "NOTE_CNAF:1", "", np.nan, 2021]])  # class 4, simulated
    classes = Classes((20.0, 30.0, 40.0, 50.0), "manuelle")
    lay = indicator_layer(rows, ["A", "B", "C", "D", "E", "F"], IND, classes, "iris", 2021, "obs-choro-iris")
    assert lay["k"] == ["0", "s", "nd", "3e", "4", "nd"]    # F has no row at all: not available
    assert lay["v"] == [f"12,3{NBSP}%", "secret", "non disponible", f"45,0{NBSP}%", f"55,5{NBSP}%",
                        "non disponible"]
    assert lay["styles"]["s"]["fillColor"] == f"url(#{style.HATCH_ID})"
    assert lay["styles"]["nd"]["fillColor"] == style.ND_FILL
    assert lay["styles"]["3e"]["dashArray"] == "2 3"
    notes = [lay["notes"][i] for i in lay["ni"]]
    assert notes[0] == ""
    assert notes[1].startswith("secret statistique")
    assert notes[2] == "non disponible : pas de dénominateur publié"
    assert notes[3] == f"estimé (pondération par la surface), qualité moyenne, couverture 60{NBSP}%"
    assert notes[4] == ("note de qualité 1 du producteur (Cnaf) : chiffre à interpréter avec précaution\n"
                        "simulé")
    assert notes[5] == "aucune donnée pour ce territoire"
    # one simulated figure makes the layer simulated, in its name and legend title
    assert lay["sim"] is True and lay["name"].endswith("(simulé)") and "(simulé)</span></h2>" in lay["legend"]
    assert "secret statistique" in lay["legend"] and "non disponible" in lay["legend"]
    assert f"plus de 50,0{NBSP}%" in lay["legend"]
    # the same layer without E: nothing simulated, no mark
    real = indicator_layer(rows.iloc[:4], ["A", "B", "C", "D"], IND, classes, "iris", 2021)
    assert real["sim"] is False and "simulé" not in real["name"] + real["legend"] + "".join(real["notes"])


def test_layer_sliced_for_a_quartier_map_knows_its_own_provenance():
    from observatoire.maps.layers import build_couche, records

    rows = _rows([["A", 12.0, "ok", "producteur", "", False, "", "", np.nan, 2021],
                  ["B", 33.0, "ok", "producteur", "", True, "", "", np.nan, 2021]])
    c = build_couche(records(rows), ["A", "B"], IND, Classes((20.0,)), "iris", 2021)
    assert c.page([0])["sim"] is False and c.page([1])["sim"] is True and c.page()["sim"] is True
    assert c.page([0])["k"] == ["0"] and c.page([1])["v"] == [f"33,0{NBSP}%"]


def test_focus_and_faded_styles_distinct():
    assert style.FOCUS["weight"] >= 4 and style.FOCUS_HALO["weight"] > style.FOCUS["weight"]
    assert style.FOCUS_HALO["color"] == "#ffffff" and style.FOCUS["color"] != style.OUTLINES["qpv2024"]["color"]
    assert 0 < style.FADE < 0.5


def test_real_layer_with_classes_from_simulated_figures_says_so():
    from observatoire.maps.layers import build_couche, records

    rows = _rows([["A", 12.0, "ok", "producteur", "", False, "", "", np.nan, 2022]])
    c = build_couche(records(rows), ["A"], IND, Classes((20.0,)), "iris", 2022, classes_simulees=True)
    page = c.page()
    assert page["sim"] is False and "(simulé)" not in page["name"]
    assert "classes calculées sur des chiffres simulés" in page["legend"]
    plain = build_couche(records(rows), ["A"], IND, Classes((20.0,)), "iris", 2022).page()
    assert "simulé" not in plain["legend"]
