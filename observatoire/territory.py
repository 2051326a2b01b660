"""The studied territory, resolved from INSEE's official EPCI composition file (never a hand-written list).

``[territoire]`` of ``observatoire.toml`` names an EPCI SIREN, a list of commune codes or a
département; :func:`resolve_territory` turns it into the member communes.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import ObservatoireError, SourceMissingError
from .sources.insee_cog import EPCI_SOURCE, SANS_EPCI, read_epci_composition


@dataclass(frozen=True)
class Territory:
    """Resolved territory.

    Attributes
    ----------
    kind : ``epci`` | ``communes`` | ``departement``.
    communes : rows of the composition file for the member communes
        (``code_insee, nom_commune, siren_epci, nom_epci, dep, reg``), sorted by code.
    codes : set of member INSEE codes.
    departements : sorted codes of the départements the communes belong to.
    epci_siren, epci_nom : the EPCI (``None`` for a commune list or a département).
    nom : display name (config ``nom`` if given, else the EPCI name, « Département 59 »…).
    code : territory code for the ``epci`` layer: the SIREN, the département code, or ``communes``.
    """

    kind: str
    communes: pd.DataFrame
    codes: frozenset
    departements: list
    epci_siren: str | None
    epci_nom: str | None
    nom: str
    composition: pd.DataFrame | None = None

    @property
    def epcis(self) -> pd.DataFrame:
        """EPCIs holding at least one commune of the territory: ``siren, nom``."""
        c = self.communes[self.communes["siren_epci"] != SANS_EPCI]
        return (c[["siren_epci", "nom_epci"]].drop_duplicates("siren_epci")
                .rename(columns={"siren_epci": "siren", "nom_epci": "nom"}).sort_values("siren")
                .reset_index(drop=True))

    @property
    def code(self) -> str:
        if self.kind == "epci":
            return self.epci_siren
        if self.kind == "departement":
            return self.departements[0]
        return "communes"


def composition_path(config) -> Path:
    """The INSEE composition file in ``data/raw/insee_epci/``: the official name for the configured
    vintage (``Intercommunalite_Metropole_au_01-01-<cog>.zip``) when present, else the only file of the
    folder (a CSV export, an XLSX…)."""
    mil = config.millesime(EPCI_SOURCE.millesime_cle)
    official = config.paths.raw / EPCI_SOURCE.id / EPCI_SOURCE.fichier.format(millesime=mil)
    if official.exists():
        return official
    folder = official.parent
    others = sorted(p for p in folder.glob("*") if p.is_file() and not p.name.endswith((".part", ".tmp"))) \
        if folder.exists() else []
    return others[0] if len(others) == 1 else official


def _epci_label(df: pd.DataFrame, siren: str) -> str:
    rows = df[df["siren_epci"] == siren]
    deps = ", ".join(sorted(rows["dep"].unique()))
    return f"{siren} – {rows['nom_epci'].iloc[0]} (dép. {deps})"


def suggest_epci(composition: pd.DataFrame, siren: str, n: int = 5) -> list[str]:
    """Close matches for an unknown SIREN: similar SIREN strings, then EPCIs of the same département.

    An EPCI SIREN starting with ``24`` carries its département in the next two digits (``245901160``:
    Nord), so EPCIs of that département are proposed as well.
    """
    epcis = sorted(set(composition["siren_epci"]) - {SANS_EPCI})
    close = difflib.get_close_matches(siren, epcis, n=n, cutoff=0.6)
    if siren.startswith("24") and len(siren) >= 4:
        same_dep = composition[composition["dep"] == siren[2:4]]["siren_epci"]
        close += [s for s in sorted(set(same_dep) - {SANS_EPCI}) if s not in close]
    return [_epci_label(composition, s) for s in close[:n + 5]]


def territory_from_composition(territoire, composition: pd.DataFrame, fichier: str = "") -> Territory:
    """Pure resolution: ``territoire`` (:class:`observatoire.config.Territoire`) against the composition.

    Raises
    ------
    ObservatoireError : unknown EPCI SIREN (with close matches), unknown commune codes, unknown
        département.
    """
    comp = composition
    kind = territoire.kind
    epci_siren = epci_nom = None
    if kind == "epci":
        rows = comp[comp["siren_epci"] == territoire.epci]
        if rows.empty:
            sugg = suggest_epci(comp, territoire.epci)
            hint = ("EPCI proches : " + " ; ".join(sugg)) if sugg else "vérifiez le SIREN sur insee.fr"
            raise ObservatoireError(
                f"L'EPCI de SIREN {territoire.epci} n'existe pas dans le fichier INSEE des intercommunalités.",
                fichier=fichier,
                correction=f"corrigez [territoire] epci dans observatoire.toml. {hint}")
        epci_siren = territoire.epci
        epci_nom = str(rows["nom_epci"].iloc[0])
        nom = territoire.nom or epci_nom
    elif kind == "communes":
        wanted = list(dict.fromkeys(territoire.communes))
        rows = comp[comp["code_insee"].isin(wanted)]
        unknown = [c for c in wanted if c not in set(rows["code_insee"])]
        if unknown:
            sugg = []
            for c in unknown:
                m = difflib.get_close_matches(c, comp["code_insee"].tolist(), n=3, cutoff=0.8)
                sugg += [f"{x} {comp.loc[comp['code_insee'] == x, 'nom_commune'].iloc[0]}" for x in m]
            raise ObservatoireError(
                f"Codes commune inconnus dans le fichier INSEE : {', '.join(unknown)}.",
                fichier=fichier, correction="corrigez [territoire] communes dans observatoire.toml"
                + (f" (codes proches : {', '.join(sugg)})" if sugg else ""))
        nom = territoire.nom or (f"Territoire de {len(rows)} communes" if len(rows) > 1
                                 else str(rows["nom_commune"].iloc[0]))
    else:
        rows = comp[comp["dep"] == territoire.departement]
        if rows.empty:
            raise ObservatoireError(f"Aucune commune du département {territoire.departement} dans le fichier "
                                    "INSEE des intercommunalités.", fichier=fichier,
                                    correction="indiquez un code de département de métropole, par exemple \"59\"")
        nom = territoire.nom or f"Département {territoire.departement}"
    rows = rows.sort_values("code_insee").reset_index(drop=True)
    return Territory(kind=kind, communes=rows, codes=frozenset(rows["code_insee"]),
                     departements=sorted(rows["dep"].unique().tolist()), epci_siren=epci_siren,
                     epci_nom=epci_nom, nom=nom, composition=comp)


def resolve_territory(config) -> Territory:
    """Resolve ``config.territoire`` with the fetched INSEE composition file.

    Raises
    ------
    SourceMissingError : the composition file is not in ``data/raw`` yet (run ``observatoire fetch``).
    ObservatoireError : see :func:`territory_from_composition`.
    """
    path = composition_path(config)
    if not path.exists():
        raise SourceMissingError(
            "Le fichier INSEE de composition des intercommunalités est absent : le territoire ne peut pas "
            "être résolu.", fichier=str(path),
            correction="lancez d'abord « observatoire fetch » (ou --mirror DOSSIER)")
    return territory_from_composition(config.territoire, read_epci_composition(path), str(path))


def try_resolve_territory(config) -> Territory | None:
    """:func:`resolve_territory`, or ``None`` when the composition file is absent."""
    if not composition_path(config).exists():
        return None
    return resolve_territory(config)


def territory_outline(territory: Territory, communes_gdf):
    """The ``epci`` layer: one row ``siren, nom`` with the union of the member communes (EPSG:2154).

    ``siren`` is the EPCI SIREN, or :attr:`Territory.code` for a commune list / a département.
    """
    import geopandas as gpd
    import shapely

    members = communes_gdf[communes_gdf["code_insee"].isin(territory.codes)]
    geom = shapely.union_all(members.geometry.values)
    return gpd.GeoDataFrame({"siren": [territory.code], "nom": [territory.nom]}, geometry=[geom],
                            crs=communes_gdf.crs)


def build_geographic_layers(config, territory: Territory | None = None) -> dict:
    """Read every geographic source of ``data/raw`` for the territory: the GeoPackage layers
    ``communes, epci, departement, iris, qpv_2024, qpv_2015, qpv_communes, sources`` (contract in
    ``docs/contracts.md``), ready for :func:`observatoire.store.write_gpkg`.

    ``qpv_communes`` shares use the outlines of the member communes and of the neighbouring communes
    named by the quartiers (read from the same per-département files), so a quartier spilling into
    another EPCI is split exactly when that commune's outline is available.

    Raises
    ------
    SourceMissingError : a geographic source is absent (run ``observatoire fetch``).
    FormatError : a member commune has no outline (vintages of the COG and ADMIN EXPRESS differ).
    """
    import pandas as pd
    import shapely

    from .errors import FormatError
    from .sources import anct, ign
    from .sources.raw import manifest_entries, raw_files
    from .sources.registry import all_sources
    from .store import sources_table

    terr = territory or resolve_territory(config)

    def files(source_id: str) -> list:
        found = raw_files(config, source_id, territory=terr)
        if not found:
            raise SourceMissingError(f"Aucun fichier pour la source {source_id} dans {config.paths.raw}.",
                                     fichier=str(config.paths.raw / source_id),
                                     correction="lancez « observatoire fetch » (ou --mirror DOSSIER)")
        return found

    comp = terr.communes.set_index("code_insee")
    communes_files = files("ign_communes")
    members = ign.read_communes(communes_files, set(terr.codes))
    absent = sorted(set(terr.codes) - set(members["code_insee"]))
    if absent:
        raise FormatError(f"Communes du territoire sans contour IGN : {', '.join(absent)}.",
                          fichier=", ".join(str(p) for p in communes_files),
                          correction="utilisez le même millésime du COG pour l'INSEE et l'IGN ([millesimes] cog)")
    members["siren_epci"] = members["code_insee"].map(comp["siren_epci"]).where(
        members["code_insee"].map(comp["siren_epci"]) != "ZZZZZZZZZ", None)
    members["dep"] = members["code_insee"].map(comp["dep"])
    outline = shapely.union_all(members.geometry.values)

    qpv24 = anct.read_qpv2024(files("anct_qpv2024")[0], set(terr.codes), bbox=tuple(members.total_bounds))
    listed = set().union(*(anct.split_list(v) for v in qpv24["insee_com"])) if len(qpv24) else set()
    neighbours = ign.read_communes(communes_files, listed - set(terr.codes)) if listed - set(terr.codes) else None
    all_communes = members if neighbours is None or neighbours.empty else \
        pd.concat([members, neighbours], ignore_index=True)
    shares = [anct.qpv_commune_shares(qpv24, all_communes, 2024, territoire=set(terr.codes))]

    qpv15 = anct.read_qpv2015(files("anct_qpv2015")[0], set(terr.codes), outline)
    shares.append(anct.qpv_commune_shares(qpv15, all_communes, 2015, territoire=set(terr.codes)))

    packages = [p for p in ign.iris_files(config.paths.raw / "ign_iris") if p.suffix.lower() in (".gpkg", ".7z")]
    # the IRIS of the neighbouring communes a quartier spills into too: without them a quartier half
    # outside the territory (QN05922M, 49 % in Escautpont) would be estimated from half its IRIS
    iris = ign.read_iris(packages or files("ign_iris"), set(terr.codes) | set(all_communes["code_insee"]))
    deps = pd.concat([ign.read_departement(files("ign_departement"), d) for d in terr.departements],
                     ignore_index=True)
    keys = {s.id: s.millesime_cle for s in all_sources().values()}
    return {
        "communes": members, "epci": territory_outline(terr, members),
        "departement": deps.set_crs(members.crs, allow_override=True), "iris": iris,
        "qpv_2024": qpv24, "qpv_2015": qpv15,
        "qpv_communes": pd.concat(shares, ignore_index=True),
        "sources": sources_table(manifest_entries(config), config.millesimes, keys),
        "communes_publiees": all_communes,
    }
