"""Configuration: ``observatoire.toml`` → a typed :class:`Config`.

Only one line has to change to study another territory: ``[territoire] epci = "<SIREN>"``.
Every stage reads its own section (``[cartes]``, ``[portraits]``…) through :meth:`Config.section`.

The valid sections and keys are declared once, in :data:`SCHEMA`: for each key, how its value is
checked and which pipeline stages read it. :func:`load_config` checks the whole file against it
before any stage runs (an unknown section or key is refused with the closest valid name, a bad
value with the expected form), and :func:`empreinte` uses it to tell which part of the
configuration each stage depends on (``make`` reruns only the stages whose part changed).
A stage that reads a new key declares it in :data:`SCHEMA`.

Example
-------
>>> cfg = load_config("observatoire.toml")          # doctest: +SKIP
>>> cfg.territoire.epci, cfg.paths.processed          # doctest: +SKIP
('245901160', PosixPath('.../data/processed'))
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from .errors import ConfigError

DEFAULT_FILE = "observatoire.toml"
MIRROR_ENV = "OBSERVATOIRE_MIRROR"


@dataclass(frozen=True)
class Territoire:
    """What territory to study: exactly one of an EPCI SIREN, a list of communes, a département."""

    epci: str | None = None
    communes: tuple[str, ...] = ()
    departement: str | None = None
    nom: str | None = None

    @property
    def kind(self) -> str:
        return "epci" if self.epci else ("communes" if self.communes else "departement")


@dataclass(frozen=True)
class Paths:
    root: Path
    raw: Path
    processed: Path
    maps: Path
    portraits: Path
    mirror: Path | None

    @property
    def gpkg(self) -> Path:
        return self.processed / "observatoire.gpkg"

    @property
    def indicateurs_csv(self) -> Path:
        return self.processed / "indicateurs.csv"

    @property
    def indicateurs_xlsx(self) -> Path:
        return self.processed / "indicateurs.xlsx"


@dataclass(frozen=True)
class Zone:
    """A custom study zone (quartier de veille active…): a list of IRIS codes or a polygon file."""

    code: str
    libelle: str
    iris: tuple[str, ...] = ()
    fichier: Path | None = None
    commune: str | None = None


@dataclass(frozen=True)
class Config:
    territoire: Territoire
    millesimes: dict[str, Any]
    paths: Paths
    zones: tuple[Zone, ...] = ()
    partenaires: tuple[dict[str, Any], ...] = ()
    raw: dict[str, Any] = field(default_factory=dict)
    source_file: Path | None = None

    def section(self, name: str) -> dict[str, Any]:
        """The raw ``[name]`` table of the TOML file (empty dict when absent)."""
        value = self.raw.get(name, {})
        return value if isinstance(value, dict) else {}

    def millesime(self, key: str, default: Any = None) -> Any:
        return self.millesimes.get(key, default)

    @property
    def annees_ecart_min(self) -> int:
        """``[indicateurs] annees_ecart_min`` (default 5): census editions fewer years apart are not
        compared (INSEE's advice); 0 lifts the rule."""
        value = self.section("indicateurs").get("annees_ecart_min", 5)
        probleme = _entier(0)(value)
        if probleme:
            raise ConfigError(f"[indicateurs] annees_ecart_min = {value!r} : {probleme}.",
                              fichier=str(self.source_file or DEFAULT_FILE),
                              correction="indiquez un entier positif ou nul, par exemple annees_ecart_min = 5")
        return value

    def with_mirror(self, mirror: str | Path | None) -> "Config":
        """A copy whose mirror is ``mirror`` (CLI ``--mirror`` wins over the file and the env var)."""
        if mirror is None:
            return self
        p = Path(mirror)
        if not p.is_absolute():
            p = (Path.cwd() / p).resolve()
        paths = Paths(self.paths.root, self.paths.raw, self.paths.processed, self.paths.maps,
                      self.paths.portraits, p)
        return Config(self.territoire, self.millesimes, paths, self.zones, self.partenaires,
                      self.raw, self.source_file)


DEFAULT_MILLESIMES: dict[str, Any] = {
    "cog": 2025,            # communes, EPCI composition (INSEE), ADMIN EXPRESS COG
    "iris": 2024,           # CONTOURS-IRIS geography matching the census files (RP 2022 → IRIS 2024)
    "qpv2024": 2024,
    "qpv2015": 2015,
    "rp": [2017, 2022],     # census editions (base infracommunale); first = comparison year
    "filosofi": [2021],     # Filosofi IRIS, communes, quartiers 2015 (2021 = last edition)
    "qp_insee": [2017, 2022],  # editions of INSEE's tables by quartier 2015 (DEMO, IPRO, REVN)
    "caf": [2020],          # Cnaf allocataires by IRIS (INSEE « données par source »)
    "cnam": [2022],
    "qp2024": [2024],       # editions of INSEE's tables by quartier 2024
    "filosofi_qp2024": [2021],
}

# ----------------------------------------------------------------------------------------- schema
#: The pipeline stages, in order (the names ``make`` and ``observatoire empreinte`` use).
ETAPES = ("fetch", "build", "cartes", "portraits")

Verifier = Callable[[Any], "str | None"]


@dataclass(frozen=True)
class Cle:
    """A key of a section: ``verifier(value)`` returns what is wrong (French) or ``None``;
    ``exemple`` is a valid line shown in the fix; ``etapes`` the stages that read it (default: the
    section's); ``chemin`` marks a path relative to the configuration's folder."""

    verifier: Verifier
    exemple: str
    etapes: tuple[str, ...] | None = None
    chemin: bool = False   # a file or folder, relative to the configuration file's folder


@dataclass(frozen=True)
class Section:
    """A section of ``observatoire.toml``: its keys, the stages reading it, ``tableau`` for the
    ``[[name]]`` lists of tables (zones, partner tables)."""

    cles: Mapping[str, Cle]
    etapes: tuple[str, ...]
    tableau: bool = False


def _texte(v: Any) -> str | None:
    return None if isinstance(v, str) and v.strip() else "il faut un texte non vide entre guillemets"


def _code(v: Any) -> str | None:
    ok = isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool))
    return None if ok else "il faut un code entre guillemets"


