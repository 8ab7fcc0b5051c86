"""Predict first: a student types a cell's value (or the output size) before the page reveals it.

Pure: the truth always comes from the engine's run (``ops.conv_steps`` / ``ops.pool_steps`` and the
output shape); this module only says whether an answer matches it as the page shows numbers, keeps a
score, and draws random practice settings (checked by the engine's output-size formulas) for the
"Random settings" button. No streamlit; ``playground/ui/quiz.py`` draws the questions.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from playground import ops


def is_right(answer: float, truth: float) -> bool:
    """Whether ``answer`` matches ``truth`` as the page writes numbers (cells show up to 2 decimals): within
    0.01, or 0.5 % of a large value."""
    if not (math.isfinite(answer) and math.isfinite(truth)):
        return answer == truth
    return abs(answer - truth) <= max(0.01, 0.005 * abs(truth))


@dataclass(frozen=True)
class Score:
    """This session's answers on one page: how many were right of how many asked."""

    right: int = 0
    asked: int = 0

    def add(self, ok: bool) -> Score:
        return Score(self.right + int(ok), self.asked + 1)

    def __str__(self) -> str:
        if not self.asked:
            return "No answers yet"
        return f"{self.right} right of {self.asked} ({round(100 * self.right / self.asked)} %)"


@dataclass(frozen=True)
class ConvPractice:
    """Random convolution settings whose output size is worth working out (at least 1×1)."""

    size: int  # the input is size×size random numbers
    seed: int
    kernel: tuple[tuple[int, ...], ...]  # k×k small integers
    stride: int
    padding: int
    dilation: int

    @property
    def kernel_rows(self) -> str:
        """The kernel as the page's 'type rows' box takes it."""
        return "\n".join(" ".join(str(v) for v in row) for row in self.kernel)


@dataclass(frozen=True)
class PoolPractice:
    """Random pooling settings the engine accepts (padding at most half the window)."""

    size: int
    seed: int
    kind: str
    window: int
    stride: int
    padding: int


def conv_practice(rng: random.Random) -> ConvPractice:
    """Input 5..12, kernel 1..5, stride 1..3, padding 0..2, dilation 1..2, drawn until the output is at
    least 1×1 by the engine's formula."""
    while True:
        n, k = rng.randint(5, 12), rng.randint(1, 5)
        s = ops.ConvSettings(stride=rng.randint(1, 3), padding=rng.randint(0, 2), dilation=rng.randint(1, 2))
        try:
            ops.conv_output_shape((n, n), (k, k), s)
        except ops.OpError:
            continue
        kernel = tuple(tuple(rng.randint(-2, 2) for _ in range(k)) for _ in range(k))
        return ConvPractice(n, rng.randint(0, 9999), kernel, s.stride[0], s.padding, s.dilation[0])


def pool_practice(rng: random.Random) -> PoolPractice:
    """Input 4..12, window 1..4, stride 1..3, padding 0..window//2, max or average."""
    while True:
        n, w = rng.randint(4, 12), rng.randint(1, 4)
        stride, padding = rng.randint(1, 3), rng.randint(0, w // 2)
        settings = ops.PoolSettings(kind="max", size=(w, w), stride=(stride, stride), padding=padding)
        try:
            ops.pool_output_shape((n, n), settings)
        except ops.OpError:
            continue
        return PoolPractice(n, rng.randint(0, 9999), rng.choice(("max", "avg")), w, stride, padding)
