"""The configuration (through the public CLI only: ``observatoire/config.py`` belongs to the config work)
and partner tables (``[[partenaires]]``, read by ``observatoire/sources/partner.py``).

Partner tables are checked like official ones (codes, duplicates, values, units).
"""

from __future__ import annotations

import pytest

from observatoire.errors import ObservatoireError
from observatoire.sources.partner import read_partners

from .conftest import assert_message, assert_refused



# ---------------------------------------------------------------------------------------------- config
@pytest.mark.corpus("configuration", "refuse")
def test_config_not_toml(projet):
    projet.edit_config(lambda t: t.replace('[territoire]\nepci = "200099999"', '[territoire\nepci = 200099999'))
    run = projet.cli("build")
    assert_refused(run, fichier="observatoire.toml", correction="corrigez la syntaxe", contient=("TOML",))


@pytest.mark.corpus("configuration", "refuse")
def test_config_unknown_epci_gets_close_matches(projet):
    projet.edit_config(lambda t: t.replace('epci = "200099999"', 'epci = "200099990"'))
    run = projet.cli("build")
    assert_refused(run, fichier="Intercommunalite_Metropole_au_01-01-2020.zip", correction="200099999",
                   contient=("200099990",))


@pytest.mark.corpus("configuration", "refuse")
def test_config_siren_with_eight_digits(projet):
    projet.edit_config(lambda t: t.replace('epci = "200099999"', 'epci = "20009999"'))
    run = projet.cli("sources")
    assert_refused(run, fichier="observatoire.toml", correction="SIREN", contient=("'20009999'",))


@pytest.mark.corpus("configuration", "refuse")
def test_config_territory_key_misspelt(projet):
    projet.edit_config(lambda t: t.replace('epci = "200099999"', 'epic = "200099999"'))
    run = projet.cli("build")
    assert_refused(run, fichier="observatoire.toml", correction="epci", contient=("« epic »", "vouliez-vous dire « epci »"))


@pytest.mark.corpus("configuration", "refuse")
def test_config_unknown_section_names_the_closest(projet):
    """« unknown config keys or sections ([chemin], a typo'd key) are ignored silently »."""
    projet.edit_config(lambda t: t.replace("[chemins]", "[chemin]"))
    run = projet.cli("sources")
    assert_refused(run, fichier="observatoire.toml", correction="chemins", contient=("[chemin]",))


# -------------------------------------------------------------------------------------------- partners
def _partner(projet, rows: list[str], **keys):
    table = projet.root / "partenaires" / "bailleur.csv"
    table.parent.mkdir(exist_ok=True)
    table.write_text("\n".join(["code_quartier;taux_hlm"] + rows) + "\n", encoding="utf-8")
    spec = {"id": '"bailleur_2024"', "libelle": '"Bailleur social, occupation du parc"',
            "fichier": '"../partenaires/bailleur.csv"', "disposition": '"large"', "colonne_code": '"code_quartier"',
            "type_territoire": '"qpv2024"', "millesime": "2024",
            "indicateurs": '{ taux_hlm = "part_menages_locataires_hlm" }'}
    spec.update(keys)
    block = "\n[[partenaires]]\n" + "".join(f"{k} = {v}\n" for k, v in spec.items())
    projet.edit_config(lambda t: t.replace("partenaires = []\n", "") + block)
    return table


def _partners(projet):
    from observatoire.catalogue import load_catalogue

    return read_partners(projet.config(), load_catalogue())


def _partner_refused(projet, correction, *contient):
    with pytest.raises(ObservatoireError) as e:
        _partners(projet)
    assert_message(str(e.value), fichier="bailleur.csv", correction=correction, contient=contient)


def test_clean_partner_table_is_read(projet):
    _partner(projet, ["QN00001M;61,5", "QN00002M;48,0"])
    t = _partners(projet)
    got = dict(zip(t["code_territoire"], t["valeur"]))
    assert got == {"QN00001M": 61.5, "QN00002M": 48.0}


@pytest.mark.corpus("partenaires", "refuse")
def test_partner_table_missing(projet):
    table = _partner(projet, ["QN00001M;61,5"])
    table.unlink()
    _partner_refused(projet, "optionnel = true", "introuvable")


@pytest.mark.corpus("partenaires", "refuse")
def test_partner_code_column_misnamed(projet):
    _partner(projet, ["QN00001M;61,5"], colonne_code='"code_qp"')
    _partner_refused(projet, "colonne_code", "code_qp")


@pytest.mark.corpus("partenaires", "refuse")
def test_partner_code_climbing_out_of_the_output_folders(projet):
    _partner(projet, ["../../escaped_QN00001M;61,5"])
    _partner_refused(projet, "code", "escaped_QN00001M")


@pytest.mark.corpus("partenaires", "refuse")
def test_partner_quartier_twice_with_different_values(projet):
    _partner(projet, ["QN00001M;61,5", "QN00001M;12,0"])
    _partner_refused(projet, "une seule ligne", "QN00001M")


@pytest.mark.corpus("partenaires", "refuse")
def test_partner_value_that_is_not_a_number(projet):
    _partner(projet, ["QN00001M;61,5", "QN00002M;environ 50"])
    _partner_refused(projet, "nombre", "environ 50", "ligne 3")


@pytest.mark.corpus("partenaires", "refuse")
def test_partner_rate_above_100(projet):
    _partner(projet, ["QN00001M;161,5"])
    _partner_refused(projet, "fichier", "161,5")
