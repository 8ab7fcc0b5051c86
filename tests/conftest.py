"""Shared fixtures: the MNIST folder, a live app server and a real Chromium driven by Playwright.

In CI (``CI`` set) a skipped test fails the run: a missing browser, data folder or package must be
installed by the project's own scripts, never hidden behind a skip.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from benchmarks.harness import BROWSER_ARGS, ROOT, mnist_dir, start_server, stop_server, wait_for_app  # noqa: F401

ARTIFACTS = ROOT / "test-results"


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


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """A live CNN Playground server for real-browser tests (its class store a throwaway SQLite file)."""
    class_db = tmp_path_factory.mktemp("class") / "class.sqlite3"
    proc, url = start_server(
        extra_env={"PLAYGROUND_DATA_DIR": str(mnist_dir() or ""), "PLAYGROUND_CLASS_DB": str(class_db)}
    )
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
    pg.folder = out  # where shot() saves: for pictures taken by other pages of the same test
    yield pg
    context.close()


@pytest.fixture
def mnist_env(monkeypatch, mnist_path):
    """PLAYGROUND_DATA_DIR pointing at the real MNIST files, for the pages that load them."""
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(mnist_path))
    return mnist_path


@pytest.fixture
def release_sessions():
    """AppTests of one process share the session-scoped cache: release it (stopping any run) after each test."""
    yield
    import streamlit as st

    st.cache_resource.clear()
