"""The lecturer's screen of a class room: its settings (the model that reads the drawings, the address students
open, closing, exporting, deleting), the code and QR code, and the live view of the drawings, refreshed every
REFRESH_S seconds. The model's reading comes from ``playground.serve.class_room``."""

from __future__ import annotations

import functools
import os

import numpy as np
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from playground.data.datasets import DIGITS
from playground.figures import classroom as fig
from playground.figures.draw import png_data_url, probability_figure
from playground.figures.training import confusion_figure
from playground.imaging import qr
from playground.nn.class_report import ClassReport
from playground.serve import class_room
from playground.serve.class_store import (
    ClassError,
    Room,
)
from playground.ui import display, fairness, models, state
from playground.ui.class_roles import PAGE, said, say, store
from playground.ui.class_tune_view import tune_panel

REFRESH_S = 1.5  # the live screen's refresh
LEAST_SURE = 12
# the picked drawing travels one pixel per value; the counts stay big in presenter mode's larger body text too
STYLE = (
    "<style>.st-key-class-picked img { image-rendering: pixelated; image-rendering: crisp-edges; }"
    ' .st-key-class-counts [data-testid="stMetricValue"] p { font-size: 2.4rem; line-height: 1.15; }</style>'
)


# ----------------------------------------------------------------- the lecturer's screen
def _close(code: str, key: str, closing: bool) -> None:
    try:
        (store().close_room if closing else store().reopen_room)(code, key)
    except ClassError as e:
        say("room", str(e))


def _delete_room(code: str, key: str) -> None:
    try:
        n = store().delete_room(code, key)
    except ClassError as e:
        say("room", str(e))
        return
    state.drop(PAGE, "lecturer")
    st.query_params.pop("room", None)
    say("start", f"Room {code} and its {n} drawings are deleted.", "success")


def _delete_drawing(code: str, key: str, number: int) -> None:
    try:
        gone = store().delete_drawing(code, key, number)
    except ClassError as e:
        say("picked", str(e))
        return
    state.drop(PAGE, "picked")
    say("picked", f"Drawing {number} is deleted." if gone else f"Drawing {number} was already gone.", "success")


def _stop_lecturing() -> None:
    state.drop(PAGE, "lecturer")
    st.query_params.pop("room", None)


def _reads_digits(name: str) -> bool:
    """Whether the model called ``name`` reads 28×28 digits (a Fashion-MNIST model would answer in garments,
    a colour one cannot read a drawing at all)."""
    try:
        model = models.get(name)
    except models.ModelUnavailable:
        return name == models.SHIPPED  # kept, so that the screen says what is wrong with the file
    return tuple(model.classes) == DIGITS and tuple(model.spec.input_shape) == (1, 28, 28)


def lecturer_controls(code: str, key: str) -> models.ModelChoice | None:
    """The screen's settings (sidebar, or the presenter's Settings): the model that reads the drawings, the
    address students use, and what can be done with the room."""
    names = [n for n in models.names() if _reads_digits(n)]  # a Fashion-MNIST model would answer in garments
    if state.peek(PAGE, "model_next") in names:
        state.seed_widget(PAGE, "model", state.peek(PAGE, "model_next"))
    state.drop(PAGE, "model_next")
    name = (
        st.radio("Model that reads the drawings", names, key=state.key(PAGE, "model")) if len(names) > 1 else names[0]
    )
    try:
        choice = models.get(name)
    except models.ModelUnavailable as e:
        st.error(str(e))
        choice = None
    public = os.environ.get(class_room.ENV_PUBLIC, "").strip() or None
    base, note = class_room.students_base(st.context.url or "", public, class_room.lan_address())
    st.text_input(
        "Address students open",
        value=base,
        key=state.key(PAGE, "base"),
        help="Change it when the students reach this server by another name.",
    )
    if note and state.peek(PAGE, "base", base) == base:
        st.caption(note)
    room = _room_or_none(code)
    if room is not None:
        if room.closed:
            st.button("Reopen the room", on_click=_close, args=(code, key, False), key=state.key(PAGE, "reopen_room"))
        else:
            st.button(
                "Close the room",
                on_click=_close,
                args=(code, key, True),
                key=state.key(PAGE, "close_room"),
                help="No more drawings are accepted; what was sent stays.",
            )
        if choice is not None:
            st.download_button(
                "Export the drawings (ZIP)",
                data=functools.partial(class_room.export_room, store(), code, choice.model, choice.name),
                file_name=f"class-{code}.zip",
                mime="application/zip",
                icon=":material/download:",
                key=state.key(PAGE, "export"),
                help="PNGs, labels.csv, and the labelled drawings in MNIST's IDX format",
            )
        sure = st.checkbox("Delete the room and every drawing in it", key=state.key(PAGE, "delete_sure"))
        st.button(
            "Delete the room",
            disabled=not sure,
            on_click=_delete_room,
            args=(code, key),
            key=state.key(PAGE, "delete_room"),
        )
    with st.expander("Lecturer's link (keep it private)"):
        st.caption("Opens this screen again from another tab or after a restart. Do not show it on the projector.")
        st.code(f"{state.peek(PAGE, 'base', base)}/{class_room.PAGE_PATH}?room={code}&key={key}", language=None)
    st.button("Leave this screen", on_click=_stop_lecturing, key=state.key(PAGE, "stop_lecturing"))
    said("room")
    return choice


