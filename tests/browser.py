"""Open a generated HTML file in real headless Chromium, offline, and report what happened.

Used by the map and portrait browser tests. Network is blocked: every request whose URL is not
``file://``/``data:``/``blob:``/``about:`` is aborted and recorded, so a page that needs a CDN fails.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def require_chromium():
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium absent (apt-get install chromium) : test navigateur ignoré")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright absent (pip install playwright)")


@dataclass
class PageReport:
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    evaluations: dict = field(default_factory=dict)


def open_offline(html: Path, screenshot: Path | None = None, evaluate: dict[str, str] | None = None,
                 wait_ms: int = 500, viewport=(1200, 900)) -> PageReport:
    """Open ``html`` from ``file://`` with all network blocked; run the JS expressions of ``evaluate``."""
    from playwright.sync_api import sync_playwright

    rep = PageReport()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})

            def _route(route):
                url = route.request.url
                if url.startswith(("file:", "data:", "blob:", "about:")):
                    return route.continue_()
                rep.external_requests.append(url)
                return route.abort()

            ctx.route("**/*", _route)
            page = ctx.new_page()
            page.on("console", lambda m: rep.console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: rep.page_errors.append(str(e)))
            page.goto(Path(html).resolve().as_uri(), wait_until="load")
            page.wait_for_timeout(wait_ms)
            for name, js in (evaluate or {}).items():
                rep.evaluations[name] = page.evaluate(js)
            if screenshot:
                Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot), full_page=False)
        finally:
            browser.close()
    return rep
