"""The one owner of ``st.session_state``.

Pages never touch ``st.session_state`` directly: they call the typed accessors here. Keys are
namespaced by page (``"conv.stride"``, ``"draw.json"``) so two pages never collide, and widget keys
are built with :func:`key` so a widget's state and its accessor agree on the name.
"""

from __future__ import annotations

from typing import Any, TypeVar

import streamlit as st

T = TypeVar("T")


def key(page: str, name: str) -> str:
    """The session-state key of ``name`` on ``page`` (also used as the widget key)."""
    return f"{page}.{name}"


def get(page: str, name: str, default: T) -> T:
    """The stored value, or ``default`` (stored) when absent."""
    k = key(page, name)
    if k not in st.session_state:
        st.session_state[k] = default
    return st.session_state[k]


def put(page: str, name: str, value: Any) -> None:
    st.session_state[key(page, name)] = value


def has(page: str, name: str) -> bool:
    return key(page, name) in st.session_state


def drop(page: str, name: str) -> None:
    st.session_state.pop(key(page, name), None)
