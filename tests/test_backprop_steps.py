"""The Backpropagation page's records: each cell's result is the engine's gradient, each names the cells it
read, and the gradient check agrees with central differences."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playground.ops import OpError, format_number, samples
from playground.ops.backprop_run import STAGES, BackpropSettings, check_names, compute, gradient_checks, parse_check

TARGETS = {  # stage -> the array its records fill
    "loss": "dz2",
    "dense_w": "dW2",
    "dense_b": "db2",
    "dense_x": "df",
    "act": "dz1",
    "conv_w": "dW1",
    "conv_b": "db1",
    "conv_x": "dx",
}
DOT_STAGES = ("dense_w", "dense_x", "conv_w", "conv_x")


def _settings(draw) -> BackpropSettings:
    return BackpropSettings(
        filters=draw(st.integers(1, 3)),
        size=draw(st.sampled_from([2, 3])),
        stride=draw(st.integers(1, 2)),
        padding=draw(st.integers(0, 1)),
        activation=draw(st.sampled_from(["relu", "leaky_relu", "sigmoid", "tanh", "none"])),
        pool_kind=draw(st.sampled_from(["max", "avg"])),
        loss=draw(st.sampled_from(["cross_entropy", "mse"])),
        label=draw(st.integers(0, 9)),
        lr=draw(st.sampled_from([0.01, 0.1, 1.0])),
        init=draw(st.sampled_from(["std", "xavier", "he"])),
        seed=draw(st.integers(0, 1000)),
    )


cases = st.composite(lambda draw: (_settings(draw), draw(st.integers(6, 10)), draw(st.integers(0, 2**31))))


@settings(max_examples=40, deadline=None)
@given(cases())
def test_every_record_is_the_engines_gradient_cell(case):
    s, size, seed = case
    x = np.round(np.random.default_rng(seed).uniform(0, 1, (size, size)), 2)
    run = compute(x, s)
    a = run.arrays
    for stage, target in TARGETS.items():
        records = run.stages[stage]
        assert len(records) == a[target].size, stage
        filled = np.full(a[target].shape, np.nan)
        for i, r in enumerate(records):
            assert r.index == i and r.target == target
            filled[r.cell] = r.result
            assert r.numbers.endswith(format_number(r.result)), r.numbers
        np.testing.assert_allclose(filled, a[target], rtol=1e-12, atol=1e-15, err_msg=stage)
    for stage in DOT_STAGES:  # the named cells, multiplied pairwise, give the result
        for r in run.stages[stage]:
            if not r.reads:  # a pixel no window covers (stride 2 with padding): its gradient is 0
                assert r.result == 0
                continue
            (na, cells_a), (nb, cells_b) = r.reads.items()
            total = sum(_value(a, na, ca) * _value(a, nb, cb) for ca, cb in zip(cells_a, cells_b))
            assert total == pytest.approx(r.result, rel=1e-12, abs=1e-15), r.formula
    routed = np.zeros_like(a["da1"])  # pooling: the routed shares add up to da1
    for r in run.stages["pool"]:
        for cell in r.writes:
            routed[cell] += r.result
    np.testing.assert_allclose(routed, a["da1"], rtol=1e-12, atol=1e-15)
    after = {"W1": run.step.params_after["0.w"][:, 0], "b1": run.step.params_after["0.b"]}
    after |= {"W2": run.step.params_after["4.w"], "b2": run.step.params_after["4.b"]}
    for r in run.stages["update"]:
        assert after[r.target][r.cell] == r.result
    assert len(run.stages["update"]) == sum(v.size for v in run.params.values())
    for check in gradient_checks(run):  # away from a kink, central differences agree with backpropagation
        r = check.result
        assert check.kink or r.relative_error < 1e-5 or abs(r.analytic - r.numeric) < 1e-9, check


def _value(arrays, name, cell):
    return arrays[name][cell]


def test_default_page_network_and_worked_text():
    run = compute(samples.digit(3, 8))
    assert run.net.shapes() == [(1, 8, 8), (2, 6, 6), (2, 6, 6), (2, 3, 3), (18,), (10,)]
    assert [k for k, _ in STAGES if k in run.stages] == list(run.stages)
    first = run.stages["conv_w"][1]
    assert first.formula.startswith("dW1[0,0,1] = x[0,1]·dz1[0,0,0] + x[0,2]·dz1[0,0,1] + ")
    assert " + … + x[5,6]·dz1[0,5,5]" in first.formula
    assert re.fullmatch(r"= (\S+×\S+ \+ ){35}\S+×\S+ = \S+", first.numbers)
    assert run.stages["loss"][3].formula == "dz2[3] = p[3] − t[3]"
    assert run.stages["loss"][3].numbers.startswith(f"= {format_number(run.arrays['p'][3])} − 1 = ")
    assert run.step.loss_after < run.step.loss  # the default step helps
    assert len(check_names(run)) == 18 + 2 + 180 + 10


def test_max_pool_record_names_the_winner_first_in_row_major_order():
    s = BackpropSettings(activation="none", filters=1, size=2)
    run = compute(np.zeros((5, 5)), s)  # every pre-pool value equals the bias 0: all windows tie
    first = run.stages["pool"][0]
    assert first.writes == ((0, 0, 0),) and "goes to a1[0,0,0]" in first.formula


def test_bad_settings_and_check_names_are_refused():
    for bad, message in (
        (BackpropSettings(filters=9), "Filters must be between 1 and 4"),
        (BackpropSettings(size=7), "Kernel size must be one of 2, 3, 4, 5"),
        (BackpropSettings(lr=0), "learning rate must be above 0"),
        (BackpropSettings(lr=float("nan")), "learning rate must be above 0"),
        (BackpropSettings(label=10), "target class must be a digit"),
        (BackpropSettings(loss="hinge"), "Loss 'hinge' is not known"),
    ):
        with pytest.raises(OpError, match=message):
            compute(np.zeros((8, 8)), bad)
    with pytest.raises(OpError, match="at most 16×16"):
        compute(np.zeros((28, 28)))
    with pytest.raises(OpError, match=r"Layer 1 \(convolution\)"):
        compute(np.zeros((2, 2)))
    run = compute(np.zeros((8, 8)))
    assert parse_check("W1[1,2,0]", run.params) == ("0.w", (1, 0, 2, 0))
    for name in ("W3[0]", "W1[0,0]", "W1[5,0,0]", "b2[x]"):
        with pytest.raises(OpError, match="pick one from the list"):
            parse_check(name, run.params)


def test_a_check_that_straddles_a_kink_is_flagged():
    """With weights of std 0.01 some ReLU inputs lie within ε of 0: moving b1[0] by ±ε flips one, so
    central differences differ from the (one-sided) analytic gradient, and the check says why."""
    x = np.round(np.random.default_rng(0).uniform(0, 1, (6, 6)), 2)
    s = BackpropSettings(init="std", seed=2, filters=2, size=2, stride=2, padding=1)
    [kinked, smooth] = gradient_checks(compute(x, s), ("b1[0]", "W2[3,0]"))
    assert kinked.kink and kinked.result.relative_error > 1e-3
    assert not smooth.kink and smooth.result.relative_error < 1e-7
