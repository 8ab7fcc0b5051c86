"""Sessions that train on the Train page while the load client's users draw: open the page, choose a
preset, press Start, keep the tab open (the app stops a session's training when its tab closes) and rerun
the page's ``run_every`` fragments as a browser tab does, until ``stop()``::

    with start_training(url, count=4) as trainings:   # 2 train, 2 wait on a 2-core server
        before = trainings.status()
        print(run_load(url, users=30, interval_s=2, duration_s=20))
        after = trainings.status()                    # TrainingStatus: state, step, queue_position
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from benchmarks.loadclient import Element, ProtocolError, Run, Session

# ----------------------------------------------------------------------------------------------
# Trainings on the Train page, kept running while other users draw
# ----------------------------------------------------------------------------------------------
TRAIN_PATH = "train"
PRESET_SOURCE = "A preset"  # the Train page's model_source radio (playground/ui/training.py)
FINAL_STATES = ("stopped", "finished", "failed")
SETTLE_S = 2.0  # how long a run must stay queued after Start to count as waiting for a place
_STEP = re.compile(r"step ([\d,]+) of ([\d,]+)")
_POINTS = re.compile(r"([\d,]+) training-loss points · ([\d,]+) validation points? · state: (\w+)")
_QUEUE = re.compile(r"You are (?:(next)|(\d+)\w\w) in the queue: this server trains (\d+) model")


class TrainingError(RuntimeError):
    """A training session could not be started, stopped or read."""


@dataclass
class TrainingStatus:
    """What a Train page tab shows about its run (parsed from the page, nothing guessed).

    ``state`` is the engine's (queued, running, paused, stopped, finished, failed) from the caption
    under the curves; ``step``/``total_steps`` from the progress bar; ``queue_position`` (1 = next)
    and ``cap`` (trainings the server runs at once) from the queue notice of a waiting run."""

    state: str | None = None
    step: int | None = None
    total_steps: int | None = None
    loss_points: int | None = None
    val_points: int | None = None
    queue_position: int | None = None
    cap: int | None = None
    progress_text: str = ""

    @property
    def waiting(self) -> bool:
        return self.state == "queued" and self.queue_position is not None


def _num(text: str) -> int:
    return int(text.replace(",", ""))


def training_status(elements: Iterable[Element], base: TrainingStatus | None = None) -> TrainingStatus:
    """The run's status from the elements of a Train page run (a full run, or the progress
    fragment's run). Fields the elements do not show keep their value from ``base``."""
    st_ = TrainingStatus(**vars(base)) if base is not None else TrainingStatus()
    saw_progress = False
    for el in elements:
        if el.kind == "progress":
            m = _STEP.search(el.proto.text)
            if m:
                saw_progress = True
                st_.step, st_.total_steps, st_.progress_text = _num(m[1]), _num(m[2]), el.proto.text
        elif el.kind == "markdown":
            m = _POINTS.search(el.proto.body)
            if m:
                st_.loss_points, st_.val_points, st_.state = _num(m[1]), _num(m[2]), m[3]
    if saw_progress:  # the progress fragment ran: its queue notice is there or gone
        st_.queue_position = None
        for el in elements:
            if el.kind == "alert":
                m = _QUEUE.search(el.proto.body)
                if m:
                    st_.queue_position = 1 if m[1] else int(m[2])
                    st_.cap = int(m[3])
    return st_


