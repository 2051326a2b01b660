"""Observatoire des quartiers : indicateurs, cartes et portraits des quartiers prioritaires.

The pipeline flows one way (see README): sources → territory → indicators → estimates → maps → portraits.
"""

__version__ = "0.1.0"