def _room_or_none(code: str):
    try:
        return store().room(code)
    except ClassError as e:
        st.error(str(e))
        return None


def banner(code: str) -> DeltaGenerator:
    """The room's code, link and QR code, big enough for the back row; returns the place beside them."""
    base = state.peek(PAGE, "base") or class_room.students_base(st.context.url or "")[0]
    link = class_room.room_link(base, code)
    row = st.container(horizontal=True, wrap=True, gap="medium", vertical_alignment="center", key="class-banner")
    with row.container(width=330):
        st.markdown(
            f"<div>Room code</div><div class='class-code' style='font-size:3.6rem;font-weight:700;"
            f"letter-spacing:0.25rem;line-height:1.1'>{code}</div>",
            unsafe_allow_html=True,
        )
        st.markdown(f"Scan the code or open **{link}**, draw a digit and send it.")
    qr_url = state.memo(PAGE, "qr", link, lambda: png_data_url(qr.qr_picture(link, scale=6)))
    row.image(qr_url, width=170)
    return row.container(width=330, key="class-counts")


def _report(code: str, choice: models.ModelChoice) -> tuple[ClassReport, Room] | None:
    """The model's reading of the room and the room (None when it is gone), recomputed only when the room or
    the model changed (a new drawing costs one forward pass, not the whole room's). One question to the store
    per refresh while nothing changes."""
    room = store().room(code)
    if room is None:
        return None
    version = room.version
    held = state.peek(PAGE, "report")
    if held is not None and held[0] == (version, choice.token or choice.name):
        return held[1], room
    known = held[2] if held is not None and held[0][1] == (choice.token or choice.name) else None
    r, probs = class_room.room_report(store().drawings(code), choice.model, known)
    state.put(PAGE, "report", ((version, choice.token or choice.name), r, probs))
    return r, room


def _thumbs(r: ClassReport, positions) -> list[fig.Thumb]:
    pred, conf = r.predicted, r.confidence
    return [fig.Thumb(r.images[i], int(r.ids[i]), int(r.meant[i]), int(pred[i]), float(conf[i])) for i in positions]


def _pick(chart: str) -> None:
    number = fig.clicked_drawing(state.peek(PAGE, chart))
    if number is not None:
        state.put(PAGE, "picked", number)


