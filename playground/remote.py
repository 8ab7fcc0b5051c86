"""Training in a child process, behind the same controls as `Trainer`.

Why: a training loop on a small CNN spends much of each step in Python, holding the interpreter lock
that the web server's threads need too. Measured on 2 cores with 30 users drawing while 4 sessions
trained in threads of the server process: a drawing update's p95 went from 74 ms to 2.2–3.4 s. In a
child process (lowest CPU priority, one torch thread) the training keeps its own interpreter lock.

`ProcessTrainer` has the Trainer surface the pages and the queue use: `spec`, `run()` (blocks in the
queue's worker thread while the child trains), `start()`, `pause()`, `resume()`, `stop()`, `join()`,
`snapshot()`, `model_copy()`, `metadata()`, `result`. The child is a fork of a small server process
that imported torch once (multiprocessing's "forkserver"), so a run starts in a fraction of a second
and never inherits the web server's threads. Same seed, same results as `Trainer` in-process.
"""
from __future__ import annotations

import logging
import multiprocessing as mp
from multiprocessing import spawn
import os
import threading
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from playground.model import ModelSpec, build
from playground.train import TrainConfig, Trainer, TrainResult, TrainSnapshot
from playground.train_setup import Dataset

log = logging.getLogger(__name__)

SNAPSHOT_EVERY_S = 0.2      # how often the child reports progress
COPY_TIMEOUT_S = 5.0        # longest wait for the child's weights
CHILD_NICE = 19             # the child yields the CPU to the web server whenever it needs it
_CONTEXT: Any = None
_CONTEXT_LOCK = threading.Lock()


_PROCESS_NAME = "playground-training"
_preparation_data = spawn.get_preparation_data


def _without_main(name: str) -> dict:
    """multiprocessing re-runs the parent's ``__main__`` file in every child. Under Streamlit that file is
    the page script (Streamlit runs pages as ``__main__``), which must never run outside a session:
    for training processes, leave it out (the child needs only ``playground.remote``)."""
    data = _preparation_data(name)
    if name.startswith(_PROCESS_NAME):
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
    return data


spawn.get_preparation_data = _without_main


def _context():
    """The multiprocessing context: a fork server that has imported the engine (torch) once."""
    global _CONTEXT
    with _CONTEXT_LOCK:
        if _CONTEXT is None:
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload(["playground.remote", "playground.forkserver_warm"])
            _CONTEXT = ctx
        return _CONTEXT


def _weights(model: nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def _child(conn, spec_json: str, config: dict, train: Dataset, val: Dataset | None) -> None:
    """The child process: train, report snapshots, obey pause/resume/stop, answer weight requests."""
    try:
        os.nice(CHILD_NICE)
    except OSError:
        pass
    torch.set_num_threads(1)
    trainer = Trainer(ModelSpec.from_json(spec_json), TrainConfig.from_dict(config), train, val)
    worker = threading.Thread(target=trainer.run, daemon=True)
    worker.start()
    last = 0.0
    try:
        while worker.is_alive():
            if conn.poll(SNAPSHOT_EVERY_S):
                command = conn.recv()
                if command == "stop":
                    trainer.stop()
                elif command == "pause":
                    trainer.pause()
                elif command == "resume":
                    trainer.resume()
                elif command == "copy":
                    conn.send(("weights", _weights(trainer.model_copy())))
            now = time.monotonic()
            if now - last >= SNAPSHOT_EVERY_S:
                conn.send(("snapshot", trainer.snapshot()))
                last = now
        worker.join()
        conn.send(("done", trainer.snapshot(), trainer.metadata(), _weights(trainer.model_copy()), trainer.result))
    except (BrokenPipeError, EOFError, OSError):     # the server went away: stop quietly
        trainer.stop()


class ProcessTrainer:
    """A `Trainer` whose training loop runs in a child process (see the module docstring)."""

    def __init__(self, spec: ModelSpec, config: TrainConfig, train_data: Dataset, val_data: Dataset | None = None):
        # validated and prepared here, on the caller's thread: ConfigError / SpecError / DataError at once,
        # and the "queued" snapshot the page shows until the child reports
        self._local = Trainer(spec, config, train_data, val_data)
        self.spec, self.config = self._local.spec, config
        self._args = (self._local.spec.to_json(), config.to_dict(), train_data, val_data)
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._snap: TrainSnapshot = self._local.snapshot()
        self._meta: dict[str, Any] | None = None
        self._final_weights: dict[str, np.ndarray] | None = None
        self._copy: dict[str, np.ndarray] | None = None
        self._copy_ready = threading.Event()
        self._conn = None
        self._stopped = False
        self._paused = False
        self._thread: threading.Thread | None = None
        self.result: TrainResult | None = None

    # ---- control, from any thread ----
    def start(self) -> None:
        """Train in the background (a thread that waits on the child); returns at once."""
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self.run, name="playground-process-trainer", daemon=True)
        self._thread.start()

    def _send(self, message: str) -> bool:
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
            started = self._conn is not None
        if not started:
            self._local.stop()
            with self._lock:
                if self._snap.state == "queued":
                    self._snap = self._local.snapshot()
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
        if weights is None:                       # not started, or the child is gone: the initial weights
            return self._local.model_copy()
        model = build(self.spec)
        model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
        return model.eval()

    def metadata(self) -> dict[str, Any]:
        with self._lock:
            meta = self._meta
        return meta if meta is not None else self._local.metadata()

    # ---- the run (the queue's worker thread) ----
    def run(self) -> TrainResult:
        """Start the child and wait for it to finish; never raises for a failed run."""
        with self._lock:
            if self._stopped or self._conn is not None or self.result is not None:
                if self.result is None:
                    self.result = self._local.run()       # stopped while queued: ends at once
                    self._snap = self._local.snapshot()
                return self.result
            parent, child = _context().Pipe()
            self._conn = parent
            paused = self._paused
        process = _context().Process(target=_child, args=(child, *self._args), daemon=True,
                                     name=_PROCESS_NAME)
        process.start()
        child.close()
        if paused:
            self._send("pause")
        try:
            self._receive(parent, process)
        finally:
            with self._send_lock:
                self._conn = None
            parent.close()
            process.join(2.0)
            if process.is_alive():
                process.kill()
        return self.result

    def _receive(self, conn, process) -> None:
        while True:
            try:
                if not conn.poll(0.5):
                    if not process.is_alive():
                        raise EOFError
                    continue
                message = conn.recv()
            except (EOFError, OSError):
                self._fail(f"The training process ended unexpectedly (exit code {process.exitcode}).")
                return
            kind = message[0]
            if kind == "snapshot":
                with self._lock:
                    self._snap = message[1]
            elif kind == "weights":
                self._copy = message[1]
                self._copy_ready.set()
            elif kind == "done":
                _, snap, meta, weights, result = message
                with self._lock:
                    self._snap, self._meta, self._final_weights, self.result = snap, meta, weights, result
                return

    def _fail(self, message: str) -> None:
        with self._lock:
            s = self._snap
            self._snap = TrainSnapshot("failed", s.step, s.epoch, s.epochs, s.steps_per_epoch, s.total_steps,
                                       s.train_loss, s.val, 0.0, None, s.elapsed_s, message, s.diverged_at)
            self.result = TrainResult("failed", message, s.step, s.train_loss, s.val, s.elapsed_s, 0.0,
                                      s.diverged_at)

