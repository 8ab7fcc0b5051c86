"""The training worker: one process per web server that has loaded and warmed up torch, and forks one
child per training run.

Why a process: a training loop on a small CNN spends much of each step in Python, holding the interpreter
lock that the web server's threads need too (on 2 cores, 30 users drawing while 4 sessions trained in
threads of the server: a drawing update's p95 went from 74 ms to 2.2-3.4 s). Why fork from a warm worker:
torch's first optimizer step costs 1.7-4 s of lazy imports and set-up; paid once here, every run starts
in a fraction of a second. Why its own interpreter (not multiprocessing from the server): a child made by
multiprocessing re-runs the parent's ``__main__``, which under Streamlit is a page script.

Entry point: ``python -m playground.serve.worker`` (started by `playground.serve.process_trainer`). It
lowers its own CPU priority (so do its children), warms torch up, listens on a Unix socket in a folder
only this user can open, prints ``ready <socket path>`` and forks a child for every connection. It exits
when its standard input closes (the web server has gone); a child stops when its connection breaks.
Importing this module does nothing.

On a connection (`multiprocessing.connection.Connection`, pickled messages):
  server -> child: ("train", spec_json, config_dict, train_data, val_data, test_data), then "pause",
                   "resume", "stop", "copy" or "timeline" at any time
  child -> server: ("pid", pid), ("snapshot", TrainSnapshot) every SNAPSHOT_EVERY_S,
                   ("weights", {name: array}) after "copy", ("timeline", [(step, weights)]) after
                   "timeline", and last ("done", snapshot, metadata, weights, TrainResult, test scores,
                   the checkpoint timeline [(step, weights)])
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection

import numpy as np
import torch
from torch import nn

from playground.nn.architecture import ModelSpec
from playground.nn.config import OPTIMIZERS, TrainConfig, make_optimizer
from playground.nn.numpy_trainer import NumpyTrainer
from playground.nn.timeline import Timeline
from playground.nn.trainer import Trainer, TrainEvent

SNAPSHOT_EVERY_S = 0.2  # how often a child reports progress
NICE = 19  # the worker and its children yield the CPU to the web server whenever it needs it
READY = "ready"


def warm() -> None:
    """One optimizer step of every kind on a tiny model: torch's lazy first-call set-up, done once."""
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3),
        nn.BatchNorm2d(2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.1),
        nn.Linear(2 * 13 * 13, 10),
    )
    x, y = torch.zeros(2, 1, 28, 28), torch.zeros(2, dtype=torch.long)
    for name in OPTIMIZERS:
        opt = make_optimizer(model.parameters(), TrainConfig(optimizer=name))
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        model.eval()(x)


def weights(model: nn.Module) -> dict[str, np.ndarray]:
    """A model's state as plain arrays (what travels over the connection)."""
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def train_child(conn: Connection) -> None:
    """A forked child: receive one run, train it, report, obey pause/resume/stop, answer weight and timeline
    requests; the run's checkpoint timeline goes back with its final weights."""
    _, spec_json, config, train, val, test, start_weights = conn.recv()
    conn.send(("pid", os.getpid()))
    config = TrainConfig.from_dict(config)
    timeline = Timeline()
    box: list = []

    def live_weights() -> dict[str, np.ndarray]:
        trainer = box[0]  # in the training thread, between two steps: the live weights are consistent
        return weights(trainer.model) if isinstance(trainer, Trainer) else weights(trainer.model_copy())

    def on_event(event: TrainEvent) -> None:
        if event.kind == "step":
            timeline.offer(event.step, live_weights)

    engine = NumpyTrainer if config.engine == "numpy" else Trainer  # the from-scratch engine, or PyTorch
    trainer = engine(
        ModelSpec.from_json(spec_json),
        config,
        train,
        val,
        callbacks=[on_event],
        test_data=test,
        start_weights=start_weights,
    )
    box.append(trainer)
    timeline.offer(0, live_weights)  # the initial weights
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
                    conn.send(("weights", weights(trainer.model_copy())))
                elif command == "timeline":
                    conn.send(("timeline", list(timeline.points)))
            now = time.monotonic()
            if now - last >= SNAPSHOT_EVERY_S:
                conn.send(("snapshot", trainer.snapshot()))
                last = now
        worker.join()
        final_weights = weights(trainer.model_copy())
        timeline.finish(trainer.snapshot().step, lambda: final_weights)
        final = (trainer.snapshot(), trainer.metadata(), final_weights, trainer.result)
        conn.send(("done", *final, trainer.test_evaluation, list(timeline.points)))
    except (BrokenPipeError, EOFError, OSError):  # the server went away: stop quietly
        trainer.stop()


def _fork_child(listener: socket.socket, sock: socket.socket) -> None:
    """In the worker: fork a child that serves `sock`; the worker goes back to listening at once."""
    if os.fork() != 0:
        sock.close()
        return
    code = 1
    try:
        listener.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        train_child(Connection(sock.detach()))
        code = 0
    finally:
        os._exit(code)  # never return into the worker's loop


def serve(stdin_fd: int = 0) -> None:
    """The worker's loop (see the module docstring); returns when `stdin_fd` reaches end of file."""
    try:
        os.nice(NICE)
    except OSError:
        pass
    torch.set_num_threads(1)
    warm()
    folder = tempfile.mkdtemp(prefix="playground-worker-")  # mode 0700: only this user can connect
    path = os.path.join(folder, "socket")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(path)
        listener.listen(64)
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the children
        print(f"{READY} {path}", flush=True)
        while True:
            ready, _, _ = select.select([listener, stdin_fd], [], [])
            if stdin_fd in ready and not os.read(stdin_fd, 4096):
                return
            if listener in ready:
                sock, _ = listener.accept()
                _fork_child(listener, sock)
    finally:
        listener.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    try:
        serve(sys.stdin.fileno())
    except KeyboardInterrupt:
        pass
