"""The one owner of ``st.session_state``.

Pages never touch ``st.session_state`` directly: they call the typed accessors here. Keys are
namespaced by page (``"conv.stride"``, ``"draw.json"``) so two pages never collide, and widget keys
are built with :func:`key` so a widget's state and its accessor agree on the name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

T = TypeVar("T")


def key(page: str, name: str) -> str:
    """The session-state key of ``name`` on ``page`` (also used as the widget key)."""
    return f"{page}.{name}"


def keep(page: str, name: str) -> dict[str, str]:
    """Keyword arguments for a widget whose value survives page switches and being hidden:
    ``st.selectbox(..., **state.keep("conv", "kernel"))`` (key ``"conv.kernel"``, session scope).
    A lecturer who visits Pooling and comes back finds the Convolution page as it was."""
    return {"key": key(page, name), "persist_state": "session"}


def get(page: str, name: str, default: T) -> T:
    """The stored value, or ``default`` (stored) when absent."""
    k = key(page, name)
    if k not in st.session_state:
        st.session_state[k] = default
    return st.session_state[k]


def peek(page: str, name: str, default: Any = None) -> Any:
    """The stored value (a widget's or a component's), or ``default``; stores nothing."""
    return st.session_state.get(key(page, name), default)


def put(page: str, name: str, value: Any) -> None:
    st.session_state[key(page, name)] = value


def has(page: str, name: str) -> bool:
    return key(page, name) in st.session_state


def drop(page: str, name: str) -> None:
    st.session_state.pop(key(page, name), None)


def memo(page: str, name: str, fingerprint: str, compute: Callable[[], T]) -> T:
    """``compute()`` once per ``fingerprint`` for this session: a rerun with unchanged inputs (a step
    button, a slider move) reuses the stored result instead of recomputing it.

    Per session on purpose: results built from one user's drawing are never shared with others.
    ``compute`` may raise; nothing is stored then and the previous result stays.
    """
    k = key(page, f"memo.{name}")
    held = st.session_state.get(k)
    if held is not None and held[0] == fingerprint:
        return held[1]
    value = compute()
    st.session_state[k] = (fingerprint, value)
    return value


def step_index(page: str, n_steps: int) -> int:
    """The current step (0-based) of ``page``, clamped into 0..n_steps-1 and stored back.

    Clamping here is what keeps stepping valid when a setting change shortens the list of steps.
    """
    k = key(page, "step")
    index = int(st.session_state.get(k, 0))
    index = min(max(index, 0), max(n_steps - 1, 0))
    st.session_state[k] = index
    return index


def set_step_index(page: str, index: int, n_steps: int) -> None:
    """Move ``page``'s step to ``index`` (clamped into range)."""
    st.session_state[key(page, "step")] = min(max(int(index), 0), max(n_steps - 1, 0))


def seed_widget(page: str, name: str, value: Any) -> None:
    """Set a widget's value before the widget is drawn in this run (e.g. the step slider follows the
    step buttons). Only valid before the widget call, which then takes the value from here."""
    st.session_state[key(page, name)] = value


RESTART_NOTE = (
    "This tab started afresh: the server process it was on restarted, so what the tab held there (a drawing, "
    "models trained in it, its runs) is gone. The page works as before from here."
)


def restarted_under_the_page() -> bool:
    """True on the first run of a session that a page older than it asked for: the browser's page still holds
    widget values (it sends them with the rerun) but the server has no session for it, i.e. the server process
    it was on restarted (a replica of the class server, or the one server). A new or reloaded page sends no
    widget values on its first run. Reads Streamlit's own record of what the browser sent (no public API)."""
    if has("router", "started"):
        return False
    put("router", "started", True)
    try:
        sent = get_script_run_ctx().session_state._state._new_widget_state.states  # type: ignore[union-attr]
    except AttributeError:  # another Streamlit inside: say nothing rather than guess
        return False
    return len(sent) > 0
