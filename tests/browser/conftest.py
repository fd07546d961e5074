"""Fixtures for real-browser tests: `solara run` + Debian's Chromium driven by Playwright.

Every test in this folder is marked `browser` automatically, so the default `pytest` run
(addopts `-m 'not slow and not browser'`) skips it; run them with `pytest -m browser`.
One-time setup (CI: `.ci/browser-setup.sh`): `apt-get install chromium` and
`python scripts/fetch_solara_assets.py` (Solara's front-end assets, offline).

Fixtures:
  solara_server  (session) URL of `solara run <app> --production` on a free 127.0.0.1 port
  start_solara   (session) factory: start_solara(app_path) -> URL, for extra apps
  browser        (session) Playwright Chromium (/usr/bin/chromium); skips if unavailable
  page           (function) fresh context + page, 1280x900; problems land in `page_errors`
  page_errors    (function) list of console errors, page errors and HTTP >= 400 responses
  open_app       (function) open_app(url=None) -> page, waits until Solara has rendered
  screenshot     (function) screenshot(page, "name") -> docs/img/name.png

Environment overrides: REE_APP (app path), REE_CHROMIUM (browser binary),
REE_SOLARA_START_TIMEOUT (s, default 90), REE_SCREENSHOT_DIR (default docs/img).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_APP = Path(os.environ.get("REE_APP", REPO_ROOT / "app.py"))
CHROMIUM = os.environ.get("REE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root in CI
    "--disable-gpu",
    "--disable-background-networking",  # no phoning home (and no hangs without internet)
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
START_TIMEOUT = float(os.environ.get("REE_SOLARA_START_TIMEOUT", "90"))
SCREENSHOT_DIR = Path(os.environ.get("REE_SCREENSHOT_DIR", REPO_ROOT / "docs" / "img"))
FETCH_SCRIPT = REPO_ROOT / "scripts" / "fetch_solara_assets.py"
# Solara has rendered: Vue app mounted, its loader ("Loading ...") gone.
RENDERED_JS = (
    "() => !!document.querySelector('.v-application')"
    " && !document.querySelector('#loader-container')"
    " && !document.querySelector('.solara-page-loading')"
)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselection
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, n: int = 40) -> str:
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    return "\n".join(lines[-n:]) or "(no output)"


def _check_assets() -> None:
    """Fail early (instead of a page stuck on "Loading") if Solara's CDN cache is not filled."""
    res = subprocess.run(
        [sys.executable, str(FETCH_SCRIPT), "--check", "--no-extras"],
        check=False,
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        pytest.fail(
            "Solara's CDN cache is incomplete; run `python scripts/fetch_solara_assets.py` "
            f"(or .ci/browser-setup.sh):\n{res.stderr[-2000:]}",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def start_solara(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., str]]:
    """Factory starting `solara run <app>`; all servers are stopped at session end."""
    procs: list[subprocess.Popen] = []
    _check_assets()

    def start(app: Path | str = DEFAULT_APP, timeout: float = START_TIMEOUT) -> str:
        app = Path(app)
        if not app.is_file():
            pytest.fail(f"Solara app not found: {app} (set REE_APP to override)", pytrace=False)
        port = _free_port()
        url = f"http://127.0.0.1:{port}/"
        log = tmp_path_factory.mktemp("solara") / "server.log"
        env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false", "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, "-m", "solara", "run", str(app), "--host", "127.0.0.1",
               "--port", str(port), "--production", "--no-open"]  # fmt: skip
        with open(log, "wb") as out:  # a file, not a pipe: a full pipe would block the server
            proc = subprocess.Popen(
                cmd, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        procs.append(proc)
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                pytest.fail(f"solara run exited with {proc.returncode}; log tail:\n{_tail(log)}",
                            pytrace=False)  # fmt: skip
            try:
                with urllib.request.urlopen(url, timeout=5):
                    return url
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"solara run did not answer on {url} within {timeout:.0f}s; "
                            f"log tail:\n{_tail(log)}", pytrace=False)  # fmt: skip
            time.sleep(0.25)

    yield start
    for proc in procs:  # our own process groups only
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture(scope="session")
def solara_server(start_solara: Callable[..., str]) -> str:
    """URL of the repo's app.py (or $REE_APP) served by `solara run --production`."""
    return start_solara(DEFAULT_APP)


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium via Playwright (Playwright's own browser download fails here)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set REE_CHROMIUM)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page_errors() -> list[str]:
    return []


@pytest.fixture
def page(browser, page_errors: list[str]):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.on("pageerror", lambda e: page_errors.append(f"pageerror: {e}"))
    pg.on("console", lambda m: m.type == "error" and page_errors.append(f"console: {m.text}"))
    pg.on("response", lambda r: r.status >= 400 and page_errors.append(f"{r.status} {r.url}"))
    yield pg
    context.close()


@pytest.fixture
def open_app(page, request: pytest.FixtureRequest) -> Callable[..., object]:
    """open_app(url=None, timeout_ms=60000): goto (default: solara_server), wait for render."""

    def go(url: str | None = None, timeout_ms: float = 60_000):
        page.goto(url or request.getfixturevalue("solara_server"))
        page.wait_for_function(RENDERED_JS, timeout=timeout_ms)
        return page

    return go


@pytest.fixture
def screenshot() -> Callable[..., Path]:
    """screenshot(page, "name", full_page=False) -> path of docs/img/name.png."""

    def shoot(pg, name: str, full_page: bool = False) -> Path:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / f"{name}.png"
        pg.screenshot(path=str(path), full_page=full_page)
        return path

    return shoot