def _liste_codes(v: Any) -> str | None:
    if not isinstance(v, list) or any(_code(x) for x in v):
        return "il faut une liste de codes entre guillemets"
    return None


def _booleen(v: Any) -> str | None:
    return None if isinstance(v, bool) else "il faut true ou false"


def _entier(mini: int | None = None, maxi: int | None = None) -> Verifier:
    def verifier(v: Any) -> str | None:
        if isinstance(v, bool) or not isinstance(v, int):
            return "il faut un nombre entier"
        if (mini is not None and v < mini) or (maxi is not None and v > maxi):
            if maxi is None:
                return f"il faut un entier supérieur ou égal à {mini}"
            return f"il faut un entier de {mini} à {maxi}"
        return None
    return verifier


def _annee(v: Any) -> str | None:
    return _entier(1900, 2100)(v) and "il faut une année (par exemple 2022)"


def _annees(v: Any) -> str | None:
    if isinstance(v, list):
        return None if v and not any(_annee(x) for x in v) else "il faut une année ou une liste d'années"
    return _annee(v) and "il faut une année ou une liste d'années"


def _choix(*valeurs: str) -> Verifier:
    def verifier(v: Any) -> str | None:
        if v in valeurs:
            return None
        proche = _proche(str(v), valeurs)
        return (f"valeur inconnue{_vouliez(proche and _toml(proche))} (valeurs possibles : "
                + ", ".join(valeurs) + ")")
    return verifier


def _table_de_textes(v: Any) -> str | None:
    if not isinstance(v, dict) or any(not isinstance(x, str) for x in v.values()):
        return 'il faut une table de textes, par exemple { colonne = "valeur" }'
    return None


def _table(v: Any) -> str | None:
    return None if isinstance(v, dict) else "il faut une table, par exemple { cle = \"valeur\" }"


def _texte_ou_entier(v: Any) -> str | None:
    return None if isinstance(v, (str, int)) and not isinstance(v, bool) else "il faut un texte ou un numéro"


def _annee_bornes(v: Any) -> str | None:
    if isinstance(v, str) and v.isdigit():
        v = int(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return _annee(v)
    return _choix(*ANNEES_BORNES)(v)


def _bornes(v: Any) -> str | None:
    if not isinstance(v, dict):
        return "il faut associer un indicateur à une liste de bornes, par exemple taux_pauvrete = [20, 30, 40, 50]"
    for ind, b in v.items():
        nombres = isinstance(b, list) and b and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                    for x in b)
        if not nombres or any(y <= x for x, y in zip(b, b[1:])):
            return f"les bornes de {ind} doivent être une liste croissante de nombres"
        if len(b) > MAX_CLASSES - 1:
            return f"{ind} : {len(b)} bornes font plus de {MAX_CLASSES} classes (gardez-en au plus {MAX_CLASSES - 1})"
    return None