def live(code: str, key: str, choice: models.ModelChoice | None) -> None:
    """The class's drawings as they arrive: counts, grouped by answer, the confusion matrix, the least sure."""
    try:
        got = _report(code, choice) if choice is not None else None
    except ClassError as e:
        st.error(str(e))
        return
    if choice is None:
        banner(code)
        st.info(f"No model can read the drawings: see the message {display.controls_place()}.")
        return
    if got is None:
        banner(code)
        st.warning(f"Room {code} no longer exists.")
        return
    r, room = got
    version = room.version
    n, labelled = len(r.ids), int(r.labelled.sum())
    acc = r.accuracy()
    with banner(code):
        top, bottom = st.columns(2), st.columns(2)
        top[0].metric("Drawings", n)
        top[1].metric("Students", r.students)
        bottom[0].metric("Digit said", labelled)
        bottom[1].metric("Read as meant", "–" if acc is None else f"{acc:.0%}")
    if room is not None and room.closed:
        st.info(f"Room {code} is closed: students cannot send. Reopen it {display.controls_place()}.")
    said("picked")  # what happened to the drawing picked last (deleted), before anything else changes
    if n == 0:
        st.info("No drawings yet. As students send them, they appear here grouped by what the model answers.")
        return
    picked = state.peek(PAGE, "picked")
    seen = f"{version}|{choice.token or choice.name}|{picked}"  # an idle refresh rebuilds none of the room's figures
    st.markdown(
        f"**By the model's answer** ({choice.name}) · frames: green read as meant, vermillion not, grey digit not said · click one to look closer"
    )
    display.chart(
        state.memo(
            PAGE, "grouped_fig", seen, lambda: fig.grouped_figure([_thumbs(r, g) for g in r.groups()], DIGITS, picked)
        ),
        f"class-{code}-by-answer",
        key=state.key(PAGE, "grouped"),
        on_select=lambda: _pick("grouped"),
        selection_mode="points",
    )
    left, right = st.columns([1, 1])
    with left:
        st.markdown(f"**Confusion matrix** · the digit meant against the answer ({labelled} drawings)")
        if labelled:
            display.chart(
                state.memo(
                    PAGE,
                    "confusion_fig",
                    seen,
                    lambda: confusion_figure(r.confusion(), DIGITS, true_label="meant", height=420),
                ),
                f"class-{code}-confusion",
                key=state.key(PAGE, "confusion"),
            )
        else:
            st.caption("Appears when students say which digit they meant.")
    with right:
        st.markdown("**Least sure first**")
        display.chart(
            state.memo(
                PAGE,
                "least_fig",
                seen,
                lambda: fig.strip_figure(_thumbs(r, r.least_confident(LEAST_SURE)), DIGITS, picked, per_row=6),
            ),
            f"class-{code}-least-sure",
            key=state.key(PAGE, "least"),
            on_select=lambda: _pick("least"),
            selection_mode="points",
        )
        _picked_panel(code, key, r)
    tune_panel(code, choice, r)


def _pick_number() -> None:
    number = state.peek(PAGE, "pick_number")
    if number is not None:
        state.put(PAGE, "picked", int(number))


def _picked_panel(code: str, key: str, r: ClassReport) -> None:
    st.number_input(
        "Open drawing number",
        min_value=1,
        max_value=2**53 - 1,
        value=None,
        step=1,
        key=state.key(PAGE, "pick_number"),
        on_change=_pick_number,
        help="Or click a drawing: its number shows when the pointer rests on it.",
    )
    picked = state.peek(PAGE, "picked")
    where = np.flatnonzero(r.ids == picked) if picked is not None else []
    if not len(where):
        if picked is not None:
            st.warning(f"There is no drawing {picked} in this room (deleted, or not sent yet).")
        else:
            st.caption("Click a drawing to see its probabilities, or to delete it.")
        return
    i = int(where[0])
    p, meant = r.probabilities[i], int(r.meant[i])
    with st.container(horizontal=True, key="class-picked"):
        st.image(png_data_url(r.images[i]), width=112)
        with st.container():
            said_ = f"meant {meant}" if meant >= 0 else "digit not said"
            st.markdown(f"**Drawing {int(r.ids[i])}**: answer **{int(p.argmax())}** ({p.max():.0%}), {said_}")
            st.button(
                f"Delete drawing {int(r.ids[i])}",
                icon=":material/delete:",
                on_click=_delete_drawing,
                args=(code, key, int(r.ids[i])),
                key=state.key(PAGE, "delete_drawing"),
            )
    display.chart(
        probability_figure(p, int(p.argmax())), f"class-drawing-{int(r.ids[i])}", key=state.key(PAGE, "picked_probs")
    )


def lecturer(code: str, key: str, choice: models.ModelChoice | None) -> None:
    st.html(STYLE)
    fairness.fragment(live, run_every=REFRESH_S)(code, key, choice)
