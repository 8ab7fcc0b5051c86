"""What the Train page's AppTests share: opening the page, choosing a small run, starting it, reading the
live curve's caption and state, and waiting for the run. The fixtures they use (``mnist_env``,
``release_sessions``) are in conftest.py.

Runs are small (keras-mnist on 256 MNIST images) so each test trains for seconds on one thread.
"""

from __future__ import annotations

import re
import time

from apptest_support import ROOT, rerun, shown
from streamlit.testing.v1 import AppTest

from playground.ui import training

TRAIN = str(ROOT / "playground" / "pages" / "train.py")
SMALL = dict(subset=256, epochs=1)


def open_page(timeout: float = 120) -> AppTest:
    at = AppTest.from_file(TRAIN, default_timeout=timeout)
    at.run()
    assert not at.exception, at.exception
    return at


def configure(at: AppTest, *, preset: str = "keras-mnist", **settings) -> AppTest:
    """Choose a preset and set the numeric/choice settings by their widget keys."""
    at.radio(key="train.model_source").set_value(training.PRESET)
    rerun(at)
    at.selectbox(key="train.preset").set_value(preset)
    for name, value in {**SMALL, **settings}.items():
        widget = (
            at.selectbox(key=f"train.{name}")
            if name in ("optimizer", "lr_schedule")
            else at.number_input(key=f"train.{name}")
        )
        widget.set_value(value)
    return rerun(at)


def start(at: AppTest) -> AppTest:
    assert not at.button(key="train.start").disabled
    at.button(key="train.start").click()
    return rerun(at)


def curve_caption(at: AppTest) -> str:
    found = [c.value for c in at.caption if "training-loss points" in c.value]
    assert len(found) == 1, [c.value for c in at.caption]
    return found[0]


def points(at: AppTest) -> int:
    return int(re.match(r"([\d,]+) training-loss points", curve_caption(at)).group(1).replace(",", ""))


def run_state(at: AppTest) -> str:
    return curve_caption(at).rsplit("state: ", 1)[1]


def until(at: AppTest, predicate, timeout: float = 120.0, pause: float = 0.3) -> AppTest:
    deadline = time.monotonic() + timeout
    while True:
        rerun(at)
        if predicate(at):
            return at
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; page shows: {shown(at)[:2000]}")
        time.sleep(pause)


def done(at: AppTest) -> bool:
    return run_state(at) in ("finished", "stopped", "failed")


def table(at: AppTest):
    return at.dataframe[0].value
