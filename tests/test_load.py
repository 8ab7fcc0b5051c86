"""The websocket load client (benchmarks/loadclient.py) against a live server, on the default page.

The quick tests run everywhere; ``test_thirty_users_drawing`` is marked ``load`` (run it with
``pytest -m load tests/test_load.py``): 30 users each drawing a stroke every 2 s for 20 s must see
p95 ≤ 300 ms from stroke to finished rerun, and no errors.
"""

from __future__ import annotations

import asyncio
import io
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import loadclient  # noqa: E402


@pytest.fixture(scope="module")
def app():
    proc, url = loadclient.start_app()
    yield url
    loadclient.stop_app(proc)


# -- no server needed ------------------------------------------------------------------------------
def test_widget_ids_carry_the_user_key():
    assert loadclient.key_of("$$ID-15a32adaf76b075bda04f57730591f22-draw.canvas.0") == "draw.canvas.0"
    assert loadclient.key_of("$$ID-9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6-a-key-with-dashes") == "a-key-with-dashes"
    assert loadclient.key_of("$$ID-9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6-None") is None


def test_each_stroke_adds_ink_to_a_canvas_sized_png():
    s = loadclient.Scribbler(seed=3)
    inked, pngs = [], []
    for _ in range(3):
        png, objects = s.next()
        img = Image.open(io.BytesIO(png))
        assert (img.size, img.mode) == ((280, 280), "RGBA")
        rgba = np.asarray(img)
        assert (rgba[..., 3] == 255).all()  # opaque, like the canvas with a black background
        inked.append(int((rgba[..., 0] > 128).sum()))
        pngs.append(png)
        assert len(objects) == len(s.segments) and objects[-1]["type"] == "Path"
    assert inked[0] > 0 and inked[0] < inked[1] < inked[2]
    assert len(set(pngs)) == 3


class _FakeSocket:
    """Replays serialized ForwardMsgs to ``Session._read_run``."""

    def __init__(self, msgs: list[ForwardMsg]):
        self.frames = [m.SerializeToString() for m in msgs]

    async def recv(self):
        return self.frames.pop(0)


def test_an_exception_element_and_st_error_make_the_run_fail():
    boom = ForwardMsg()
    boom.delta.new_element.exception.type = "ValueError"
    boom.delta.new_element.exception.message = "bad drawing"
    warn = ForwardMsg()
    warn.delta.new_element.exception.is_warning = True  # a deprecation warning is not a failure
    alert = ForwardMsg()
    alert.delta.new_element.alert.format = 1  # Alert.ERROR
    alert.delta.new_element.alert.body = "That is not a PNG."
    done = ForwardMsg()
    done.script_finished = ForwardMsg.FINISHED_SUCCESSFULLY
    session = loadclient.Session("http://127.0.0.1:1")

    session.ws = _FakeSocket([warn, done])
    clean = asyncio.run(session._read_run(0.0))
    assert clean.ok and clean.status == "FINISHED_SUCCESSFULLY"

    session.ws = _FakeSocket([boom, alert, done])
    run = asyncio.run(session._read_run(0.0))
    assert not run.ok
    assert run.exceptions == ["ValueError: bad drawing"] and run.error_alerts == ["That is not a PNG."]
    assert "bad drawing" in run.problem()


# -- live server, default page -----------------------------------------------------------------------
def _output(session: loadclient.Session) -> list[bytes]:
    """What the page shows apart from its widgets' own protos (charts, text, images)."""
    return [e.proto.SerializeToString() for e in session.elements if not e.id and e.proto is not None]


def test_a_drawing_reaches_the_default_page_and_changes_what_it_shows(app):
    async def go():
        async with loadclient.Session(app, "", timeout_s=30) as s:
            first = await s.rerun()
            assert first.ok, first.problem()
            canvas = await loadclient.open_canvas(s)
            assert canvas.kind == "bidi_component" and "canvas" in (canvas.key or "")
            shown = [_output(s)]
            scribbler = loadclient.Scribbler(seed=1)
            for _ in range(3):
                run = await s.draw(*scribbler.next())
                assert run.ok, run.problem()
                assert 0 < run.latency_ms < 30_000
                shown.append(_output(s))
            return shown

    shown = asyncio.run(asyncio.wait_for(go(), 60))
    # every stroke changed what the page shows: the app decoded each new image
    assert all(a != b for a, b in zip(shown, shown[1:]))


def test_select_and_click_drive_the_convolution_page(app):
    async def go():
        async with loadclient.Session(app, "convolution", timeout_s=30) as s:
            assert (await s.rerun()).ok
            assert s.canvas() is None  # the default input is a worked example
            canvas = await loadclient.open_canvas(s)  # picks "Draw a digit" in the input selectbox
            assert canvas.key.startswith("conv.canvas")
            assert (await s.draw(*loadclient.Scribbler(seed=2).next())).ok
            before = _output(s)
            clicked = await s.click("conv.next")
            assert clicked.ok, clicked.problem()
            assert s.canvas() is not None  # the remembered selectbox value was sent again
            with pytest.raises(ValueError):
                await s.select("conv.source", "no such option")
            return before, _output(s)

    before, after = asyncio.run(asyncio.wait_for(go(), 60))
    assert before != after  # Next moved the kernel one cell on


def test_two_users_three_strokes_each_all_finish_cleanly(app):
    result = loadclient.run_load(app, users=2, interval_s=1.0, duration_s=3.0, path="", timeout_s=20)
    assert result["strokes_planned"] == 6
    assert result["errors"] == 0, result["error_samples"]
    assert result["count"] == 6
    assert 0 < result["p50"] <= result["p95"] <= result["max"] < 20_000


@pytest.mark.load
def test_thirty_users_drawing(app):
    result = loadclient.run_load(app, users=30, interval_s=2.0, duration_s=20.0, path="")
    print(result)
    assert result["errors"] == 0, result["error_samples"]
    assert result["count"] == result["strokes_planned"] == 300
    assert result["p95"] <= 300, {k: result[k] for k in ("p50", "p95", "max", "late_sends", "client_cpu_pct")}
