"""Each tab's fair share of the server (playground/ui/fairness.py): the budget's arithmetic, the server's
load, and the wait they impose on a run, with the clock given explicitly."""

from __future__ import annotations

import pytest

from playground.ui import fairness
from playground.ui.fairness import (
    BUDGET_S,
    BUSY_BUDGET_S,
    BUSY_CORES,
    CHECK_EVERY_S,
    LOAD_WINDOW_S,
    MAX_CHARGE_S,
    MAX_DELAY_S,
    WINDOW_S,
    Budget,
    Load,
)


class Quiet:
    """A server load that is never busy (or always, with ``busy=True``)."""

    def __init__(self, busy: bool = False) -> None:
        self._busy = busy

    def busy(self) -> bool:
        return self._busy


def test_a_drawing_student_is_never_slowed():
    budget = Budget(opened=True)
    for i in range(100):  # a 95 ms stroke every 2 s for 200 s (this machine on a slow day)
        assert budget.delay(now=2.0 * i) == 0.0
        budget.record(now=2.0 * i + 0.095, cpu_s=0.095)
    assert budget.used(now=200.0) < BUDGET_S / 4


def test_a_tab_over_its_budget_waits_until_its_oldest_runs_leave_the_window():
    budget = Budget(opened=True)
    for t in (0.0, 1.0, 2.0, 3.0):
        budget.record(now=t, cpu_s=0.8)  # 3.2 s of CPU: 0.7 s over the budget of 2.5 s
    assert budget.delay(now=3.0) == MAX_DELAY_S  # the run at t=0 leaves the window at 10 s: capped
    assert budget.delay(now=8.0) == pytest.approx(0.0 + WINDOW_S - 8.0)  # 2 s more
    assert budget.delay(now=10.5) == 0.0 and budget.used(now=10.5) == pytest.approx(2.4)


def test_one_long_run_is_not_enough_to_be_held_back():
    budget = Budget(opened=True)
    budget.record(now=0.0, cpu_s=60.0)  # a first visit that warmed the shared caches
    assert budget.used(now=0.0) == MAX_CHARGE_S and budget.delay(now=0.1) == 0.0


def test_the_wait_is_capped_and_old_runs_are_forgotten():
    budget = Budget(opened=True)
    for t in range(5):
        budget.record(now=float(t) / 10, cpu_s=1.0)  # five heavy runs in half a second
    assert budget.delay(now=0.5) == MAX_DELAY_S
    budget.record(now=30.0, cpu_s=0.1)
    assert len(budget.runs) == 1 and budget.delay(now=30.0) == 0.0


def test_fair_share_records_the_run_however_it_ends(monkeypatch):
    clock = iter([100.0, 100.5, 101.0, 101.5])
    monkeypatch.setattr(fairness.time, "monotonic", lambda: next(clock))
    cpu = iter([5.0, 5.75, 6.0, 6.25])
    monkeypatch.setattr(fairness.time, "thread_time", lambda: next(cpu))
    budget = Budget(opened=True)
    with fairness.fair_share(budget, Quiet()) as waited:
        assert waited == 0.0
    with pytest.raises(RuntimeError), fairness.fair_share(budget, Quiet()):
        raise RuntimeError("the page asked for a rerun")  # st.rerun and st.stop end a run by raising
    assert [round(c, 2) for _, c in budget.runs] == [0.75, 0.25]


