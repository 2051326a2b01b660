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

#: Plausible range of a value in each unit, checked on partner tables (``None``: no bound). A median
#: or a quartile of monthly disposable income per consumption unit lies between 100 and 6 000 €/mois
#: in every French commune and quartier (Filosofi); an annual figure (× 12) falls outside.
PLAGES: dict[str, tuple[float | None, float | None]] = {
    "%": (0.0, 100.0), "€/mois": (100.0, 6000.0), "€": (0.0, None), "nombre": (0.0, None),
    "indice": (0.0, None),
}
