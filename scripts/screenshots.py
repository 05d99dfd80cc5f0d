"""Screenshots of the demo report for docs/: the first PDF pages and the live report in Chromium.

    .venv/bin/python scripts/screenshots.py      # needs scripts/system-packages

Runs `tambon-bot demo` on a fresh store in a temporary folder, then `report --format pdf`,
turns the first pages into PNG with pdftoppm, and photographs the HTML report in headless
Chromium (Playwright driving Debian's chromium).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = 3


def cli(env: dict[str, str], cwd: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, cwd=cwd, check=True)


async def browser_shot(html: Path, out: Path) -> None:
    from playwright.async_api import async_playwright

    sys.path.insert(0, str(ROOT))
    from tests.test_browser import CHROMIUM_ARGS

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
        )
        page = await browser.new_page(viewport={"width": 1100, "height": 1500})
        await page.goto(html.as_uri())
        await page.evaluate("document.fonts.ready")
        await page.screenshot(path=str(out))
        await browser.close()


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        env = {
            **os.environ,
            "TAMBON_DATABASE_URL": f"sqlite:///{work}/demo.db",
            "PYTHONPATH": str(ROOT),
        }
        cli(env, work, "demo", "-o", str(work / "report.html"))
        cli(
            env,
            work,
            "report",
            "--tambon",
            "600801",
            "--format",
            "pdf",
            "-o",
            str(work / "report.pdf"),
        )
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "60",
                "-f",
                "1",
                "-l",
                str(PAGES),
                str(work / "report.pdf"),
                str(work / "page"),
            ],
            check=True,
        )
        for number, page in enumerate(sorted(work.glob("page-*.png")), start=1):
            shutil.copy(page, DOCS / f"report-page-{number}.png")
        asyncio.run(browser_shot(work / "report.html", DOCS / "report-browser.png"))
    print("\n".join(str(p.relative_to(ROOT)) for p in sorted(DOCS.glob("report-*.png"))))


if __name__ == "__main__":
    main()
