"""A load client that speaks Streamlit's own websocket protocol: many simulated users, no browsers.

What a browser tab does, and what this module does in its place (checked against the frames
Chromium sends to Streamlit 1.67; see ``Session``):

0. load the page over HTTP and keep its cookies (behind ``scripts/serve-class.sh`` nginx sets the cookie
   that keeps the tab on one replica), sent with everything after it;
1. open ``ws://HOST:PORT/_stcore/stream`` with subprotocol ``streamlit``;
2. send ``BackMsg.rerun_script`` (a ``ClientState``): the first one carries ``page_name`` (the URL
   path, "" for the default page) and the query string; later ones carry the ``page_script_hash``
   the server announced (``navigation``, else ``new_session``), the value of every widget the user has set
   (``WidgetStates``) and the hashes of the cacheable messages already received;
3. read ``ForwardMsg``s until ``script_finished``. Widget ids come from the deltas
   (``delta.new_element.<kind>.id``); a keyed widget's id is ``$$ID-<md5>-<user key>``.

Interactions: a selectbox sends ``string_value`` (the option's text), a button a one-off
``trigger_value``, the drawing canvas (streamlit-drawable-canvas 0.13, a Components v2
``bidi_component``) a ``json_value`` ``{"drawing": {"raw": {"version", "objects": [...],
"background"}, "data": "data:image/png;base64,..."}}``.

This module is one tab's protocol. Many users at once (``run_load``) are in ``loadrun.py``, the
strokes they draw in ``strokes.py``, sessions that train on the Train page meanwhile
(``start_training``) in ``loadtrain.py``.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import http.cookiejar
import json
import time
import urllib.request
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

from benchmarks.harness import mnist_dir, start_server, stop_server

ROOT = Path(__file__).resolve().parents[1]

MAX_MESSAGE_BYTES = 256 * 2**20  # Streamlit's own server.maxMessageSize default is 200 MB
CACHE_ENTRIES = 256  # the browser's cache of big cacheable messages, bounded here


# ----------------------------------------------------------------------------------------------
# The app server
# ----------------------------------------------------------------------------------------------
def run_async(coro):
    """``asyncio.run(coro)``, also from a thread that already runs an event loop (a test session that
    holds Playwright's sync API has one): then the coroutine runs on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def start_app(extra_env: dict[str, str] | None = None):
    """Start ``streamlit run app.py`` headless on a free loopback port; return (process, base_url)."""
    env = {"PLAYGROUND_DATA_DIR": str(mnist_dir() or "")}
    env.update(extra_env or {})
    return start_server(extra_env=env)


def stop_app(proc) -> None:
    """Stop the server started by ``start_app`` (by its process, nothing else)."""
    stop_server(proc)


# ----------------------------------------------------------------------------------------------
# One browser tab
# ----------------------------------------------------------------------------------------------
FINISHED_OK = ("FINISHED_SUCCESSFULLY", "FINISHED_FRAGMENT_RUN_SUCCESSFULLY")


@dataclass(frozen=True)
class Element:
    """One element the script drew: ``kind`` is the Element oneof name (``selectbox``,
    ``button``, ``bidi_component``, ``plotly_chart``, ...); ``id`` the widget id ("" for
    non-widgets); ``key`` the user key parsed from the id (None when the widget has none)."""

    kind: str
    id: str
    key: str | None
    label: str
    proto: Any
    fragment_id: str = ""  # the fragment that drew it: a change to it reruns only that fragment


@dataclass
class Run:
    """The outcome of one script run as the client saw it."""

    status: str  # FINISHED_SUCCESSFULLY, FINISHED_WITH_COMPILE_ERROR, PAGE_NOT_FOUND, ...
    latency_ms: float  # from sending rerun_script to receiving script_finished
    elements: list[Element]
    exceptions: list[str] = field(default_factory=list)  # exception elements (not warnings)
    error_alerts: list[str] = field(default_factory=list)  # st.error bodies
    messages: int = 0
    received_bytes: int = 0  # the run's websocket messages, as they arrived (cached ones as references)

    @property
    def ok(self) -> bool:
        return self.status in FINISHED_OK and not self.exceptions and not self.error_alerts

    @property
    def fragment(self) -> bool:
        """Whether this was a fragment run (its ``elements`` are the fragment's only)."""
        return self.status == "FINISHED_FRAGMENT_RUN_SUCCESSFULLY"

    def problem(self) -> str:
        """One line saying what went wrong ("" when the run is ``ok``)."""
        if self.ok:
            return ""
        parts = [] if self.status in FINISHED_OK else [self.status]
        parts += [f"exception: {e}" for e in self.exceptions] + [f"st.error: {a}" for a in self.error_alerts]
        return "; ".join(parts)


def key_of(widget_id: str) -> str | None:
    """The user key inside a widget id ``$$ID-<hash>-<key>`` (None for unkeyed widgets)."""
    parts = widget_id.split("-", 2)
    if len(parts) == 3 and parts[0] == "$$ID" and parts[2] != "None":
        return parts[2]
    return None


def _element(el, fragment_id: str = "") -> Element:
    kind = el.WhichOneof("type") or ""
    sub = getattr(el, kind, None) if kind else None
    wid = getattr(sub, "id", "") if sub is not None and hasattr(sub, "id") else ""
    label = getattr(sub, "label", "") if sub is not None and hasattr(sub, "label") else ""
    return Element(kind, wid, key_of(wid) if wid else None, label if isinstance(label, str) else "", sub, fragment_id)


class ProtocolError(RuntimeError):
    """The server said something the client cannot go on from (closed, page not found, time-out)."""


class Session:
    """One simulated browser tab on ``base_url`` (``http://127.0.0.1:PORT``) at page ``path``.

    Use ``async with Session(url) as s: run = await s.rerun()``. Every wait is bounded by
    ``timeout_s``. Widget values set through ``select``/``set_value``/``draw`` are remembered and
    re-sent on every later rerun, as the browser does; button triggers are sent once.

    Fragments with ``run_every`` announce themselves (``auto_rerun``); ``auto_reruns`` holds them
    (fragment id -> seconds) as the browser's timers would, and ``rerun_fragment`` sends one such
    automatic fragment rerun. Nothing here sends them by itself (see ``TrainingTab.poll``).
    """

    def __init__(self, base_url: str, path: str = "", query: str = "", timeout_s: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.path = path.strip("/")
        self.query = query
        self.timeout_s = timeout_s
        self.ws = None
        self.page_script_hash = ""
        self.elements: list[Element] = []  # from the last finished run
        self.last: Run | None = None
        self._values: dict[str, WidgetState] = {}
        self.auto_reruns: dict[str, float] = {}  # fragment id -> interval (s), from the latest full run
        self._cache: OrderedDict[str, ForwardMsg] = OrderedDict()
        self._cookies = http.cookiejar.CookieJar()
        self.replica = ""  # behind the class server: the replica its websocket reached (X-Playground-Replica)

    async def __aenter__(self) -> Session:
        await self.connect()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def get(self, path: str = "") -> tuple[int, str]:
        """GET ``path`` with this tab's cookies (keeping any it is given): (status, the replica that
        answered, "" without the class server's nginx)."""
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self._cookies))
        with opener.open(f"{self.base_url}/{path.lstrip('/')}", timeout=self.timeout_s) as r:
            r.read()
            return r.status, r.headers.get("X-Playground-Replica", "")

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self._cookies)

    async def connect(self) -> None:
        """Load the page (its cookies kept), then open the websocket with them."""
        await asyncio.to_thread(self.get, self.path)
        ws_url = self.base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        cookies = self.cookie_header()
        self.ws = await websockets.connect(
            ws_url + "/_stcore/stream",
            subprotocols=["streamlit"],
            max_size=MAX_MESSAGE_BYTES,
            open_timeout=self.timeout_s,
            proxy=None,
            compression=None,
            additional_headers={"Cookie": cookies} if cookies else None,
        )
        self.replica = self.ws.response.headers.get("X-Playground-Replica", "")

    async def close(self) -> None:
        if self.ws is not None:
            try:
                await asyncio.wait_for(self.ws.close(), 5)
            except Exception:
                pass
            self.ws = None

    # -- finding elements ----------------------------------------------------------------------
    def find(self, kind: str | None = None, key: str | None = None, label: str | None = None) -> Element | None:
        """The first element of the last run matching ``kind``, ``key`` (an exact user key wins,
        else the first whose key contains ``key``) and ``label``."""
        found = [e for e in self.elements if (kind is None or e.kind == kind) and (label is None or e.label == label)]
        if key is not None:
            exact = [e for e in found if e.key == key]
            found = exact or [e for e in found if e.key is not None and key in e.key]
        return found[0] if found else None

    def widget(self, key: str, kind: str | None = None) -> Element:
        el = self.find(kind=kind, key=key)
        if el is None or not el.id:
            shown = sorted({e.key for e in self.elements if e.key})
            raise LookupError(f"no widget with key {key!r} (kind {kind}) on the page; keyed widgets: {shown}")
        return el

    def canvas(self, key: str | None = None) -> Element | None:
        """The drawing canvas: the bidi_component whose key contains ``key``, else the first
        bidi_component whose key contains "canvas"."""
        if key is not None:
            return self.find("bidi_component", key=key)
        return self.find("bidi_component", key="canvas")  # not the page's other components (player, number check)

    # -- talking to the server -----------------------------------------------------------------
    async def rerun(self, triggers: Iterable[WidgetState] = (), fragment_id: str = "") -> Run:
        """Send ``rerun_script`` with the remembered widget values plus one-off ``triggers``;
        read until the script finishes. With ``fragment_id`` (the widget that changed sits in that
        fragment) only the fragment reruns, as the browser asks. Raises ``ProtocolError`` on close or
        time-out."""
        run = await self._send_and_read(triggers, fragment_id)
        self._keep(run, fragment_id)
        return run

    async def rerun_fragment(self, fragment_id: str) -> Run:
        """One automatic rerun of fragment ``fragment_id``, as the browser's ``run_every`` timer
        sends it; read until that fragment run finishes (a fragment that calls ``st.rerun()``
        ends in a full run, which is returned instead). The server does not answer a request for a
        fragment it no longer holds: that ends in ``ProtocolError`` after ``timeout_s``."""
        run = await self._send_and_read((), fragment_id, auto=True)
        self._keep(run, fragment_id)
        return run

    def _keep(self, run: Run, fragment_id: str = "") -> None:
        self.last = run
        if run.status == "FINISHED_SUCCESSFULLY":
            self.elements = run.elements
            live = {e.id for e in run.elements if e.id}
            self._values = {k: v for k, v in self._values.items() if k in live}  # as the browser does
        elif run.fragment and fragment_id:  # the fragment's elements replace its earlier ones
            self.elements = [e for e in self.elements if e.fragment_id != fragment_id] + run.elements

    async def _send_and_read(
        self, triggers: Iterable[WidgetState] = (), fragment_id: str = "", auto: bool = False
    ) -> Run:
        if self.ws is None:
            raise ProtocolError("not connected")
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = self.query
        if self.page_script_hash:
            cs.page_script_hash = self.page_script_hash
        else:
            cs.page_name = self.path
        if fragment_id:
            cs.fragment_id, cs.is_auto_rerun = fragment_id, auto
        states = {**self._values, **{t.id: t for t in triggers}}
        cs.widget_states.widgets.extend(states.values())
        cs.cached_message_hashes.extend(self._cache.keys())
        ci = cs.context_info
        ci.timezone, ci.timezone_offset, ci.locale = "UTC", 0, "en-US"
        ci.url = f"{self.base_url}/{self.path}"
        data = msg.SerializeToString()
        t0 = time.perf_counter()
        await self.ws.send(data)
        try:
            return await asyncio.wait_for(self._read_run(t0, bool(fragment_id)), self.timeout_s)
        except TimeoutError:
            raise ProtocolError(f"no script_finished within {self.timeout_s:g} s") from None
        except websockets.ConnectionClosed as e:
            raise ProtocolError(f"connection closed: {e}") from None

    async def _read_run(self, t0: float, fragment: bool = False) -> Run:
        elements: list[Element] = []
        exceptions: list[str] = []
        alerts: list[str] = []
        count = size = 0
        while True:
            raw = await self.ws.recv()
            count += 1
            size += len(raw)
            fm = ForwardMsg()
            fm.ParseFromString(raw)
            kind = fm.WhichOneof("type")
            if kind == "ref_hash":
                cached = self._cache.get(fm.ref_hash)
                if cached is None:
                    raise ProtocolError(f"server referred to a message the client never cached ({fm.ref_hash})")
                self._cache.move_to_end(fm.ref_hash)
                fm, kind = cached, cached.WhichOneof("type")
            elif fm.metadata.cacheable and fm.hash:
                self._cache[fm.hash] = fm
                while len(self._cache) > CACHE_ENTRIES:
                    self._cache.popitem(last=False)
            if kind == "new_session":
                self.page_script_hash = fm.new_session.page_script_hash
                if not fm.metadata.run.fragment_ids:  # a full run: the browser drops its timers
                    self.auto_reruns.clear()
                    elements, exceptions, alerts = [], [], []  # (an earlier, unfinished run's output)
            elif kind == "auto_rerun":
                self.auto_reruns[fm.auto_rerun.fragment_id] = fm.auto_rerun.interval
            elif kind == "stop_auto_rerun":
                for fid in fm.stop_auto_rerun.fragment_ids:
                    self.auto_reruns.pop(fid, None)
            elif kind == "navigation":  # st.navigation apps: the page actually running
                self.page_script_hash = fm.navigation.page_script_hash
            elif kind == "page_info_changed":
                self.query = fm.page_info_changed.query_string
            elif kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                el = _element(fm.delta.new_element, fm.delta.fragment_id)
                elements.append(el)
                if el.kind == "exception" and not el.proto.is_warning:
                    exceptions.append(f"{el.proto.type}: {el.proto.message}".strip(": "))
                elif el.kind == "alert" and el.proto.format == Alert.ERROR:
                    alerts.append(el.proto.body)
            elif kind == "page_not_found":
                return Run(
                    "PAGE_NOT_FOUND", (time.perf_counter() - t0) * 1000, elements, exceptions, alerts, count, size
                )
            elif kind == "script_finished":
                status = ForwardMsg.ScriptFinishedStatus.Name(fm.script_finished)
                if status == "FINISHED_EARLY_FOR_RERUN" or (
                    status == "FINISHED_FRAGMENT_RUN_SUCCESSFULLY" and not fragment
                ):
                    elements, exceptions, alerts = [], [], []
                    continue  # not the run this client asked for
                return Run(status, (time.perf_counter() - t0) * 1000, elements, exceptions, alerts, count, size)

    # -- interactions --------------------------------------------------------------------------
    def remember(self, widget_id: str, field_name: str, value: Any) -> None:
        """Set a widget value to be sent on every later rerun (``field_name`` is a WidgetState
        field: string_value, int_value, double_value, bool_value, json_value, ...)."""
        ws = WidgetState(id=widget_id)
        if field_name.endswith("_array_value"):
            getattr(ws, field_name).data.extend(value)
        else:
            setattr(ws, field_name, value)
        self._values[widget_id] = ws

    async def set_value(self, key: str, field_name: str, value: Any, kind: str | None = None) -> Run:
        el = self.widget(key, kind)
        self.remember(el.id, field_name, value)
        return await self.rerun(fragment_id=el.fragment_id)

    async def select(self, key: str, option: str) -> Run:
        """Choose ``option`` (its text) in the selectbox keyed ``key``."""
        el = self.widget(key, "selectbox")
        if el.proto.options and option not in el.proto.options:
            raise ValueError(f"{option!r} is not an option of {key!r}: {list(el.proto.options)}")
        self.remember(el.id, "string_value", option)
        return await self.rerun(fragment_id=el.fragment_id)

    async def click(self, key: str) -> Run:
        """Press the button keyed ``key`` (a one-off trigger, as the browser sends it)."""
        el = self.widget(key, "button")
        return await self.rerun([WidgetState(id=el.id, trigger_value=True)], el.fragment_id)

    def canvas_value(self, png: bytes, objects: list[dict], key: str | None = None) -> str:
        el = self.canvas(key)
        if el is None:
            raise LookupError("no drawing canvas (bidi_component) on the page")
        value = {
            "drawing": {
                "raw": {"version": "7.4.0", "objects": objects, "background": "#000000"},
                "data": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
            }
        }
        self.remember(el.id, "json_value", json.dumps(value))
        return el.id

    async def draw(self, png: bytes, objects: list[dict], key: str | None = None) -> Run:
        """Send a drawing the way the canvas does on mouse-up: ``png`` is the whole canvas (a canvas in a
        fragment reruns that fragment only, as in the browser)."""
        self.canvas_value(png, objects, key)
        return await self.rerun(fragment_id=self.canvas(key).fragment_id)


async def open_canvas(session: Session, canvas_key: str | None = None) -> Element:
    """Make the page show a drawing canvas and return it: if there is none, pick the first
    selectbox option that starts with "Draw" (the Convolution page's input chooser) and rerun."""
    if session.canvas(canvas_key) is None:
        for el in [e for e in session.elements if e.kind == "selectbox" and e.key]:
            option = next((o for o in el.proto.options if o.lower().startswith("draw")), None)
            if option is not None:
                run = await session.select(el.key, option)
                if not run.ok:
                    raise ProtocolError(f"choosing {option!r} failed: {run.problem()}")
                break
    el = session.canvas(canvas_key)
    if el is None:
        raise LookupError("no drawing canvas on the page")
    return el
