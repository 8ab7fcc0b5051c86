"""The Class page before the lecturer's screen: opening or joining a room, and a student's drawing and sending it."""

from __future__ import annotations

import numpy as np
import streamlit as st

from playground.errors import PlaygroundError
from playground.imaging.preprocess import preprocess_digit
from playground.nn.insight import MAX_INK, MIN_INK
from playground.serve.class_store import (
    ClassError,
    room_code,
    sender_token,
)
from playground.ui import inputs, state
from playground.ui.class_roles import PAGE, said, say, store, tab

STROKE_PX = 20  # as on the Draw page: MNIST-thick strokes after scaling


# ----------------------------------------------------------------- opening or joining
def _open_room() -> None:
    try:
        room, key = store().open_room()
    except ClassError as e:
        say("start", str(e))
        return
    state.put(PAGE, "lecturer", (room.code, key))
    state.drop(PAGE, "joined")
    st.query_params["room"] = room.code


def _join() -> None:
    try:
        code = room_code(state.peek(PAGE, "code_typed", ""))
        if store().room(code) is None:
            raise ClassError(f"There is no room {code}: check the code on the lecturer's screen.", "room")
    except ClassError as e:
        say("join", str(e))
        return
    state.put(PAGE, "joined", code)
    st.query_params["room"] = code


def _reopen() -> None:
    try:
        code = room_code(state.peek(PAGE, "reopen_code", ""))
        key = str(state.peek(PAGE, "reopen_key", "")).strip()
        if not store().is_lecturer(code, key):
            raise ClassError(f"That key does not open room {code}.", "key")
    except ClassError as e:
        say("reopen", str(e))
        return
    state.put(PAGE, "lecturer", (code, key))
    state.drop(PAGE, "joined")
    st.query_params["room"] = code


def start() -> None:
    """No room yet: open one (the lecturer) or join one by its code (a student)."""
    said("start")
    row = st.container(horizontal=True, wrap=True, gap="large")
    with row.container(width=420, border=True, key="class-student-start"):
        st.subheader("Students: join the room")
        st.caption("Type the code on the lecturer's screen, or scan its QR code with your phone's camera.")
        st.text_input("Room code", max_chars=12, placeholder="e.g. K7QMP", key=state.key(PAGE, "code_typed"))
        st.button("Join", type="primary", on_click=_join, key=state.key(PAGE, "join"))
        said("join")
    with row.container(width=420, border=True, key="class-lecturer-start"):
        st.subheader("Lecturers: open a room")
        st.caption(
            "A room collects the class's drawings: each student draws a digit on a phone or laptop and sends "
            "it; your screen groups them by the model's answer as they arrive."
        )
        st.button("Open a new room", type="primary", on_click=_open_room, key=state.key(PAGE, "open"))
        with st.expander("Back to a room you opened"):
            st.text_input("Room code", max_chars=12, key=state.key(PAGE, "reopen_code"))
            st.text_input("Lecturer's key", type="password", key=state.key(PAGE, "reopen_key"))
            st.button("Open its screen", on_click=_reopen, key=state.key(PAGE, "reopen"))
            said("reopen")


# ----------------------------------------------------------------- a student
def _digit28(rgba: np.ndarray) -> np.ndarray:
    """The canvas as the 28×28 bytes the network reads; ClassError when it is (almost) empty or covered."""
    prep = preprocess_digit(rgba, background="dark")
    if prep.empty or prep.ink_fraction < MIN_INK:
        raise ClassError("The canvas is empty: draw a digit before sending it.", "image")
    if prep.ink_fraction > MAX_INK:
        raise ClassError("Most of the canvas is covered: draw one digit with thin strokes, then send it.", "image")
    return np.round(np.asarray(prep.image) * 255).astype(np.uint8)


def _send(code: str) -> None:
    rgba = state.peek(PAGE, "image")
    meant = state.peek(PAGE, "meant")
    try:
        if rgba is None:
            raise ClassError("The canvas is empty: draw a digit before sending it.", "image")
        number = store().send(code, sender_token(tab(), code), _digit28(rgba), None if meant is None else int(meant))
    except PlaygroundError as e:  # the room's refusal, or a picture preprocessing cannot read
        say("send", str(e))
        return
    sent = state.get(PAGE, "sent", 0) + 1
    state.put(PAGE, "sent", sent)
    said_digit = f" as a {meant}" if meant is not None else ""
    say("send", f"Sent{said_digit}: drawing {number}, your {sent}. Draw another one whenever you like.", "success")
    inputs.clear_canvas(PAGE)
    state.put(PAGE, "meant", None)  # the choice goes back to "not said" for the next drawing


def _leave() -> None:
    state.drop(PAGE, "joined")
    st.query_params.pop("room", None)


def student(code: str) -> None:
    """Draw a digit, say which one it is meant to be (or not), send it to the room."""
    st.subheader(f"Room {code}")
    inputs.drawing_canvas(PAGE, stroke_width=STROKE_PX)
    st.segmented_control(
        "The digit you meant (optional: it lets the class see where the network is wrong)",
        list(range(10)),
        key=state.key(PAGE, "meant"),
    )
    row = st.container(horizontal=True)
    row.button(
        "Send to the class",
        type="primary",
        icon=":material/send:",
        on_click=_send,
        args=(code,),
        key=state.key(PAGE, "send"),
    )
    row.button("Leave the room", on_click=_leave, key=state.key(PAGE, "leave"))
    said("send")
