"""Many simulated users at once against one server: each opens a session on a page, then draws a new
stroke every ``interval_s`` seconds for ``duration_s`` seconds; every rerun's latency is recorded.
Also the end of the benchmark scripts' reports (errors, PASS/FAIL, one JSON line).

    proc, url = start_app()
    try:
        print(run_load(url, users=30, interval_s=2, duration_s=30))
    finally:
        stop_app(proc)
"""

from __future__ import annotations

import asyncio
import json
import math
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks.loadclient import ProtocolError, Session, open_canvas, run_async
from benchmarks.strokes import Scribbler


# ----------------------------------------------------------------------------------------------
# Many users
# ----------------------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[max(0, math.ceil(q / 100 * len(s)) - 1)]


Prepare = Callable[[Session], Awaitable[Any]]


async def run_load_async(
    url: str,
    users: int,
    interval_s: float,
    duration_s: float,
    path: str = "",
    canvas_key: str | None = None,
    prepare: Prepare | None = None,
    timeout_s: float = 30.0,
    seed: int = 0,
) -> dict:
    """See ``run_load``."""
    if users < 1 or interval_s <= 0 or duration_s <= 0:
        raise ValueError("users must be >= 1, interval_s and duration_s > 0")
    strokes_each = max(1, int(duration_s // interval_s))
    latencies: list[float] = []
    errors: list[str] = []
    sessions: list[Session | None] = [None] * users

    async def setup(i: int) -> None:
        s = Session(url, path, timeout_s=timeout_s)
        try:
            await s.connect()
            run = await s.rerun()
            if not run.ok:
                raise ProtocolError(f"first run: {run.problem()}")
            await (prepare(s) if prepare else open_canvas(s, canvas_key))
            sessions[i] = s
        except Exception as e:
            errors.append(f"user {i} setup: {type(e).__name__}: {e}")
        finally:
            if sessions[i] is None:
                await s.close()

    t_setup = time.perf_counter()
    setup_bound = timeout_s * 3 + users
    try:
        await asyncio.wait_for(asyncio.gather(*(setup(i) for i in range(users))), setup_bound)
    except TimeoutError:
        errors.append(f"opening the sessions took over {setup_bound:g} s")
        for i, s in enumerate(sessions):
            if s is not None:
                await s.close()
                sessions[i] = None
    setup_s = time.perf_counter() - t_setup

    start = time.perf_counter() + 0.2
    cpu0 = time.process_time()
    late: list[float] = []

    async def user(i: int, s: Session) -> None:
        scribbler = Scribbler(seed * 100_003 + i)
        offset = interval_s * i / users  # staggered, like students who do not draw in step
        try:
            for k in range(strokes_each):
                png, objects = scribbler.next()
                due = start + offset + k * interval_s
                wait = due - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                else:
                    late.append(-wait)
                try:
                    run = await s.draw(png, objects, canvas_key)
                except (ProtocolError, LookupError) as e:
                    errors.append(f"user {i} stroke {k}: {e}")
                    return  # the session's state is unknown now: this user stops
                if run.ok:
                    latencies.append(run.latency_ms)
                else:
                    errors.append(f"user {i} stroke {k}: {run.problem()}")
        finally:
            await s.close()

    live = [(i, s) for i, s in enumerate(sessions) if s is not None]
    bound = duration_s + interval_s + timeout_s + 5
    try:
        await asyncio.wait_for(asyncio.gather(*(user(i, s) for i, s in live)), bound)
    except TimeoutError:
        errors.append(f"the run did not end within {bound:g} s")
    wall = max(time.perf_counter() - start, 1e-9)
    client_cpu = 100 * (time.process_time() - cpu0) / wall
    return {
        "users": users,
        "interval_s": interval_s,
        "duration_s": duration_s,
        "path": path,
        "strokes_planned": strokes_each * users,
        "count": len(latencies),
        "errors": len(errors),
        "p50": round(percentile(latencies, 50), 1),
        "p95": round(percentile(latencies, 95), 1),
        "max": round(max(latencies), 1) if latencies else float("nan"),
        "mean": round(statistics.fmean(latencies), 1) if latencies else float("nan"),
        "late_sends": len(late),
        "setup_s": round(setup_s, 2),
        "client_cpu_pct": round(client_cpu, 1),
        "error_samples": errors[:5],
    }


def run_load(
    url: str,
    users: int,
    interval_s: float,
    duration_s: float,
    path: str = "",
    canvas_key: str | None = None,
    prepare: Prepare | None = None,
    timeout_s: float = 30.0,
    seed: int = 0,
) -> dict:
    """``users`` sessions on ``url``/``path`` each send a new stroke every ``interval_s`` seconds
    (staggered across the interval) for ``duration_s`` seconds; latency is send -> script_finished.

    All sessions connect, load the page and open the canvas first (``prepare``, default
    ``open_canvas``); the timed phase starts after that. Any exception, time-out, exception
    element or st.error in a run counts as an error. Returns a dict with ``count`` (timed strokes
    that finished cleanly), ``errors``, ``p50``/``p95``/``max``/``mean`` in ms, ``late_sends``
    (strokes sent late because the user's previous one had not come back), ``setup_s``,
    ``client_cpu_pct`` (this process's CPU during the timed phase, % of one core) and
    ``error_samples``.
    """
    return run_async(run_load_async(url, users, interval_s, duration_s, path, canvas_key, prepare, timeout_s, seed))


def finish(result: dict, passed: bool, errors: list[str]) -> int:
    """The common end of a benchmark's report: the first errors, PASS or FAIL, the result as one JSON
    line; returns the exit status."""
    for line in errors:
        print(f"  error: {line}")
    print("PASS" if passed else "FAIL")
    print(json.dumps(result))
    return 0 if passed else 1
