"""AppTest for the Pooling page: every control and bad setting, numbers from the engine."""

from __future__ import annotations

import numpy as np
import pytest
from apptest_support import (
    POOL,
    app,
    arithmetic,
    cell_of,
    chart,
    engine_error,
    errors,
    rerun,
    shown,
    trace_z,
)

from playground import ops
from playground.ops import samples
from playground.ui import inputs


# ----------------------------------------------------------------- pooling
def test_pooling_worked_example_step_by_step():
    at = app(POOL)
    results = [arithmetic(at)]
    for _ in range(3):
        at.button(key="pool.next").click()
        results.append(arithmetic(rerun(at)))
    assert results == [
        "**Output (0, 0)** = max(1, 2, 5, 6) = 6",
        "**Output (0, 1)** = max(3, 4, 7, 8) = 8",
        "**Output (1, 0)** = max(9, 10, 13, 14) = 14",
        "**Output (1, 1)** = max(11, 12, 15, 16) = 16",
    ]
    assert np.array_equal(trace_z(chart(at), "pooled"), [[6, 8], [14, 16]])
    assert "blue ring marks the chosen maximum at row 3, column 3" in shown(at)


def test_pooling_average_padding_and_count_include_pad():
    at = app(POOL)
    at.radio(key="pool.kind").set_value("avg")
    assert arithmetic(rerun(at)) == "**Output (0, 0)** = (1 + 2 + 5 + 6) / 4 = 3.5"
    at.number_input(key="pool.padding").set_value(1)
    rerun(at)
    for include in (True, False):
        at.toggle(key="pool.count_include_pad").set_value(include)
        rerun(at)
        settings = ops.PoolSettings(kind="avg", padding=1, count_include_pad=include)
        assert arithmetic(at) == cell_of(ops.pool_steps(samples.WORKED_4X4, settings)[0])


def test_pooling_bad_settings_and_clamped_steps():
    x = samples.WORKED_4X4
    for key, value, settings in (
        ("pool.size_px", 5, ops.PoolSettings(size=5, stride=2)),
        ("pool.stride", 0, ops.PoolSettings(stride=0)),
        ("pool.padding", -1, ops.PoolSettings(padding=-1)),
        ("pool.padding", 2, ops.PoolSettings(padding=2)),
    ):
        at = app(POOL)
        at.number_input(key=key).set_value(value)
        rerun(at)
        assert engine_error(ops.pool_steps, x, settings) in errors(at), (key, value, errors(at))
        assert arithmetic(at).endswith("= 6")
    at = app(POOL)
    at.number_input(key="pool.stride").set_value(1)
    rerun(at)
    at.button(key="pool.last").click()
    assert arithmetic(rerun(at)).startswith("**Output (2, 2)**")
    at.number_input(key="pool.stride").set_value(2)
    assert arithmetic(rerun(at)) == "**Output (1, 1)** = max(11, 12, 15, 16) = 16"


@pytest.mark.parametrize("direction", ["right", "down", "left", "up"])
def test_pooling_shift_comparison(direction):
    at = app(POOL)
    at.selectbox(key="pool.source").set_value(inputs.SAMPLE)
    at.radio(key="pool.shift").set_value(direction)
    rerun(at)
    x = samples.digit(3, 14)
    same = ops.pooled_overlap(
        x, ops.PoolSettings(), {"right": (0, 1), "down": (1, 0), "left": (0, -1), "up": (-1, 0)}[direction]
    )
    assert f"**{same:.0%} of the pooled cells are unchanged** after moving the input one pixel {direction}" in shown(at)
    spec = chart(at, 1)
    assert np.array_equal(trace_z(spec, "Pooled"), ops.pool2d(x[None, None], ops.PoolSettings())[0, 0])