# Valid values of [cartes]: the same as observatoire.maps (classify.METHODES, ANNEES_BORNES,
# assets.FONDS); tests/test_config.py checks they stay equal (not imported: the maps pull in heavy
# libraries and the configuration must load fast).
FONDS = ("aucun", "ign")
METHODES = ("quantiles", "fisher_jenks", "intervalles_egaux", "manuelle")
ANNEES_BORNES = ("reference", "derniere", "toutes")
MIN_CLASSES, MAX_CLASSES = 2, 9
# Presets and layouts of [[partenaires]] (observatoire.sources.partner.PRESETS and _LAYOUTS).
PRESETS_PARTENAIRES = ("reference_figures",)
DISPOSITIONS = ("longue", "large", "long", "wide")

_TEXTE = Cle(_texte, "")   # the fix shows « cle = "…" »

#: The first user's territory, shown in the fixes of configuration errors.
EXEMPLES_TERRITOIRE = {"epci": "245901160", "nom": "Valenciennes Métropole"}

SCHEMA: dict[str, Section] = {
    "territoire": Section({
        "epci": Cle(_code, f'epci = "{EXEMPLES_TERRITOIRE["epci"]}"', ("fetch", "build", "portraits")),
        "communes": Cle(_liste_codes, 'communes = ["59606", "59014"]', ("fetch", "build", "portraits")),
        "departement": Cle(_code, 'departement = "59"', ("fetch", "build", "portraits")),
        "nom": Cle(_texte, f'nom = "{EXEMPLES_TERRITOIRE["nom"]}"', ("build", "cartes", "portraits")),
    }, ETAPES),
    "millesimes": Section({k: Cle(_annees, f"{k} = {v!r}".replace("'", '"')) for k, v in DEFAULT_MILLESIMES.items()},
                          ("fetch", "build")),
    "chemins": Section({
        "raw": Cle(_texte, 'raw = "data/raw"', ("fetch", "build")),
        "processed": Cle(_texte, 'processed = "data/processed"', ("build", "cartes", "portraits")),
        "cartes": Cle(_texte, 'cartes = "maps"', ("cartes",)),
        "portraits": Cle(_texte, 'portraits = "portraits"', ("portraits",)),
        "miroir": Cle(_texte, 'miroir = "/srv/miroir-observatoire"', ("fetch",)),
    }, ETAPES),
    "zones": Section({
        "code": Cle(_code, 'code = "VEILLE_MARLY_FLORALIES"'),
        "libelle": Cle(_texte, 'libelle = "Les Floralies (Marly)"'),
        "iris": Cle(_liste_codes, 'iris = ["593830101"]'),
        "fichier": Cle(_texte, 'fichier = "zones/floralies.geojson"', chemin=True),
        "commune": Cle(_code, 'commune = "59383"'),
    }, ("build",), tableau=True),
    "partenaires": Section({
        **{k: _TEXTE for k in ("id", "libelle", "colonne_code", "colonne_type", "type_territoire",
                               "colonne_millesime", "colonne_indicateur", "colonne_valeur", "colonne_unite",
                               "colonne_libelle", "colonne_libelle_indicateur", "colonne_citation",
                               "colonne_note", "separateur", "unite", "code_epci")},
        "fichier": Cle(_texte, 'fichier = "partenaires/bailleur.xlsx"', chemin=True),
        "fichier_defaut": Cle(_texte, 'fichier_defaut = "partenaires/bailleur.xlsx"', chemin=True),
        "preset": Cle(_choix(*PRESETS_PARTENAIRES), 'preset = "reference_figures"'),
        "disposition": Cle(_choix(*DISPOSITIONS), 'disposition = "large"'),
        "feuille": Cle(_texte_ou_entier, 'feuille = "QPV"'),
        "millesime": Cle(_annee, "millesime = 2024"),
        "indicateurs": Cle(_table_de_textes, 'indicateurs = { taux_hlm = "part_menages_locataires_hlm" }'),
        "transformations": Cle(_table_de_textes, 'transformations = { montant = "/12" }'),
        "unites": Cle(_table_de_textes, 'unites = { taux_hlm = "%" }'),
        "types": Cle(_table_de_textes, 'types = { qpv = "auto" }'),
        "optionnel": Cle(_booleen, "optionnel = true"),
        "hors_catalogue": Cle(_booleen, "hors_catalogue = false"),
        "doublons": Cle(_choix("refuser", "premier"), 'doublons = "premier"'),
        # English synonyms accepted by observatoire.sources.partner (_SYNONYMS)
        "layout": Cle(_choix(*DISPOSITIONS), 'layout = "large"'),
        "code": _TEXTE,
        "indicators": Cle(_table_de_textes, 'indicators = { taux_hlm = "part_menages_locataires_hlm" }'),
        "territory_type": _TEXTE,
        "sheet": Cle(_texte_ou_entier, 'sheet = "QPV"'),
        "optional": Cle(_booleen, "optional = true"),
    }, ("build", "portraits"), tableau=True),
    "cartes": Section({
        "fond": Cle(_choix(*FONDS), 'fond = "aucun"'),
        "classification": Cle(_choix(*METHODES), 'classification = "quantiles"'),
        "classes": Cle(_entier(MIN_CLASSES, MAX_CLASSES), "classes = 5"),
        "annee_bornes": Cle(_annee_bornes, 'annee_bornes = "reference"'),
        "bornes": Cle(_bornes, "[cartes.bornes]\ntaux_pauvrete = [20, 30, 40, 50]"),
    }, ("cartes",)),
    "estimation": Section({
        "raster": Cle(_texte, 'raster = "donnees/population_200m.tif"', chemin=True),
    }, ("build",)),
    "portraits": Section({
        "notes": Cle(_texte, 'notes = "notes"', chemin=True),
        "pdf": Cle(_booleen, "pdf = true"),
        "catalogue": Cle(_texte, 'catalogue = "mon_catalogue.yaml"', chemin=True),
        "annee_comparaison": Cle(_annee, "annee_comparaison = 2017"),
    }, ("portraits",)),
    "indicateurs": Section({
        "annees_ecart_min": Cle(_entier(0), "annees_ecart_min = 5"),
    }, ("build", "portraits")),
}


