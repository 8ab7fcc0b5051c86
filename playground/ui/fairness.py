"""A fair share of the server for every tab: a session that keeps it busy waits a little before its next run.

One Python process runs every session's page script, and most of the work (numpy, Plotly, Streamlit's own
marshalling) holds the interpreter lock, so one tab firing heavy reruns back to back slows every student's
drawing. Each run's CPU time (its thread's, not the wall clock, which also counts waiting for others) is
recorded; once a session has used more than BUDGET_S seconds in the last WINDOW_S, its next run first
sleeps (which holds no lock) until it is back under the budget, at most MAX_DELAY_S; no single run
counts more than MAX_CHARGE_S. Drawing a stroke
every few seconds costs a few percent of the budget; only a tab that keeps the server busy is slowed.
"""

from __future__ import annotations

import functools
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from playground.ui import state

WINDOW_S = 10.0
BUDGET_S = 2.5  # CPU seconds per WINDOW_S: a quarter of the one core the page scripts share
MAX_DELAY_S = 5.0
MAX_CHARGE_S = 1.0  # one run counts at most this much: the first visit, which warms the shared caches (the
# model, torch), should not hold back the tab that happened to come first; a tab must keep the server busy


@dataclass
class Budget:
    """The CPU time one session's runs used, as (finished at, seconds) in the last WINDOW_S."""

    runs: deque[tuple[float, float]] = field(default_factory=deque)

    def record(self, now: float, cpu_s: float) -> None:
        self.runs.append((now, min(MAX_CHARGE_S, max(0.0, cpu_s))))
        while self.runs and self.runs[0][0] < now - WINDOW_S:
            self.runs.popleft()

    def used(self, now: float) -> float:
        return sum(cpu for t, cpu in self.runs if t >= now - WINDOW_S)

    def delay(self, now: float) -> float:
        """Seconds to wait before the next run so that the runs still inside the window fit the budget."""
        over = self.used(now) - BUDGET_S
        if over <= 0:
            return 0.0
        for t, cpu in self.runs:  # oldest first: wait until enough of them have left the window
            over -= cpu
            if over <= 0:
                return min(MAX_DELAY_S, max(0.0, t + WINDOW_S - now))
        return MAX_DELAY_S


@contextmanager
def fair_share(budget: Budget) -> Iterator[float]:
    """Around one script run: wait first if this session is over its budget (yields the wait, in
    seconds), then record the CPU time the run took, however it ends (finished, rerun, stopped)."""
    wait = budget.delay(time.monotonic())
    if wait > 0:
        time.sleep(wait)
    start = time.thread_time()
    try:
        yield wait
    finally:
        budget.record(time.monotonic(), time.thread_time() - start)


def budget() -> Budget:
    """This session's budget (kept in its state)."""
    return state.get("app", "budget", Budget())


def waited_note(waited: float) -> None:
    if waited >= 0.5:
        st.caption(f"This tab waited {waited:.1f} s: it has kept the shared server busy for a while.")


def fragment(body: Callable[..., None], run_every: float | None = None) -> Callable[..., None]:
    """``st.fragment(body, run_every=...)`` whose own reruns (a widget inside it changed, e.g. a stroke on the
    Draw page, or its timer fired, e.g. the Train page's live curves) count against the session's fair share
    like full runs, which the router already wraps in :func:`fair_share`. Every fragment goes through here."""

    @functools.wraps(body)
    def fair(*args, **kwargs) -> None:
        ctx = get_script_run_ctx()
        if ctx is None or not ctx.fragment_ids_this_run:  # part of a full run: already counted
            body(*args, **kwargs)
            return
        with fair_share(budget()) as waited:
            waited_note(waited)
            body(*args, **kwargs)

    return st.fragment(fair, run_every=run_every)
