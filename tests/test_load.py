"""The websocket load client (benchmarks/loadclient.py) against a live server, on the default page.

The quick tests run everywhere; the tests marked ``load`` (run them with
``pytest -m load tests/test_load.py``): 30 users each drawing a stroke every 2 s for 20 s must see
p95 ≤ 300 ms from stroke to finished rerun, and no errors; and p95 ≤ 600 ms while 4 sessions train
on the Train page (the server trains its cap at once, the CPU count by default; the rest wait).
"""

from __future__ import annotations

import asyncio
import io
import os
import time

import numpy as np
import pytest
from PIL import Image
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from benchmarks import loadclient, loadrun, loadtrain, strokes
from playground.serve import jobs  # the server-wide cap the app uses: same environment
from playground.ui import inputs


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
    s = strokes.Scribbler(seed=3)
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
    clean = loadclient.run_async(session._read_run(0.0))
    assert clean.ok and clean.status == "FINISHED_SUCCESSFULLY"

    session.ws = _FakeSocket([boom, alert, done])
    run = loadclient.run_async(session._read_run(0.0))
    assert not run.ok
    assert run.exceptions == ["ValueError: bad drawing"] and run.error_alerts == ["That is not a PNG."]
    assert "bad drawing" in run.problem()


def _element(fill) -> loadclient.Element:
    msg = ForwardMsg()
    fill(msg.delta.new_element)
    return loadclient._element(msg.delta.new_element)


def test_training_status_is_read_from_what_the_train_page_shows():
    def progress(el):
        el.progress.value, el.progress.text = 3, "Epoch 4 of 100 · step 1,234 of 10,900 · 3,900 images/s"

    def caption(el):
        el.markdown.body = "1,201 training-loss points · 9 validation points · state: running"

    def queued(el):
        el.alert.format = Alert.INFO
        el.alert.body = (
            "You are 2nd in the queue: this server trains 3 models at a time, and your run "
            "starts by itself when a place is free."
        )

    status = loadtrain.training_status([_element(progress), _element(caption)])
    assert (status.state, status.step, status.total_steps) == ("running", 1234, 10900)
    assert (status.loss_points, status.val_points, status.queue_position) == (1201, 9, None)
    assert not status.waiting

    def next_up(el):
        el.alert.format = Alert.INFO
        el.alert.body = "You are next in the queue: this server trains 1 model at a time, and your run starts"

    def waiting_caption(el):
        el.markdown.body = "0 training-loss points · 0 validation points · state: queued"

    waiting = loadtrain.training_status([_element(queued), _element(progress), _element(waiting_caption)])
    assert (waiting.state, waiting.queue_position, waiting.cap, waiting.waiting) == ("queued", 2, 3, True)
    assert loadtrain.training_status([_element(next_up), _element(progress)]).queue_position == 1
    # a fragment run without the progress bar (the kernels) keeps what the last one showed
    kept = loadtrain.training_status([_element(lambda el: setattr(el.markdown, "body", "kernels"))], waiting)
    assert kept == waiting
    # the progress fragment ran again without a queue notice: the run left the queue
    moved = loadtrain.training_status([_element(progress)], waiting)
    assert moved.queue_position is None and moved.step == 1234


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
            scribbler = strokes.Scribbler(seed=1)
            for _ in range(3):
                run = await s.draw(*scribbler.next())
                assert run.ok, run.problem()
                assert 0 < run.latency_ms < 30_000
                shown.append(_output(s))
            return shown

    shown = loadclient.run_async(asyncio.wait_for(go(), 60))
    # every stroke changed what the page shows: the app decoded each new image
    assert all(a != b for a, b in zip(shown, shown[1:]))


@pytest.mark.parametrize(
    "path,title",
    [
        ("", "Draw & Predict"),
        ("draw", "Draw & Predict"),
        ("convolution", "Convolution"),
        ("pooling", "Pooling"),
        ("build", "Build"),
        ("train", "Train"),
    ],
)
def test_every_page_answers_at_its_own_path(app, path, title):
    async def go():
        async with loadclient.Session(app, path, timeout_s=30) as s:
            run = await s.rerun()
            return run, [e.proto.body for e in run.elements if e.kind == "heading"]

    run, headings = loadclient.run_async(asyncio.wait_for(go(), 60))
    assert run.ok, run.problem()
    assert any(h.startswith(title) for h in headings), (path, headings)


def test_select_and_click_drive_the_convolution_page(app):
    async def go():
        async with loadclient.Session(app, "convolution", timeout_s=30) as s:
            assert (await s.rerun()).ok
            assert s.canvas() is None  # the default input is a worked example
            canvas = await loadclient.open_canvas(s)  # picks "Draw a digit" in the input selectbox
            assert canvas.key.startswith("conv.canvas")
            assert (
                await s.draw(*strokes.Scribbler(seed=2, size=inputs.SIDEBAR_CANVAS_PX).next())
            ).ok  # the sidebar canvas
            before = _output(s)
            clicked = await s.click("conv.next")
            assert clicked.ok, clicked.problem()
            assert s.canvas() is not None  # the remembered selectbox value was sent again
            with pytest.raises(ValueError):
                await s.select("conv.source", "no such option")
            return before, _output(s)

    before, after = loadclient.run_async(asyncio.wait_for(go(), 60))
    assert before != after  # Next moved the kernel one cell on


