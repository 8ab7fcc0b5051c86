"""Training in a child process of the training worker (`playground.serve.worker`), behind the Trainer's
controls.

`ProcessTrainer` has the surface the pages and the queue use: `spec`, `run()` (blocks in the queue's
worker thread while the child trains), `start()`, `pause()`, `resume()`, `stop()`, `join()`,
`snapshot()`, `model_copy()`, `metadata()`, `result`. Creating one validates the run (`RunSetup`: the
spec, the settings and the data shapes) and holds no tensors and no model, so a run waiting in the queue
costs next to nothing. Same seed, same results as `Trainer` in-process.

The worker process is started on first use (and again if it has died) by `worker_address()`; it ends
when this process ends.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import playground
from playground.nn.architecture import ModelSpec
from playground.nn.config import Dataset, EvalResult
from playground.nn.model import build
from playground.nn.numpy_trainer import network_of
from playground.nn.trainer import RunSetup, TrainConfig, TrainResult, TrainSnapshot
from playground.serve.worker import READY

log = logging.getLogger(__name__)

COPY_TIMEOUT_S = 5.0  # longest wait for the child's weights
STOP_GRACE_S = 5.0  # a child that has not ended this long after "stop" is killed
WORKER_START_S = 120.0  # longest wait for a new worker to import and warm up torch
_PACKAGE_ROOT = str(Path(playground.__file__).resolve().parents[1])
_worker: tuple[subprocess.Popen, str] | None = None
_worker_lock = threading.Lock()


def _start_worker() -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_PACKAGE_ROOT, os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "playground.serve.worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(WORKER_START_S)
    words = (line[0] if line else "").split(maxsplit=1)
    if len(words) != 2 or words[0] != READY:
        try:  # its output ended: it is exiting, so wait for the code it exits with
            code = proc.wait(timeout=5) if line and not line[0] else proc.poll()
        except subprocess.TimeoutExpired:
            code = None
        proc.kill()
        proc.wait(timeout=10)
        why = f"it exited with code {code}" if code is not None else f"no answer within {WORKER_START_S:g} s"
        raise OSError(f"the training worker did not start ({why})")
    return proc, words[1].strip()


def worker_address() -> str:
    """The Unix socket of this server's training worker, started (or restarted) as needed."""
    global _worker
    with _worker_lock:
        if _worker is None or _worker[0].poll() is not None:
            _worker = _start_worker()
        return _worker[1]


def _connect() -> Connection:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(worker_address())
    except OSError:
        sock.close()
        raise
    return Connection(sock.detach())


