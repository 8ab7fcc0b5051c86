"""A server-wide queue of training runs: at most `cap` run at once, the others wait in FIFO order.

A lecture server has a few cores and many students; if everyone's training ran at once, every run (and
every page) would crawl. `JobQueue` runs at most `cap` jobs at a time on its own worker threads and keeps
the rest waiting in submission order, so a student can be told "you are 3rd in the queue". A job is
anything with `run()` and `stop()` (a `playground.nn.trainer.Trainer`; the Trainer sets its own torch thread
count, `TrainConfig.threads`, at the start of run()). Nothing here knows about Streamlit or torch.

    queue = JobQueue(cap=2)
    ticket = queue.submit(trainer)      # returns at once
    queue.position(ticket)              # 1, 2, ... while waiting; 0 while running; None when over
    queue.cancel(ticket)                # a waiting job leaves the queue; a running one is told to stop

`default_queue()` is the one queue of this process (the web server's), its cap from
$PLAYGROUND_MAX_TRAININGS (default: the number of CPU cores). When several server processes share the machine
($PLAYGROUND_TRAINING_SLOTS names their pool, `playground.serve.slots`), a job also takes one of the machine's
slots before it starts, so that the processes together train at most that many at once.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from playground.serve.slots import SlotPool, machine_pool

log = logging.getLogger(__name__)
POLL_S = 0.2  # how often a queue whose next job waits for a machine slot held elsewhere looks again
ENV_CAP = "PLAYGROUND_MAX_TRAININGS"
WAITING, RUNNING, DONE, CANCELLED = "waiting", "running", "done", "cancelled"


class Job(Protocol):
    def run(self) -> Any: ...

    def stop(self) -> None: ...


@dataclass(eq=False)
class Ticket:
    """One submitted job. `state` is WAITING, RUNNING, DONE or CANCELLED (set by the queue only)."""

    id: int
    job: Job
    state: str = WAITING
    error: BaseException | None = None  # what run() raised, if anything (it should not)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has ended or was cancelled; True when it has."""
        return self._done.wait(timeout)

    @property
    def over(self) -> bool:
        return self._done.is_set()


class JobQueue:
    """At most `cap` jobs run at once, each on a worker thread of this queue; the rest wait, first in first out.

    Thread-safe: submit, position, cancel and the counts may be called from any thread. Worker threads
    (daemons) are started as needed, up to `cap`, and then wait for work.
    """

    def __init__(self, cap: int, name: str = "playground-job", pool: SlotPool | None = None):
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
            raise ValueError(f"The number of simultaneous jobs must be a whole number of at least 1, not {cap!r}.")
        self.cap, self.name, self.pool = cap, name, pool
        self._cond = threading.Condition()
        self._waiting: deque[Ticket] = deque()
        self._running: set[Ticket] = set()
        self._workers: list[threading.Thread] = []
        self._idle = 0
        self._ids = itertools.count(1)
        self._closed = False

    # ---- any thread ----
    def submit(self, job: Job) -> Ticket:
        """Queue `job`; it runs as soon as fewer than `cap` jobs are running and all before it have started."""
        with self._cond:
            if self._closed:
                raise RuntimeError("The training queue has been shut down.")
            ticket = Ticket(next(self._ids), job)
            self._waiting.append(ticket)
            if self._idle == 0 and len(self._workers) < self.cap:
                worker = threading.Thread(target=self._work, name=f"{self.name}-{len(self._workers) + 1}", daemon=True)
                self._workers.append(worker)
                worker.start()
            self._cond.notify()
        return ticket

    def position(self, ticket: Ticket) -> int | None:
        """1-based place among the waiting jobs (1 = next to start); 0 while running; None when over."""
        with self._cond:
            if ticket.state == RUNNING:
                return 0
            if ticket.state != WAITING:
                return None
            for place, waiting in enumerate(self._waiting, start=1):
                if waiting is ticket:
                    return place
            return None

    def cancel(self, ticket: Ticket) -> bool:
        """Take a waiting job out of the queue (and stop() it), or stop() a running one.

        Returns True when the job was waiting or running. A running job ends after its current step;
        its ticket becomes DONE when run() returns.
        """
        with self._cond:
            state = ticket.state
            if state == WAITING:
                try:
                    self._waiting.remove(ticket)
                except ValueError:
                    pass
                ticket.state = CANCELLED
                ticket._done.set()
        if state in (WAITING, RUNNING):
            self._stop_job(ticket)
            return True
        return False

    def running(self) -> int:
        with self._cond:
            return len(self._running)

    def running_jobs(self) -> list[Job]:
        """The jobs running now (in no particular order)."""
        with self._cond:
            return [ticket.job for ticket in self._running]

    def waiting(self) -> int:
        with self._cond:
            return len(self._waiting)

    def shutdown(self, timeout: float | None = 5.0) -> None:
        """Cancel every waiting job, stop the running ones and end the workers (for tests and benchmarks)."""
        with self._cond:
            self._closed = True
            waiting, self._waiting = list(self._waiting), deque()
            running = list(self._running)
            for ticket in waiting:
                ticket.state = CANCELLED
                ticket._done.set()
            self._cond.notify_all()
        for ticket in waiting + running:
            self._stop_job(ticket)
        for worker in list(self._workers):
            worker.join(timeout)

    # ---- worker threads ----
    @staticmethod
    def _stop_job(ticket: Ticket) -> None:
        try:
            ticket.job.stop()
        except Exception:  # a job that cannot stop must not break the queue
            log.exception("stopping job %s failed", ticket.id)

    def _work(self) -> None:
        while True:
            with self._cond:
                self._idle += 1
                while not self._waiting and not self._closed:
                    self._cond.wait()
                self._idle -= 1
                if self._closed:
                    return
            slot = self.pool.try_acquire() if self.pool is not None else None
            with self._cond:
                if self.pool is not None and slot is None:  # every machine slot is training elsewhere
                    self._cond.wait(POLL_S)  # a new job, a cancel or the shutdown wakes it sooner
                    continue
                if self._closed or not self._waiting:  # cancelled while the slot was being taken
                    if slot is not None:
                        slot.release()
                    continue
                ticket = self._waiting.popleft()
                ticket.state = RUNNING
                self._running.add(ticket)
            try:
                ticket.job.run()
            except Exception as err:  # recorded on the ticket; the worker lives on
                log.exception("job %s failed", ticket.id)
                ticket.error = err
            finally:
                if slot is not None:
                    slot.release()
                with self._cond:
                    self._running.discard(ticket)
                    ticket.state = DONE
                    ticket._done.set()


def max_trainings() -> int:
    """The server-wide cap: $PLAYGROUND_MAX_TRAININGS when it is a whole number >= 1, else the CPU count."""
    raw = os.environ.get(ENV_CAP, "").strip()
    default = os.cpu_count() or 1
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        log.warning("%s=%r is not a whole number of at least 1; using %d", ENV_CAP, raw, default)
        return default
    return value


_default: JobQueue | None = None
_default_lock = threading.Lock()


def default_queue() -> JobQueue:
    """The one training queue of this process, created on first use with cap `max_trainings()`."""
    global _default
    with _default_lock:
        if _default is None:
            cap = max_trainings()
            _default = JobQueue(cap, name="playground-trainer", pool=machine_pool(cap))
        return _default