class TrainingTab:
    """One Train page tab that trains a preset: ``await tab.start()``, then ``await tab.poll()``
    (the page's own live refreshes) or ``await tab.status()``, and ``await tab.stop()``.

    The training runs on the server for as long as this session is open (the app stops a
    session's training when its tab closes). All traffic of one tab goes through ``lock``."""

    def __init__(
        self,
        base_url: str,
        preset: str = "keras-mnist",
        epochs: int = 100,
        subset: int | None = None,
        dataset: str | None = None,
        timeout_s: float = 60.0,
        name: str = "",
    ):
        self.session = Session(base_url, TRAIN_PATH, timeout_s=timeout_s)
        self.preset, self.epochs, self.subset, self.dataset = preset, epochs, subset, dataset
        self.name = name
        self.lock = asyncio.Lock()
        self.last = TrainingStatus()
        self.polls = 0
        self.poll_latencies: list[float] = []
        self.errors: list[str] = []

    def _check(self, run: Run, what: str) -> Run:
        if not run.ok:
            raise TrainingError(f"{self.name} {what}: {run.problem()}".strip())
        return run

    async def start(self, start_timeout_s: float = 60.0) -> TrainingStatus:
        """Open the Train page, choose the preset, the data and the settings, press Start and wait
        (bounded) until the run is training (a step done) or waiting in the server's queue."""
        s = self.session
        async with self.lock:
            await s.connect()
            self._check(await s.rerun(), "first run")
            self._check(await s.set_value("train.model_source", "string_value", PRESET_SOURCE), "choosing a preset")
            self._check(await s.select("train.preset", self.preset), "choosing the preset")
            if self.dataset is not None:
                self._check(await s.select("train.dataset", self.dataset), "choosing the data set")
            subset = s.widget("train.subset", "number_input").proto
            n = int(subset.max if self.subset is None else self.subset)
            self._check(await s.set_value("train.subset", "double_value", float(n)), "setting the images")
            self._check(await s.set_value("train.epochs", "double_value", float(self.epochs)), "setting the epochs")
            if s.widget("train.start", "button").proto.disabled:
                raise TrainingError(f"{self.name} Start is disabled with these settings".strip())
            self._check(await s.click("train.start"), "pressing Start")
            deadline = time.monotonic() + start_timeout_s
            waiting_since: float | None = None
            while True:
                self.last = training_status(s.elements)
                if self.last.state is None:
                    raise TrainingError(f"{self.name} no run on the page after Start".strip())
                if self.last.state in FINAL_STATES or self.last.state == "paused":
                    raise TrainingError(f"{self.name} the run is {self.last.state} right after Start".strip())
                if self.last.state == "running" and (self.last.step or 0) > 0:
                    return self.last
                # a run just submitted reads "next in the queue" for the moment before a free place takes it:
                # it waits for real only if it still does a while later
                waiting_since = (waiting_since or time.monotonic()) if self.last.waiting else None
                if waiting_since is not None and time.monotonic() - waiting_since >= SETTLE_S:
                    return self.last
                if time.monotonic() > deadline:
                    raise TrainingError(f"{self.name} not training within {start_timeout_s:g} s: {self.last}".strip())
                await asyncio.sleep(0.3)
                self._check(await s.rerun(), "rerun after Start")

    async def status(self) -> TrainingStatus:
        """A full rerun of the page (as a click would cause) and what it shows."""
        async with self.lock:
            self.last = training_status(self._check(await self.session.rerun(), "rerun").elements)
            return self.last

    async def poll(self, until: float) -> None:
        """Until ``time.monotonic()`` reaches ``until``: rerun each ``run_every`` fragment on its
        own interval, as the open browser tab does while the run trains (curves, kernels, maps).
        Errors are kept in ``errors``; a failed refresh ends the polling of this tab."""
        due: dict[str, float] = {}
        while True:
            now = time.monotonic()
            frags = dict(self.session.auto_reruns)
            if not frags:
                await asyncio.sleep(min(0.5, max(0.0, until - now)))
                if time.monotonic() >= until:
                    return
                continue
            for fid in list(due):
                if fid not in frags:
                    del due[fid]
            for fid, interval in frags.items():
                due.setdefault(fid, now + interval)
            fid = min(due, key=due.get)
            if due[fid] >= until:
                await asyncio.sleep(max(0.0, until - now))
                return
            await asyncio.sleep(max(0.0, due[fid] - now))
            due[fid] = max(due[fid] + frags[fid], time.monotonic())  # a timer does not catch up
            async with self.lock:
                if fid not in self.session.auto_reruns:  # a full run in between dropped it
                    continue
                try:
                    run = await self.session.rerun_fragment(fid)
                except ProtocolError as e:
                    self.errors.append(f"{self.name} refresh: {e}".strip())
                    return
            self.polls += 1
            self.poll_latencies.append(run.latency_ms)
            if not run.ok:
                self.errors.append(f"{self.name} refresh: {run.problem()}".strip())
                return
            self.last = training_status(run.elements, self.last)

    async def stop(self, stop_timeout_s: float = 30.0) -> TrainingStatus:
        """Press Stop (if the run has not ended) and wait, bounded, until the page shows it ended."""
        s = self.session
        async with self.lock:
            run = self._check(await s.rerun(), "rerun before Stop")
            self.last = training_status(run.elements)
            stop = s.find("button", key="train.stop")
            if stop is not None and not stop.proto.disabled:
                self._check(await s.click("train.stop"), "pressing Stop")
            deadline = time.monotonic() + stop_timeout_s
            while True:
                self.last = training_status(s.elements)
                if self.last.state in FINAL_STATES:
                    return self.last
                if time.monotonic() > deadline:
                    raise TrainingError(f"{self.name} still {self.last.state} {stop_timeout_s:g} s after Stop".strip())
                await asyncio.sleep(0.3)
                self._check(await s.rerun(), "rerun after Stop")

    async def close(self) -> None:
        await self.session.close()


