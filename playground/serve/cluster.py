"""Several app servers behind one address, for a class: ``bash scripts/serve-class.sh --replicas N --port P``.

One Streamlit process serves one script run at a time (the interpreter lock), so a class of 60 drawing at
once needs more than one. This starts ``--replicas`` Streamlit processes on loopback ports and nginx in front
on ``--port``:

- websockets upgraded on every path (``/_stcore/stream``), read timeouts of a day, uploads up to the app's
  own limit;
- **sticky sessions on a cookie nginx sets itself** (``playground_replica``: a random key on the first
  response, hashed consistently to a replica), not on the client address: a lecture hall behind one campus
  NAT arrives from one address. A tab's websocket, its uploads and its pictures all reach the replica that
  holds its session. Each response names the replica in ``X-Playground-Replica``;
- the same ``server.cookieSecret`` for every replica (a fresh one per start);
- training slots shared by all replicas: together they train at most as many runs at once as the machine has
  cores, any replica using a free slot (``playground.serve.slots``: a pool of lock files in the working
  folder, ``$PLAYGROUND_TRAINING_SLOTS``);
- health checks every ``CHECK_S``: a replica that exits, or fails ``FAILS`` checks in a row, is started
  again on its port (its users see Streamlit reconnect, and the page says their session started afresh);
- Ctrl-C (or SIGTERM) stops nginx and every replica it started, and removes its working folder.

The nginx configuration is written by :func:`nginx_config`; with other hosts' addresses as upstreams the
same file serves several machines (README, "Running it for a big class").
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from playground.serve.jobs import ENV_CAP, max_trainings
from playground.serve.slots import ENV_SLOTS

ROOT = Path(__file__).resolve().parents[2]
COOKIE = "playground_replica"
CHECK_S = 2.0
FAILS = 3  # failed health checks in a row before a live but silent replica is restarted
START_S = 120.0  # a replica's cold start (torch, the model) must finish within this
UPLOAD_MB = 40  # above the app's largest upload (server.maxUploadSize = 32): the app gives the message


def nginx_config(upstreams: list[str], listen: str, workdir: Path, user: str | None = None) -> str:
    """nginx.conf for the replicas at ``upstreams`` ("127.0.0.1:8601" or "host:port" on other machines)."""
    servers = "\n".join(f"    server {u} max_fails=1 fail_timeout=3s;" for u in upstreams)
    temp = "\n".join(
        f"  {kind}_temp_path {workdir / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""# written by playground/serve/cluster.py
{f"user {user};" if user else ""}
worker_processes 1;
pid {workdir / "nginx.pid"};
error_log {workdir / "nginx-error.log"} warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
{temp}
  client_max_body_size {UPLOAD_MB}m;
  # the replica a browser sticks to: its cookie, or (first request) a new random key
  map $cookie_{COOKIE} $replica_key {{ "" $request_id; default $cookie_{COOKIE}; }}
  map $http_upgrade $connection_upgrade {{ default upgrade; "" ""; }}
  upstream playground {{
    hash $replica_key consistent;
{servers}
    keepalive 64;
  }}
  server {{
    listen {listen};
    location / {{
      proxy_pass http://playground;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_read_timeout 1d;
      proxy_send_timeout 1d;
      proxy_buffering off;
      proxy_next_upstream error timeout http_502 http_503;
      add_header Set-Cookie "{COOKIE}=$replica_key; Path=/; Max-Age=86400; SameSite=Lax; HttpOnly" always;
      add_header X-Playground-Replica $upstream_addr always;
    }}
  }}
}}
"""


