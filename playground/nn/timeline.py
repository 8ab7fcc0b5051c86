"""A run's checkpoint timeline: snapshots of its weights at regular steps, within a memory budget.

Snapshots are taken every ``every`` steps; when the budget is full, every other one is dropped and the
interval doubles, so the snapshots stay evenly spread over the whole run however long it is (the first,
the initial weights, is always kept). numpy only: the weights travel as plain arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

BUDGET_BYTES = 24 * 2**20  # per run, in the training process and again in the server once it ends
MAX_SNAPSHOTS = 40  # a slider of at most this many positions
MIN_SNAPSHOTS = 2  # the initial and the latest weights, even for a model larger than the budget

Weights = dict[str, np.ndarray]


@dataclass
class Timeline:
    """Snapshots (step, weights) in step order; ``offer`` is called after every optimizer step."""

    budget_bytes: int = BUDGET_BYTES
    max_snapshots: int = MAX_SNAPSHOTS
    every: int = 1
    points: list[tuple[int, Weights]] = field(default_factory=list)

    def capacity(self, weights: Weights) -> int:
        """How many snapshots of this size the budget holds (at least MIN_SNAPSHOTS, at most max_snapshots)."""
        size = max(sum(a.nbytes for a in weights.values()), 1)
        return int(min(self.max_snapshots, max(MIN_SNAPSHOTS, self.budget_bytes // size)))

    def offer(self, step: int, weights: Callable[[], Weights]) -> bool:
        """Keep a copy of ``weights()`` when ``step`` is on the interval; True when one was taken."""
        if step % self.every:
            return False
        copy = {k: np.array(v, copy=True) for k, v in weights().items()}
        self.points.append((step, copy))
        if len(self.points) > self.capacity(copy):
            self.points = self.points[::2]  # keeps step 0 and every 2·every-th step
            self.every *= 2
        return True

    def finish(self, step: int, weights: Callable[[], Weights]) -> None:
        """The run's last weights as the last snapshot, wherever the interval stood."""
        if not self.points or self.points[-1][0] != step:
            self.points.append((step, {k: np.array(v, copy=True) for k, v in weights().items()}))

    def steps(self) -> list[int]:
        return [s for s, _ in self.points]

    def nbytes(self) -> int:
        return sum(a.nbytes for _, w in self.points for a in w.values())
