"""Predict first (AppTest): with the quiz on, Convolution and Pooling ask the output size, then each cell
before showing it, check the answer against the engine's numbers, show the arithmetic, keep a score,
and draw random practice settings."""

from __future__ import annotations

import random

import numpy as np
import pytest
from apptest_support import CONV, POOL, app, chart, rerun, trace_z
from streamlit.testing.v1 import AppTest

from playground import ops, quiz


def check(at: AppTest) -> AppTest:
    return rerun(next(b for b in at.button if b.label == "Check").click())


def answer_size(at: AppTest, page: str, h: int, w: int) -> AppTest:
    at.number_input(key=f"{page}.quiz_height").set_value(h)
    at.number_input(key=f"{page}.quiz_width").set_value(w)
    return check(at)


def answer_cell(at: AppTest, page: str, value: float) -> AppTest:
    at.number_input(key=f"{page}.quiz_value").set_value(value)
    return check(at)


def score(at: AppTest) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Score this session"))


def arithmetic_shown(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**Output (")]


def test_the_convolution_quiz_asks_the_size_then_each_cell_and_keeps_the_score():
    at = app(CONV)
    rerun(at.toggle(key="conv.quiz").set_value(True))
    assert any("what size is the output" in m.value for m in at.markdown)
    assert not at.get("plotly_chart") and not arithmetic_shown(at)  # nothing given away before the answer
    answer_size(at, "conv", 3, 3)  # the 3×3 worked example with a 2×2 kernel gives 2×2
    [verdict] = [e.value for e in at.error]
    assert verdict.startswith("Output size 2×2, not 3×3.") and "⌊(3 + 0 + 0 − 1·(2 − 1) − 1) / 1⌋ + 1 = 2" in verdict
    assert score(at) == "Score this session: 0 right of 1 (0 %)."
    out = trace_z(chart(at), "output")
    assert np.isnan(out).all()  # cell (0, 0) is the question: not drawn yet
    assert any(a["text"].endswith("output (0, 0) = ?") for a in chart(at)["layout"]["annotations"])
    assert not arithmetic_shown(at)
    answer_cell(at, "conv", 37)
    assert [s.value for s in at.success] == ["Right: 37."]
    assert arithmetic_shown(at) == ["**Output (0, 0)** = 1×1 + 2×2 + 4×3 + 5×4 = 37"]
    assert trace_z(chart(at), "output")[0, 0] == 37
    assert score(at) == "Score this session: 1 right of 2 (50 %)."
    rerun(at.button(key="conv.next").click())
    assert not arithmetic_shown(at)  # the next cell is asked in its turn
    answer_cell(at, "conv", 40)
    assert [e.value for e in at.error if e.value.startswith("Not quite")] == [
        "Not quite: you said 40, the cell is 47. The arithmetic is below."
    ]
    assert arithmetic_shown(at) == ["**Output (0, 1)** = 2×1 + 3×2 + 5×3 + 6×4 = 47"]
    assert score(at) == "Score this session: 1 right of 3 (33 %)."


def test_an_empty_answer_is_asked_again_and_not_scored():
    at = app(CONV)
    rerun(at.toggle(key="conv.quiz").set_value(True))
    check(at)
    assert [w.value for w in at.warning] == ["Type both the height and the width, then press Check."]
    assert score(at) == "Score this session: No answers yet."
    answer_size(at, "conv", 2, 2)
    check(at)  # Check on an empty cell box
    assert "Type a number, then press Check." in [w.value for w in at.warning]
    assert not arithmetic_shown(at) and score(at) == "Score this session: 1 right of 1 (100 %)."


def test_random_settings_give_a_new_size_question_the_engine_answers():
    at = app(CONV)
    rerun(at.toggle(key="conv.quiz").set_value(True))
    for _ in range(3):
        rerun(at.button(key="conv.quiz_random").click())
        facts = next(m.value for m in at.markdown if "what size is the output" in m.value)
        size = at.number_input(key="conv.random_size").value
        rows = at.text_area(key="conv.kernel_text").value.splitlines()
        s = ops.ConvSettings(
            stride=int(at.number_input(key="conv.stride_rows").value),
            padding=int(at.number_input(key="conv.padding").value),
            dilation=int(at.number_input(key="conv.dilation").value),
        )
        truth = ops.conv_output_shape((size, size), (len(rows), len(rows)), s)
        assert f"Input {size}×{size}, kernel {len(rows)}×{len(rows)}" in facts
        answer_size(at, "conv", *truth)
        assert [v.value for v in at.success][0].startswith(f"Output size {truth[0]}×{truth[1]} — right.")
        assert trace_z(chart(at), "output").shape == truth


def test_the_pooling_quiz_hides_the_winner_until_answered():
    at = app(POOL)
    rerun(at.toggle(key="pool.quiz").set_value(True))
    answer_size(at, "pool", 2, 2)
    spec = chart(at)
    assert not [s for s in spec["layout"]["shapes"] if s.get("type") == "circle"]  # no ring on the maximum yet
    answer_cell(at, "pool", 6)
    size_verdict, cell_verdict = [s.value for s in at.success]
    assert size_verdict.startswith("Output size 2×2 — right.") and cell_verdict == "Right: 6."
    assert [s for s in chart(at)["layout"]["shapes"] if s.get("type") == "circle"]  # the ring, now
    assert arithmetic_shown(at) == ["**Output (0, 0)** = max(1, 2, 5, 6) = 6"]
    assert score(at) == "Score this session: 2 right of 2 (100 %)."


@pytest.mark.parametrize(
    "truth,answer,ok",
    [(37, 37, True), (0.333333, 0.33, True), (0.333333, 0.3, False), (1e6, 1.004e6, True), (-2.5, 2.5, False)],
)
def test_answers_are_right_as_the_page_writes_numbers(truth, answer, ok):
    assert quiz.is_right(answer, truth) is ok


def test_practice_settings_always_have_an_output():
    rng = random.Random(0)
    for _ in range(200):
        c = quiz.conv_practice(rng)
        k = len(c.kernel)
        assert ops.conv_output_shape(
            (c.size, c.size), (k, k), ops.ConvSettings(stride=c.stride, padding=c.padding, dilation=c.dilation)
        )
        p = quiz.pool_practice(rng)
        settings = ops.PoolSettings(kind=p.kind, size=p.window, stride=p.stride, padding=p.padding)
        assert ops.pool_steps(np.arange(p.size * p.size, dtype=float).reshape(p.size, p.size), settings)
