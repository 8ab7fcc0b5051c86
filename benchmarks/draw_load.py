"""Many students drawing at once (goal: p95 ≤ 300 ms from a stroke to the finished rerun, no errors).

Run: python benchmarks/draw_load.py [--users 30] [--interval 2] [--duration 30] [--path ""] [--goal-ms 300]

Starts ``streamlit run app.py`` headless on a free loopback port (the repo's .streamlit/config.toml
applies), then ``--users`` raw websocket sessions (benchmarks/loadclient.py, no browsers) each open
the page at ``--path`` ("" = the default page), find its drawing canvas and send a new stroke every
``--interval`` seconds, staggered, for ``--duration`` seconds. Latency is measured from sending the
rerun to receiving ``script_finished``. Prints a table and one JSON line; exits 1 when p95 is over
the goal or any rerun failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadclient  # noqa: E402


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=30, help="simultaneous sessions (default 30)")
    ap.add_argument("--interval", type=float, default=2.0, help="seconds between one user's strokes")
    ap.add_argument("--duration", type=float, default=30.0, help="seconds of drawing")
    ap.add_argument("--path", default="", help='page URL path ("" = default page)')
    ap.add_argument("--canvas-key", default=None, help="key (or part of it) of the canvas widget")
    ap.add_argument("--goal-ms", type=float, default=300.0, help="p95 goal in ms (default 300)")
    ap.add_argument("--url", default=None, help="use a running server instead of starting one")
    args = ap.parse_args(argv)
    if args.users < 1 or args.interval <= 0 or args.duration <= 0:
        ap.error("--users must be >= 1; --interval and --duration must be > 0")

    proc = None
    url = args.url
    if url is None:
        proc, url = loadclient.start_app()
    try:
        cpu0, t0 = (cpu_seconds(proc.pid) if proc else None), time.perf_counter()
        result = loadclient.run_load(url, args.users, args.interval, args.duration, path=args.path,
                                     canvas_key=args.canvas_key)
        cpu1 = cpu_seconds(proc.pid) if proc else None
        # the server's CPU over set-up and drawing, % of one core (200 = both cores of a 2-core box)
        result["server_cpu_pct"] = (round(100 * (cpu1 - cpu0) / (time.perf_counter() - t0), 1)
                                    if cpu0 is not None and cpu1 is not None else None)
        result["load_average_1min"] = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    finally:
        if proc is not None:
            loadclient.stop_app(proc)

    result["goal_ms"] = args.goal_ms
    result["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    passed = result["errors"] == 0 and result["count"] > 0 and result["p95"] <= args.goal_ms
    result["pass"] = passed
    page = f"/{args.path}" if args.path else "/ (default page)"
    print(f"Drawing load on {page}: {args.users} users, a stroke every {args.interval:g} s each, "
          f"{args.duration:g} s  [{result['machine']}]")
    rows = [("reruns finished", f"{result['count']} of {result['strokes_planned']}"),
            ("errors", str(result["errors"])),
            ("p50 (ms)", f"{result['p50']:.1f}"),
            ("p95 (ms)", f"{result['p95']:.1f}   goal ≤ {args.goal_ms:g}"),
            ("max (ms)", f"{result['max']:.1f}"),
            ("mean (ms)", f"{result['mean']:.1f}"),
            ("strokes sent late", str(result["late_sends"])),
            ("set-up of all sessions (s)", f"{result['setup_s']:.2f}"),
            ("load client CPU (% of a core)", f"{result['client_cpu_pct']:.1f}"),
            ("server CPU (% of a core)", str(result["server_cpu_pct"])),
            ("machine load average (1 min)", str(result["load_average_1min"]))]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    for line in result["error_samples"]:
        print(f"  error: {line}")
    print("PASS" if passed else "FAIL")
    print(json.dumps(result))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
