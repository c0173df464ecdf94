"""Open a built documentation site in headless Chromium (Playwright drives Debian's chromium)
and list what a reader would see broken: a page that fails to load or has no title, a script
error, a file of the site that is missing, an image that does not load."""

from __future__ import annotations

import functools
import http.server
import importlib.util
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# CI sets it (.ci/run): there a browser test that cannot start fails instead of skipping
REQUIRE_ENV = "BAYESCALE_REQUIRE_BROWSER"


def need_browser(playwright: bool = False) -> None:
    """Skip the calling test when Chromium (or Playwright) is missing; fail instead in CI."""
    missing = []
    if CHROMIUM is None:
        missing.append("chromium (.ci/setup installs Debian's)")
    if playwright and importlib.util.find_spec("playwright") is None:
        missing.append("playwright (the dev extra)")
    if not missing:
        return
    message = f"{' and '.join(missing)} not installed"
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{message}, and {REQUIRE_ENV} is set: the browser tests must run here")
    pytest.skip(message)


# Chromium's own flags for a closed network and a root user (no sandbox, no background calls)
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Every image on the page, lazy ones included, decoded; the sources of those that fail.
_BROKEN_IMAGES = """async () => {
  const broken = [];
  for (const img of Array.from(document.images)) {
    img.loading = "eager";
    try { await img.decode(); } catch (e) {}
    if (!(img.complete && img.naturalWidth > 0)) broken.push(img.getAttribute("src"));
  }
  return broken;
}"""


@contextmanager
def serve(site: Path) -> Iterator[str]:
    """Serve ``site`` on localhost; yield its address."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def browse(site: Path, screenshots: Path | None = None) -> tuple[dict[str, int], list[str]]:
    """Open every page of ``site``; return (images loaded per page, problems found).

    Requests that leave localhost (the theme's web fonts) are not the site's and are blocked.
    """
    from playwright.sync_api import sync_playwright

    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    pages = [p for p in pages if p != "404.html"]
    problems: list[str] = []
    images: dict[str, int] = {}
    with serve(site) as root, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith(root) else route.abort()
            ),
        )
        current = {"name": ""}
        page.on("pageerror", lambda e: problems.append(f"{current['name']}: script error {e}"))
        page.on(
            "response",
            lambda r: (
                problems.append(f"{current['name']}: {r.status} for {r.url}")
                if r.status >= 400 and r.url.startswith(root)
                else None
            ),
        )
        for name in pages:
            current["name"] = name
            response = page.goto(f"{root}/{name}", wait_until="load")
            if response is None or response.status != 200:
                problems.append(f"{name}: did not load")
                continue
            title = page.locator("article h1").first
            if title.count() == 0 or not title.inner_text().strip():
                problems.append(f"{name}: no title in the page's article")
            broken = page.evaluate(_BROKEN_IMAGES)
            problems += [f"{name}: image {src} did not load" for src in broken]
            images[name] = page.evaluate("document.images.length") - len(broken)
            if screenshots is not None:
                shot = screenshots / (name.replace("/", "_").removesuffix(".html") + ".png")
                page.screenshot(path=str(shot), full_page=True)
        browser.close()
    return images, problems
