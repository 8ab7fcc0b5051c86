"""The checkpoint timeline: evenly spread snapshots within a memory budget, whatever the run's length."""

from __future__ import annotations

import numpy as np

from playground.nn.timeline import MIN_SNAPSHOTS, Timeline


def weights_at(step: int, size: int = 100) -> dict[str, np.ndarray]:
    return {"w": np.full(size, float(step)), "b": np.zeros(2)}


def test_snapshots_stay_evenly_spread_within_the_count():
    t = Timeline(max_snapshots=8)
    for step in range(0, 1001):
        t.offer(step, lambda step=step: weights_at(step))
    t.finish(1000, lambda: weights_at(1000))
    steps = t.steps()
    assert steps[0] == 0 and steps[-1] == 1000 and len(steps) <= 8 + 1
    gaps = np.diff(steps[:-1])
    assert len(set(gaps)) == 1 and gaps[0] == t.every  # one interval, doubled as the run grew
    for step, w in t.points:  # each snapshot is a copy of the weights at its own step
        assert w["w"][0] == step


def test_the_byte_budget_bounds_the_count_and_big_models_keep_first_and_last():
    t = Timeline(budget_bytes=10 * 816, max_snapshots=40)  # 816 bytes a snapshot: room for 10
    for step in range(200):
        t.offer(step, lambda step=step: weights_at(step))
    assert len(t.points) <= 10 and t.nbytes() <= 10 * 816
    huge = Timeline(budget_bytes=100)
    for step in range(50):
        huge.offer(step, lambda step=step: weights_at(step))
    huge.finish(49, lambda: weights_at(49))
    assert huge.steps()[0] == 0 and huge.steps()[-1] == 49 and len(huge.points) <= MIN_SNAPSHOTS + 1


def test_a_snapshot_does_not_change_when_training_goes_on():
    live = weights_at(0)
    t = Timeline()
    t.offer(0, lambda: live)
    live["w"] += 5
    assert t.points[0][1]["w"][0] == 0
