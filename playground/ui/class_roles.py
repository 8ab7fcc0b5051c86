"""Who is looking at the Class page, and what the address says: the class store of this server process, the
lecturer's room (whoever opened it holds its key in this session and in the private lecturer's link), the room
a student joined (``?room=CODE``), and the one-sentence messages an action leaves for the next run.
The rooms and drawings live in the class store, shared by every server process of the class."""

from __future__ import annotations

import uuid

import streamlit as st

from playground.serve.class_store import (
    ClassError,
    ClassStore,
    default_location,
    open_store,
    room_code,
)
from playground.ui import state

PAGE = "class"


@st.cache_resource(show_spinner=False)
def _store(location: str) -> ClassStore:
    """One store (and its few pooled connections) per server process and location."""
    return open_store(location)


def store() -> ClassStore:
    return _store(default_location())


def tab() -> str:
    """A random id of this browser tab's session: what the store's sender token is made from."""
    if not state.has(PAGE, "tab"):
        state.put(PAGE, "tab", uuid.uuid4().hex)
    return state.get(PAGE, "tab", "")


def lecturing() -> tuple[str, str] | None:
    """(room code, lecturer's key) when this session runs a room's screen."""
    return state.peek(PAGE, "lecturer")


def joined() -> str | None:
    """The room this session draws for, as a student."""
    return state.peek(PAGE, "joined")


def say(where: str, message: str, kind: str = "error") -> None:
    state.put(PAGE, f"say.{where}", (kind, message))


def said(where: str) -> None:
    """Show (once) the message left for the place ``where`` by the last action."""
    held = state.peek(PAGE, f"say.{where}")
    if held:
        state.drop(PAGE, f"say.{where}")
        getattr(st, held[0])(held[1])


INTRO = (
    "A class room turns the students' handwriting into the lecture's material. Open a room and put its code "
    "on the projector; each student draws a digit, says which one they meant, and sends it. The drawings "
    "arrive on this screen grouped by what the network answers, with the class's **confusion matrix** (the "
    "digit meant against the answer) and the drawings the network is least sure of."
)
STUDENT_INTRO = "Draw one digit, 0 to 9, and send it: it goes to the lecturer's screen without your name."
LECTURER_INTRO = (
    "Students scan the code (or open the link), draw a digit and send it; their drawings arrive below, grouped "
    "by the network's answer, every couple of seconds."
)


def intro() -> str:
    """The page's paragraph for whoever is looking: a student, the lecturer of an open room, or neither yet."""
    return LECTURER_INTRO if lecturing() else STUDENT_INTRO if joined() else INTRO


# ----------------------------------------------------------------- the address: ?room=CODE (&key=K)
def read_address() -> None:
    """``?room=CODE`` joins that room; ``?room=CODE&key=KEY`` (the lecturer's private link) opens its screen,
    and the key leaves the address at once, so the projector never shows it."""
    params = st.query_params
    room, key = params.get("room"), params.get("key")
    if key is not None:
        del params["key"]
    if room is None or (key is None and (joined() == room or (lecturing() and lecturing()[0] == room))):
        return  # nothing new: a stroke on a student's canvas does not ask the store again
    try:
        code = room_code(room)
        if key is not None:
            if not store().is_lecturer(code, key):
                raise ClassError(
                    f"That lecturer's link does not open room {code}: check it, or open a new room.", "key"
                )
            state.put(PAGE, "lecturer", (code, key))
            state.drop(PAGE, "joined")
            return
        if store().room(code) is None:
            raise ClassError(f"There is no room {code}: check the code on the lecturer's screen.", "room")
    except ClassError as e:
        say("start", str(e))
        del params["room"]
        return
    if lecturing() is None or lecturing()[0] != code:
        state.put(PAGE, "joined", code)
