"""A hostile client at the websocket level (127.0.0.1, bounded): widget states no browser sends, for every
widget kind the pages use. The server must stay up and another student's strokes must stay fast.

Two kinds of forged state are told apart:
- states of the type a widget sends but with content it never sends (the canvas's JSON shaped otherwise):
  the page answers with one sentence and no exception, in the forging session too;
- states Streamlit's own decoder cannot read (text where JSON is expected, a number for a file list):
  Streamlit refuses them before the page runs and shows its redacted error box in that session only.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import urllib.request

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState

from benchmarks import loadclient, strokes
from playground.ui import page_helpers

DEEP = "[" * 5000 + "]" * 5000
FORGED = [
    ("string_value", "x" * 5000),
    ("string_value", DEEP),
    ("int_value", 2**62),
    ("double_value", float("nan")),
    ("double_value", float("inf")),
    ("bool_value", True),
    ("json_value", "not json"),
    ("json_value", DEEP),
    ("string_array_value", ["nope"]),
    ("int_array_value", [10**9, -1]),
    ("trigger_value", True),
    ("bytes_value", b"\x00\xff" * 64),
]
CANVAS_SHAPES = [  # (value, whether the page resets the canvas and says so)
    ({"drawing": [1, 2]}, True),
    ({"drawing": {"raw": {"objects": [{}]}, "data": 5}}, True),
    ({"drawing": {"raw": [1], "data": "data:image/png;base64,!!!"}}, True),
    ({"drawing": {"raw": {"objects": [{}]}, "data": "data:image/png;base64,AAAA"}, "backgroundFit": 5}, True),
    ({"drawing": {"raw": {"objects": "x"}, "data": None}}, False),  # nothing drawn: nothing to say
    ([1, 2], False),  # not an object: the canvas component ignores it
    ("text", False),
]


@pytest.fixture(scope="module")
def app():
    proc, url = loadclient.start_app()
    yield url
    loadclient.stop_app(proc)


def _state(widget_id: str, field_name: str, value) -> WidgetState:
    ws = WidgetState(id=widget_id)
    if field_name.endswith("_array_value"):
        getattr(ws, field_name).data.extend(value)
    else:
        setattr(ws, field_name, value)
    return ws


async def _stroke_ms(url: str, n: int) -> list[float]:
    """A well-behaved student: n strokes on the Draw page, each one's latency (all must succeed)."""
    async with loadclient.Session(url, "", timeout_s=30) as s:
        assert (await s.rerun()).ok
        await loadclient.open_canvas(s)
        scribbler, times = strokes.Scribbler(seed=4), []
        for _ in range(n):
            run = await s.draw(*scribbler.next())
            assert run.ok, run.problem()
            assert not [e for e in run.elements if e.kind == "markdown" and "This tab waited" in e.proto.body]
            times.append(run.latency_ms)
        return times


async def _show_more_widgets(s: loadclient.Session, path: str) -> None:
    """Bring the widgets a page shows only for some choices onto it: the drawing canvas and the filter list
    (multiselect) on Convolution, the typed matrix (text area) on Pooling."""
    if path == "convolution":
        await loadclient.open_canvas(s)
        await s.set_value("conv.view", "string_value", "Several channels")  # a radio sends its option's text
    elif path == "pooling":
        await s.select("pool.source", "Type a matrix")


async def _forge(url: str, path: str, skip: set[str] = frozenset()) -> dict[str, int]:
    """Send every forged value to the first widget of every kind on ``path`` (but the kinds in ``skip``);
    count how each run ended."""
    seen = {"runs": 0, "finished": 0, "decoder_refused": 0, "kinds": 0, "names": []}
    async with loadclient.Session(url, path, timeout_s=30) as s:
        assert (await s.rerun()).ok
        await _show_more_widgets(s, path)
        kinds = {}
        for e in s.elements:
            # the first of each kind, but not the helpers every page mounts (they have no state):
            # the canvas is the component worth forging
            if e.id and e.kind not in kinds and e.kind not in skip and e.key != page_helpers.KEY:
                kinds[e.kind] = e.id
        seen["names"] = sorted(kinds)
        seen["kinds"] = len(kinds)
        for kind, wid in kinds.items():
            for field_name, value in FORGED:
                run = await s.rerun([_state(wid, field_name, value)])
                seen["runs"] += 1
                seen["finished"] += run.status in loadclient.FINISHED_OK
                if run.exceptions:  # Streamlit's decoder refused it: the session stays so until reloaded
                    seen["decoder_refused"] += 1
                    await s.close()
                    s.query = (
                        ""  # a fresh tab at the page's plain address: the forged value had reached its query string
                    )
                    await s.connect()
                    assert (await s.rerun()).ok, f"a fresh session after forging {kind}.{field_name} failed"
                    await _show_more_widgets(s, path)
    return seen


async def _canvas_shapes(url: str) -> list[tuple[str, bool, list[str]]]:
    """Canvas values of the right type (JSON) and the wrong shape: the page must say so, no exception."""
    answers = []
    async with loadclient.Session(url, "", timeout_s=30) as s:
        assert (await s.rerun()).ok
        canvas = await loadclient.open_canvas(s)
        for value, resets in CANVAS_SHAPES:
            canvas = s.canvas() or canvas
            run = await s.rerun([_state(canvas.id, "json_value", json.dumps(value))])
            assert run.status in loadclient.FINISHED_OK and not run.exceptions, (value, run.problem())
            answers.append((json.dumps(value)[:40], resets, run.error_alerts))
            ok = await s.draw(*strokes.Scribbler(seed=1).next())  # and the (new) canvas still works
            assert ok.ok, (value, ok.problem())
    return answers


