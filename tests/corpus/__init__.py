"""Corpus of hostile inputs (issues 14 and 16). Table filled in below."""
