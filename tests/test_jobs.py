"""playground.serve.jobs: the server-wide training queue (cap, FIFO order, positions, cancel, stop, real Trainers)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from waiting import wait_until

from playground.nn.architecture import Act, Conv, Dense, Flatten, ModelSpec, Pool
from playground.nn.trainer import TrainConfig, Trainer
from playground.serve import jobs
from playground.serve.jobs import CANCELLED, DONE, RUNNING, WAITING, JobQueue


class Blocker:
    """A job that runs until released or stopped, recording when it started and how many ran at once."""

    log: list[str] = []
    active = 0
    peak = 0
    lock = threading.Lock()

    def __init__(self, name: str):
        self.name = name
        self.release = threading.Event()
        self.started = threading.Event()
        self.stopped = False
        self.ran = False

    def run(self) -> str:
        cls = type(self)
        with cls.lock:
            cls.log.append(self.name)
            cls.active += 1
            cls.peak = max(cls.peak, cls.active)
        self.ran = True
        self.started.set()
        self.release.wait(10)
        with cls.lock:
            cls.active -= 1
        return self.name

    def stop(self) -> None:
        self.stopped = True
        self.release.set()


@pytest.fixture(autouse=True)
def fresh_counters():
    Blocker.log, Blocker.active, Blocker.peak = [], 0, 0


@pytest.fixture
def queue():
    q = JobQueue(2, name="test-job")
    yield q
    q.shutdown()


def test_cap_is_respected_and_order_is_fifo(queue):
    jobs_ = [Blocker(f"j{i}") for i in range(6)]
    tickets = [queue.submit(j) for j in jobs_]
    wait_until(lambda: queue.running() == 2)
    assert queue.running() == 2 and queue.waiting() == 4  # both slots busy: nothing else has started
    assert sorted(Blocker.log) == ["j0", "j1"]
    for j in jobs_:  # release one at a time: the next in line starts
        j.release.set()
    assert all(t.wait(5) for t in tickets)
    assert Blocker.peak == 2
    assert Blocker.log[:2] in (["j0", "j1"], ["j1", "j0"])
    assert Blocker.log[2:] == sorted(Blocker.log[2:], key=lambda n: int(n[1:]))  # started in submission order
    assert all(t.state == DONE for t in tickets) and queue.running() == 0 and queue.waiting() == 0


def test_strict_fifo_with_one_slot():
    q = JobQueue(1)
    try:
        jobs_ = [Blocker(f"j{i}") for i in range(5)]
        tickets = [q.submit(j) for j in jobs_]
        for j, t in zip(jobs_, tickets):
            assert j.started.wait(5)
            j.release.set()
            assert t.wait(5)
        assert Blocker.log == ["j0", "j1", "j2", "j3", "j4"] and Blocker.peak == 1
    finally:
        q.shutdown()


def test_positions_count_down_as_jobs_start(queue):
    jobs_ = [Blocker(f"j{i}") for i in range(5)]
    tickets = [queue.submit(j) for j in jobs_]
    wait_until(lambda: queue.running() == 2)
    assert [queue.position(t) for t in tickets] == [0, 0, 1, 2, 3]
    assert [t.state for t in tickets] == [RUNNING, RUNNING, WAITING, WAITING, WAITING]
    jobs_[0].release.set()
    assert tickets[0].wait(5)
    wait_until(lambda: queue.position(tickets[2]) == 0)
    assert [queue.position(t) for t in tickets] == [None, 0, 0, 1, 2]


def test_cancel_while_queued_removes_it_and_stops_the_job(queue):
    jobs_ = [Blocker(f"j{i}") for i in range(5)]
    tickets = [queue.submit(j) for j in jobs_]
    wait_until(lambda: queue.running() == 2)
    assert queue.cancel(tickets[3]) is True
    assert tickets[3].state == CANCELLED and tickets[3].over and jobs_[3].stopped
    assert [queue.position(t) for t in tickets] == [0, 0, 1, None, 2]  # the one behind moved up
    assert queue.cancel(tickets[3]) is False  # cancelling twice does nothing
    for j in jobs_:
        j.release.set()
    assert all(t.wait(5) for t in tickets)
    assert not jobs_[3].ran and "j3" not in Blocker.log


def test_cancel_while_running_stops_it_and_frees_the_slot(queue):
    jobs_ = [Blocker(f"j{i}") for i in range(3)]
    tickets = [queue.submit(j) for j in jobs_]
    assert jobs_[0].started.wait(5) and jobs_[1].started.wait(5)
    assert queue.cancel(tickets[0]) is True and jobs_[0].stopped
    assert tickets[0].wait(5) and tickets[0].state == DONE
    assert jobs_[2].started.wait(5)  # the waiting job got the slot
    for j in jobs_:
        j.release.set()


def test_a_failing_job_is_recorded_and_the_worker_lives_on():
    class Boom:
        def run(self):
            raise RuntimeError("boom")

        def stop(self):
            pass

    q = JobQueue(1)
    try:
        bad = q.submit(Boom())
        good_job = Blocker("after")
        good = q.submit(good_job)
        assert bad.wait(5) and isinstance(bad.error, RuntimeError)
        good_job.release.set()
        assert good.wait(5) and good.error is None and Blocker.log == ["after"]
    finally:
        q.shutdown()


def test_shutdown_cancels_waiting_and_stops_running():
    q = JobQueue(1)
    a, b = Blocker("a"), Blocker("b")
    ta, tb = q.submit(a), q.submit(b)
    assert a.started.wait(5)
    q.shutdown()
    assert a.stopped and b.stopped and tb.state == CANCELLED and ta.wait(5)
    with pytest.raises(RuntimeError, match="shut down"):
        q.submit(Blocker("late"))


@pytest.mark.parametrize("cap", [0, -1, 1.5, True, "2"])
def test_cap_must_be_a_positive_whole_number(cap):
    with pytest.raises(ValueError, match="at least 1"):
        JobQueue(cap)


@pytest.mark.parametrize("raw,expected", [("3", 3), (" 1 ", 1), ("", None), ("0", None), ("many", None), ("-2", None)])
def test_cap_from_the_environment(monkeypatch, raw, expected):
    monkeypatch.setenv(jobs.ENV_CAP, raw)
    monkeypatch.setattr(jobs.os, "cpu_count", lambda: 7)
    assert jobs.max_trainings() == (expected if expected is not None else 7)


def test_default_queue_is_one_per_process(monkeypatch):
    monkeypatch.setattr(jobs, "_default", None)
    monkeypatch.setenv(jobs.ENV_CAP, "3")
    q = jobs.default_queue()
    assert q is jobs.default_queue() and q.cap == 3


# ---- with the real training engine ----
TINY = ModelSpec("tiny", (Conv(4, 3), Act("relu"), Pool("max", 2), Flatten(), Dense(10)))


class Data:
    def __init__(self, n: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.name, self.source, self.synthetic, self.classes = "noise", "noise", True, tuple("0123456789")
        self.images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        self.labels = rng.integers(0, 10, n).astype(np.int64)
        self.indices = np.arange(n)


def trainer(epochs: int = 1) -> Trainer:
    return Trainer(TINY, TrainConfig(batch_size=16, epochs=epochs, threads=1, log_every_steps=1), Data(64))


def test_trainers_run_through_the_queue():
    q = JobQueue(1)
    try:
        first, second = trainer(), trainer()
        tickets = [q.submit(first), q.submit(second)]
        assert all(t.wait(30) for t in tickets)
        assert first.snapshot().state == second.snapshot().state == "finished"
        assert first.snapshot().step == 4 and first.result is not None
    finally:
        q.shutdown()


def test_cancel_a_queued_trainer_and_stop_a_running_one():
    q = JobQueue(1)
    try:
        running, queued = trainer(epochs=500), trainer()
        t_run, t_queued = q.submit(running), q.submit(queued)
        wait_until(lambda: running.snapshot().step > 0, 30)
        assert q.position(t_queued) == 1 and queued.snapshot().state == "queued"
        q.cancel(t_queued)
        assert queued.snapshot().state == "stopped" and q.position(t_queued) is None
        at_cancel = running.snapshot().step
        q.cancel(t_run)
        assert t_run.wait(60)
        snap = running.snapshot()
        assert snap.state == "stopped" and 0 < snap.step < snap.total_steps and snap.train_loss
        assert snap.step <= at_cancel + 1  # it stopped after its current step
    finally:
        q.shutdown()


# ---------------------------------------------------------------- machine-wide slots (several replicas)
def test_queues_sharing_a_slot_pool_train_at_most_its_size_in_total(tmp_path):
    """Two replicas' queues, each allowed 2, share a pool of 2 slots: 4 jobs, never more than 2 at once, and
    one replica's jobs use both slots while the other trains nothing."""
    from playground.serve.slots import SlotPool

    pool = SlotPool(tmp_path / "slots", 2)
    a, b = JobQueue(2, "replica-a", pool=pool), JobQueue(2, "replica-b", pool=SlotPool(tmp_path / "slots", 2))
    try:
        first = [Blocker("a1"), Blocker("a2")]
        tickets = [a.submit(j) for j in first]
        wait_until(lambda: a.running() == 2, what="replica a to use both slots")
        later = [Blocker("b1"), Blocker("b2")]
        waiting = [b.submit(j) for j in later]
        assert pool.held() == 2 and b.running() == 0 and b.waiting() == 2
        assert b.position(waiting[0]) == 1  # next on its replica, waiting for a slot
        first[0].release.set()
        wait_until(lambda: b.running() == 1, what="a freed slot to reach the other replica")
        assert Blocker.peak == 2 and a.running() + b.running() == 2
        for j in first + later:
            j.release.set()
        assert all(t.wait(10) for t in tickets + waiting)
        assert Blocker.peak == 2 and sorted(Blocker.log) == ["a1", "a2", "b1", "b2"]
        assert pool.held() == 0  # every slot given back
    finally:
        a.shutdown()
        b.shutdown()


