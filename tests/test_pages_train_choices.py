"""AppTest for the Train page, part 3: the lectures' training choices: the numpy engine against its PyTorch
twin, loss, initial weights and penalties reaching the run and its curves, and the checkpoint timeline.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from apptest_support import charts, query, rerun, shown
from test_figures import arr
from train_page_support import (
    configure,
    done,
    open_page,
    run_state,
    start,
    table,
    until,
)

from playground.nn.model import build
from playground.nn.numpy_trainer import NumpyTrainer
from playground.nn.presets import PRESETS
from playground.nn.trainer import TrainConfig, Trainer, evaluate
from playground.ui import train_runs

pytestmark = pytest.mark.usefixtures("release_sessions")


# ------------------------------------------------------------------ the from-scratch engine
def test_the_numpy_engine_trains_simple_convnet_like_its_twin_and_refuses_batch_norm(mnist_env):
    at = configure(open_page(), preset="playground")
    rerun(at.radio(key="train.engine").set_value("numpy"))
    assert "has a batchnorm layer. Use the PyTorch engine for it." in shown(at)
    assert at.button(key="train.start").disabled
    code = [c.value for c in next(e for e in at.expander if e.label.startswith("The from-scratch engine")).code]
    assert any("def conv2d_backward" in c for c in code) and any("def _loop" in c for c in code)
    at = configure(at, preset="simple-convnet", subset=128, batch_size=32)
    assert not at.button(key="train.start").disabled
    until(start(at), done, timeout=300)
    assert run_state(at) == "finished"
    bundle = train_runs.load_bundle("mnist")
    config = TrainConfig(
        subset=128, batch_size=32, epochs=1, threads=1, engine="numpy",
        val_every_steps=train_runs.validation_interval(128, 32, 1),
    )  # fmt: skip
    twin = NumpyTrainer(PRESETS["simple-convnet"], config, bundle.train, bundle.val)
    twin.run()
    ev = evaluate(twin.model_copy(), bundle.test)
    assert at.metric[0].label == "Test accuracy" and at.metric[0].value == f"{ev.accuracy:.2%}"
    assert table(at)["Engine"][0] == "numpy, from scratch"


def test_loss_initialisation_and_penalties_reach_the_run_and_its_curves(mnist_env):
    from playground.nn.init_stats import activation_statistics

    at = configure(open_page(), preset="simple-convnet", subset=128, batch_size=32)
    rerun(at.radio(key="train.loss").set_value("mse"))
    assert "L = (1/(N·K)) Σₙ Σₖ (pₙ,ₖ − tₙ,ₖ)²   with p = softmax(z), t one-hot" in shown(at)
    rerun(at.selectbox(key="train.init").set_value("std"))
    rerun(at.number_input(key="train.init_std").set_value(0.05))
    rerun(at.number_input(key="train.l2").set_value(0.01))
    rerun(at.number_input(key="train.l1").set_value(0.0001))
    chart = next(c for c in charts(at) if c["layout"]["annotations"][0]["text"].startswith("mean "))
    bundle = train_runs.load_bundle("mnist")
    config = TrainConfig(init="std", init_std=0.05)
    expected = activation_statistics(PRESETS["simple-convnet"], config, bundle.train.images)
    assert [a["text"] for a in chart["layout"]["annotations"]] == [
        f"mean {s.mean:.3g}, std {s.std:.3g}, {100 * s.dead:.0f} % dead" for s in expected
    ]
    until(start(at), done, timeout=300)
    row = table(at).iloc[0]
    assert (row["Loss"], row["Initial weights"], row["L1"], row["L2"]) == (
        "Mean squared error",
        "Normal, fixed std 0.05",
        0.0001,
        0.01,
    )
    curves = next(c for c in charts(at) if any("penalty" in str(t.get("name")) for t in c["data"]))
    pen = next(t for t in curves["data"] if "penalty" in t["name"])
    loss = next(t for t in curves["data"] if t["name"] == "training loss")
    assert all(0 < p < lo for p, lo in zip(arr(pen["y"]), arr(loss["y"])))  # the penalty is a part of the loss
    assert curves["layout"]["yaxis"]["title"]["text"] == "mean squared error + penalty (training)"
    assert query(at)["loss"] == "mse" and query(at)["init"] == "std" and query(at)["l2"] == "0.01"


def test_the_checkpoint_timeline_scrubs_through_the_runs_weights(mnist_env):
    from playground.imaging.preprocess import normalise
    from playground.nn.insight import predict
    from playground.serve.worker import weights

    at = configure(open_page(), subset=256, batch_size=32)  # keras-mnist: 8 steps, a snapshot after each
    digit = np.zeros((28, 28), np.float32)
    digit[4:24, 13:16] = 1.0  # a "1", as the Draw page leaves its last picture
    at.session_state["draw.last_digit"] = digit
    until(start(at), done)
    assert "9 snapshots of Run 1's weights, from the initial ones to step 8" in shown(at)
    step_text = lambda: next(m.value for m in at.markdown if m.value.startswith("**Snapshot "))  # noqa: E731
    assert step_text() == "**Snapshot 1 of 9: step 0** (epoch 0.00)"
    rerun(at.button(key="train.last").click())
    assert step_text() == "**Snapshot 9 of 9: step 8** (epoch 1.00)"
    rerun(at.button(key="train.previous").click())
    assert step_text() == "**Snapshot 8 of 9: step 7** (epoch 0.88)"
    # the same run outside the app (same seeds): its weights after step 7 read the digit as the page says
    bundle = train_runs.load_bundle("mnist")
    config = TrainConfig(
        subset=256, batch_size=32, epochs=1, threads=1, val_every_steps=train_runs.validation_interval(256, 32, 1)
    )
    seen = {}
    twin = Trainer(PRESETS["keras-mnist"], config, bundle.train, bundle.val,
                   callbacks=[lambda e: seen.setdefault(e.step, weights(twin.model)) if e.kind == "step" else None])  # fmt: skip
    twin.run()
    model = build(PRESETS["keras-mnist"])
    model.load_state_dict({k: torch.from_numpy(v) for k, v in seen[7].items()})
    expected = predict(model.eval(), torch.from_numpy(normalise(digit)))
    said = next(m.value for m in at.markdown if m.value.startswith("At step 7"))
    assert said == f"At step 7 the network reads it as **{expected.label}** ({expected.confidence:.0%})."
