"""A fair share of the server for every tab: a session that keeps it busy waits a little before its next run.

One Python process runs every session's page script, and most of the work (numpy, Plotly, Streamlit's own
marshalling) holds the interpreter lock, so one tab firing heavy reruns back to back slows every student's
drawing. Each run's CPU time (its thread's, not the wall clock, which also counts waiting for others) is
recorded; once a session has used more than BUDGET_S seconds in the last WINDOW_S (BUSY_BUDGET_S while
the server process is busy, as a class drawing at once makes it), its next run first sleeps (which holds
no lock) until it is back under the budget, at most MAX_DELAY_S; no single run counts more than
MAX_CHARGE_S, and a session's first run (the page loading) is not counted. Drawing a stroke every few
seconds costs a few percent of either budget; only a tab that keeps the server busy is slowed.
"""

from __future__ import annotations

import functools
import threading
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
MAX_CHARGE_S = 1.0  # one run counts at most this much: the first visit to a page, which warms shared caches
# (its imports, a model), should not hold back the tab that happened to come first; a tab must keep it busy
# A busy server (its process used more than BUSY_CORES of a core over the last LOAD_WINDOW_S) has no room for
# a tab's heavy runs beside a class drawing: the budget is then BUSY_BUDGET_S, still forty strokes' worth
BUSY_CORES = 0.6
LOAD_WINDOW_S = 2.0
BUSY_BUDGET_S = 0.5
CHECK_EVERY_S = 0.25  # a waiting run looks again this often: it goes as soon as the server has room


@dataclass
class Budget:
    """The CPU time one session's runs used, as (finished at, seconds) in the last WINDOW_S."""

    runs: deque[tuple[float, float]] = field(default_factory=deque)
    opened: bool = False  # whether the page has loaded: its first run costs every student the same, and a
    # class opening the page at once makes the server busy; it is not counted

    def record(self, now: float, cpu_s: float) -> None:
        if not self.opened:
            self.opened = True
            return
        self.runs.append((now, min(MAX_CHARGE_S, max(0.0, cpu_s))))
        while self.runs and self.runs[0][0] < now - WINDOW_S:
            self.runs.popleft()

    def used(self, now: float) -> float:
        return sum(cpu for t, cpu in self.runs if t >= now - WINDOW_S)

    def delay(self, now: float, busy: bool = False) -> float:
        """Seconds to wait before the next run so that the runs still inside the window fit the budget
        (the smaller one when the server is ``busy``)."""
        over = self.used(now) - (BUSY_BUDGET_S if busy else BUDGET_S)
        if over <= 0:
            return 0.0
        for t, cpu in self.runs:  # oldest first: wait until enough of them have left the window
            over -= cpu
            if over <= 0:
                return min(MAX_DELAY_S, max(0.0, t + WINDOW_S - now))
        return MAX_DELAY_S


class Load:
    """How busy the server process is: its CPU time (every thread's) over the last LOAD_WINDOW_S, in cores,
    from the (clock, process CPU) samples the runs take as they start. Shared by every session."""

    def __init__(self) -> None:
        self._samples: deque[tuple[float, float]] = deque()
        self._lock = threading.Lock()

    def cores(self, now: float, cpu_s: float) -> float:
        with self._lock:
            self._samples.append((now, cpu_s))
            while len(self._samples) > 2 and self._samples[1][0] <= now - LOAD_WINDOW_S:
                self._samples.popleft()  # keep one sample at least LOAD_WINDOW_S old
            then, cpu_then = self._samples[0]
        return (cpu_s - cpu_then) / (now - then) if now - then >= LOAD_WINDOW_S / 4 else 0.0

    def busy(self) -> bool:
        return self.cores(time.monotonic(), time.process_time()) > BUSY_CORES


@functools.cache
def server_load() -> Load:
    """The one Load of this server process (made on first use)."""
    return Load()


def wait_for_room(budget: Budget, load: Load) -> float:
    """Sleep (holding no lock) while this session is over its budget, looking again every CHECK_EVERY_S
    (the budget shrinks while the server is busy); at most MAX_DELAY_S. Returns the seconds waited."""
    waited = 0.0
    while waited < MAX_DELAY_S:
        wait = budget.delay(time.monotonic(), busy=load.busy())
        if wait <= 0:
            break
        step = min(wait, CHECK_EVERY_S, MAX_DELAY_S - waited)
        time.sleep(step)
        waited += step
    return waited


@contextmanager
def fair_share(budget: Budget, load: Load | None = None) -> Iterator[float]:
    """Around one script run: wait first if this session is over its budget (yields the wait, in
    seconds), then record the CPU time the run took, however it ends (finished, rerun, stopped)."""
    wait = wait_for_room(budget, load or server_load())
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
