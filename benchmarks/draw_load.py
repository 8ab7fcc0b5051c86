"""Many students drawing at once (goal: p95 ≤ 300 ms from a stroke to the finished rerun, no errors;
≤ 600 ms while trainings run).

Run: python -m benchmarks.draw_load [--users 30] [--interval 2] [--duration 30] [--path ""] [--goal-ms 300]
                                    [--trainers 0] [--train-preset keras-mnist] [--train-epochs 100]

Starts ``streamlit run app.py`` headless on a free loopback port (the repo's .streamlit/config.toml
applies), then ``--users`` raw websocket sessions (benchmarks/loadclient.py, no browsers) each open
the page at ``--path`` ("" = the default page), find its drawing canvas and send a new stroke every
``--interval`` seconds, staggered, for ``--duration`` seconds. Latency is measured from sending the
rerun to receiving ``script_finished``. Prints a table and one JSON line; exits 1 when p95 is over
the goal or any rerun failed.

With ``--trainers N`` N sessions first open the Train page, choose the preset on all 7,000 MNIST
images for ``--train-epochs`` epochs and press Start (``loadtrain.start_training``); they stay open
and refresh their live curves as a browser tab does while the users draw, and are stopped at the
end. The server trains at most its cap at once (``PLAYGROUND_MAX_TRAININGS``, default the CPU
count), the others wait in its queue: the report says how many ran and waited, and each training's
steps before and after the drawing. Then the run also fails when no training made progress or a
training tab's refresh failed. The goal defaults to 600 ms with trainers.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

from benchmarks import loadclient, loadrun, loadtrain


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def training_report(trainings, before, after, seconds: float, marks: list[int]) -> dict:
    """How the trainings fared between the two status reads around the drawing (``marks``: each
    tab's count of live refreshes at the first read)."""
    cap = next((s.cap for s in before + after if s.cap), None)
    steps_b = [s.step or 0 for s in before]
    steps_a = [s.step or 0 for s in after]
    latencies = [x for t, m in zip(trainings.tabs, marks) for x in t.poll_latencies[m:]]
    return {
        "started": len(before),
        "running": sum(s.state == "running" for s in before),
        "waiting": sum(s.waiting for s in before),
        "cap": cap,
        "states_before": [s.state for s in before],
        "states_after": [s.state for s in after],
        "steps_before": steps_b,
        "steps_after": steps_a,
        "progressed": sum(a > b for a, b in zip(steps_a, steps_b)),
        "steps_per_s": [round((a - b) / seconds, 1) for a, b in zip(steps_a, steps_b)],
        "seconds": round(seconds, 1),
        "refreshes": len(latencies),
        "refresh_p50": round(loadrun.percentile(latencies, 50), 1),
        "refresh_p95": round(loadrun.percentile(latencies, 95), 1),
        "errors": list(trainings.errors),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=30, help="simultaneous sessions (default 30)")
    ap.add_argument("--interval", type=float, default=2.0, help="seconds between one user's strokes")
    ap.add_argument("--duration", type=float, default=30.0, help="seconds of drawing")
    ap.add_argument("--path", default="", help='page URL path ("" = default page)')
    ap.add_argument("--canvas-key", default=None, help="key (or part of it) of the canvas widget")
    ap.add_argument("--goal-ms", type=float, default=None, help="p95 goal in ms (default 300; 600 with --trainers)")
    ap.add_argument("--trainers", type=int, default=0, help="sessions training on the Train page meanwhile")
    ap.add_argument("--train-preset", default="keras-mnist", help="the preset they train (default keras-mnist)")
    ap.add_argument("--train-epochs", type=int, default=100, help="epochs they are set to (default 100: minutes)")
    ap.add_argument(
        "--no-train-refresh",
        action="store_true",
        help="training tabs do not refresh their live fragments (a browser tab does)",
    )
    ap.add_argument("--url", default=None, help="use a running server instead of starting one")
    args = ap.parse_args(argv)
    if args.users < 1 or args.interval <= 0 or args.duration <= 0:
        ap.error("--users must be >= 1; --interval and --duration must be > 0")
    if args.trainers < 0:
        ap.error("--trainers must be >= 0")
    if args.goal_ms is None:
        args.goal_ms = 600.0 if args.trainers else 300.0

    proc = None
    url = args.url
    if url is None:
        proc, url = loadclient.start_app()
    trainings = None
    train: dict | None = None
    try:
        if args.trainers:
            trainings = loadtrain.start_training(
                url, args.trainers, preset=args.train_preset, epochs=args.train_epochs, poll=not args.no_train_refresh
            )
            before, t_before = trainings.status(), time.perf_counter()
            marks = [len(t.poll_latencies) for t in trainings.tabs]
        cpu0, t0 = (cpu_seconds(proc.pid) if proc else None), time.perf_counter()
        result = loadrun.run_load(
            url, args.users, args.interval, args.duration, path=args.path, canvas_key=args.canvas_key
        )
        cpu1 = cpu_seconds(proc.pid) if proc else None
        # the server's CPU over set-up and drawing, % of one core (200 = both cores of a 2-core box)
        result["server_cpu_pct"] = (
            round(100 * (cpu1 - cpu0) / (time.perf_counter() - t0), 1)
            if cpu0 is not None and cpu1 is not None
            else None
        )
        result["load_average_1min"] = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
        if trainings is not None:
            after, t_after = trainings.status(), time.perf_counter()
            train = training_report(trainings, before, after, t_after - t_before, marks)
    finally:
        if trainings is not None:
            try:
                final = trainings.stop()
                if train is not None:
                    train["final_states"] = [f.state for f in final]
            except loadtrain.TrainingError as e:
                if train is not None:
                    train["errors"].append(f"stopping: {e}")
        if proc is not None:
            loadclient.stop_app(proc)

    result["goal_ms"] = args.goal_ms
    result["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    passed = result["errors"] == 0 and result["count"] > 0 and result["p95"] <= args.goal_ms
    if train is not None:
        result["trainings"] = train
        passed = passed and not train["errors"] and train["progressed"] > 0
    result["pass"] = passed
    page = f"/{args.path}" if args.path else "/ (default page)"
    print(
        f"Drawing load on {page}: {args.users} users, a stroke every {args.interval:g} s each, "
        f"{args.duration:g} s"
        + (f", while {args.trainers} sessions train {args.train_preset}" if train else "")
        + f"  [{result['machine']}]"
    )
    rows = [
        ("reruns finished", f"{result['count']} of {result['strokes_planned']}"),
        ("errors", str(result["errors"])),
        ("p50 (ms)", f"{result['p50']:.1f}"),
        ("p95 (ms)", f"{result['p95']:.1f}   goal ≤ {args.goal_ms:g}"),
        ("max (ms)", f"{result['max']:.1f}"),
        ("mean (ms)", f"{result['mean']:.1f}"),
        ("strokes sent late", str(result["late_sends"])),
        ("set-up of all sessions (s)", f"{result['setup_s']:.2f}"),
        ("load client CPU (% of a core)", f"{result['client_cpu_pct']:.1f}"),
        ("server CPU (% of a core)", str(result["server_cpu_pct"])),
        ("machine load average (1 min)", str(result["load_average_1min"])),
    ]
    if train is not None:
        rows += [
            ("trainings started", str(train["started"])),
            (
                "  training during the drawing",
                f"{train['running']}   (the server trains {train['cap'] if train['cap'] else '?'} at a time)",
            ),
            ("  waiting in the server's queue", str(train["waiting"])),
            (
                "  steps before -> after",
                ", ".join(f"{b} -> {a}" for b, a in zip(train["steps_before"], train["steps_after"])),
            ),
            ("  made progress", f"{train['progressed']} of {train['started']}"),
            ("  steps/s per training", ", ".join(f"{x:.1f}" for x in train["steps_per_s"])),
            (
                "  live refreshes of their pages",
                f"{train['refreshes']}  (p50 {train['refresh_p50']:.1f} ms, p95 {train['refresh_p95']:.1f} ms)",
            ),
            ("  training errors", str(len(train["errors"]))),
        ]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    return loadrun.finish(result, passed, result["error_samples"] + (train["errors"][:5] if train else []))


if __name__ == "__main__":
    sys.exit(main())
