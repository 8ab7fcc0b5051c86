"""Training in a child process: the same results as in-process, and the controls still work."""

from __future__ import annotations

import dataclasses
import os
import time

import pytest
import torch
from waiting import wait_until

from playground.data.datasets import load_dataset
from playground.nn.architecture import Act, Conv, Dense, Flatten, ModelSpec
from playground.nn.presets import get_preset
from playground.nn.trainer import RECOMMENDED_CONFIG, Trainer, evaluate
from playground.serve.jobs import JobQueue
from playground.serve.process_trainer import ProcessTrainer

CONFIG = dataclasses.replace(
    RECOMMENDED_CONFIG, epochs=1, subset=1024, threads=1, augment=False, lr_schedule="constant", seed=3
)


@pytest.fixture(scope="module")
def data(mnist_path):
    return (
        load_dataset("mnist", mnist_path, split="train", download_ok=False),
        load_dataset("mnist", mnist_path, split="val", download_ok=False),
    )


def reports_arrive(trainer: ProcessTrainer, count: int) -> None:
    """Wait until the child has sent `count` more progress reports (each arrives as a new snapshot)."""
    for _ in range(count):
        last = trainer.snapshot()
        wait_until(lambda last=last: trainer.snapshot() is not last, what="a progress report")


def test_same_seed_same_weights_and_history_as_in_process(data, mnist_path):
    spec = get_preset("keras-mnist")
    test = load_dataset("mnist", mnist_path, split="test", download_ok=False)
    remote = ProcessTrainer(spec, CONFIG, *data, test_data=test)
    assert remote.snapshot().state == "queued" and remote.snapshot().total_steps == 16
    result = remote.run()
    local = Trainer(spec, CONFIG, *data)
    expected = local.run()
    assert result.state == "finished" and result.steps == expected.steps == 16
    assert result.train_loss == expected.train_loss and result.val == expected.val
    a, b = remote.model_copy().state_dict(), local.model_copy().state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert remote.metadata()["metrics"]["val_acc"] == expected.val_acc
    # the test scores were computed in the child, and are the engine's numbers for these weights
    scores, here = remote.test_evaluation, evaluate(remote.model_copy(), test)
    assert scores is not None and scores.accuracy == here.accuracy and (scores.confusion == here.confusion).all()


def test_stop_pause_resume_and_a_live_copy(data):
    config = dataclasses.replace(CONFIG, epochs=50, subset=None, log_every_steps=2)
    trainer = ProcessTrainer(get_preset("keras-mnist"), config, *data)
    trainer.start()
    wait_until(lambda: trainer.snapshot().step >= 5)
    copy = trainer.model_copy()  # weights taken from the running child
    initial = trainer.setup.initial_model().state_dict()["conv1.weight"]
    assert not torch.equal(copy.state_dict()["conv1.weight"], initial)
    trainer.pause()
    wait_until(lambda: trainer.snapshot().state == "paused")
    held = trainer.snapshot().step
    reports_arrive(trainer, 3)  # the paused child keeps reporting, and its step holds
    assert trainer.snapshot().step == held
    trainer.resume()
    wait_until(lambda: trainer.snapshot().step > held)
    at_stop = trainer.snapshot().step
    trainer.stop()
    assert trainer.join(60.0)
    snap = trainer.snapshot()
    assert snap.state == "stopped" and snap.step > held and len(snap.train_loss) > 0  # history kept
    # the child obeys at its next step: only the steps of one report interval can lie between
    assert snap.step <= at_stop + 30 and snap.step < snap.total_steps


def test_stopped_while_queued_never_starts_a_process(data):
    queue = JobQueue(1)
    blocker = ProcessTrainer(get_preset("keras-mnist"), dataclasses.replace(CONFIG, epochs=50, subset=None), *data)
    waiting = ProcessTrainer(get_preset("keras-mnist"), CONFIG, *data)
    first, second = queue.submit(blocker), queue.submit(waiting)
    wait_until(lambda: blocker.snapshot().state == "running")
    assert queue.position(second) == 1 and waiting.snapshot().state == "queued"
    queue.cancel(second)
    assert waiting.snapshot().state == "stopped"
    queue.cancel(first)
    assert first.wait(60.0)
    assert blocker.snapshot().state == "stopped"
    queue.shutdown()


def test_a_killed_child_fails_the_run_with_a_message(data):
    trainer = ProcessTrainer(get_preset("keras-mnist"), dataclasses.replace(CONFIG, epochs=50, subset=None), *data)
    trainer.start()
    wait_until(lambda: trainer.snapshot().step >= 3)
    assert trainer.pid is not None and trainer.pid != os.getpid()
    os.kill(trainer.pid, 9)
    assert trainer.join(60.0)
    snap = trainer.snapshot()
    assert snap.state == "failed" and "ended unexpectedly" in snap.message and snap.step >= 3


def test_a_worker_that_cannot_start_is_reported_with_its_exit_code(monkeypatch):
    """It said "exit code None" once: the code was read before the process had been reaped."""
    from playground.serve import process_trainer

    monkeypatch.setattr(process_trainer.sys, "executable", "/bin/false")
    with pytest.raises(OSError, match=r"^the training worker did not start \(it exited with code 1\)$"):
        process_trainer._start_worker()


HEAVY = ModelSpec(
    "heavy",
    (
        Conv(32, 3, padding=1),
        Act("relu"),
        Conv(96, 3, padding=1),
        Act("relu"),
        Conv(96, 3, padding=1),
        Flatten(),
        Dense(10),
    ),
)


def test_a_heavy_run_stopped_during_validation_hands_its_place_on_at_once(data):
    """A design near the MAC limit spends most of its time validating; a stop there used to wait for the
    whole validation pass (90 s for a heavier one), and the next student stayed "queued" all that time."""
    from playground.nn.shapes import infer_shapes, summary_totals
    from playground.serve.jobs import JobQueue

    macs = summary_totals(infer_shapes(HEAVY))[1]
    assert 80_000_000 < macs <= 100_000_000
    heavy_config = dataclasses.replace(CONFIG, subset=256, val_every_steps=1, batch_size=8)
    q = JobQueue(1)
    try:
        heavy = ProcessTrainer(HEAVY, heavy_config, *data)
        light = ProcessTrainer(get_preset("keras-mnist"), CONFIG, *data)
        t_heavy, t_light = q.submit(heavy), q.submit(light)
        wait_until(lambda: heavy.snapshot().step >= 1, 120, what="the heavy run's first step and validation")
        assert q.position(t_light) == 1
        q.cancel(t_heavy)
        asked = time.monotonic()
        wait_until(lambda: light.snapshot().state == "running", 60, what="the next run to start")
        handed_on = time.monotonic() - asked
        assert t_heavy.wait(10) and heavy.snapshot().state == "stopped"
        print(f"place handed on {handed_on:.2f} s after Stop")
        assert handed_on < 2.0, f"the next run started {handed_on:.1f} s after the stop"
    finally:
        q.shutdown()
