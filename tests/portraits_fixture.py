"""A small processed project for the portrait tests (helper of tests/test_portraits_*.py).

Real geometries (QPV 2024, communes, EPCI of Valenciennes Métropole) from ``../shared`` when present,
otherwise synthetic squares. Every indicator value is INVENTED (deterministic random numbers) in the
tidy v2 format (``docs/contracts.md``); the ``simule`` flag of each row (and the ``sources`` layer)
follows ``build_project(simule=…)``: ``True`` (all simulated), ``False`` (all real: used to check that
no simulated mark appears), ``"mixte"`` (census figures real, the others simulated).

Cases the tests rely on (see :func:`_overrides`):

* QN05920M stands out on poverty (48 % against about 30 % elsewhere) and on the share of women
  (70 %, never a headline); its « sans diplôme » figure is far from the others but its reference is
  a set of ``faible`` quality; its CAF figure carries the producer note ``NOTE_CNAF:1``; its share of
  under-15s is ``nd`` with a reason;
* QN05930M: C2S secret in 2023, a poverty estimate of ``faible`` quality (97,5 %);
* QN05921M: a good dasymetric estimate, commune parts;
* the 2024 quartier set of the département is ``nd`` (« taux publié sans dénominateur ») for the
  poverty rate, the 2015 one for every indicator; there is no 2024 set for France, a 2015 one exists;
* medians of 2024 quartier sets are ``nd`` (not summable), those of 2015 sets come from the producer.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import box

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "valenciennes"
HAS_SHARED = (SHARED / "qpv2024.geojson").exists() and (SHARED / "communes.geojson").exists()
EPCI = "245901160"
from observatoire.tidy import TIDY_COLUMNS as COLUMNS

CATALOGUE_YAML = """\
indicateurs:
  - id: population
    libelle: Population municipale
    theme: demographie
    unite: nombre
    type: effectif
    source: insee_rp
    source_libelle: Insee, RP
    definition: Nombre de personnes dont la résidence habituelle est dans le territoire.
  - id: part_moins_15
    libelle: Part des moins de 15 ans
    theme: demographie
    unite: "%"
    type: ratio
    polarite: 0
    source: insee_rp
    source_libelle: Insee, RP
    definition: Personnes de moins de 15 ans parmi la population.
  - id: taux_pauvrete
    libelle: Taux de pauvreté
    theme: revenus
    unite: "%"
    type: ratio
    polarite: 1
    source: insee_filosofi
    source_libelle: Insee, Filosofi
    definition: Part des personnes vivant sous le seuil de 60 % du niveau de vie médian.
    limites: Non publié sous 11 ménages fiscaux.
  - id: revenu_median
    libelle: Revenu disponible médian par unité de consommation
    theme: revenus
    unite: "€"
    type: valeur_producteur
    polarite: -1
    source: insee_filosofi
    source_libelle: Insee, Filosofi
    definition: Médiane du revenu disponible annuel par unité de consommation.
  - id: part_femmes
    libelle: Part des femmes dans la population
    theme: demographie
    unite: "%"
    type: ratio
    polarite: 0
    source: insee_rp
    source_libelle: Insee, RP
  - id: part_neet_16_25
    libelle: Part des 16-25 ans ni en emploi ni en formation
    theme: insertion
    unite: "%"
    type: ratio
    polarite: 1
    source: insee_rp
    source_libelle: Insee, RP
    phrase: "{valeur} des 16-25 ans ne sont ni en formation ni en emploi"
    definition: Jeunes de 16 à 25 ans ni en emploi, ni en études, ni en formation.
  - id: taux_emploi_15_64
    libelle: Taux d'emploi des 15-64 ans
    theme: insertion
    unite: "%"
    type: ratio
    polarite: -1
    source: insee_rp
    source_libelle: Insee, RP
  - id: part_sans_diplome
    libelle: Part des 15 ans ou plus non scolarisés sans diplôme
    theme: education
    unite: "%"
    type: ratio
    polarite: 1
    source: insee_rp
    source_libelle: Insee, RP
  - id: part_familles_monoparentales
    libelle: Part des familles monoparentales
    theme: familles
    unite: "%"
    type: ratio
    polarite: 1
    source: insee_rp
    source_libelle: Insee, RP
  - id: part_allocataires_prestations_50pct
    libelle: Part des allocataires dont les prestations font au moins 50 % des revenus
    libelle_court: Dépendance aux prestations
    theme: familles
    unite: "%"
    type: ratio
    polarite: 1
    source: caf
    source_libelle: CNAF, données allocataires
  - id: part_c2s
    libelle: Part de la population couverte par la C2S
    theme: sante
    unite: "%"
    type: ratio
    polarite: 1
    source: cnam
    source_libelle: Cnam
  - id: part_locataires_hlm
    libelle: Part des ménages locataires HLM
    theme: logement
    unite: "%"
    type: ratio
    polarite: 0
    source: insee_rp
    source_libelle: Insee, RP
  - id: part_menages_voiture
    libelle: Part des ménages ayant au moins une voiture
    theme: mobilite
    unite: "%"
    type: ratio
    polarite: -1
    source: insee_rp
    source_libelle: Insee, RP
