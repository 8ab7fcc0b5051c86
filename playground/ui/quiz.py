"""Predict first, on Convolution and Pooling: with the quiz switch on, the stepping view first asks for
the output size, then for each cell's value before it is revealed; it says right or wrong, shows the
arithmetic and keeps a score for the session. "Random settings" draws new sizes to practise the formula.

Every answer is checked against the engine's run (``playground.quiz`` compares); nothing here computes.
"""

from __future__ import annotations

import random

import streamlit as st

from playground import quiz
from playground.ui import inputs, state, widgets

MAX_REMEMBERED = 2_000  # answered cells kept per page (a long session stays small)


def switch(page: str) -> bool:
    """The quiz switch; True while it is on."""
    return bool(
        st.toggle(
            "Predict first (quiz)",
            **state.keep(page, "quiz"),
            help="Type the output size, then each cell's value, before the page shows it.",
        )
    )


def _answers(page: str) -> dict:
    return state.get(page, "quiz_answers", {})


def _record(page: str, question: str, answer, ok: bool) -> None:
    answers = dict(_answers(page))
    if question not in answers:  # the first answer counts; a second try only shows the verdict
        state.put(page, "quiz_score", state.get(page, "quiz_score", quiz.Score()).add(ok))
    answers[question] = (answer, ok)
    if len(answers) > MAX_REMEMBERED:
        answers.pop(next(iter(answers)))
    state.put(page, "quiz_answers", answers)


def _score_line(page: str) -> None:
    st.caption(f"Score this session: {state.get(page, 'quiz_score', quiz.Score())}.")


def _check_size(page: str, question: str, truth: tuple[int, int]) -> None:
    h, w = state.peek(page, "quiz_height"), state.peek(page, "quiz_width")
    if h is None or w is None:
        state.put(page, "quiz_problem", "Type both the height and the width, then press Check.")
        return
    state.drop(page, "quiz_problem")
    _record(page, question, (int(h), int(w)), (int(h), int(w)) == tuple(truth))


def size_answered(page: str, fingerprint: str) -> bool:
    return f"{fingerprint}:size" in _answers(page)


def ask_size(page: str, fingerprint: str, truth: tuple[int, int], facts: str) -> None:
    """Before the run: 'what size is the output?' for these ``facts`` (input, kernel or window, stride,
    padding, dilation in words); ``truth`` is the engine's output shape."""
    question = f"{fingerprint}:size"
    with st.container(border=True, key=f"{page}-quiz-size"):
        st.markdown(f"**Predict first: what size is the output?**  \n{facts}")
        with st.form(key=state.key(page, "quiz_size_form"), border=False):
            row = st.container(horizontal=True, vertical_alignment="bottom")
            row.number_input(
                "Height",
                min_value=1,
                max_value=10_000,
                value=None,
                step=1,
                width=140,
                key=state.key(page, "quiz_height"),
            )
            row.number_input(
                "Width", min_value=1, max_value=10_000, value=None, step=1, width=140, key=state.key(page, "quiz_width")
            )
            row.form_submit_button("Check", on_click=_check_size, args=(page, question, truth), type="primary")
        if state.peek(page, "quiz_problem"):
            st.warning(state.peek(page, "quiz_problem"))
        _score_line(page)


def size_verdict(page: str, fingerprint: str, truth: tuple[int, int], formulas: tuple[str, str]) -> None:
    """Right or wrong for the size answer, with the formula that gives it."""
    held = _answers(page).get(f"{fingerprint}:size")
    if held is None:
        return
    (h, w), ok = held
    text = f"{truth[0]}×{truth[1]}" + (" — right." if ok else f", not {h}×{w}.")
    (st.success if ok else st.error)(f"Output size {text}  \nheight: {formulas[0]}  \nwidth: {formulas[1]}")


def _check_cell(page: str, question: str, truth: float) -> None:
    value = state.peek(page, "quiz_value")
    if value is None:
        state.put(page, "quiz_problem", "Type a number, then press Check.")
        return
    state.drop(page, "quiz_problem")
    _record(page, question, float(value), quiz.is_right(float(value), truth))
    state.seed_widget(page, "quiz_value", None)  # an empty box for the next cell


def cell_answered(page: str, fingerprint: str, index: int) -> bool:
    return f"{fingerprint}:{index}" in _answers(page)


def ask_cell(page: str, fingerprint: str, index: int, pos: tuple[int, int], truth: float) -> None:
    """Step ``index``'s cell at ``pos``: a box for its value and Check; ``truth`` is the engine's value."""
    question = f"{fingerprint}:{index}"
    with st.container(border=True, key=f"{page}-quiz-cell"):
        with st.form(key=state.key(page, "quiz_cell_form"), border=False):
            row = st.container(horizontal=True, vertical_alignment="bottom")
            row.number_input(
                f"Predict first: output ({pos[0]}, {pos[1]}) = ?",
                value=None,
                step=1.0,
                format="%g",
                width=260,
                key=state.key(page, "quiz_value"),
            )
            row.form_submit_button("Check", on_click=_check_cell, args=(page, question, truth), type="primary")
        if state.peek(page, "quiz_problem"):
            st.warning(state.peek(page, "quiz_problem"))
        _score_line(page)


def cell_verdict(page: str, fingerprint: str, index: int, shown: str) -> None:
    """Right or wrong for step ``index``'s answer; ``shown`` is the engine's value as the page writes it."""
    held = _answers(page).get(f"{fingerprint}:{index}")
    if held is None:
        return
    answer, ok = held
    if ok:
        st.success(f"Right: {shown}.")
    else:
        st.error(f"Not quite: you said {answer:g}, the cell is {shown}. The arithmetic is below.")
    _score_line(page)


# ---------------------------------------------------------------- random practice settings
def _conv_practice(page: str) -> None:
    p = quiz.conv_practice(random.Random())
    for name, value in {
        "source": inputs.RANDOM,
        "random_size": p.size,
        "random_seed": p.seed,
        "kernel": widgets.CUSTOM_TEXT,
        "kernel_text": p.kernel_rows,
        "stride_rows": p.stride,
        "stride_cols": p.stride,
        "padding_kind": widgets.PADDING_KINDS[0],
        "padding": p.padding,
        "dilation": p.dilation,
    }.items():
        state.seed_widget(page, name, value)
    state.put(page, "step", 0)


def _pool_practice(page: str) -> None:
    p = quiz.pool_practice(random.Random())
    for name, value in {
        "source": inputs.RANDOM,
        "random_size": p.size,
        "random_seed": p.seed,
        "kind": p.kind,
        "size_px": p.window,
        "stride": p.stride,
        "padding": p.padding,
    }.items():
        state.seed_widget(page, name, value)
    state.put(page, "step", 0)


def practice_button(page: str) -> None:
    """New random sizes to practise the output-size formula (the input, kernel or window and settings change)."""
    st.button(
        "Random settings",
        icon=":material/casino:",
        key=state.key(page, "quiz_random"),
        on_click=_conv_practice if page == "conv" else _pool_practice,
        args=(page,),
        help="A random input size, kernel or window, stride and padding: practise the output-size formula.",
    )
