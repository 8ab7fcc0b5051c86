"""The Backpropagation page's figures, read back from their specs: the gradient fills in step by step with
the engine's numbers, the current cell is outlined and the cells the step read are marked."""

from __future__ import annotations

import numpy as np
import pytest
from test_figures import arr, cells, shapes_on, traces, valid

from playground.figures import backprop as fb
from playground.ops import samples
from playground.ops.backprop_run import BackpropSettings, compute
from playground.ops.padding import pad

RUN = compute(samples.digit(3, 8))
PADDED = compute(samples.digit(3, 8), BackpropSettings(padding=1, pool_kind="avg", loss="mse"))
FILLED = {  # stage -> (title of the panel it fills, the engine array it shows)
    "loss": ("dz2", lambda a, r: a["dz2"][:, None]),
    "dense_w": ("dW2", lambda a, r: a["dW2"]),
    "dense_b": ("db2", lambda a, r: a["db2"][:, None]),
    "dense_x": ("df", lambda a, r: a["df"][:, None]),
    "act": ("dz1[", lambda a, r: a["dz1"][r.cell[0]]),
    "conv_w": ("dW1[", lambda a, r: a["dW1"][r.cell[0]]),
    "conv_b": ("db1", lambda a, r: a["db1"][:, None]),
    "conv_x": ("dx", lambda a, r: a["dx"]),
}


def _panel(spec: dict, prefix: str) -> tuple[dict, str]:
    """The heatmap whose panel title starts with ``prefix``, and its x axis ref."""
    titles = {a["xref"].split()[0]: a["text"] for a in spec["layout"]["annotations"] if "domain" in str(a["xref"])}
    ref = next(x for x, t in titles.items() if t.startswith(prefix))
    return next(t for t in spec["data"] if t["xaxis"] == ref), ref


@pytest.mark.parametrize("run", [RUN, PADDED], ids=["default", "padded-avg-mse"])
@pytest.mark.parametrize("stage", list(FILLED))
def test_the_gradient_fills_in_with_the_engines_numbers(run, stage):
    records = run.stages[stage]
    for index in sorted({0, len(records) // 2, len(records) - 1}):
        r = records[index]
        spec = valid(fb.stage_figure(run.arrays, stage, records, index))
        title, full = FILLED[stage]
        trace, ref = _panel(spec, title)
        z = arr(trace["z"])
        want = full(run.arrays, r)
        shown = np.isfinite(z)
        np.testing.assert_allclose(z[shown], want[shown], rtol=1e-12, atol=1e-15)
        done = [s for s in records[: index + 1] if stage not in ("act", "conv_w") or s.cell[0] == r.cell[0]]
        assert shown.sum() == len(done)
        current = r.cell[1:] if stage in ("act", "conv_w") else (r.cell if len(r.cell) == 2 else (r.cell[0], 0))
        outlined = [cells(s) for s in shapes_on(spec["layout"], ref) if s.get("line", {}).get("color") == fb.WINDOW]
        assert (current[0], current[0], current[1], current[1]) in outlined
        caption = spec["layout"]["annotations"][-1]["text"]
        assert caption.startswith(f"Step {index + 1} of {len(records)}: {r.target}[")


def test_conv_weight_step_marks_the_input_cells_it_multiplies():
    records = RUN.stages["conv_w"]
    r = records[4]  # dW1[0,1,1]: the 6×6 block of x starting at (1, 1)
    spec = valid(fb.stage_figure(RUN.arrays, "conv_w", records, 4))
    trace, ref = _panel(spec, "x")
    np.testing.assert_array_equal(arr(trace["z"]), RUN.arrays["xp"])
    washed = {cells(s)[::2] for s in shapes_on(spec["layout"], ref) if s.get("fillcolor") == fb.READ_FILL}
    assert washed == {(i, j) for i in range(1, 7) for j in range(1, 7)} == set(r.reads["x"])


def test_pool_step_rings_the_winner_and_routes_into_da1():
    records = RUN.stages["pool"]
    spec = valid(fb.stage_figure(RUN.arrays, "pool", records, 0))
    _, ref = _panel(spec, "a1[0]")
    ringed = [cells(s) for s in shapes_on(spec["layout"], ref) if s["line"]["color"] == fb.CHOSEN]
    (_, r, c) = records[0].writes[0]
    assert ringed == [(r, r, c, c)]
    trace, _ = _panel(spec, "da1[0]")
    z = arr(trace["z"])
    assert z[r, c] == records[0].result and np.isfinite(z).sum() == 1


def test_forward_flatten_and_update_figures():
    spec = valid(fb.forward_figure(RUN.arrays, 1, RUN.step.loss))
    np.testing.assert_array_equal(arr(_panel(spec, "z1[1]")[0]["z"]), RUN.arrays["z1"][1])
    np.testing.assert_array_equal(arr(_panel(spec, "p1[1]")[0]["z"]), RUN.arrays["p1"][1])
    np.testing.assert_array_equal(arr(_panel(spec, "x 8×8")[0]["z"]), RUN.arrays["x"])
    spec = valid(fb.flatten_figure(RUN.arrays))
    np.testing.assert_array_equal(arr(_panel(spec, "dp1[1]")[0]["z"]), RUN.arrays["dp1"][1])
    np.testing.assert_array_equal(RUN.arrays["dp1"].ravel(), RUN.arrays["df"])  # the reshape the figure shows
    records = RUN.stages["update"]
    last_w1 = max(i for i, r in enumerate(records) if r.target == "W1")
    spec = valid(fb.stage_figure(RUN.arrays, "update", records, last_w1))
    after = arr(_panel(spec, "W1[1] after")[0]["z"])
    np.testing.assert_array_equal(after, RUN.step.params_after["0.w"][1, 0])
    assert np.array_equal(pad(RUN.arrays["x"], (1, 1, 1, 1)), PADDED.arrays["xp"])
    assert traces(spec, "W1[1]")  # the trace names are the panel's array


def test_numbers_are_sized_to_fit_their_cells():
    """Every panel's numbers fit its cells at the width the module sizes for (the page hides what does not)."""
    for stage in FILLED:
        spec = valid(fb.stage_figure(RUN.arrays, stage, RUN.stages[stage], 0))
        for t in spec["data"]:
            if "text" not in t:
                continue
            longest = max(len(s) for row in t["text"] for s in row)
            assert t["textfont"]["size"] * 0.6 * longest <= fb.MAX_CELL, (stage, t["name"])
