"""The ``[cartes]`` section of ``observatoire.toml``, checked once, with French errors naming the fix."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ObservatoireError
from . import assets
from .classify import METHODES, _check_bornes


@dataclass(frozen=True)
class Reglages:
    """Map settings: base map, classification method, number of classes, year of the breaks, bins."""

    fond: str = "aucun"
    methode: str = "quantiles"
    k: int = 5
    annee_bornes: str | int = "reference"
    bornes: dict = field(default_factory=dict)


def read_settings(config, catalogue) -> Reglages:
    """:class:`Reglages` from ``config.section("cartes")``; a bad value raises a French error."""
    src = str(config.source_file)
    cartes = config.section("cartes")
    fond = str(cartes.get("fond", "aucun"))
    if fond not in assets.FONDS:
        raise ObservatoireError(f"[cartes] fond = {fond!r} est inconnu.", fichier=src,
                                correction="choisissez fond = \"aucun\" ou fond = \"ign\"")
    methode = str(cartes.get("classification", "quantiles"))
    if methode not in METHODES:
        raise ObservatoireError(f"[cartes] classification = {methode!r} est inconnue.", fichier=src,
                                correction="choisissez " + ", ".join(METHODES))
    try:
        k = int(cartes.get("classes", 5))
    except (TypeError, ValueError):
        k = -1
    if not 2 <= k <= 9:
        raise ObservatoireError(f"[cartes] classes = {cartes.get('classes')!r} : il faut de 2 à 9 classes "
                                "(les palettes lisibles en gris n'en ont pas plus).",
                                fichier=src, correction="indiquez par exemple classes = 5")
    bornes = cartes.get("bornes", {}) or {}
    if not isinstance(bornes, dict):
        raise ObservatoireError("[cartes.bornes] doit associer un indicateur à une liste de bornes.", fichier=src,
                                correction="écrivez par exemple :\n[cartes.bornes]\ntaux_pauvrete = [20, 30, 40, 50]")
    for ind_id, b in bornes.items():
        if ind_id not in catalogue:
            raise ObservatoireError(f"[cartes.bornes] : l'indicateur {ind_id!r} n'est pas dans le catalogue.",
                                    fichier=src,
                                    correction="utilisez un identifiant listé par « observatoire indicateurs »")
        try:
            _check_bornes(b, f"[cartes.bornes] {ind_id}")
        except ObservatoireError as e:
            raise ObservatoireError(str(e), fichier=src) from e
        if len(b) + 1 > 9:
            raise ObservatoireError(f"[cartes.bornes] {ind_id} : {len(b)} bornes font plus de 9 classes.",
                                    fichier=src, correction="gardez au plus 8 bornes")
    return Reglages(fond, methode, k, cartes.get("annee_bornes", "reference"), dict(bornes))