@pytest.mark.timeout(300)
def test_forged_widget_states_leave_the_server_and_other_students_unharmed(app):
    async def go():
        before = await _stroke_ms(app, 5)
        attack = asyncio.gather(_forge(app, ""), _forge(app, "convolution"))
        during = asyncio.create_task(_stroke_ms(app, 5))
        forged = list(await attack)
        covered = {k for f in forged for k in f["names"]}
        for path in ("pooling", "build", "train"):  # the widget kinds the other pages add
            forged.append(await _forge(app, path, skip=covered))
            covered |= set(forged[-1]["names"])
        return before, await during, forged, await _stroke_ms(app, 5), await _canvas_shapes(app)

    before, during, forged, after, shapes = loadclient.run_async(asyncio.wait_for(go(), 280))
    with urllib.request.urlopen(app + "/_stcore/health", timeout=5) as r:
        assert r.status == 200  # the server is up
    kinds = sum(f["kinds"] for f in forged)
    runs = sum(f["runs"] for f in forged)
    names = {k for f in forged for k in f["names"]}
    print(f"widget kinds forged: {sorted(names)}")
    assert {"bidi_component", "button", "button_group", "file_uploader", "number_input", "selectbox"} <= names
    assert {"radio", "slider", "checkbox", "plotly_chart", "download_button", "multiselect", "text_area"} <= names
    print(f"{runs} forged runs over {kinds} widget kinds; decoder refused {sum(f['decoder_refused'] for f in forged)}")
    print(f"stroke ms: before {before}, during {during}, after {after}")
    assert kinds >= 12 and runs == kinds * len(FORGED)
    assert all(f["finished"] == f["runs"] for f in forged)  # every forged run ended; none hung the session
    base = statistics.median(before)
    assert statistics.median(after) <= max(3 * base, base + 300), (before, after)
    assert statistics.median(during) <= max(5 * base, base + 1000), (before, during)
    for value, resets, alerts in shapes:
        assert any("canvas was reset" in a for a in alerts) if resets else alerts == [], (value, alerts)


@pytest.mark.timeout(180)
def test_a_tab_that_keeps_the_server_busy_is_made_to_wait(app):
    """Heavy reruns back to back (9,604 convolution steps each): after its budget of CPU time the tab's
    next runs wait, and the page says so; a drawing student's tab is never slowed."""

    async def go():
        async with loadclient.Session(app, "convolution", timeout_s=60) as s:
            assert (await s.rerun()).ok
            await s.select("conv.source", "Random numbers")
            await s.set_value("conv.random_size", "double_value", 28.0)
            for i in range(40):
                run = await s.set_value("conv.padding", "double_value", 36.0 - i % 2)
                assert run.status in loadclient.FINISHED_OK, run.problem()
                waited = [
                    e.proto.body for e in run.elements if e.kind == "markdown" and "This tab waited" in e.proto.body
                ]
                if waited:
                    return i, waited[0]
        return None, None

    reruns, caption = loadclient.run_async(asyncio.wait_for(go(), 170))
    assert caption is not None, "40 heavy reruns and the tab was never made to wait"
    assert caption.startswith("This tab waited") and "kept the shared server busy" in caption
    print(f"made to wait after {reruns} heavy reruns: {caption}")
    drawing = loadclient.run_async(asyncio.wait_for(_stroke_ms(app, 8), 60))  # another tab is not made to wait
    assert len(drawing) == 8


PLAYER_VALUES = [  # what a forged client may report as the player's resting step; the page keeps a valid step
    ({"position": "x"}, 0),
    ({"position": 10**30}, 3),  # clamped to the last of 4 steps
    ({"position": -5}, 0),
    ({"position": True}, 0),
    ({"position": 2.5}, 0),
    ([1, 2], 0),
    ("text", 0),
    ({"position": 2}, 2),
]


@pytest.mark.timeout(120)
def test_forged_player_positions_keep_a_valid_step(app):
    """The Play view reports where it rests; whatever arrives instead, Step by step shows a real step."""

    async def go():
        shown = []
        async with loadclient.Session(app, "convolution", timeout_s=30) as s:
            assert (await s.rerun()).ok
            for value, _ in PLAYER_VALUES:
                await s.set_value("conv.view", "string_value", "Play")
                player = s.find("bidi_component", key="conv.player")
                assert player is not None and player.proto.component_name == "cnn_playground.conv_player"
                run = await s.rerun([_state(player.id, "json_value", json.dumps(value))])
                assert run.status in loadclient.FINISHED_OK and not run.exceptions, (value, run.problem())
                run = await s.set_value("conv.view", "string_value", "Step by step")
                assert run.ok, (value, run.problem())
                shown.append(
                    next(e.proto.body for e in run.elements if e.kind == "markdown" and "**Output (" in e.proto.body)
                )
                assert (await s.click("conv.first")).ok  # back to step 1 for the next value
        return shown

    shown = loadclient.run_async(asyncio.wait_for(go(), 100))
    cells = [(0, 0), (0, 1), (1, 0), (1, 1)]
    for (value, step), text in zip(PLAYER_VALUES, shown):
        assert text.startswith(f"**Output {cells[step]}**"), (value, text)
