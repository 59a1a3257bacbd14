"""Headless Chromium (Debian's `chromium`) driven by Playwright, and the console's fleet.

Screenshots go to `.local/screenshots/<test>/`, one per page a test visits, for a person to look
at; their paths are printed in the test's output.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from deploy.local.stack import REPO_ROOT

SCREENSHOTS = REPO_ROOT / ".local" / "screenshots"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
"""No sandbox (CI runs as root); nothing that reaches out of this machine."""


def chromium() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise RuntimeError("no chromium on PATH: `apt-get install chromium` (make bootstrap does, "
                           "as root), or set CHROMIUM to its path")
    return found


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        yield launched
        await launched.close()


class Camera:
    """Numbered screenshots of one test's pages."""

    def __init__(self, folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.folder, self.taken = folder, 0

    async def shoot(self, page: Page, name: str) -> Path:
        self.taken += 1
        path = self.folder / f"{self.taken:02d}-{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        return path


@pytest.fixture
def camera(request: pytest.FixtureRequest) -> Camera:
    return Camera(SCREENSHOTS / re.sub(r"\W+", "_", request.node.name))
