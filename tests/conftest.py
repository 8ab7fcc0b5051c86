"""Shared fixtures: the MNIST folder, a live app server and a real Chromium driven by Playwright.

In CI (``CI`` set) a skipped test fails the run: a missing browser, data folder or package must be
installed by the project's own scripts, never hidden behind a skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-results"
BROWSER_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]


def mnist_dir() -> Path | None:
    """The folder with the MNIST IDX files: $PLAYGROUND_DATA_DIR, else ../shared/data/mnist."""
    for candidate in (os.environ.get("PLAYGROUND_DATA_DIR"), ROOT.parent / "shared" / "data" / "mnist"):
        if candidate and (Path(candidate) / "t10k-images-idx3-ubyte.gz").exists():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    path = mnist_dir()
    if path is None:
        pytest.skip(
            "MNIST files not found: put t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz in "
            "$PLAYGROUND_DATA_DIR or ../shared/data/mnist"
        )
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run every test: {report.longrepr}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(extra_env: dict[str, str] | None = None, timeout: float = 60.0):
    """Start ``streamlit run app.py`` on a free loopback port; return (process, base_url)."""
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the app server exited during start-up")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the app server did not answer /_stcore/health in time")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def app_url():
    """A live CNN Playground server for real-browser tests."""
    proc, url = start_server(extra_env={"PLAYGROUND_DATA_DIR": str(mnist_dir() or "")})
    yield url
    stop_server(proc)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (Playwright's own download needs the internet)."""
    playwright = pytest.importorskip("playwright.sync_api")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    with playwright.sync_playwright() as p:
        kwargs = {"args": BROWSER_ARGS}
        if executable:
            kwargs["executable_path"] = executable
        b = p.chromium.launch(**kwargs)
        yield b
        b.close()


@pytest.fixture()
def page(browser, request):
    """A fresh browser page; ``page.shot(name)`` saves a screenshot under test-results/<test name>/."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    out = ARTIFACTS / request.node.name
    out.mkdir(parents=True, exist_ok=True)

    def shot(name: str, height: int | None = None) -> Path:
        """Save a screenshot; ``height`` first grows the window so a long page is captured whole
        (Streamlit scrolls inside the app, so a full-page shot alone stops at the window)."""
        path = out / f"{name}.png"
        if height:
            pg.set_viewport_size({"width": 1400, "height": height})
            pg.wait_for_timeout(800)
        pg.screenshot(path=str(path), full_page=True)
        if height:
            pg.set_viewport_size({"width": 1400, "height": 1000})
        return path

    pg.shot = shot
    yield pg
    context.close()


def wait_for_app(pg, timeout: float = 30_000) -> None:
    """Wait until Streamlit has rendered and finished running the script."""
    pg.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    pg.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && document.querySelector('[data-testid=\"stMainBlockContainer\"]')",
        timeout=timeout,
    )
