"""Render what a planner sees to PNG: every app view in both languages and every report page.

Run with ``python docs/render_images.py [--size default] [--out docs/images]``. Builds the
demo city when missing (``--demo-dir``, default a folder in the system's temporary folder),
then

* writes the city report in Chinese and English and the report of one district (PDF) with
  ``coverage report`` and renders every page with ``pdftoppm`` (poppler-utils):
  ``report-<lang>-<scope>-p<N>.png``;
* starts ``coverage app`` on it and, with Playwright driving Debian's Chromium, saves each
  view in both languages: the map of the city, the map shaded by the coverage gap with the
  migrants' density, a district, each tab (indicators, a computed recommendation, the
  scenario after a service point added on the map, downloads) and the import page:
  ``app-<lang>-<view>.png``.

Base-map tiles are blocked (no network needed): the maps show the communities on white.
Look at the images before a change that touches what a person sees is called done.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
LANGS = ("zh", "en")


def _coverage() -> str:
    return str(Path(sys.executable).with_name("coverage"))


def _run(*args: str) -> None:
    subprocess.run([_coverage(), *args], check=True, env={**os.environ, "NO_COLOR": "1"},
                   stdout=subprocess.DEVNULL)


def demo_city(size: str, folder: Path) -> Path:
    """Return the demo project, built with its results when missing."""
    if not (folder / "results" / "results.gpkg").exists():
        print(f"building the {size} demo city in {folder} ...", flush=True)
        _run("demo", "--size", size, "--out", str(folder))
    return folder


def report_pages(project: Path, out: Path, district: str) -> list[Path]:
    """Write the reports (city in both languages, one district in Chinese); PNG every page."""
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        for lang, scope in (("zh", None), ("en", None), ("zh", district)):
            folder = Path(tmp) / f"{lang}-{scope or 'city'}"
            args = ["report", str(project), "--format", "pdf", "--lang", lang,
                    "--out", str(folder)]
            if scope:
                args += ["--district", scope]
            _run(*args)
            pdf = next(folder.glob("*.pdf"))
            prefix = out / f"report-{lang}-{'district' if scope else 'city'}-p"
            for old in out.glob(f"{prefix.name}*.png"):
                old.unlink()
            subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(prefix)], check=True)
            for page in sorted(out.glob(f"{prefix.name}-*.png")):
                number = int(page.stem.rsplit("-", 1)[1])  # pdftoppm writes -01, -001, ...
                final = page.with_name(f"{prefix.name}{number}.png")
                page.rename(final)
                written.append(final)
    return written


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("the app stopped") from None
            time.sleep(0.5)
    raise SystemExit("the app did not start")


def app_views(project: Path, out: Path, district: str) -> list[Path]:
    """Screenshot every view of the app in both languages."""
    from playwright.sync_api import expect, sync_playwright

    from coverage.messages import text

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("install Debian's chromium to render the app")
    port = _port()
    proc = subprocess.Popen([_coverage(), "app", str(project), "--port", str(port),
                             "--no-show"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "NO_COLOR": "1"})
    url = f"http://localhost:{port}/"
    written: list[Path] = []
    try:
        _wait(url, proc)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=ARGS)
            for lang in LANGS:
                def t(key: str, lang: str = lang) -> str:
                    return text("app", key, lang)

                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.route("http*://*.openstreetmap.org/**", lambda r: r.abort())

                def choose(label: str, option: str, page=page) -> None:
                    page.get_by_label(label, exact=True).select_option(label=option)

                def shot(view: str, page=page, lang: str = lang) -> None:
                    page.wait_for_timeout(1200)  # the map draws after the data arrive
                    path = out / f"app-{lang}-{view}.png"
                    page.screenshot(path=str(path), full_page=True)
                    written.append(path)

                page.goto(f"{url}?lang={lang}")
                expect(page.locator(".cov-card[data-key=sites] .cov-card-value")
                       ).not_to_have_text("…", timeout=120_000)
                shot("map")
                tabs = page.locator(".bk-tab")
                # shading by the gap, with the migrants' density
                density = page.locator("label", has_text=t("layer_density")).locator("input")
                choose(t("indicator"), t("ind_gap"))
                density.check()
                shot("gap-density")
                density.uncheck()
                choose(t("indicator"), t("ind_coverage"))
                # one district
                choose(t("district"), district)
                shot("district")
                choose(t("district"), t("all_districts"))
                # the tabs: indicators (open at first), recommendation, scenario, downloads
                shot("indicators")
                tabs.nth(1).click()
                page.get_by_role("button", name=t("rec_run")).click()
                expect(page.locator(".cov-recommend table")).to_be_visible(timeout=120_000)
                shot("recommend")
                status = page.locator(".cov-status")
                before = status.inner_text()
                boxes = [c.bounding_box() for c in page.locator("canvas").all()]
                box = max((b for b in boxes if b), key=lambda b: b["width"] * b["height"])
                page.mouse.click(box["x"] + 0.45 * box["width"], box["y"] + 0.5 * box["height"])
                expect(status).not_to_have_text(before, timeout=60_000)
                tabs.nth(2).click()
                expect(page.locator(".cov-compare table")).to_be_visible(timeout=60_000)
                shot("scenario")
                tabs.nth(3).click()
                shot("downloads")
                page.goto(f"{url}import?lang={lang}")
                page.wait_for_load_state("networkidle")
                shot("import")
                page.close()
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return written


def main() -> None:
    """Render the images."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="default", choices=["small", "default", "large"])
    parser.add_argument("--demo-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "images")
    parser.add_argument("--district", default=None,
                        help="District of the district report and view (default: the first).")
    parser.add_argument("--skip-reports", action="store_true")
    parser.add_argument("--skip-app", action="store_true")
    args = parser.parse_args()
    if shutil.which("pdftoppm") is None and not args.skip_reports:
        raise SystemExit("install poppler-utils (pdftoppm) to render the report pages")
    folder = args.demo_dir or Path(tempfile.gettempdir()) / f"coverage-images-{args.size}"
    project = demo_city(args.size, folder)
    district = args.district
    if district is None:
        from coverage.engine.session import PlanningSession

        layer = PlanningSession.open(project).layers["community_summary"]
        district = sorted(layer["district"].astype(str).unique())[0]
    args.out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if not args.skip_reports:
        written += report_pages(project, args.out, district)
    if not args.skip_app:
        written += app_views(project, args.out, district)
    for path in written:
        print(path)


if __name__ == "__main__":
    main()