def test_two_users_three_strokes_each_all_finish_cleanly(app):
    result = loadrun.run_load(app, users=2, interval_s=1.0, duration_s=3.0, path="", timeout_s=20)
    assert result["strokes_planned"] == 6
    assert result["errors"] == 0, result["error_samples"]
    assert result["count"] == 6
    assert 0 < result["p50"] <= result["p95"] <= result["max"] < 20_000


@pytest.mark.timeout(90)
def test_drawing_while_a_session_trains_on_the_train_page(app):
    trainings = loadtrain.start_training(app, 1, epochs=100, timeout_s=20, start_timeout_s=20)
    try:
        started = trainings.tabs[0].last
        assert started.state == "running" and started.step > 0, started
        assert started.total_steps == 100 * (7_000 // 64)  # all 7,000 images, batch 64, 100 epochs
        before = trainings.status()[0]
        result = loadrun.run_load(app, users=2, interval_s=1.0, duration_s=4.0, path="", timeout_s=20)
        after = trainings.status()[0]
        assert result["errors"] == 0, result["error_samples"]
        assert result["count"] == result["strokes_planned"] == 8
        assert after.state == "running" and after.step > before.step, (before, after)
        assert after.loss_points > before.loss_points  # the curve the page draws grew too
        assert trainings.polls > 0 and not trainings.errors, trainings.errors  # the tab's live refreshes
    finally:
        final = trainings.stop(timeout_s=30)
    assert final[0].state == "stopped" and final[0].step >= after.step


@pytest.mark.load
def test_drawing_stays_responsive_while_four_sessions_train(app):
    cap = jobs.max_trainings()
    with loadtrain.start_training(app, 4) as trainings:
        before = trainings.status()
        result = loadrun.run_load(app, users=30, interval_s=2.0, duration_s=20.0, path="")
        after = trainings.status()
        errors = trainings.errors
    final = trainings.stopped
    steps = [(b.step, a.step) for b, a in zip(before, after)]
    print(result, [b.state for b in before], steps, f"load average {os.getloadavg()}")
    assert result["errors"] == 0, result["error_samples"]
    assert result["count"] == result["strokes_planned"] == 300
    assert not errors, errors
    # the server trains `cap` at once; the others wait in its queue, in order
    assert [b.state for b in before] == ["running"] * min(4, cap) + ["queued"] * (4 - min(4, cap))
    assert all(b.waiting and b.cap == cap for b in before[cap:])
    assert sum(a > b for b, a in steps) >= 1
    assert all(f.state == "stopped" for f in final)
    assert result["p95"] <= 600, {k: result[k] for k in ("p50", "p95", "max", "late_sends", "client_cpu_pct")}


@pytest.mark.load
def test_thirty_users_drawing(app):
    result = loadrun.run_load(app, users=30, interval_s=2.0, duration_s=20.0, path="")
    print(result)
    assert result["errors"] == 0, result["error_samples"]
    assert result["count"] == result["strokes_planned"] == 300
    assert result["p95"] <= 300, {k: result[k] for k in ("p50", "p95", "max", "late_sends", "client_cpu_pct")}


@pytest.mark.timeout(120)
def test_closing_a_training_tab_stops_its_run_and_frees_the_place():
    """Two tabs train with room for one: the second waits. Closing the first tab (its websocket) must stop
    that run — Streamlit releases the session, the session stops its training — so the waiting one starts."""
    proc, url = loadclient.start_app({"PLAYGROUND_MAX_TRAININGS": "1"})

    async def scenario() -> tuple[str, str | None, float]:
        first = loadtrain.TrainingTab(url, epochs=100, name="first")
        second = loadtrain.TrainingTab(url, epochs=100, name="second")
        running = await first.start(start_timeout_s=30)
        waiting = await second.start(start_timeout_s=30)
        assert running.state == "running" and waiting.waiting, (running, waiting)
        closed_at = time.monotonic()
        await first.session.close()  # the tab goes away, without pressing Stop
        state = None
        while time.monotonic() - closed_at < 10:
            state = (await second.status()).state
            if state == "running":
                break
            await asyncio.sleep(0.1)
        took = time.monotonic() - closed_at
        await second.stop()
        return running.state, state, took

    try:
        before, after, took = loadclient.run_async(scenario())
    finally:
        loadclient.stop_app(proc)
    assert after == "running", after
    # release (~0.1 s) + the run's stop after its current step + the next run's process start
    print(f"closed tab -> next run training after {took:.2f} s")
    assert took < 3.0, took
