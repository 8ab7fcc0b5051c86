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
    at = app(POOL)  # the default input is the 4×4 ramp, but the shift demo starts on a digit
    at.radio(key="pool.shift").set_value(direction)
    rerun(at)
    x = samples.digit(3, 14)
    move = {"right": (0, 1), "down": (1, 0), "left": (0, -1), "up": (-1, 0)}[direction]
    cmp = ops.shift_comparison(x, ops.PoolSettings(), move)
    assert (
        f"**{cmp.unchanged:.0%} of the pooled cells are unchanged** after moving the image one pixel {direction}"
        in shown(at)
    )
    assert (
        f"changed the pooled map by **{cmp.pooled_change:.0%}** and the image itself by **{cmp.input_change:.0%}**"
        in shown(at)
    )
    assert cmp.pooled_change < 0.9 * cmp.input_change and "Pooling made the shift matter less" in shown(at)
    spec = chart(at, 1)
    assert np.array_equal(trace_z(spec, "Pooled"), ops.pool2d(x[None, None], ops.PoolSettings())[0, 0])


def test_the_shift_demo_says_honestly_when_pooling_does_not_help():
    at = app(POOL)
    at.radio(key="pool.shift_image").set_value("The input above")  # the 4×4 ramp 1 … 16
    rerun(at)
    cmp = ops.shift_comparison(samples.WORKED_4X4, ops.PoolSettings(), (0, 1))
    assert cmp.unchanged == 0.0 and "**0% of the pooled cells are unchanged**" in shown(at)
    assert "Here pooling did not make the shift matter less" in shown(at)
    assert "Pooling made the shift matter less" not in shown(at)
