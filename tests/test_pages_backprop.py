"""The Backpropagation page in AppTest: every stage steps with the engine's arithmetic, every control
reaches the engine, and bad settings keep the last valid step with the message beside the controls."""

from __future__ import annotations

import numpy as np
import pytest
from apptest_support import ROOT, charts, errors, rerun, shown
from streamlit.testing.v1 import AppTest

from playground.ops import format_number, samples
from playground.ops.backprop_run import STAGES, BackpropSettings, check_names, compute, gradient_checks

PAGE = str(ROOT / "playground" / "pages" / "backprop.py")
DIGIT3 = samples.digit(3, 8)


def page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def arithmetic(at: AppTest) -> str:
    [block] = [m.value for m in at.markdown if m.value.startswith("**") and "  \n" in m.value]
    return block


def stage(at: AppTest, key: str) -> AppTest:
    return rerun(at.radio(key="backprop.stage").set_value(key))


def test_opens_on_the_forward_pass_of_the_digit_3_with_its_loss():
    at = page()
    run = compute(DIGIT3)
    assert at.radio(key="backprop.stage").value == "forward"
    text = arithmetic(at)
    assert f"The network predicts **{int(np.argmax(run.arrays['p']))}**" in text
    assert f"−log {format_number(run.arrays['p'][3])} = {format_number(run.step.data_loss)}" in text
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Loss before the step"] == format_number(run.step.loss)
    assert metrics["Loss after one step (α = 0.1)"] == format_number(run.step.loss_after)
    assert "conv 2 filters 3×3 → ReLU → max pool 2×2 → dense 18 → 10, cross-entropy" in shown(at)
    bars = charts(at)[1]["data"][0]  # the softmax beside the text, the target highlighted
    np.testing.assert_allclose(bars["y"], run.arrays["p"], rtol=1e-12)
    assert len(set(bars["marker"]["color"])) == 2 and bars["marker"]["color"][3] != bars["marker"]["color"][0]


@pytest.mark.parametrize("key", [k for k, _ in STAGES if k not in ("forward", "flatten", "check")])
def test_each_stage_steps_cell_by_cell_with_the_engines_arithmetic(key):
    at = stage(page(), key)
    records = compute(DIGIT3).stages[key]
    assert arithmetic(at) == f"**{records[0].formula}**  \n{records[0].numbers}"
    rerun(at.button(key="backprop.next").click())
    assert arithmetic(at) == f"**{records[1].formula}**  \n{records[1].numbers}"
    rerun(at.button(key="backprop.last").click())
    assert arithmetic(at) == f"**{records[-1].formula}**  \n{records[-1].numbers}"
    assert at.slider(key="backprop.step_slider").max == len(records)
    assert len(at.get("plotly_chart")) == 1
    assert "def " in at.expander[-1].code[0].value  # the engine's own code for the stage


def test_a_new_stage_starts_at_its_first_cell_and_flatten_and_check_show_their_views():
    at = stage(page(), "conv_w")
    rerun(at.button(key="backprop.next").click())
    at = stage(at, "conv_x")
    assert arithmetic(at).startswith("**dx[0,0] = ")
    at = stage(at, "flatten")
    assert len(at.get("plotly_chart")) == 1  # df and the dp1 maps it reshapes into: no steps
    at = stage(at, "check")
    table = at.dataframe[0].value
    expected = gradient_checks(compute(DIGIT3))
    assert list(table["weight"]) == [c.name for c in expected]
    np.testing.assert_allclose(table["backpropagation"], [c.result.analytic for c in expected])
    np.testing.assert_allclose(table["central differences"], [c.result.numeric for c in expected])
    rerun(at.multiselect(key="backprop.checks").set_value(["W2[7,17]", "b1[1]"]))
    assert list(at.dataframe[0].value["weight"]) == ["W2[7,17]", "b1[1]"]
    rerun(at.multiselect(key="backprop.checks").set_value([]))
    assert "Pick at least one weight to check." in shown(at)


CONTROLS = [
    ("backprop.filters", "number_input", 3, dict(filters=3)),
    ("backprop.kernel_size", "selectbox", 2, dict(size=2)),
    ("backprop.stride", "number_input", 2, dict(stride=2)),
    ("backprop.padding", "number_input", 1, dict(padding=1)),
    ("backprop.activation", "selectbox", "tanh", dict(activation="tanh")),
    ("backprop.pool", "radio", "avg", dict(pool_kind="avg")),
    ("backprop.loss", "radio", "mse", dict(loss="mse")),
    ("backprop.label", "selectbox", 7, dict(label=7)),
    ("backprop.lr", "select_slider", 1.0, dict(lr=1.0)),
    ("backprop.init", "selectbox", "xavier", dict(init="xavier")),
    ("backprop.seed", "number_input", 5, dict(seed=5)),
]


@pytest.mark.parametrize("key,kind,value,fields", CONTROLS, ids=[c[0] for c in CONTROLS])
def test_every_control_reaches_the_engine(key, kind, value, fields):
    at = stage(page(), "update")
    rerun(getattr(at, kind)(key=key).set_value(value))
    run = compute(DIGIT3, BackpropSettings(**fields))
    first = run.stages["update"][0]
    assert arithmetic(at) == f"**{first.formula}**  \n{first.numbers}"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Loss before the step"] == format_number(run.step.loss)


def test_the_input_chooser_feeds_the_network():
    at = page()
    rerun(at.selectbox(key="backprop.sample").set_value("digit 7"))
    at = stage(at, "conv_w")
    record = compute(samples.digit(7, 8)).stages["conv_w"][0]
    assert arithmetic(at) == f"**{record.formula}**  \n{record.numbers}"
    rerun(at.selectbox(key="backprop.source").set_value("Worked example 4×4 (1 … 16)"))
    assert "Input: the 4×4 worked example" in shown(at) and "dense 2 → 10" in shown(at)


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda at: at.number_input(key="backprop.filters").set_value(9), "Filters must be between 1 and 4; got 9."),
        (lambda at: at.number_input(key="backprop.stride").set_value(0), "Stride must be 1 or more"),
        (lambda at: at.number_input(key="backprop.padding").set_value(-1), "Padding cannot be negative"),
        (lambda at: at.number_input(key="backprop.padding").set_value(999), "Padding of 999 pixels"),
        (lambda at: at.number_input(key="backprop.stride").set_value(9), "Layer 3 (pooling)"),
    ],
)
def test_bad_settings_keep_the_last_step_and_say_why_beside_the_controls(change, message):
    at = stage(page(), "conv_w")
    before = arithmetic(at)
    rerun(change(at))
    assert any(message in e.value for e in at.sidebar.error), errors(at)
    assert any("The last valid step is shown." in w.value for w in at.warning)
    assert arithmetic(at) == before


def test_a_typed_matrix_too_big_for_stepping_is_refused():
    at = page()
    rerun(at.selectbox(key="backprop.source").set_value("Type a matrix"))
    big = "\n".join(" ".join(["1"] * 20) for _ in range(20))
    rerun(at.text_area(key="backprop.typed").set_value(big))
    assert any("at most 16×16 pixels" in e.value for e in at.sidebar.error), errors(at)
    assert len(check_names(compute(DIGIT3))) == 210