# ------------------------------------------------------------------------------------ validation
def _vouliez(nom: str | None) -> str:
    return f" : vouliez-vous dire {nom} ?" if nom else ""


def _proche(nom: str, candidats) -> str | None:
    candidats = list(candidats)
    bas = str(nom).lower()
    for c in candidats:                       # « Cartes » → « cartes »
        if c.lower() == bas:
            return c
    contient = [c for c in candidats if len(bas) >= 4 and bas in c.lower()]
    if len(contient) == 1:                    # « jenks » → « fisher_jenks »
        return contient[0]
    found = difflib.get_close_matches(str(nom).lower(), candidats, n=1, cutoff=0.6)
    return found[0] if found else None


def _ligne(texte: str | None, section: str | None, cle: str | None = None, rang: int = 0) -> int | None:
    """Best-effort line number (1-based) of ``[section]`` (its ``rang``-th ``[[section]]``) or of
    ``cle = …`` inside it, in the TOML text."""
    if not texte:
        return None
    lignes = texte.splitlines()
    debuts = []
    if section is not None:
        entete = re.compile(r"^\s*\[\[?\s*" + re.escape(section) + r"\s*\]\]?\s*(#.*)?$")
        debuts = [i for i, lg in enumerate(lignes) if entete.match(lg)]
    if cle is None:
        return debuts[rang] + 1 if len(debuts) > rang else None
    motif = re.compile(r"^\s*[\"']?" + re.escape(cle) + r"[\"']?\s*=")
    depart = debuts[rang] + 1 if len(debuts) > rang else 0
    for i in range(depart, len(lignes)):
        if depart and lignes[i].lstrip().startswith("["):
            break                                     # next section: the key is not in this one
        if motif.match(lignes[i]):
            return i + 1
    return None


