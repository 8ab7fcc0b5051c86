"""Training in a child process: the same results as in-process, and the controls still work."""

from __future__ import annotations

import dataclasses
import os
import time

import pytest
import torch

from playground.data import load_dataset
from playground.jobs import JobQueue
from playground.model import get_preset
from playground.remote import ProcessTrainer
from playground.train import RECOMMENDED_CONFIG, Trainer

CONFIG = dataclasses.replace(RECOMMENDED_CONFIG, epochs=1, subset=1024, threads=1, augment=False,
                             lr_schedule="constant", seed=3)


@pytest.fixture(scope="module")
def data(mnist_path):
    return (load_dataset("mnist", mnist_path, split="train", download_ok=False),
            load_dataset("mnist", mnist_path, split="val", download_ok=False))


def wait_for(predicate, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_same_seed_same_weights_and_history_as_in_process(data):
    spec = get_preset("keras-mnist")
    remote = ProcessTrainer(spec, CONFIG, *data)
    assert remote.snapshot().state == "queued" and remote.snapshot().total_steps == 16
    result = remote.run()
    local = Trainer(spec, CONFIG, *data)
    expected = local.run()
    assert result.state == "finished" and result.steps == expected.steps == 16
    assert result.train_loss == expected.train_loss and result.val == expected.val
    a, b = remote.model_copy().state_dict(), local.model_copy().state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert remote.metadata()["metrics"]["val_acc"] == expected.val_acc


def test_stop_pause_resume_and_a_live_copy(data):
    config = dataclasses.replace(CONFIG, epochs=50, subset=None)
    trainer = ProcessTrainer(get_preset("keras-mnist"), config, *data)
    trainer.start()
    wait_for(lambda: trainer.snapshot().step >= 5)
    copy = trainer.model_copy()                     # weights taken from the running child
    assert not torch.equal(copy.state_dict()["conv1.weight"], trainer._local.model_copy().state_dict()["conv1.weight"])
    trainer.pause()
    wait_for(lambda: trainer.snapshot().state == "paused")
    held = trainer.snapshot().step
    time.sleep(0.6)
    assert trainer.snapshot().step == held
    trainer.resume()
    wait_for(lambda: trainer.snapshot().step > held)
    t0 = time.monotonic()
    trainer.stop()
    assert trainer.join(10.0)
    assert time.monotonic() - t0 < 2.0                 # stops within a step or two, not at the end of the epoch
    snap = trainer.snapshot()
    assert snap.state == "stopped" and snap.step > held and len(snap.train_loss) > 0   # history kept


def test_stopped_while_queued_never_starts_a_process(data):
    queue = JobQueue(1)
    blocker = ProcessTrainer(get_preset("keras-mnist"), dataclasses.replace(CONFIG, epochs=50, subset=None), *data)
    waiting = ProcessTrainer(get_preset("keras-mnist"), CONFIG, *data)
    first, second = queue.submit(blocker), queue.submit(waiting)
    wait_for(lambda: blocker.snapshot().state == "running")
    assert queue.position(second) == 1 and waiting.snapshot().state == "queued"
    queue.cancel(second)
    assert waiting.snapshot().state == "stopped"
    queue.cancel(first)
    assert first.wait(10.0)
    assert blocker.snapshot().state == "stopped"
    queue.shutdown()


def test_a_killed_child_fails_the_run_with_a_message(data):
    trainer = ProcessTrainer(get_preset("keras-mnist"), dataclasses.replace(CONFIG, epochs=50, subset=None), *data)
    trainer.start()
    wait_for(lambda: trainer.snapshot().step >= 3)
    import multiprocessing
    children = [p for p in multiprocessing.active_children() if p.name == "playground-training"]
    assert len(children) == 1
    os.kill(children[0].pid, 9)
    assert trainer.join(10.0)
    snap = trainer.snapshot()
    assert snap.state == "failed" and "ended unexpectedly" in snap.message and snap.step >= 3