def test_a_fragments_own_reruns_count_against_the_tabs_share(monkeypatch):
    """A stroke on the Draw page reruns only its fragment, outside the router's fair_share: the fragment
    counts its own reruns, and not the runs it is part of (the router has counted those)."""
    from types import SimpleNamespace

    budget = Budget(opened=True)
    monkeypatch.setattr(fairness, "budget", lambda: budget)
    monkeypatch.setattr(fairness, "server_load", lambda: Quiet())
    monkeypatch.setattr(
        fairness.st, "fragment", lambda body, run_every=None: body
    )  # the body as Streamlit would call it
    calls = []

    def body(n: int) -> None:
        calls.append(n)
        sum(range(n))  # some CPU time to record

    run = fairness.fragment(body)
    monkeypatch.setattr(fairness, "get_script_run_ctx", lambda: SimpleNamespace(fragment_ids_this_run=[]))
    run(10_000)  # part of a full run
    assert calls == [10_000] and len(budget.runs) == 0
    monkeypatch.setattr(fairness, "get_script_run_ctx", lambda: SimpleNamespace(fragment_ids_this_run=["draw"]))
    run(300_000)  # the fragment's own rerun
    assert calls == [10_000, 300_000] and len(budget.runs) == 1 and budget.runs[0][1] > 0


def test_the_page_load_is_not_counted():
    """A class opening the page at once makes the server busy; the load, the same for every student, must
    not make a student's first strokes wait."""
    budget = Budget()
    budget.record(now=0.0, cpu_s=0.9)  # the first run: the page
    assert budget.used(now=0.1) == 0.0 and budget.opened
    budget.record(now=1.0, cpu_s=0.9)
    assert budget.used(now=1.0) == pytest.approx(0.9)


def test_a_busy_server_shrinks_the_budget_but_not_for_a_drawing_student():
    budget = Budget(opened=True)
    for t in range(5):  # a drawing student: five 40 ms strokes in 10 s
        budget.record(now=2.0 * t, cpu_s=0.04)
    assert budget.delay(now=9.0, busy=True) == 0.0
    heavy = Budget(opened=True)
    for t in (0.0, 1.0, 2.0):  # 0.6 s of CPU: within the budget of a quiet server, over a busy one's
        heavy.record(now=t, cpu_s=0.2)
    assert 3 * 0.2 < BUDGET_S and 3 * 0.2 > BUSY_BUDGET_S
    assert heavy.delay(now=3.0, busy=False) == 0.0
    assert heavy.delay(now=3.0, busy=True) == MAX_DELAY_S  # the first run leaves the window at 10 s: capped
    assert heavy.delay(now=8.5, busy=True) == pytest.approx(0.0 + WINDOW_S - 8.5)


def test_the_load_is_the_process_cpu_over_the_last_window():
    load = Load()
    assert load.cores(now=100.0, cpu_s=50.0) == 0.0  # one sample: no measure yet
    assert load.cores(now=100.1, cpu_s=50.1) == 0.0  # too short a span to say
    assert load.cores(now=101.0, cpu_s=50.8) == pytest.approx(0.8)  # 0.8 s of CPU in 1 s
    assert load.cores(now=102.0, cpu_s=51.0) == pytest.approx(0.5)  # over the 2 s window: 1.0 s
    assert load.cores(now=104.0, cpu_s=51.2) == pytest.approx(0.2 / 2.0)  # the older samples left the window
    assert load.cores(now=200.0, cpu_s=51.3) == pytest.approx(0.1 / 96.0)  # idle for long: quiet
    assert LOAD_WINDOW_S == 2.0 and 0.8 > BUSY_CORES > 0.1


def test_a_run_waits_while_the_server_is_busy_and_goes_once_it_has_room(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(fairness.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(fairness.time, "sleep", lambda s: clock.__setitem__(0, clock[0] + s))
    budget = Budget(opened=True)
    budget.record(now=999.0, cpu_s=0.8)  # over a busy server's budget, far under a quiet one's

    class BusyFor:
        def __init__(self, seconds: float) -> None:
            self.until = clock[0] + seconds

        def busy(self) -> bool:
            return clock[0] < self.until

    assert fairness.wait_for_room(budget, BusyFor(1.0)) == pytest.approx(1.0)  # looked again every 0.25 s
    assert CHECK_EVERY_S == 0.25
    assert fairness.wait_for_room(budget, Quiet()) == 0.0
    assert fairness.wait_for_room(budget, Quiet(busy=True)) == pytest.approx(MAX_DELAY_S)  # capped