def _toml(v: Any) -> str:
    """A value as written in TOML (« "jenks" », « true », « [20, 30] »)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml(x)}" for k, x in v.items()) + " }"
    return str(v)


def _ou(ligne: int | None) -> str:
    return f" (ligne {ligne})" if ligne else ""


def _noms(section: str, tableau: bool) -> str:
    return f"[[{section}]]" if tableau else f"[{section}]"


def _entree(section: str, i: int, entree: dict) -> str:
    ident = entree.get("id") or entree.get("code")
    return f"[[{section}]] n° {i + 1}" + (f" ({ident})" if ident else "")


def _probleme_section(nom: str, valeur: Any, texte: str | None) -> tuple[str, str] | None:
    """Unknown section or wrong kind (table / list of tables): ``(message, correction)``."""
    if nom not in SCHEMA:
        ailleurs = [s for s, sec in SCHEMA.items() if nom in sec.cles]
        if ailleurs and not isinstance(valeur, (dict, list)):
            s = ailleurs[0]
            return (f"clé « {nom} » hors de toute section{_ou(_ligne(texte, None, nom))} : "
                    f"vouliez-vous dire {_noms(s, SCHEMA[s].tableau)} {nom} ?",
                    f"placez la ligne sous l'en-tête {_noms(s, SCHEMA[s].tableau)}")
        proche = _proche(nom, SCHEMA)
        tableau = isinstance(valeur, list)
        message = (f"section inconnue {_noms(nom, tableau)}{_ou(_ligne(texte, nom))}"
                   f"{_vouliez(proche and _noms(proche, SCHEMA[proche].tableau))}")
        fix = (f"renommez-la {_noms(proche, SCHEMA[proche].tableau)}" if proche else
               "sections possibles : " + ", ".join(_noms(s, sec.tableau) for s, sec in SCHEMA.items()))
        return message, fix
    sec = SCHEMA[nom]
    if sec.tableau and not (isinstance(valeur, list) and all(isinstance(x, dict) for x in valeur)):
        return (f"{_noms(nom, False)} doit s'écrire {_noms(nom, True)}{_ou(_ligne(texte, nom))} : "
                "une section par élément", f"remplacez l'en-tête [{nom}] par [[{nom}]]")
    if not sec.tableau and not isinstance(valeur, dict):
        return (f"{_noms(nom, False)} doit être une section{_ou(_ligne(texte, nom))}",
                f"écrivez l'en-tête [{nom}] suivi de lignes « clé = valeur »")
    return None


def _exemple(sec: Section, cle: str) -> str:
    return sec.cles[cle].exemple or f'{cle} = "…"'


def _problemes_cles(nom: str, entree: dict, ou: str, texte: str | None, rang: int) -> list[tuple[str, str]]:
    """Unknown keys and bad values of one table of section ``nom``."""
    sec = SCHEMA[nom]
    out = []
    for cle, valeur in entree.items():
        ligne = _ligne(texte, nom, cle, rang)
        if cle not in sec.cles:
            proche = _proche(cle, sec.cles)
            fix = (f"écrivez par exemple : {_exemple(sec, proche)}" if proche else
                   f"clés possibles dans {ou} : " + ", ".join(sec.cles))
            out.append((f"clé inconnue « {cle} » dans {ou}{_ou(ligne)}{_vouliez(proche and f'« {proche} »')}", fix))
            continue
        probleme = sec.cles[cle].verifier(valeur)
        if probleme:
            out.append((f"{ou} {cle} = {_toml(valeur)}{_ou(ligne)} : {probleme}",
                        f"écrivez par exemple : {_exemple(sec, cle)}"))
    return out


def _problemes_cartes(cartes: dict, texte: str | None) -> list[tuple[str, str]]:
    """[cartes] rules beyond single values: manual classes need bounds; bounds name catalogue ids."""
    out = []
    bornes = cartes.get("bornes") if isinstance(cartes.get("bornes"), dict) else {}
    if cartes.get("classification") == "manuelle" and not bornes:
        out.append(('[cartes] classification = "manuelle" sans bornes',
                    "ajoutez [cartes.bornes] avec une liste de bornes par indicateur, "
                    "par exemple taux_pauvrete = [20, 30, 40, 50]"))
    if bornes:
        from .catalogue import load_catalogue   # only when bounds are declared (YAML read: ~0,1 s)

        ids = list(load_catalogue())
        for ind in bornes:
            if ind not in ids:
                proche = _proche(ind, ids)
                out.append((f"[cartes.bornes] : l'indicateur « {ind} »{_ou(_ligne(texte, 'cartes.bornes', ind))} "
                            f"n'est pas dans le catalogue{_vouliez(proche and f'« {proche} »')}",
                            "utilisez un identifiant listé par « observatoire indicateurs »"))
    return out


def valider_config(data: dict[str, Any], path: Path, texte: str | None = None) -> None:
    """Check every section, key and value of a configuration against :data:`SCHEMA`.

    Raises
    ------
    ConfigError
        naming the file, each problem (with its line when it can be found, and the closest valid
        name for a misspelt one: « section inconnue [chemin] : vouliez-vous dire [chemins] ? ») and
        the fix. All problems are reported at once.
    """
    problemes: list[tuple[str, str]] = []
    for nom, valeur in data.items():
        p = _probleme_section(nom, valeur, texte)
        if p:
            problemes.append(p)
            continue
        if SCHEMA[nom].tableau:
            for i, entree in enumerate(valeur):
                problemes += _problemes_cles(nom, entree, _entree(nom, i, entree), texte, i)
        else:
            problemes += _problemes_cles(nom, valeur, f"[{nom}]", texte, 0)
    if isinstance(data.get("cartes"), dict):
        problemes += _problemes_cartes(data["cartes"], texte)
    if len(problemes) == 1:
        message = problemes[0][0]
        raise ConfigError(message if message.endswith(("?", ".")) else message + ".", fichier=str(path),
                          correction=problemes[0][1])
    if problemes:
        lignes = "\n".join(f"  • {m} — {c}" for m, c in problemes)
        raise ConfigError(f"{len(problemes)} erreurs dans la configuration :\n{lignes}", fichier=str(path),
                          correction="corrigez chaque ligne indiquée")


# --------------------------------------------------------------------------------------- parsing
_SIREN = re.compile(r"^\d{9}$")
_COMMUNE = re.compile(r"^(\d[\dAB]\d{3})$")
_DEP = re.compile(r"^(\d{2}|2A|2B|97\d)$")


def _fail(path: Path, msg: str, fix: str) -> ConfigError:
    return ConfigError(msg, fichier=str(path), correction=fix)


def parse_config(data: dict[str, Any], path: Path) -> Config:
    """Build a :class:`Config` from a TOML dict; ``path`` locates relative paths and names the file
    in errors. Checks the territory, zones and partner tables it needs; :func:`load_config` also
    checks every key against :data:`SCHEMA` first (:func:`valider_config`)."""
    root = path.parent.resolve()
    t = data.get("territoire")
    if not isinstance(t, dict):
        raise _fail(path, "La section [territoire] est absente.",
                    'ajoutez par exemple :\n[territoire]\nepci = "245901160"')
    epci = t.get("epci")
    communes = tuple(str(c) for c in t.get("communes", []) or [])
    dep = t.get("departement")
    chosen = [k for k, v in (("epci", epci), ("communes", communes), ("departement", dep)) if v]
    if len(chosen) != 1:
        raise _fail(path, "Le territoire doit être défini par exactement une clé parmi epci, communes, "
                    f"departement (trouvé : {', '.join(chosen) or 'aucune'}).",
                    'gardez une seule ligne, par exemple epci = "245901160"')
    if epci is not None:
        epci = str(epci)
        if not _SIREN.match(epci):
            raise _fail(path, f"[territoire] epci = {epci!r} n'est pas un SIREN d'EPCI (9 chiffres).",
                        'indiquez le SIREN de l\'EPCI, par exemple "245901160" (CA Valenciennes Métropole)')
    for c in communes:
        if not _COMMUNE.match(c):
            raise _fail(path, f"[territoire] communes : {c!r} n'est pas un code commune INSEE (5 caractères).",
                        'utilisez les codes INSEE, par exemple ["59606", "59014"]')
    if dep is not None:
        dep = str(dep)
        if not _DEP.match(dep):
            raise _fail(path, f"[territoire] departement = {dep!r} n'est pas un code de département.",
                        'indiquez par exemple "59"')
    territoire = Territoire(epci=epci, communes=communes, departement=dep, nom=t.get("nom"))

    millesimes = dict(DEFAULT_MILLESIMES)
    millesimes.update(data.get("millesimes", {}) or {})

    c = data.get("chemins", {}) or {}

    def _p(key: str, default: str) -> Path:
        v = Path(c.get(key, default))
        return (v if v.is_absolute() else root / v).resolve()

    mirror_value = c.get("miroir") or os.environ.get(MIRROR_ENV) or None
    mirror = None
    if mirror_value:
        mirror = Path(mirror_value)
        if not mirror.is_absolute():
            mirror = ((root / mirror) if c.get("miroir") else (Path.cwd() / mirror)).resolve()
    paths = Paths(root, _p("raw", "data/raw"), _p("processed", "data/processed"), _p("cartes", "maps"),
                  _p("portraits", "portraits"), mirror)

    zones = []
    for i, z in enumerate(data.get("zones", []) or []):
        if not isinstance(z, dict) or not z.get("code") or not z.get("libelle"):
            raise _fail(path, f"La zone n° {i + 1} de [[zones]] n'a pas de code ou de libellé.",
                        'chaque [[zones]] a code = "…", libelle = "…" et iris = [...] ou fichier = "…"')
        iris = tuple(str(x) for x in z.get("iris", []) or [])
        fichier = z.get("fichier")
        if bool(iris) == bool(fichier):
            raise _fail(path, f"La zone {z['code']!r} doit avoir soit iris = [...], soit fichier = \"…\".",
                        "donnez la liste des codes IRIS ou un fichier GeoJSON/GPKG/SHP, pas les deux")
        fpath = None
        if fichier:
            fpath = Path(fichier)
            fpath = fpath if fpath.is_absolute() else (root / fpath).resolve()
        zones.append(Zone(str(z["code"]), str(z["libelle"]), iris, fpath, z.get("commune")))

    partenaires = []
    for i, p in enumerate(data.get("partenaires", []) or []):
        if not isinstance(p, dict) or not p.get("id") or not p.get("fichier"):
            raise _fail(path, f"La table partenaire n° {i + 1} de [[partenaires]] n'a pas d'id ou de fichier.",
                        'chaque [[partenaires]] a id = "…" et fichier = "…"')
        p = dict(p)
        f = Path(p["fichier"])
        p["fichier"] = f if f.is_absolute() else (root / f).resolve()
        partenaires.append(p)

    return Config(territoire, millesimes, paths, tuple(zones), tuple(partenaires), data, path)


_TOML_FR = (  # tomllib's messages (Python 3.11 to 3.13), in French
    ("Cannot declare", "clé ou section déclarée deux fois"),
    ("Cannot mutate immutable namespace", "table déjà fermée, impossible d'y ajouter une clé"),
    ("Cannot overwrite a value", "valeur déjà définie"),
    ("Cannot redefine namespace", "section déjà définie"),
    ("Duplicate inline table key", "clé en double dans une table en ligne"),
    ("Escaped character is not a Unicode scalar value", "caractère échappé invalide"),
    ("Expected '=' after a key", "« = » attendu après la clé"),
    ("Expected ']' at the end of a table declaration", "« ] » attendu à la fin de l'en-tête de section"),
    ("Expected ']]' at the end of an array declaration", "« ]] » attendu à la fin de l'en-tête [[…]]"),
    ("Expected", "caractère attendu manquant"),
    ("Found invalid character", "caractère invalide"),
    ("Illegal character", "caractère interdit"),
    ("Invalid date or datetime", "date invalide"),
    ("Invalid hex value", "valeur hexadécimale invalide"),
    ("Invalid initial character for a key part", "nom de clé invalide"),
    ("Invalid statement", "ligne invalide"),
    ("Invalid value", "valeur invalide (un texte s'écrit entre guillemets)"),
    ("Unclosed array", "liste non fermée (« ] » manquant)"),
    ("Unclosed inline table", "table en ligne non fermée (« } » manquant)"),
    ("Unescaped", "barre oblique inverse « \\ » non échappée dans un texte"),
    ("Unterminated string", "texte non terminé (guillemet fermant manquant)"),
)


def erreur_toml(e: tomllib.TOMLDecodeError) -> str:
    """A TOML syntax error in French, with its line and column: « texte non terminé (guillemet
    fermant manquant), ligne 2, colonne 8 »."""
    texte = str(e)
    quoi = next((fr for en, fr in _TOML_FR if texte.startswith(en)), "erreur de syntaxe")
    m = re.search(r"line (\d+), column (\d+)", texte)
    if m:
        return f"{quoi}, ligne {m.group(1)}, colonne {m.group(2)}"
    return f"{quoi}, à la fin du fichier" if "end of document" in texte else quoi


def load_config(path: str | Path | None = None) -> Config:
    """Read ``observatoire.toml`` (default: in the current directory) and check all of it."""
    p = Path(path or DEFAULT_FILE)
    if not p.exists():
        raise ConfigError(f"Fichier de configuration introuvable : {p}.",
                          fichier=str(p), correction="lancez la commande depuis la racine du projet, "
                          "ou indiquez --config CHEMIN")
    texte = p.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(texte)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"Le fichier n'est pas un TOML valide : {erreur_toml(e)}.", fichier=str(p),
                          correction="corrigez la syntaxe à la ligne indiquée (les textes s'écrivent "
                                     "entre guillemets droits, une clé par ligne : cle = valeur)") from e
    valider_config(data, p, texte)
    return parse_config(data, p.resolve())


# ------------------------------------------------------------------------ what each stage reads
def _resolu(cfg: Config, valeur: str | Path) -> Path:
    p = Path(valeur)
    return p if p.is_absolute() else (cfg.paths.root / p).resolve()


def fichiers_lus(cfg: Config, etape: str) -> list[Path]:
    """Files named in the configuration that ``etape`` reads (partner tables, zone outlines, weighting
    raster, alternative catalogue), resolved, present or not. The notes folder is not listed: each
    note is an input of its own sheet."""
    out: list[Path] = []
    if etape in SCHEMA["partenaires"].etapes:
        out += [Path(p["fichier"]) for p in cfg.partenaires]
    if etape in SCHEMA["zones"].etapes:
        out += [z.fichier for z in cfg.zones if z.fichier is not None]
    raster = cfg.section("estimation").get("raster")
    if raster and etape in SCHEMA["estimation"].etapes:
        out.append(_resolu(cfg, raster))
    catalogue = cfg.section("portraits").get("catalogue")
    if catalogue and etape in SCHEMA["portraits"].etapes:
        out.append(_resolu(cfg, catalogue))
    return sorted(set(out))


def _lu_par(section: Section, cle: str, etape: str) -> bool:
    c = section.cles.get(cle)
    etapes = c.etapes if c is not None and c.etapes is not None else section.etapes
    return etape in etapes


def _lues(cfg: Config, sec: Section, table: dict[str, Any], etape: str) -> dict[str, Any]:
    """The keys of ``table`` that ``etape`` reads, paths resolved (a configuration moved elsewhere
    that names the same files has the same footprint)."""
    out = {}
    for k, v in sorted(table.items()):
        if _lu_par(sec, k, etape):
            c = sec.cles.get(k)
            out[k] = str(_resolu(cfg, v)) if c is not None and c.chemin and isinstance(v, (str, Path)) else v
    return out


def empreinte(cfg: Config, etape: str) -> dict[str, Any]:
    """The part of the configuration ``etape`` depends on, in a canonical form: the keys
    :data:`SCHEMA` marks as read by that stage (millésimes with their defaults), the resolved
    folders and files it reads (with whether each file exists) and, for ``fetch``, the mirror.

    Two configurations with equal footprints give the same result for that stage: ``make`` reruns a
    stage only when its footprint changes (a ``[cartes]`` change reruns only the maps).

    >>> empreinte(load_config(), "cartes")["sections"]["cartes"]["classes"]   # doctest: +SKIP
    5
    """
    if etape not in ETAPES:
        raise ConfigError(f"Étape inconnue : {etape!r}.", correction="choisissez parmi : " + ", ".join(ETAPES))
    sections: dict[str, Any] = {}
    for nom, sec in SCHEMA.items():
        if nom in ("chemins",) or nom not in cfg.raw and nom != "millesimes":
            continue
        if nom == "millesimes":
            valeur: Any = {k: v for k, v in sorted(cfg.millesimes.items())}
            if etape in sec.etapes:
                sections[nom] = valeur
            continue
        valeur = cfg.raw[nom]
        if sec.tableau:
            garde = [_lues(cfg, sec, e, etape) for e in valeur]
            if any(garde):
                sections[nom] = garde
        else:
            garde = _lues(cfg, sec, valeur, etape)
            if garde:
                sections[nom] = garde
    dossiers = {"raw": cfg.paths.raw, "processed": cfg.paths.processed, "cartes": cfg.paths.maps,
                "portraits": cfg.paths.portraits}
    out: dict[str, Any] = {
        "etape": etape,
        "sections": sections,
        "dossiers": {k: str(v) for k, v in dossiers.items() if _lu_par(SCHEMA["chemins"], k, etape)},
        "fichiers": {str(f): f.exists() for f in fichiers_lus(cfg, etape)},
    }
    if etape == "fetch":
        out["miroir"] = str(cfg.paths.mirror) if cfg.paths.mirror else None
    if etape == "portraits":
        out["notes"] = str(_resolu(cfg, cfg.section("portraits").get("notes", "notes")))
    return out