def test_a_job_waiting_for_a_slot_can_be_cancelled_and_a_dead_process_frees_its_slot(tmp_path):
    import subprocess
    import sys

    from playground.serve.slots import SlotPool

    folder = tmp_path / "slots"
    holder = subprocess.Popen(  # another replica holding the only slot
        [
            sys.executable,
            "-c",
            "import sys; from playground.serve.slots import SlotPool; s = SlotPool(sys.argv[1], 1).try_acquire(); "
            "print('held' if s else 'none', flush=True); sys.stdin.read()",
            str(folder),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        queue = JobQueue(2, "replica", pool=SlotPool(folder, 1))
        gone, kept = Blocker("gone"), Blocker("kept")
        t_gone, t_kept = queue.submit(gone), queue.submit(kept)
        assert not gone.started.wait(0.5)  # the slot is the other process's
        assert queue.cancel(t_gone) and t_gone.state == CANCELLED
        holder.kill()  # the kernel drops a dead process's lock
        holder.wait(10)
        assert kept.started.wait(10) and not gone.ran
        kept.release.set()
        assert t_kept.wait(10) and t_kept.state == DONE
        queue.shutdown()
    finally:
        holder.kill()
        holder.wait(10)


def test_the_pool_comes_from_the_environment(monkeypatch, tmp_path):
    from playground.serve import slots

    monkeypatch.delenv(slots.ENV_SLOTS, raising=False)
    assert slots.machine_pool(2) is None  # one server process: its own cap only
    monkeypatch.setenv(slots.ENV_SLOTS, str(tmp_path / "pool"))
    pool = slots.machine_pool(3)
    assert pool.count == 3 and pool.folder == tmp_path / "pool" and pool.held() == 0
    with pytest.raises(ValueError):
        slots.SlotPool(tmp_path, 0)
