"""Server memory held by training runs that wait in the queue: N sessions press Start while the only
training slot is busy.

Measured in one run as the growth of this process's resident memory (RSS) with N runs queued:
- before: what a queued run used to hold, a whole in-process `Trainer` (its seeded model and a float32
  copy of the training images, built only to validate and to show "queued");
- after: a `ProcessTrainer` today (a `RunSetup`: the validated spec, settings and data sizes).
Both wait on a `JobQueue` with one slot held by a job that never trains.

Run: python -m benchmarks.queued_memory [--sessions 20] [--preset keras-mnist] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import threading

from benchmarks.harness import mnist_dir
from playground.data.datasets import load_dataset
from playground.nn.presets import get_preset
from playground.nn.trainer import RECOMMENDED_CONFIG, Trainer
from playground.serve.jobs import JobQueue
from playground.serve.process_trainer import ProcessTrainer


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class Busy:
    """Holds the one training slot until released."""

    def __init__(self):
        self.release = threading.Event()

    def run(self):
        self.release.wait()

    def stop(self):
        self.release.set()


def queued_growth(make, sessions: int) -> float:
    """MB of resident memory that `sessions` queued runs made by `make()` hold."""
    queue, busy = JobQueue(1), Busy()
    queue.submit(busy)
    gc.collect()
    before = rss_mb()
    runs = [make() for _ in range(sessions)]
    tickets = [queue.submit(run) for run in runs]
    assert all(queue.position(t) for t in tickets), "every run waits in the queue"
    gc.collect()
    grown = rss_mb() - before
    queue.shutdown()
    del runs, tickets
    gc.collect()
    return grown


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--preset", default="keras-mnist")
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    folder = args.data_dir or mnist_dir()
    train = load_dataset("mnist", folder, split="train", download_ok=False)
    val = load_dataset("mnist", folder, split="val", download_ok=False)
    spec, config = get_preset(args.preset), RECOMMENDED_CONFIG
    rss_mb()
    after = queued_growth(lambda: ProcessTrainer(spec, config, train, val), args.sessions)
    before = queued_growth(lambda: Trainer(spec, config, train, val), args.sessions)
    print(
        f"{platform.machine()}, {os.cpu_count()} cores; {args.sessions} sessions queued, {args.preset}, "
        f"{len(train):,} training images"
    )
    print(f"before (a Trainer per queued run): {before:7.1f} MB ({before / args.sessions:.1f} MB a run)")
    print(f"after  (a RunSetup per queued run): {after:7.1f} MB ({after / args.sessions:.2f} MB a run)")


if __name__ == "__main__":
    main()
