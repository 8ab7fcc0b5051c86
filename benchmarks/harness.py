"""The live app server and the browser settings that the tests and the benchmarks share.

A Streamlit server on a free loopback port (only 127.0.0.1 is ever contacted), the MNIST folder the
tests read, Debian Chromium's launch flags for a machine with no internet, and the wait for a page
whose script has finished.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BROWSER_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def mnist_dir() -> Path | None:
    """The folder with the MNIST IDX files: $PLAYGROUND_DATA_DIR, else ../shared/data/mnist."""
    for candidate in (os.environ.get("PLAYGROUND_DATA_DIR"), ROOT.parent / "shared" / "data" / "mnist"):
        if candidate and (Path(candidate) / "t10k-images-idx3-ubyte.gz").exists():
            return Path(candidate)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    extra_env: dict[str, str] | None = None, timeout: float = 60.0, root: Path = ROOT, port: int | None = None
):
    """Start ``streamlit run app.py`` of the checkout at ``root`` on ``port`` of 127.0.0.1 (default: a free
    one); return (process, base_url)."""
    port = port or free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(root / "app.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
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


def wait_for_app(pg, timeout: float = 30_000) -> None:
    """Wait until Streamlit has rendered and finished running the script."""
    pg.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    pg.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && document.querySelector('[data-testid=\"stMainBlockContainer\"]')",
        timeout=timeout,
    )


def open_class_room(pg, url: str, timeout: float = 60_000) -> str:
    """As a lecturer: open the Class page of the server at ``url``, open a new room; the room's code as shown."""
    pg.goto(url + "/class")
    wait_for_app(pg)
    pg.get_by_role("button", name="Open a new room").click()
    code = pg.locator(".class-code")
    code.wait_for(timeout=timeout)
    return code.inner_text().strip()
