"""The Jinja environment and stylesheet of the sheets and indexes, compiled once per process."""

from __future__ import annotations

import functools
from pathlib import Path

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

TEMPLATES = Path(__file__).with_name("templates")


@functools.lru_cache(maxsize=1)
def environment() -> Environment:
    """The Jinja environment, compiled once per process (templates are cached by Jinja)."""
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, trim_blocks=True,
                       lstrip_blocks=True, auto_reload=False)


@functools.lru_cache(maxsize=1)
def css() -> Markup:
    return Markup((TEMPLATES / "portrait.css").read_text(encoding="utf-8"))
