"""Download data files safely: stream to ``<file>.part``, check md5, then rename (stdlib only).

Used for MNIST / Fashion-MNIST. Every failure (offline, refused, slow, cut short, wrong checksum,
a web page instead of the file, a folder that cannot be written) removes the partial file and
raises :class:`DataError` with one sentence naming the folder and the exact file names a user
can put there by hand. Nothing blocks longer than ``timeout`` seconds without progress, and
name resolution is bounded too (an offline laptop on hotel Wi-Fi must not hang the app).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from playground.data.idx import GZIP_MAGIC, DataError

Progress = Callable[[int, "int | None"], None]  # (bytes done, total bytes or None when unknown)
DEFAULT_TIMEOUT = 10.0  # seconds: connect and each read
CHUNK = 1 << 16


@dataclass(frozen=True)
class RemoteFile:
    """One file of a data set: its standard name and the published md5 of exactly those bytes."""

    name: str
    md5: str


def md5sum(path: str | Path) -> str:
    """Hex md5 of a file (the checksum MNIST and Fashion-MNIST publish)."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _lookups(urls: Sequence[str], timeout: float) -> dict[str, str | None]:
    """Resolve every URL's host at once, all within one ``timeout`` (socket timeouts do not cover DNS
    lookups, and offline each lookup can hang for its whole timeout: two mirrors looked up one after the
    other made a user wait twice as long). Returns url -> None when it resolved, else the problem."""
    results: dict[str, str | None] = {}
    workers = []
    for url in urls:
        parts = urlsplit(url)
        host = parts.hostname
        if not host:
            results[url] = f"bad URL {url!r}"
        elif urllib.request.getproxies().get(parts.scheme) and not urllib.request.proxy_bypass(host):
            results[url] = None  # behind a proxy the proxy resolves the name, not us
        else:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            worker = threading.Thread(target=_lookup, args=(url, host, port, results), daemon=True)
            worker.start()
            workers.append((url, host, worker))
    deadline = time.monotonic() + timeout
    for url, host, worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
        if url not in results:
            results[url] = f"looking up {host} took longer than {timeout:g} s"
    return dict(results)


def _lookup(url: str, host: str, port: int, results: dict[str, str | None]) -> None:
    try:
        socket.getaddrinfo(host, port)
        results.setdefault(url, None)
    except OSError:
        results.setdefault(url, f"cannot find {host} (offline?)")


def _fetch_one(url: str, part: Path, timeout: float, progress: Progress | None) -> None:
    """Stream url into part; raise OSError / ValueError describing the problem (caller cleans up)."""
    request = urllib.request.Request(url, headers={"User-Agent": "cnn-playground"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        done = 0
        if progress:
            progress(0, total)
        with open(part, "wb") as out:
            head = b""
            while True:
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                if len(head) < 2:
                    head += chunk[:2]
                    if len(head) >= 2 and head[:2] != GZIP_MAGIC:
                        kind = "a web page" if (head + chunk).lstrip()[:1] == b"<" else "something else"
                        raise ValueError(f"the server sent {kind}, not a gzip data file")
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
            out.flush()
            os.fsync(out.fileno())
    if total is not None and done != total:
        raise ValueError(f"the download was cut short ({done:,} of {total:,} bytes)")
    if done == 0:
        raise ValueError("the server sent an empty file")


def _describe(exc: BaseException) -> str:
    """Short human reason for a failed attempt."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, ConnectionRefusedError):
            return "connection refused"
        if isinstance(reason, (TimeoutError, socket.timeout)):
            return "no answer (timed out)"
        return str(reason)
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "no answer (timed out)"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return str(exc) or type(exc).__name__


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def fetch_files(
    files: Sequence[RemoteFile],
    dest_dir: str | Path,
    base_urls: Sequence[str],
    *,
    title: str = "the data set",
    progress: Progress | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Path]:
    """Download each missing file from the first mirror that works; return the final paths.

    Files already present with the right md5 are kept. ``progress(done, total)`` is called per
    file (done restarts at 0). Raises DataError naming ``dest_dir`` and the file names on failure.
    """
    dest = Path(dest_dir)
    names = " and ".join(f.name for f in files)
    by_hand = f"put {names} in {dest} by hand (from {base_urls[0] if base_urls else 'a mirror'})"
    created = _missing_ancestors(dest)
    try:
        dest.mkdir(parents=True, exist_ok=True)
        probe = dest / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError:
        _remove_empty(created)
        raise DataError(
            f"Cannot write to the data folder {dest}: choose another folder with --data-dir "
            f"or PLAYGROUND_DATA_DIR, or {by_hand}."
        ) from None
    try:
        return _fetch_all(files, dest, base_urls, title, by_hand, progress, timeout)
    except DataError:
        _remove_empty(created)  # leave no empty folders behind after a failed attempt
        raise


def _missing_ancestors(path: Path) -> list[Path]:
    """The folders mkdir(parents=True) would create for path, deepest first."""
    missing = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    return missing


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def _fetch_all(
    files: Sequence[RemoteFile],
    dest: Path,
    base_urls: Sequence[str],
    title: str,
    by_hand: str,
    progress: Progress | None,
    timeout: float,
) -> list[Path]:
    paths = []
    for item in files:
        final = dest / item.name
        if final.is_file() and md5sum(final) == item.md5:
            paths.append(final)
            continue
        part = final.with_name(final.name + ".part")
        urls = [base.rstrip("/") + "/" + item.name for base in base_urls]
        found = _lookups(urls, timeout)
        problems = []
        for url in urls:
            if found[url] is not None:
                problems.append(f"{url}: {found[url]}")
                continue
            try:
                _fetch_one(url, part, timeout, progress)
                got = md5sum(part)
                if got != item.md5:
                    raise ValueError(f"checksum mismatch (md5 {got}, expected {item.md5})")
                os.replace(part, final)
                break
            except (OSError, ValueError, http.client.HTTPException) as exc:
                problems.append(f"{url}: {_describe(exc)}")
            finally:
                _remove(part)  # also on Ctrl+C; after a successful rename there is nothing to remove
        else:
            raise DataError(
                f"Could not download {title} file {item.name} into {dest} "
                f"({'; '.join(problems) or 'no mirror given'}); {by_hand}, or try again when online."
            )
        paths.append(final)
    return paths


def format_progress(done: int, total: int | None, width: int = 30) -> str:
    """Text progress bar: '[#########.........]  31%  0.5/1.6 MB' (or bytes only when total unknown)."""
    mb = done / 1e6
    if not total:
        return f"{mb:.1f} MB"
    frac = min(1.0, max(0.0, done / total))
    filled = int(round(frac * width))
    return f"[{'#' * filled}{'.' * (width - filled)}] {frac * 100:3.0f}%  {mb:.1f}/{total / 1e6:.1f} MB"


class ProgressBar:
    """A ``progress`` callback that draws a one-line bar on a terminal stream (stderr by default)."""

    def __init__(self, label: str = "downloading", stream: TextIO | None = None, min_interval: float = 0.1):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.min_interval = min_interval
        self._last_done = -1
        self._last_time = 0.0
        self._line_open = False

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        if done < self._last_done:  # a new file started
            self.close()
        elif not finished and done and now - self._last_time < self.min_interval:
            return
        self._last_done, self._last_time = done, now
        self.stream.write(f"\r{self.label} {format_progress(done, total)}")
        self._line_open = True
        if finished:
            self.close()
        self.stream.flush()

    def close(self) -> None:
        """End the current bar's line (call after an interrupted download)."""
        if self._line_open:
            self.stream.write("\n")
            self.stream.flush()
            self._line_open = False
