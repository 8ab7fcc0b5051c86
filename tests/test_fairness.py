"""Each tab's fair share of the server (playground/ui/fairness.py): the budget's arithmetic, and the wait
it imposes on a run, with the clock given explicitly."""

from __future__ import annotations

import pytest

from playground.ui import fairness
from playground.ui.fairness import BUDGET_S, MAX_CHARGE_S, MAX_DELAY_S, WINDOW_S, Budget


def test_a_drawing_student_is_never_slowed():
    budget = Budget()
    for i in range(100):  # a 95 ms stroke every 2 s for 200 s (this machine on a slow day)
        assert budget.delay(now=2.0 * i) == 0.0
        budget.record(now=2.0 * i + 0.095, cpu_s=0.095)
    assert budget.used(now=200.0) < BUDGET_S / 4


def test_a_tab_over_its_budget_waits_until_its_oldest_runs_leave_the_window():
    budget = Budget()
    for t in (0.0, 1.0, 2.0, 3.0):
        budget.record(now=t, cpu_s=0.8)  # 3.2 s of CPU: 0.7 s over the budget of 2.5 s
    assert budget.delay(now=3.0) == MAX_DELAY_S  # the run at t=0 leaves the window at 10 s: capped
    assert budget.delay(now=8.0) == pytest.approx(0.0 + WINDOW_S - 8.0)  # 2 s more
    assert budget.delay(now=10.5) == 0.0 and budget.used(now=10.5) == pytest.approx(2.4)


def test_one_long_run_is_not_enough_to_be_held_back():
    budget = Budget()
    budget.record(now=0.0, cpu_s=60.0)  # a first visit that warmed the shared caches
    assert budget.used(now=0.0) == MAX_CHARGE_S and budget.delay(now=0.1) == 0.0


def test_the_wait_is_capped_and_old_runs_are_forgotten():
    budget = Budget()
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
    budget = Budget()
    with fairness.fair_share(budget) as waited:
        assert waited == 0.0
    with pytest.raises(RuntimeError), fairness.fair_share(budget):
        raise RuntimeError("the page asked for a rerun")  # st.rerun and st.stop end a run by raising
    assert [round(c, 2) for _, c in budget.runs] == [0.75, 0.25]


def test_a_fragments_own_reruns_count_against_the_tabs_share(monkeypatch):
    """A stroke on the Draw page reruns only its fragment, outside the router's fair_share: the fragment
    counts its own reruns, and not the runs it is part of (the router has counted those)."""
    from types import SimpleNamespace

    budget = Budget()
    monkeypatch.setattr(fairness, "budget", lambda: budget)
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
