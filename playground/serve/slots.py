"""Training slots shared by every server process on one machine: at most N trainings at once, in total.

Several replicas behind nginx (``scripts/serve-class.sh``) each have their own training queue. Given a fixed
share of the cores each (cores ÷ replicas), one replica's students would wait while the other replica's
share lay idle. Instead every queue takes a slot from one pool before a training starts: N lock files in one
folder (``$PLAYGROUND_TRAINING_SLOTS``, which serve-class.sh sets), each held with an exclusive advisory lock
(``fcntl.flock``) for as long as its training runs. The kernel drops the locks of a process that dies, so a
crashed replica never keeps a slot. Without the variable (one server process) there is no pool and the queue's
own cap is the only bound.

    pool = SlotPool("/tmp/slots", 2)
    slot = pool.try_acquire()   # a Slot, or None while every slot is held (by any process)
    slot.release()
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)
ENV_SLOTS = "PLAYGROUND_TRAINING_SLOTS"  # the folder of the machine-wide pool; unset: no pool

try:  # POSIX: the pool's locks; elsewhere there is no pool (one server process per machine)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class Slot:
    """One held slot: its lock file stays locked until ``release()`` (or until this process ends)."""

    def __init__(self, fd: int, index: int):
        self._fd, self.index = fd, index

    def release(self) -> None:
        if self._fd < 0:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = -1


class SlotPool:
    """``count`` slots as lock files ``slot-0.lock`` … in ``folder``, shared by every process that uses it."""

    def __init__(self, folder: str | Path, count: int):
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"A slot pool needs a whole number of at least 1 slot, not {count!r}.")
        self.folder, self.count = Path(folder), count
        self.folder.mkdir(parents=True, exist_ok=True)

    def try_acquire(self) -> Slot | None:
        """A free slot, locked for this caller; None while all ``count`` are held (by this or another process)."""
        for index in range(self.count):
            fd = os.open(self.folder / f"slot-{index}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # held elsewhere (BlockingIOError), or a file system without locks
                os.close(fd)
                continue
            return Slot(fd, index)
        return None

    def held(self) -> int:
        """How many slots are held right now, by any process (a snapshot, for reports and tests)."""
        free = []
        while (slot := self.try_acquire()) is not None:
            free.append(slot)
        for slot in free:
            slot.release()
        return self.count - len(free)


def machine_pool(count: int) -> SlotPool | None:
    """The pool named by $PLAYGROUND_TRAINING_SLOTS with ``count`` slots, or None when it is unset (or the
    platform has no file locks)."""
    folder = os.environ.get(ENV_SLOTS, "").strip()
    if not folder or fcntl is None:
        return None
    try:
        return SlotPool(folder, count)
    except OSError as err:
        log.warning("the training slots folder %s cannot be used (%s): this process trains on its own cap", folder, err)
        return None
