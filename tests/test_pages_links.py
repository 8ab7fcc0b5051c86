"""Convolution and Pooling in the address (AppTest): a fresh page writes nothing, every change is
written, a new session opened with that address shows the identical cell, and a forged address gives
the defaults plus one sentence, never an exception."""

from __future__ import annotations

from apptest_support import CONV, POOL, app, rerun
from streamlit.testing.v1 import AppTest

from playground.ui import inputs


def opened(path: str, query: dict) -> AppTest:
    at = AppTest.from_file(path, default_timeout=30)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def cell(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**Output ("))


def query(at: AppTest) -> dict:
    return {k: v[-1] if isinstance(v, list) else v for k, v in at.query_params.items()}


def test_fresh_pages_write_an_empty_address():
    for path in (CONV, POOL):
        at = app(path)
        assert query(at) == {} and not at.warning


def test_a_convolution_link_reopens_the_identical_cell():
    at = app(CONV)
    rerun(at.selectbox(key="conv.source").set_value(inputs.RANDOM))
    at.number_input(key="conv.random_size").set_value(8)
    at.number_input(key="conv.random_seed").set_value(3)
    at.selectbox(key="conv.kernel").set_value("Sobel x")
    at.number_input(key="conv.padding").set_value(1)
    at.number_input(key="conv.bias").set_value(0.5)
    rerun(at)
    for _ in range(3):
        rerun(at.button(key="conv.next").click())
    shown = cell(at)
    q = query(at)
    assert q == {
        "input": inputs.RANDOM,
        "random_size": "8",
        "seed": "3",
        "kernel": "Sobel x",
        "pad": "1",
        "bias": "0.5",
        "step": "4",
    }
    link = next(c.value for c in at.code if "kernel=Sobel+x" in c.value)
    assert "step=4" in link
    again = opened(CONV, q)
    assert cell(again) == shown and query(again) == q and not again.warning


def test_a_pooling_link_reopens_the_identical_cell():
    at = app(POOL)
    at.radio(key="pool.kind").set_value("avg")
    at.number_input(key="pool.size_px").set_value(3)
    at.number_input(key="pool.stride").set_value(1)
    rerun(at)
    rerun(at.button(key="pool.next").click())
    shown, q = cell(at), query(at)
    assert q == {"kind": "avg", "window": "3", "stride": "1", "step": "2"}
    assert cell(opened(POOL, q)) == shown


def test_a_forged_address_keeps_the_defaults_and_says_what_it_ignored():
    at = opened(CONV, {"stride_rows": "9" * 5000, "kernel": "Sobel x", "bias": "inf", "x" * 300: "1", "step": "abc"})
    [warning] = [w.value for w in at.warning]
    assert warning.startswith("Part of this link could not be used") and "stride_rows" in warning and "bias" in warning
    assert query(at) == {"kernel": "Sobel x"}  # the usable part was used, the rest is at its default
    assert cell(at).startswith("**Output (0, 0)**")
    rerun(at)
    assert not at.warning  # said once


def test_a_drawing_does_not_travel_and_the_link_says_so():
    at = app(CONV)
    rerun(at.selectbox(key="conv.source").set_value(inputs.DRAW))
    assert "input" not in query(at)
    assert any("cannot travel in a link" in c.value for c in at.caption)