"""

YEARS = {"insee_rp": [2017, 2022], "insee_filosofi": [2021], "cnam": [2019, 2023], "caf": [2023]}

# Partner figures: three rows copied from reference_figures.csv (columns of that file).
PARTNER_CSV = """\
territory_type,territory_code,territory_name,indicator,label_fr,value,unit,year,source_named,document,territory_confidence,doc_line,quote,note
qpv,QN05920M,Verrerie – Square République (Anzin),part_neet_16_25,Part de jeunes ni en emploi ni en formation,41,%,2019,non précisé,002_bf41210fe5fd3fcb.txt,inferred,27,Une part de jeunes ni en emploi ni en formation atteignant 41% en 2019 ;,
qpv,QN05920M,Verrerie – Square République (Anzin),evol_taux_emploi_15_24,Taux d'emploi des 15-24 ans en baisse entre 2011 et 2019,-5.4,points,2011-2019,non précisé,002_bf41210fe5fd3fcb.txt,inferred,29,"Un taux d'emploi des 15-24 ans en baisse entre 2011 et 2019 (-5,4 points) mais qui reste dans la moyenne de l'ensemble des QPV ;",
qpv,QN05920M,Verrerie – Square République (Anzin),part_emplois_precaires,Un travailleur sur 4 résidant dans le quartier occupe un emploi précaire,0.25,ratio,2019,non précisé,002_bf41210fe5fd3fcb.txt,inferred,30,Un travailleur sur 4 résidant dans le quartier occupe un emploi précaire en 2019 ;,valeur issue d'une formulation verbale (1 sur 4)
"""

NOTES_MD = """\
# Verrerie - Square République

## Atouts
- Un **tissu associatif** dense
- Proximité du tramway <script>alert('x')</script>

## Points de vigilance
Vieillissement des copropriétés & *isolement* des aînés.

