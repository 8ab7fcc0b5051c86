"""Fine-tune on the class, on the lecturer's screen: start it, follow it in the training queue, and read the
accuracy before and after on the drawings it never trained on (``playground.serve.class_tune``)."""

from __future__ import annotations

import streamlit as st

from playground.data.datasets import load_dataset
from playground.errors import PlaygroundError
from playground.nn.class_report import ClassReport
from playground.serve import class_tune
from playground.ui import models, state
from playground.ui.class_roles import PAGE, said, say


# ----------------------------------------------------------------- fine-tune on the class
def _stop_all(held: dict[str, class_tune.Tuning]) -> None:
    for tuning in list(held.values()):
        tuning.stop()


@st.cache_resource(scope="session", on_release=_stop_all, show_spinner=False)
def tunings() -> dict[str, class_tune.Tuning]:
    """This session's fine-tunings by room; a tab that closes stops them (its training child too)."""
    return {}


def _start_tuning(code: str, name: str) -> None:
    held = state.peek(PAGE, "report")
    try:
        choice = models.get(name)
        train = load_dataset("mnist", None, split="train", download_ok=False)
        val = load_dataset("mnist", None, split="val", download_ok=False)
        tuning = class_tune.start(code, name, choice.model, choice.spec, held[1], train, val, classes=choice.classes)
    except PlaygroundError as e:
        say("tune", str(e))
        return
    tunings()[code] = tuning


def _stop_tuning() -> None:
    tuning = tunings().get(state.peek(PAGE, "lecturer", ("",))[0])
    if tuning is not None:
        tuning.stop()


def _percent(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def tune_panel(code: str, choice: models.ModelChoice, r: ClassReport) -> None:
    """Train the model a little more on the class's drawings (through the training queue) and show how it
    reads the drawings it did not train on, before and after."""
    st.markdown(
        "**Fine-tune on the class** · a few epochs more on the labelled drawings and MNIST, judged on every fifth labelled drawing, which it never trains on"
    )
    said("tune")
    tuning = tunings().get(code)
    if tuning is None:
        problem = class_tune.check(r)
        st.button(
            f"Fine-tune {choice.name} on the class",
            disabled=bool(problem),
            icon=":material/model_training:",
            on_click=_start_tuning,
            args=(code, choice.name),
            key=state.key(PAGE, "tune_start"),
        )
        st.caption(problem or f"Uses {r.labelled.sum()} labelled drawings; takes about a minute on a shared server.")
        return
    if tuning.finish() and tuning.model is not None:
        name = f"Fine-tuned on class {code} ({tuning.trained_on} drawings)"
        models.add_session_model(
            name,
            tuning.model,
            tuning.trainer.spec,
            f"{tuning.model_name}, fine-tuned on class {code}'s drawings.",
            use_on_draw=False,
        )
        tuning.model_name = name
        st.rerun(scope="app")  # the sidebar's model choice (outside this fragment) now offers it
    snap = tuning.trainer.snapshot()
    if tuning.after is None:
        place = tuning.position
        waiting = f"Waiting in the training queue: {place}." if place else snap.message
        st.progress(snap.progress, text=f"{snap.state.capitalize()}: {waiting}")
        st.button("Stop fine-tuning", on_click=_stop_tuning, key=state.key(PAGE, "tune_stop"))
        return
    if tuning.model is None:
        st.warning(f"The fine-tuning ended without a model: {snap.message}")
    else:
        b, a = tuning.before, tuning.after
        st.markdown(
            "| | before | after |\n|---|---|---|\n"
            f"| {b.held_out_n} class drawings it never trained on | {_percent(b.held_out)} | **{_percent(a.held_out)}** |\n"
            f"| {b.mnist_n:,} MNIST validation images | {_percent(b.mnist_val)} | {_percent(a.mnist_val)} |"
        )
        st.caption(
            f"Trained on {tuning.trained_on} of the class's labelled drawings (each {class_tune.REPEAT} times an epoch) and {class_tune.MNIST_IMAGES:,} MNIST images, {snap.step} steps in {snap.elapsed_s:.0f} s."
        )
        if st.button("Read the drawings with the fine-tuned model", key=state.key(PAGE, "tune_use")):
            state.put(PAGE, "model_next", tuning.model_name)  # the sidebar's choice takes it before it is drawn
            st.rerun(scope="app")  # the choice sits in the sidebar, outside this fragment
    st.button("Fine-tune again", on_click=lambda: tunings().pop(code, None), key=state.key(PAGE, "tune_again"))