class ProcessTrainer:
    """A `Trainer` whose training loop runs in a child of the training worker (see the module docstring)."""

    def __init__(
        self,
        spec: ModelSpec,
        config: TrainConfig,
        train_data: Dataset,
        val_data: Dataset | None = None,
        test_data: Dataset | None = None,
        start_weights: dict[str, np.ndarray] | None = None,
    ):
        # validated here, on the caller's thread: ConfigError / SpecError / DataError at once
        self.setup = RunSetup.of(spec, config, train_data, val_data, start_weights)
        if config.engine == "numpy":
            network_of(self.setup.spec)  # EngineError (a ConfigError) for a layer the numpy engine cannot train
        self.test_data = test_data  # scored in the child once the run ends, never in this process
        self.test_evaluation: EvalResult | None = None
        self.spec, self.config = self.setup.spec, config
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._snap: TrainSnapshot = self.setup.queued()
        self._meta: dict[str, Any] | None = None
        self._final_weights: dict[str, np.ndarray] | None = None
        self._copy: dict[str, np.ndarray] | None = None
        self._copy_ready = threading.Event()
        self._timeline: list | None = None  # [(step, weights)] once received
        self._timeline_ready = threading.Event()
        self._conn: Connection | None = None
        self._stopped = False
        self._paused = False
        self._thread: threading.Thread | None = None
        self.pid: int | None = None  # the child's, once it has started
        self.result: TrainResult | None = None

    # ---- control, from any thread ----
    def start(self) -> None:
        """Train in the background (a thread that waits on the child); returns at once."""
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self.run, name="playground-process-trainer", daemon=True)
        self._thread.start()

    def _send(self, message: Any) -> bool:
        with self._send_lock:
            if self._conn is None:
                return False
            try:
                self._conn.send(message)
                return True
            except (BrokenPipeError, EOFError, OSError):
                return False

    def pause(self) -> None:
        self._paused = True
        self._send("pause")

    def resume(self) -> None:
        self._paused = False
        self._send("resume")

    def stop(self) -> None:
        """End the run after the current optimizer step; a run still queued ends at once."""
        with self._lock:
            self._stopped = True
            if self._conn is None and self._snap.state == "queued":
                self._end_unstarted()
        self._send("stop")

    def join(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return self.snapshot().done

    def snapshot(self) -> TrainSnapshot:
        with self._lock:
            return self._snap

    def model_copy(self) -> nn.Module:
        """The current weights (the final ones once the run has ended) in a fresh model, eval mode."""
        with self._lock:
            weights = self._final_weights
        if weights is None:
            self._copy_ready.clear()
            if self._send("copy") and self._copy_ready.wait(COPY_TIMEOUT_S):
                weights = self._copy
        if weights is None:  # not started, or the child is gone: the initial weights
            return self.setup.initial_model().eval()
        model = build(self.spec)
        model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
        return model.eval()

    def timeline(self) -> list[tuple[int, dict[str, np.ndarray]]]:
        """The run's checkpoint timeline: [(step, weights)], the final one once the run has ended, else the
        snapshots so far (asked of the training process); [] when it cannot be had."""
        with self._lock:
            if self._final_weights is not None:
                return list(self._timeline or [])
        self._timeline_ready.clear()
        if self._send("timeline") and self._timeline_ready.wait(COPY_TIMEOUT_S):
            with self._lock:
                return list(self._timeline or [])
        return []

    def metadata(self) -> dict[str, Any]:
        with self._lock:
            meta = self._meta
        return meta if meta is not None else self.setup.metadata(self.snapshot())

    # ---- the run (the queue's worker thread) ----
    def run(self) -> TrainResult:
        """Start the child and wait for it to finish; never raises for a failed run."""
        with self._lock:
            if self._stopped or self._conn is not None or self.result is not None:
                if self.result is None:
                    self._end_unstarted()  # stopped while queued: ends at once
                return self.result
            self._snap = replace(self._snap, message="Starting.")
        s = self.setup
        try:
            conn = _connect()
            conn.send(
                (
                    "train",
                    s.spec.to_json(),
                    s.config.to_dict(),
                    s.train_data,
                    s.val_data,
                    self.test_data,
                    s.start_weights,
                )
            )
        except OSError as err:
            log.warning("cannot start a training child: %s", err)
            self._fail("The training process could not be started; try again in a moment.")
            return self.result
        with self._lock:
            self._conn = conn
            stopped, paused = self._stopped, self._paused
        if stopped:
            self._send("stop")
        elif paused:
            self._send("pause")
        try:
            self._receive(conn)
        finally:
            with self._send_lock:
                self._conn = None
            conn.close()
        return self.result

    def _end_unstarted(self) -> None:
        """Under the lock: a run that never started ends "stopped" with nothing to show."""
        self._snap = replace(self._snap, state="stopped", message="Stopped before it started.")
        self.result = TrainResult.of(self._snap, self.setup.batch_size)

    def _receive(self, conn: Connection) -> None:
        stop_sent_at: float | None = None
        while True:
            try:
                if not conn.poll(0.5):
                    stop_sent_at = self._kill_if_stuck(stop_sent_at)
                    continue
                message = conn.recv()
            except (EOFError, OSError):
                self._fail("The training process ended unexpectedly.")
                return
            kind = message[0]
            if kind == "pid":
                self.pid = message[1]
            elif kind == "snapshot":
                with self._lock:
                    self._snap = message[1]
            elif kind == "weights":
                self._copy = message[1]
                self._copy_ready.set()
            elif kind == "timeline":
                with self._lock:
                    self._timeline = message[1]
                self._timeline_ready.set()
            elif kind == "done":
                _, snap, meta, weights, result, scores, timeline = message
                with self._lock:
                    self._snap, self._meta, self._final_weights, self.result = snap, meta, weights, result
                    self.test_evaluation, self._timeline = scores, timeline
                return

    def _kill_if_stuck(self, stop_sent_at: float | None) -> float | None:
        """A child that does not end within STOP_GRACE_S of a stop is killed (its run then fails)."""
        if not self._stopped:
            return None
        now = time.monotonic()
        if stop_sent_at is None:
            return now
        if now - stop_sent_at > STOP_GRACE_S and self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
        return stop_sent_at

    def _fail(self, message: str) -> None:
        with self._lock:
            self._snap = replace(self._snap, state="failed", message=message, images_per_s=0.0, eta_s=None)
            self.result = TrainResult.of(self._snap, self.setup.batch_size)