## Enjeux retenus
1. Insertion des jeunes
2. Accès aux droits
"""


def _geometries():
    """communes, epci, qpv_2024, departement GeoDataFrames in EPSG:2154."""
    if HAS_SHARED:
        com = gpd.read_file(SHARED / "communes.geojson").to_crs(2154)
        communes = gpd.GeoDataFrame({"code_insee": com["code"].astype(str), "nom": com["nom"].astype(str),
                                     "siren_epci": EPCI, "dep": "59",
                                     "population": com["population_municipale"].astype(float)},
                                    geometry=com.geometry.to_numpy(), crs=2154)
        q = gpd.read_file(SHARED / "qpv2024.geojson").to_crs(2154)
        qpv = gpd.GeoDataFrame({"code_qp": q["code_qp"].astype(str), "lib_qp": q["lib_qp"].astype(str),
                                "insee_com": q["insee_com"].astype(str), "lib_com": q["lib_com"].astype(str),
                                "siren_epci": q["siren_epci"].astype(str), "communes": q["insee_com"].astype(str),
                                "surface_ha": q.geometry.area / 1e4}, geometry=q.geometry.to_numpy(), crs=2154)
    else:
        x0, y0, d = 720000.0, 7030000.0, 2000.0
        spec = [("59014", "Anzin", 0, 1, 13000.0), ("59606", "Valenciennes", 1, 1, 43000.0),
                ("59383", "Marly", 1, 0, 11000.0), ("59112", "Bruay-sur-l'Escaut", 0, 2, 11500.0)]
        communes = gpd.GeoDataFrame(
            {"code_insee": [s[0] for s in spec], "nom": [s[1] for s in spec], "siren_epci": EPCI, "dep": "59",
             "population": [s[4] for s in spec]},
            geometry=[box(x0 + i * d, y0 + j * d, x0 + (i + 1) * d, y0 + (j + 1) * d) for _, _, i, j, _ in spec],
            crs=2154)
        qspec = [("QN05920M", "Verrerie - Square République", box(x0 + 300, y0 + d + 300, x0 + 900, y0 + d + 900), "59014"),
                 ("QN05921M", "Zone Intercommunale Rives De L'Escaut", box(x0 + 1500, y0 + d + 1000, x0 + 2600, y0 + d + 1500), "59014, 59606"),
                 ("QN05930M", "Dutemple Chasse Royale Saint Waast - La Sentinelle", box(x0 + d + 800, y0 + d + 200, x0 + d + 1500, y0 + d + 700), "59606"),
                 ("QN05922M", "Cité Thiers - Cité Du Rivage - Brunehaut", box(x0 + 400, y0 + 2 * d + 400, x0 + 1200, y0 + 2 * d + 1100), "59112")]
        qpv = gpd.GeoDataFrame({"code_qp": [s[0] for s in qspec], "lib_qp": [s[1] for s in qspec],
                                "insee_com": [s[3] for s in qspec], "lib_com": "", "siren_epci": EPCI,
                                "communes": [s[3] for s in qspec]},
                               geometry=[s[2] for s in qspec], crs=2154)
        qpv["surface_ha"] = qpv.geometry.area / 1e4
    epci = gpd.GeoDataFrame({"siren": [EPCI], "nom": ["CA Valenciennes Métropole"]},
                            geometry=[communes.union_all()], crs=2154)
    dep = gpd.GeoDataFrame({"code": ["59"], "nom": ["Nord"]}, geometry=[epci.geometry.iloc[0].buffer(5000)], crs=2154)
    return communes, epci, qpv, dep


def _qpv_communes(qpv, communes, millesime, code_col):
    rows = []
    in_terr = set(communes["code_insee"])
    for _, q in qpv.iterrows():
        area = q.geometry.area
        listed = str(q.get("insee_com", q.get("commune_qp", ""))).split(", ")
        for _, c in communes.iterrows():
            share = q.geometry.intersection(c.geometry).area / area
            if share > 0.01 and c["code_insee"] in listed:
                rows.append({"code_qp": q[code_col], "millesime_qpv": millesime, "insee_com": c["code_insee"],
                             "nom_commune": c["nom"], "part_surface": round(share, 4), "dans_territoire": c["code_insee"] in in_terr})
        if "insee_com" in q and q["code_qp"] == "QN05930M":   # La Sentinelle, outside the EPCI (4 %)
            rows.append({"code_qp": q[code_col], "millesime_qpv": millesime, "insee_com": "59564",
                         "nom_commune": "La Sentinelle", "part_surface": 0.04, "dans_territoire": False})
    return pd.DataFrame(rows)


def _row(t, code, nom, ind, year, geo, source, **kw):
    row = dict(type_territoire=t, code_territoire=code, libelle_territoire=nom, indicateur=ind, millesime=year,
               millesime_geographie=geo, valeur=np.nan, numerateur=np.nan, denominateur=np.nan, statut="ok",
               methode="producteur", qualite="", couverture=np.nan, simule=False, note_producteur="", motif="",
               source=source)
    row.update(kw)
    return row


def _ratio(rng, centre, spread=6.0, den=None):
    den = float(den if den is not None else rng.integers(400, 3000))
    num = float(round(den * max(1.0, centre + rng.normal(0, spread)) / 100))
    return dict(numerateur=num, denominateur=den, valeur=100 * num / den)


def _set(df, code, ind, year, t=None, **kw):
    m = (df["code_territoire"] == code) & (df["indicateur"] == ind) & (df["millesime"] == year)
    if t is not None:
        m &= df["type_territoire"] == t
    assert m.sum() == 1, (code, ind, year, int(m.sum()))
    for k, v in kw.items():
        df.loc[m, k] = v


def _overrides(df, qpv24):
    """The cases listed in the module docstring."""
    others = [c for c in qpv24["code_qp"] if c not in ("QN05920M", "QN05930M")]
    for k, c in enumerate(others):                       # poverty: about 30 % everywhere …
        _set(df, c, "taux_pauvrete", 2021, numerateur=float(280 + 5 * k), denominateur=1000.0,
             valeur=(280 + 5 * k) / 10)
        _set(df, c, "part_femmes", 2022, numerateur=float(510 + k), denominateur=1000.0, valeur=(510 + k) / 10)
        _set(df, c, "part_sans_diplome", 2022, numerateur=float(340 + 2 * k), denominateur=1000.0,
             valeur=(340 + 2 * k) / 10)
    # … but 48 % in QN05920M, which also has 70 % of women (never a headline)
    _set(df, "QN05920M", "taux_pauvrete", 2021, numerateur=480.0, denominateur=1000.0, valeur=48.0)
    _set(df, "QN05920M", "part_femmes", 2022, numerateur=700.0, denominateur=1000.0, valeur=70.0)
    _set(df, "QN05930M", "part_femmes", 2022, numerateur=520.0, denominateur=1000.0, valeur=52.0)
    _set(df, "QN05920M", "part_sans_diplome", 2022, numerateur=600.0, denominateur=1000.0, valeur=60.0)
    _set(df, "QN05930M", "part_sans_diplome", 2022, numerateur=350.0, denominateur=1000.0, valeur=35.0)
    _set(df, "QN05920M", "part_allocataires_prestations_50pct", 2023, note_producteur="NOTE_CNAF:1")
    _set(df, "QN05920M", "part_moins_15", 2022, statut="nd", valeur=np.nan, numerateur=np.nan, denominateur=np.nan,
         motif="effectif de moins de 11 ménages : non publié")
    _set(df, "QN05930M", "part_c2s", 2023, statut="secret", valeur=np.nan, numerateur=np.nan, denominateur=np.nan)
    # a poor-quality estimate made the most extreme value of its indicator: must never feed a sentence
    _set(df, "QN05930M", "taux_pauvrete", 2021, statut="estime", methode="surface", qualite="faible",
         couverture=0.4, valeur=97.5, numerateur=97.5, denominateur=100.0)
    _set(df, "QN05921M", "part_familles_monoparentales", 2022, statut="estime", methode="dasymetrique",
         qualite="bonne", couverture=0.92)


def _ensembles(df, geo: str, code_epci: str) -> list[dict]:
    """``ensemble_qpv<geo>_epci`` rows: sums of the quartiers' numerators and denominators (ratios);
    medians are not summable (nd for 2024, the producer's figure for 2015)."""
    q = df[(df["type_territoire"] == f"qpv{geo}") & df["statut"].isin(["ok", "estime"])]
    out = []
    for (ind, year), g in q.groupby(["indicateur", "millesime"]):
        src = g["source"].iloc[0]
        base = {}
        if g["numerateur"].notna().all() and len(g):
            n, d = float(g["numerateur"].sum()), float(g["denominateur"].sum())
            base.update(numerateur=n, denominateur=d, valeur=100 * n / d, methode="somme")
        elif geo == "2015":
            base.update(valeur=float(round(g["valeur"].median(), 0)))
        else:
            base.update(statut="nd", motif="médiane non additionnable : chiffre du producteur seulement")
        out.append(_row(f"ensemble_qpv{geo}_epci", code_epci, f"Ensemble des QPV {geo} de CA Valenciennes Métropole",
                        ind, int(year), int(geo), src, **base))
    return out


def _tidy(communes, qpv24, qpv15, zones, catalogue_ids, simule) -> pd.DataFrame:
    rng = np.random.default_rng(20240101)
    import yaml
    cat = {e["id"]: e for e in yaml.safe_load(CATALOGUE_YAML)["indicateurs"]}
    rows = []
    terr = ([("qpv2024", c, n, 2024) for c, n in zip(qpv24["code_qp"], qpv24["lib_qp"])]
            + [("qpv2015", c, n, 2015) for c, n in zip(qpv15["code_qp"], qpv15["nom_qp"])]
            + [("zone", c, n, 2024) for c, n in zip(zones["code"], zones["libelle"])]
            + [("commune", c, n, 2025) for c, n in zip(communes["code_insee"], communes["nom"])])
    refs = [("epci", EPCI, "CA Valenciennes Métropole"), ("departement", "59", "Nord"),
            ("ensemble_qpv2024_departement", "59", "Ensemble des QPV 2024 du Nord"),
            ("ensemble_qpv2015_departement", "59", "Ensemble des QPV 2015 du Nord"),
            ("ensemble_qpv2015_france", "FRM", "Ensemble des QPV 2015 de France métropolitaine"),
            ("france", "FRM", "France métropolitaine")]
    for ind_id in catalogue_ids:
        e = cat[ind_id]
        for year in YEARS[e["source"]]:
            centre = rng.uniform(15, 60)
            for t, code, nom, geo in terr:
                kw = {}
                if e["type"] == "effectif":
                    kw["valeur"] = float(rng.integers(1500, 9000))
                elif e["type"] == "valeur_producteur":
                    kw["valeur"] = float(round(rng.uniform(11000, 16000), 0))
                else:
                    kw.update(_ratio(rng, centre), methode="somme" if t != "commune" else "producteur")
                row = _row(t, code, nom, ind_id, year, geo, e["source"], **kw)
                rows.append(row)
                if t == "qpv2024" and code == "QN05921M" and e["type"] == "ratio":
                    for insee, nom_c in (("59014", "Anzin"), ("59606", "Valenciennes")):   # commune parts
                        rows.append({**row, "type_territoire": "partie_qpv2024", "code_territoire": f"{code}_{insee}",
                                     "libelle_territoire": f"{nom} ({nom_c})",
                                     **_ratio(rng, centre, den=rng.integers(100, 900))})
            for t, code, nom in refs:
                kw = {}
                if e["type"] == "effectif":
                    kw["valeur"] = float(rng.integers(100000, 3000000))
                elif e["type"] == "valeur_producteur":
                    kw["valeur"] = float(round(rng.uniform(14000, 22000), 0))
                else:
                    kw.update(_ratio(rng, centre - 8, spread=3, den=rng.integers(100000, 900000)))
                if t == "ensemble_qpv2015_departement":
                    kw = dict(statut="nd", motif="taux publié sans dénominateur : pas de somme")
                elif t == "ensemble_qpv2024_departement" and ind_id == "taux_pauvrete":
                    kw = dict(statut="nd", motif="taux publié sans dénominateur : pas de somme")
                rows.append(_row(t, code, nom, ind_id, year, 2025, e["source"], **kw))
    df = pd.DataFrame(rows)
    _overrides(df, qpv24)
    df = pd.concat([df, pd.DataFrame(_ensembles(df, "2024", EPCI) + _ensembles(df, "2015", EPCI))], ignore_index=True)
    # the set the « sans diplôme » sentence would quote is summed mostly from poor estimates
    _set(df, EPCI, "part_sans_diplome", 2022, t="ensemble_qpv2024_epci", qualite="faible")
    partners = [_row("qpv2024", "QN05920M", "Verrerie – Square République (Anzin)", "part_neet_16_25", 2019, 2015,
                     "contrat_ville_cavm", valeur=41.0, methode="partenaire"),
                # the import keeps changes (« −5,4 points ») out of the tidy table, and turns the
                # ratio 0.25 (« un sur 4 ») into 25 %
                _row("qpv2024", "QN05920M", "Verrerie – Square République (Anzin)", "part_emplois_precaires", 2019, 2024,
                     "contrat_ville_cavm", valeur=25.0, methode="partenaire")]
    df = pd.concat([df, pd.DataFrame(partners)], ignore_index=True)
    regular = df["methode"] != "partenaire"
    if simule == "mixte":
        df.loc[regular, "simule"] = df.loc[regular, "source"] != "insee_rp"
    else:
        df.loc[regular, "simule"] = bool(simule)
    for c in ("valeur", "numerateur", "denominateur", "couverture"):
        df[c] = df[c].astype(float)
    df.loc[df["statut"].isin(["secret", "nd"]), ["valeur", "numerateur", "denominateur"]] = np.nan
    return df[COLUMNS]


VERIFICATION = pd.DataFrame([
    # indicateur, methode, millesime, n_quartiers, ecart_median_abs, biais, part_dans_tolerance, tolerance, unite, simule
    ("taux_pauvrete", "dasymetrique", 2021, 14, 1.83, 0.4, 0.79, "±2 points", "points", False),
    ("revenu_median", "dasymetrique", 2021, 14, 4.2, -1.1, 0.857, "±10 %", "%", False),
    ("part_c2s", "surface", 2023, 12, 2.61, 0.9, 0.5, "±2 points", "points", False),
], columns=["indicateur", "methode", "millesime", "n_quartiers", "ecart_median_abs", "biais",
            "part_dans_tolerance", "tolerance", "unite_ecart", "simule"]).assign(territoire="Valenciennes Métropole")


def build_project(root: Path, *, simule: bool | str = True, notes: bool = True, verification: bool = False,
                  sans_quartiers: tuple[str, ...] = ()) -> Path:
    """Write ``root/observatoire.toml``, the GeoPackage, the CSV, the catalogue and notes; return the config path.

    ``simule``: ``True``, ``False`` or ``"mixte"`` (module docstring). ``verification``: also write the
    back-test layer ``verification_resume`` (:data:`VERIFICATION`). ``sans_quartiers``: geographies
    (``"2024"``, ``"2015"``, ``"zones"``) whose layer is written empty (a territory without quartiers).
    """
    root.mkdir(parents=True, exist_ok=True)
    processed = root / "data" / "processed"
    processed.mkdir(parents=True, exist_ok=True)
    communes, epci, qpv24, dep = _geometries()
    qpv15 = gpd.GeoDataFrame({"code_qp": [c.replace("QN059", "QP0590")[:8] for c in qpv24["code_qp"]],
                              "nom_qp": qpv24["lib_qp"], "commune_qp": qpv24["insee_com"]},
                             geometry=qpv24.geometry.buffer(-15).to_numpy(), crs=2154)
    qpv15 = qpv15[qpv15["code_qp"] != "QP059099"].reset_index(drop=True)
    qpv15["surface_ha"] = qpv15.geometry.area / 1e4
    marly = communes[communes["code_insee"] == "59383"].geometry.iloc[0]
    zones = gpd.GeoDataFrame({"code": ["VEILLE_MARLY_FLORALIES"], "libelle": ["Les Floralies <veille> & co"],
                              "commune": ["59383"]}, geometry=[marly.representative_point().buffer(300)], crs=2154)
    ids = [e["id"] for e in __import__("yaml").safe_load(CATALOGUE_YAML)["indicateurs"]]
    tidy = _tidy(communes, qpv24, qpv15, zones, ids, simule)
    if "2024" in sans_quartiers:
        qpv24 = qpv24.iloc[0:0]
        tidy = tidy[~tidy["type_territoire"].isin(["qpv2024", "partie_qpv2024", "ensemble_qpv2024_epci"])]
    if "2015" in sans_quartiers:
        qpv15 = qpv15.iloc[0:0]
        tidy = tidy[~tidy["type_territoire"].isin(["qpv2015", "ensemble_qpv2015_epci"])]
    if "zones" in sans_quartiers:
        zones = zones.iloc[0:0]
        tidy = tidy[tidy["type_territoire"] != "zone"]
    gpkg = processed / "observatoire.gpkg"
    communes.to_file(gpkg, layer="communes")
    epci.to_file(gpkg, layer="epci")
    dep.to_file(gpkg, layer="departement")
    qpv24.to_file(gpkg, layer="qpv_2024")
    qpv15.to_file(gpkg, layer="qpv_2015")
    zones.to_file(gpkg, layer="zones")
    qc = pd.concat([_qpv_communes(qpv24, communes, 2024, "code_qp"), _qpv_communes(qpv15, communes, 2015, "code_qp")])
    import pyogrio
    if len(qc):
        pyogrio.write_dataframe(qc, gpkg, layer="qpv_communes")
    pyogrio.write_dataframe(tidy.astype({"qualite": "string"}), gpkg, layer="indicateurs")
    stats_sim = simule is True
    sources = pd.DataFrame({"source": ["anct_qpv2024", "insee_rp", "cnam", "caf"],
                            "fichier": ["QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson",
                                        "base-ic-activite-residents-2022.CSV", "c2s_qpv_2023.csv", "caf_qpv_2023.csv"],
                            "millesime": [2024, 2022, 2023, 2023],
                            "simule": [False, stats_sim, bool(simule), bool(simule)],
                            "sha256": ["0" * 64, "1" * 64, "2" * 64, "3" * 64],
                            "url": ["https://www.data.gouv.fr/", "https://www.insee.fr/", "", ""]})
    pyogrio.write_dataframe(sources, gpkg, layer="sources")
    if verification:
        pyogrio.write_dataframe(VERIFICATION, gpkg, layer="verification_resume")
    tidy.to_csv(processed / "indicateurs.csv", sep=";", index=False, encoding="utf-8-sig")
    (root / "catalogue.yaml").write_text(CATALOGUE_YAML, encoding="utf-8")
    (root / "partenaire.csv").write_text(PARTNER_CSV, encoding="utf-8")
    if notes:
        (root / "notes").mkdir(exist_ok=True)
        (root / "notes" / "QN05920M.md").write_text(NOTES_MD, encoding="utf-8")
    cfg = root / "observatoire.toml"
    cfg.write_text(textwrap.dedent(f"""\
        [territoire]
        epci = "{EPCI}"

        [chemins]
        processed = "data/processed"
        portraits = "portraits"

        [[partenaires]]
        id = "contrat_ville_cavm"
        libelle = "Contrat de ville 2015-2020 et projets de quartiers 2024 de Valenciennes Métropole"
        fichier = "partenaire.csv"
        preset = "reference_figures"

        [portraits]
        notes = "notes"
        pdf = true
        catalogue = "catalogue.yaml"
        """), encoding="utf-8")
    return cfg


if __name__ == "__main__":   # python tests/portraits_fixture.py /tmp/projet
    import sys
    print(build_project(Path(sys.argv[1])))
