"""The Class page's parts: opening or joining a room, a student's drawing and sending it, and the lecturer's
live screen of the class's drawings. The rooms and drawings live in the class store (shared by every server
process of the class); the model's reading of them comes from ``playground.serve.class_room``.

Roles: whoever opens a room holds its key in this session (and in the private lecturer's link) and sees the
live screen; everyone who opens the room's link (``?room=CODE``) draws and sends.
"""

from __future__ import annotations

import functools
import logging
import os
import uuid

import numpy as np
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from playground.data.datasets import DIGITS, load_dataset
from playground.errors import PlaygroundError
from playground.figures import classroom as fig
from playground.figures.draw import png_data_url, probability_figure
from playground.figures.training import confusion_figure
from playground.imaging import qr
from playground.imaging.preprocess import preprocess_digit
from playground.nn.class_report import ClassReport
from playground.nn.insight import MAX_INK, MIN_INK
from playground.serve import class_room, class_tune
from playground.serve.class_store import (
    ClassError,
    ClassStore,
    Room,
    default_location,
    open_store,
    room_code,
    sender_token,
)
from playground.ui import display, fairness, inputs, models, state

log = logging.getLogger(__name__)
PAGE = "class"
REFRESH_S = 1.5  # the live screen's refresh
STROKE_PX = 20  # as on the Draw page: MNIST-thick strokes after scaling
LEAST_SURE = 12
# the picked drawing travels one pixel per value; the counts stay big in presenter mode's larger body text too
STYLE = (
    "<style>.st-key-class-picked img { image-rendering: pixelated; image-rendering: crisp-edges; }"
    ' .st-key-class-counts [data-testid="stMetricValue"] p { font-size: 2.4rem; line-height: 1.15; }</style>'
)


@st.cache_resource(show_spinner=False)
def _store(location: str) -> ClassStore:
    """One store (and its few pooled connections) per server process and location."""
    return open_store(location)


def store() -> ClassStore:
    return _store(default_location())


def _tab() -> str:
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


def _say(where: str, message: str, kind: str = "error") -> None:
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
        _say("start", str(e))
        del params["room"]
        return
    if lecturing() is None or lecturing()[0] != code:
        state.put(PAGE, "joined", code)


# ----------------------------------------------------------------- opening or joining
def _open_room() -> None:
    try:
        room, key = store().open_room()
    except ClassError as e:
        _say("start", str(e))
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
        _say("join", str(e))
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
        _say("reopen", str(e))
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
        number = store().send(code, sender_token(_tab(), code), _digit28(rgba), None if meant is None else int(meant))
    except PlaygroundError as e:  # the room's refusal, or a picture preprocessing cannot read
        _say("send", str(e))
        return
    sent = state.get(PAGE, "sent", 0) + 1
    state.put(PAGE, "sent", sent)
    said_digit = f" as a {meant}" if meant is not None else ""
    _say("send", f"Sent{said_digit}: drawing {number}, your {sent}. Draw another one whenever you like.", "success")
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


# ----------------------------------------------------------------- the lecturer's screen
def _close(code: str, key: str, closing: bool) -> None:
    try:
        (store().close_room if closing else store().reopen_room)(code, key)
    except ClassError as e:
        _say("room", str(e))


def _delete_room(code: str, key: str) -> None:
    try:
        n = store().delete_room(code, key)
    except ClassError as e:
        _say("room", str(e))
        return
    state.drop(PAGE, "lecturer")
    st.query_params.pop("room", None)
    _say("start", f"Room {code} and its {n} drawings are deleted.", "success")


def _delete_drawing(code: str, key: str, number: int) -> None:
    try:
        gone = store().delete_drawing(code, key, number)
    except ClassError as e:
        _say("picked", str(e))
        return
    state.drop(PAGE, "picked")
    _say("picked", f"Drawing {number} is deleted." if gone else f"Drawing {number} was already gone.", "success")


def _stop_lecturing() -> None:
    state.drop(PAGE, "lecturer")
    st.query_params.pop("room", None)


def _reads_digits(name: str) -> bool:
    model = models.session_models().get(name)
    return model is None or tuple(model.classes) == DIGITS  # the shipped model reads digits


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
        _say("tune", str(e))
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