class Trainings:
    """Training tabs kept open on their own thread and event loop, so a drawing load can run
    meanwhile (``run_load`` runs its own loop). Made by ``start_training``; use as a context
    manager or call ``stop()`` (press Stop, wait until each run ended, close the sessions).

    While open, each tab refreshes its live fragments as a browser tab does (``poll=True``)."""

    def __init__(self, tabs: list[TrainingTab], loop: asyncio.AbstractEventLoop, thread, poll: bool):
        self.tabs, self._loop, self._thread = tabs, loop, thread
        self._poll_future = None
        self.stopped: list[TrainingStatus] | None = None
        if poll:
            self._poll_future = asyncio.run_coroutine_threadsafe(self._poll_all(), loop)

    async def _poll_all(self) -> None:
        await asyncio.gather(*(t.poll(float("inf")) for t in self.tabs))

    def _call(self, coro, timeout: float):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def status(self, timeout_s: float = 120.0) -> list[TrainingStatus]:
        """Every tab's status after a full rerun of its page."""

        async def all_():
            return await asyncio.gather(*(t.status() for t in self.tabs))

        return self._call(all_(), timeout_s)

    @property
    def errors(self) -> list[str]:
        return [e for t in self.tabs for e in t.errors]

    @property
    def polls(self) -> int:
        return sum(t.polls for t in self.tabs)

    @property
    def poll_latencies(self) -> list[float]:
        return [x for t in self.tabs for x in t.poll_latencies]

    def stop(self, timeout_s: float = 120.0) -> list[TrainingStatus]:
        """Stop polling, press Stop on every tab and wait until each run has ended, then close
        every session and the thread. Safe to call twice; returns the final statuses."""
        if self.stopped is not None:
            return self.stopped
        if self._poll_future is not None:
            self._loop.call_soon_threadsafe(self._poll_future.cancel)

        async def stop_all():
            # the last started first: a waiting run is taken out of the queue before a running
            # one's end frees its place (else it would start just to be stopped)
            got: list[Any] = []
            try:
                for t in reversed(self.tabs):
                    try:
                        got.append(await t.stop())
                    except Exception as e:  # noqa: BLE001  (reported below; the others still stop)
                        got.append(e)
            finally:
                await asyncio.gather(*(t.close() for t in self.tabs), return_exceptions=True)
            return got[::-1]

        try:
            got = self._call(stop_all(), timeout_s)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        problems = [f"{t.name}: {g}" for t, g in zip(self.tabs, got) if isinstance(g, BaseException)]
        self.stopped = [g if isinstance(g, TrainingStatus) else t.last for t, g in zip(self.tabs, got)]
        if problems:
            raise TrainingError("; ".join(problems))
        return self.stopped

    def __enter__(self) -> Trainings:
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.stop()
        except TrainingError:
            if exc[0] is None:
                raise


def start_training(
    url: str,
    count: int = 1,
    preset: str = "keras-mnist",
    epochs: int = 100,
    subset: int | None = None,
    dataset: str | None = None,
    poll: bool = True,
    timeout_s: float = 60.0,
    start_timeout_s: float = 60.0,
) -> Trainings:
    """Open ``count`` Train page sessions on ``url``, one after another; in each choose "A preset"
    (``preset``), the data set (``dataset``, its shown title, e.g. "MNIST"; None keeps the page's
    default), ``subset`` training images (None: all of them, 7,000 for MNIST) and ``epochs``
    (the page allows 1-100; 100 keeps keras-mnist busy for minutes), then press Start and wait
    until the run trains (a step done) or waits in the server-wide queue (the server runs at most
    its cap at once; the rest wait in order). Raises ``TrainingError`` (after closing every
    session) when a run does not start. The sessions stay open, refreshing like a browser tab
    when ``poll``, until ``Trainings.stop()``."""
    if count < 1:
        raise ValueError("count must be >= 1")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="loadclient-trainings", daemon=True)
    thread.start()
    tabs = [TrainingTab(url, preset, epochs, subset, dataset, timeout_s, name=f"training {i}") for i in range(count)]

    async def start_all():
        for t in tabs:  # in order, so the queue order is the tabs' order
            await t.start(start_timeout_s)

    try:
        asyncio.run_coroutine_threadsafe(start_all(), loop).result(count * (start_timeout_s + 8 * timeout_s))
    except BaseException:

        async def close_all():
            await asyncio.gather(*(t.close() for t in tabs), return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(close_all(), loop).result(30)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
        raise
    return Trainings(tabs, loop, thread, poll)
