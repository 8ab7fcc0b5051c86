"""scripts/serve-class.sh on 127.0.0.1: two replicas behind nginx, ten users drawing through it, each user's
page, websocket and later requests on one replica (the cookie nginx sets), a killed replica started again,
and Ctrl-C stopping everything. Bounded: about a minute, loopback only."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.harness import free_port
from benchmarks.loadclient import Session, open_canvas, run_async
from benchmarks.strokes import Scribbler
from playground.serve import cluster

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(
    cluster.find_nginx() is None or not sys.platform.startswith("linux"),
    reason="needs nginx (scripts/install-test-deps.sh installs it from Debian)",
)
USERS = 10


def replica_pids(port: int) -> list[int]:
    """Streamlit processes started with --server.port PORT."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                args = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"streamlit" in b" ".join(args) and str(port).encode() in args:
                pids.append(int(entry.name))
    return pids


class Lines:
    """The class server's output, read as it comes, with bounded waits for a line."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc, self.seen = proc, []
        os.set_blocking(proc.stdout.fileno(), False)

    def wait_for(self, pattern: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = self.proc.stdout.read()
            if chunk:
                self.seen += chunk.decode(errors="replace").splitlines()
            hit = next((line for line in self.seen if re.search(pattern, line)), None)
            if hit is not None:
                return hit
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"no line matching {pattern!r} within {timeout} s; output: {self.seen}")


async def users_draw(url: str) -> list[dict]:
    async def one(i: int) -> dict:
        s = Session(url, timeout_s=60)
        await s.connect()
        try:
            page_replica = (await asyncio.to_thread(s.get, ""))[1]  # the page again, with the cookie it set
            first = await s.rerun()
            assert first.ok, first.problem()
            await open_canvas(s)
            scribbler = Scribbler(i)
            for _ in range(2):
                png, objects = scribbler.next()
                run = await s.draw(png, objects)
                assert run.ok, run.problem()
            prediction = next(e.proto.body for e in s.elements if e.kind == "markdown" and "Prediction" in e.proto.body)
            later = [(await asyncio.to_thread(s.get, path))[1] for path in ("/_stcore/health", "/draw")]
            return {
                "cookie": s.cookie_header(),
                "ws": s.replica,
                "page": page_replica,
                "later": later,
                "said": prediction,
            }
        finally:
            await s.close()

    return await asyncio.gather(*(one(i) for i in range(USERS)))


def test_two_replicas_behind_nginx_keep_each_user_on_one_and_restart_a_dead_one():
    port, first = free_port(), free_port()
    while abs(first - port) < 3:
        first = free_port()
    proc = subprocess.Popen(
        ["bash", "scripts/serve-class.sh", "--replicas", "2", "--port", str(port), "--host", "127.0.0.1"]
        + ["--first-replica-port", str(first)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # a process group of its own, as in a terminal
    )
    out = Lines(proc)
    try:
        ready = out.wait_for(r"CNN Playground for a class", 150)
        assert f"http://127.0.0.1:{port}" in ready and "2 replicas" in ready
        cores = os.cpu_count() or 1
        assert f"{cores} training slot(s) shared by them" in ready
        pools = set()
        for replica_port in (first, first + 1):  # both replicas take their training slots from one pool
            (pid,) = replica_pids(replica_port)
            env = dict(v.split("=", 1) for v in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in v)
            assert env["PLAYGROUND_MAX_TRAININGS"] == str(cores)
            pools.add(env["PLAYGROUND_TRAINING_SLOTS"])
        assert len(pools) == 1
        seen = run_async(users_draw(f"http://127.0.0.1:{port}"))  # also beside Playwright's loop
        replicas = {f"127.0.0.1:{first}", f"127.0.0.1:{first + 1}"}
        for user in seen:
            assert user["cookie"].startswith(f"{cluster.COOKIE}=")
            assert user["ws"] in replicas, user
            assert user["page"] == user["ws"] and user["later"] == [user["ws"]] * 2, user  # sticky
            assert "Prediction:" in user["said"]
        assert len({u["cookie"] for u in seen}) == USERS  # one key per browser, not per address
        # browsers from one address are spread over both: 64 first visits all on one replica would
        # happen once in 2^63 runs if the key were random, every time if nginx hashed the address
        firsts = {Session(f"http://127.0.0.1:{port}").get("")[1] for _ in range(64)}
        assert firsts == replicas
        # a replica that dies is started again on its port
        (victim,) = replica_pids(first + 1)
        os.kill(victim, signal.SIGKILL)
        out.wait_for(rf"replica 1 \(port {first + 1}\) exited with code -9: starting it again", 30)
        deadline = time.monotonic() + 120
        while not cluster.healthy(first + 1) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert cluster.healthy(first + 1) and replica_pids(first + 1) != [victim]
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole foreground group gets it
        try:
            code = proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0 and "The class server stopped." in "\n".join(out.seen + [(proc.stdout.read() or b"").decode()])
    assert replica_pids(first) == [] and replica_pids(first + 1) == []
    assert not cluster.healthy(first) and not cluster.healthy(port)


def test_the_printed_configuration_for_other_machines_is_one_nginx_accepts(tmp_path, capsys):
    """--print-nginx: the same configuration with upstreams on other hosts (README, a big class)."""
    assert cluster.main(["--print-nginx", "10.0.0.5:8501", "10.0.0.6:8501", "--workdir", str(tmp_path)]) == 0
    conf = capsys.readouterr().out
    assert "server 10.0.0.5:8501" in conf and "server 10.0.0.6:8501" in conf and "hash $replica_key consistent" in conf
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / kind).mkdir()
    (tmp_path / "nginx.conf").write_text(conf)
    test = subprocess.run(
        [cluster.find_nginx(), "-t", "-q", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert test.returncode == 0, test.stderr
    assert cluster.main(["--print-nginx", "10.0.0.5"]) == 2  # no port: one line, exit 2
    assert "Not HOST:PORT: 10.0.0.5" in capsys.readouterr().err
