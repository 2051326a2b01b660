"""Configuration: ``observatoire.toml`` → a typed :class:`Config`.

Only one line has to change to study another territory: ``[territoire] epci = "<SIREN>"``.
Every stage reads its own section (``[cartes]``, ``[portraits]``…) through :meth:`Config.section`,
so a stage can add keys without touching this module.

Example
-------
>>> cfg = load_config("observatoire.toml")          # doctest: +SKIP
>>> cfg.territoire.epci, cfg.paths.processed          # doctest: +SKIP
('245901160', PosixPath('.../data/processed'))
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"[indicateurs] annees_ecart_min = {value!r} n'est pas un nombre d'années "
                              "(not a number of years).", fichier=str(self.source_file or DEFAULT_FILE),
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

_SIREN = re.compile(r"^\d{9}$")
_COMMUNE = re.compile(r"^(\d[\dAB]\d{3})$")
_DEP = re.compile(r"^(\d{2}|2A|2B|97\d)$")


def _fail(path: Path, msg: str, fix: str) -> ConfigError:
    return ConfigError(msg, fichier=str(path), correction=fix)


def parse_config(data: dict[str, Any], path: Path) -> Config:
    """Validate a TOML dict; ``path`` locates relative paths and names the file in errors."""
    root = path.parent.resolve()
    t = data.get("territoire")
    if not isinstance(t, dict):
        raise _fail(path, "La section [territoire] est absente (section [territoire] missing).",
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


def load_config(path: str | Path | None = None) -> Config:
    """Read ``observatoire.toml`` (default: in the current directory)."""
    p = Path(path or DEFAULT_FILE)
    if not p.exists():
        raise ConfigError(f"Fichier de configuration introuvable (configuration file not found): {p}.",
                          fichier=str(p), correction="lancez la commande depuis la racine du projet, "
                          "ou indiquez --config CHEMIN")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"Le fichier n'est pas un TOML valide : {e}.", fichier=str(p),
                          correction="corrigez la syntaxe à la ligne indiquée") from e
    return parse_config(data, p.resolve())
