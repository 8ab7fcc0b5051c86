"""Students drawing while one session tries the heaviest settings the pages accept (goal: the drawing
p95 stays ≤ 300 ms, and within 1.5× of the same load without that session).

Run: python -m benchmarks.hostile_load [--users 30] [--interval 2] [--duration 20] [--goal-ms 300]

Starts ``streamlit run app.py`` on a free loopback port, measures ``--users`` websocket sessions drawing
on the Draw page (benchmarks/loadrun.py), then the same load again while one more session loops over the
worst cases the limits allow: pooling a 28×28 input with a 28×28 window, stride 1 and padding 14 (841
windows of 784 cells), a convolution with padding 36 (9,604 steps) in the step view, Play at its
2,500-frame limit, the refused settings just beyond the limits, and forged widget states. Prints both
results and one JSON line; exits 1 when a goal is missed or a drawing rerun failed. Traffic goes to
127.0.0.1 only; everything stops by itself.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import threading
import time

from benchmarks import loadclient, loadrun

RANDOM = "Random numbers"  # playground/ui/inputs.py


async def _hostile_pass(pool: loadclient.Session, conv: loadclient.Session) -> int:
    """One round of the heaviest accepted (and a few refused) settings; returns the reruns sent."""
    sent = 0
    await pool.select("pool.source", RANDOM)
    for key, value in (("pool.random_size", 28), ("pool.size_px", 28), ("pool.stride", 1), ("pool.padding", 14)):
        await pool.set_value(key, "double_value", float(value))  # number inputs send doubles
        sent += 1
    for value in (701, 2):  # refused at once by the work limit; then back to a small window
        await pool.set_value("pool.size_px", "double_value", float(value))
        sent += 1
    await pool.set_value("pool.padding", "double_value", 0.0)
    await conv.select("conv.source", RANDOM)
    await conv.set_value("conv.random_size", "double_value", 28.0)
    for padding in (36, 100, 0):  # 9,604 steps (the most allowed); refused; none
        await conv.set_value("conv.padding", "double_value", float(padding))
        sent += 1
    await conv.set_value("conv.random_size", "double_value", 4.0)
    await conv.set_value("conv.padding", "double_value", 24.0)  # 51×51 = 2,601 steps: Play refuses
    await conv.set_value("conv.padding", "double_value", 23.0)  # 49×49 = 2,401 frames: Play sends them
    await conv.set_value("conv.view", "string_value", "Play")  # a radio sends its option's text
    await conv.set_value("conv.view", "string_value", "Step by step")
    return sent + 7


async def _hostile(url: str, stop: threading.Event, counts: list[int]) -> None:
    """One student in two tabs, each kept open, repeating the passes until told to stop."""
    async with loadclient.Session(url, "pooling", timeout_s=120) as pool:
        async with loadclient.Session(url, "convolution", timeout_s=120) as conv:
            await pool.rerun()
            await conv.rerun()
            while not stop.is_set():
                counts.append(await _hostile_pass(pool, conv))


def _hostile_loop(url: str, stop: threading.Event, counts: list[int]) -> None:
    try:
        loadclient.run_async(_hostile(url, stop, counts))
    except Exception as e:  # reported; the drawing load goes on
        print(f"the heavy session failed: {type(e).__name__}: {e}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=30)
    ap.add_argument("--interval", type=float, default=2.0)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--goal-ms", type=float, default=300.0)
    ap.add_argument("--goal-ratio", type=float, default=1.5)
    args = ap.parse_args(argv)
    proc, url = loadclient.start_app()
    try:
        alone = loadrun.run_load(url, args.users, args.interval, args.duration)
        stop, counts = threading.Event(), []
        hostile = threading.Thread(target=_hostile_loop, args=(url, stop, counts), daemon=True)
        hostile.start()
        time.sleep(2.0)  # let the first heavy pass begin
        beside = loadrun.run_load(url, args.users, args.interval, args.duration)
        stop.set()
        hostile.join(180)
    finally:
        loadclient.stop_app(proc)
    ratio = beside["p95"] / alone["p95"] if alone["p95"] else float("inf")
    print(f"machine: {platform.machine()}, {platform.python_version()}")
    for name, r in (("drawing alone", alone), ("beside the heavy session", beside)):
        print(
            f"{name:26s} p50 {r['p50']:6.0f} ms  p95 {r['p95']:6.0f} ms  max {r['max']:6.0f} ms  errors {r['errors']}"
        )
    print(f"heavy session: {len(counts)} passes, {sum(counts)} reruns; p95 ratio {ratio:.2f}")
    summary = {"users": args.users, "alone": alone, "beside": beside, "ratio": round(ratio, 2), "passes": len(counts)}
    print(json.dumps({k: v for k, v in summary.items()}, default=str))
    ok = beside["errors"] == 0 and alone["errors"] == 0 and beside["p95"] <= args.goal_ms and ratio <= args.goal_ratio
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
