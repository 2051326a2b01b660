"""Vocabulary of the catalogue (themes, units, types), shared by the loader and the validator."""

from __future__ import annotations

#: Themes of a portrait, in display order (themes of the 2024 quartier projects, plus context).
THEMES: dict[str, str] = {
    "demographie": "Population et ménages",
    "revenus": "Revenus et pauvreté",
    "insertion": "Insertion sociale et professionnelle",
    "education": "Parentalité et réussite éducative",
    "familles": "Familles et prestations sociales",
    "sante": "Santé et accès aux droits",
    "logement": "Logement et cadre de vie",
    "mobilite": "Mobilité",
}

UNITES = ("%", "€", "€/mois", "nombre", "indice")
TYPES = ("ratio", "valeur_producteur", "effectif")