def find_nginx() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def healthy(port: int, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


@dataclass
class Replica:
    """One Streamlit process of the class server."""

    index: int
    port: int
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen | None = None
    fails: int = 0
    started: float = 0.0

    def start(self) -> None:
        cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(self.port)]
        cmd += ["--server.address", "127.0.0.1", "--server.headless", "true"]
        with self.log.open("ab") as out:
            # a session of its own: a terminal's Ctrl-C reaches this supervisor, which stops the replicas itself
            self.proc = subprocess.Popen(
                cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.started, self.fails = time.monotonic(), 0

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def check(self) -> str:
        """ "" when fine (or still starting); else why it is being restarted."""
        if self.proc is None:
            return "not started"
        code = self.proc.poll()
        if code is not None:
            return f"exited with code {code}"
        if healthy(self.port):
            self.fails = 0
            return ""
        if time.monotonic() - self.started < START_S:
            return ""  # still starting
        self.fails += 1
        return f"failed {self.fails} health checks" if self.fails >= FAILS else ""


def replica_env(secret: str, slots: int, pool: Path) -> dict[str, str]:
    """A replica's environment: the shared cookie secret, and the machine's ``slots`` training slots in the
    pool folder every replica shares (each may use all of them while the others train nothing)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", ENV_CAP: str(slots), ENV_SLOTS: str(pool)}
    env["STREAMLIT_SERVER_COOKIE_SECRET"] = secret
    return env


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="serve-class.sh", description=__doc__.split("\n\n")[0])
    ap.add_argument("--replicas", type=int, default=2, help="Streamlit processes (default 2; about one per core)")
    ap.add_argument("--port", type=int, default=8500, help="the address students open (default 8500)")
    ap.add_argument("--host", default="0.0.0.0", help="interface nginx listens on (default: all)")
    ap.add_argument("--first-replica-port", type=int, help="replicas listen from here up (default PORT+1)")
    ap.add_argument(
        "--print-nginx",
        nargs="+",
        metavar="HOST:PORT",
        help="only print the nginx configuration for app servers already running at these addresses "
        "(other machines too; their folders go under --workdir) and exit",
    )
    ap.add_argument("--workdir", type=Path, default=Path("/var/lib/playground-nginx"), help="with --print-nginx")
    args = ap.parse_args(argv)
    if args.print_nginx:
        bad = [u for u in args.print_nginx if not re.fullmatch(r"[A-Za-z0-9.\-\[\]:]+:\d{1,5}", u)]
        if bad:
            print(f"Not HOST:PORT: {bad[0]}", file=sys.stderr)
            return 2
        print(nginx_config(args.print_nginx, f"{args.host}:{args.port}", args.workdir), end="")
        return 0
    if not 1 <= args.replicas <= 64:
        print("--replicas must be between 1 and 64.", file=sys.stderr)
        return 2
    nginx = find_nginx()
    if nginx is None:
        print(
            "nginx is not installed: bash scripts/serve-class.sh installs it (apt-get install nginx).", file=sys.stderr
        )
        return 2
    first = args.first_replica_port or args.port + 1
    workdir = Path(tempfile.mkdtemp(prefix="playground-class-"))
    user = None
    if os.geteuid() == 0:  # nginx's worker drops to "nobody": let it write its temp folders
        import grp
        import pwd

        nobody = pwd.getpwnam("nobody")
        user = f"nobody {grp.getgrgid(nobody.pw_gid).gr_name}"
        os.chmod(workdir, 0o755)
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (workdir / kind).mkdir()
        if user:
            os.chown(workdir / kind, nobody.pw_uid, nobody.pw_gid)
    secret, slots, pool = secrets.token_hex(32), max_trainings(), workdir / "training-slots"
    replicas = [
        Replica(i, first + i, replica_env(secret, slots, pool), workdir / f"replica-{i}.log")
        for i in range(args.replicas)
    ]
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    proxy = None
    try:
        for r in replicas:
            r.start()
        deadline = time.monotonic() + START_S
        while not stopping and not all(healthy(r.port) for r in replicas):
            dead = [r for r in replicas if r.proc.poll() is not None]
            if dead or time.monotonic() > deadline:
                why = f"replica {dead[0].index} exited" if dead else "the replicas did not start in time"
                tail = (dead[0] if dead else replicas[0]).log.read_text(errors="replace").splitlines()[-15:]
                print(f"{why}. The end of its log:\n" + "\n".join(tail), file=sys.stderr)
                return 1
            time.sleep(0.3)
        if stopping:
            return 0
        conf = workdir / "nginx.conf"
        conf.write_text(
            nginx_config([f"127.0.0.1:{r.port}" for r in replicas], f"{args.host}:{args.port}", workdir, user)
        )
        test = subprocess.run([nginx, "-t", "-q", "-p", str(workdir), "-c", str(conf)], capture_output=True, text=True)
        if test.returncode != 0:
            print(f"nginx refused its configuration: {test.stderr.strip()}", file=sys.stderr)
            return 1
        proxy = subprocess.Popen(
            [nginx, "-p", str(workdir), "-c", str(conf), "-g", "daemon off;"], start_new_session=True
        )
        shown = "localhost" if args.host in ("0.0.0.0", "::") else args.host
        print(
            f"CNN Playground for a class: http://{shown}:{args.port}  ({args.replicas} replicas on ports "
            f"{first}–{first + args.replicas - 1}, {slots} training slot(s) shared by them; Ctrl-C stops everything)",
            flush=True,
        )
        next_check = time.monotonic() + CHECK_S
        while not stopping:
            time.sleep(0.2)
            if stopping:
                break
            if proxy.poll() is not None:
                print(f"nginx exited with code {proxy.returncode}; see {workdir / 'nginx-error.log'}", file=sys.stderr)
                return 1
            if time.monotonic() < next_check:
                continue
            next_check = time.monotonic() + CHECK_S
            for r in replicas:
                why = r.check()
                if why and not stopping:
                    print(f"replica {r.index} (port {r.port}) {why}: starting it again", flush=True)
                    r.stop()
                    r.start()
        return 0
    finally:
        if proxy is not None and proxy.poll() is None:
            proxy.terminate()
            try:
                proxy.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proxy.kill()
        for r in replicas:
            r.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        print("The class server stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
