"""AppTest for the Train page: live curves from the background worker, stop/pause, the NaN guard, the engine's
messages next to the controls, the queue, offline data, results that match the engine, save and load.

Runs are small (keras-mnist on 256 MNIST images) so each test trains for seconds on one thread. Expected
numbers come from the engine itself: a finished run is retrained with the same seeded settings outside the
app and must give the same weights and the same test scores as the page shows.
"""

from __future__ import annotations

import io
import re
import shutil
import threading
import time

import numpy as np
import pytest
import streamlit as st
import torch
from apptest_support import ROOT, charts, errors, query, rerun, shown, trace_names
from streamlit.runtime import memory_media_file_storage
from streamlit.testing.v1 import AppTest
from test_figures import arr
from waiting import wait_until

from playground.data import datasets as data_module
from playground.data.datasets import DataError, load_dataset
from playground.nn.architecture import Conv, Dense, Flatten, ModelSpec
from playground.nn.checkpoints import CheckpointError, checkpoint_bytes, load_checkpoint
from playground.nn.model import build
from playground.nn.numpy_trainer import NumpyTrainer
from playground.nn.presets import PRESETS
from playground.nn.trainer import ConfigError, TrainConfig, Trainer, evaluate
from playground.serve import jobs
from playground.ui import train_runs, training

TRAIN = str(ROOT / "playground" / "pages" / "train.py")
SMALL = dict(subset=256, epochs=1)


@pytest.fixture(autouse=True)
def _release_sessions():
    """AppTests of one process share the session-scoped cache: release it (stopping any run) after each test."""
    yield
    st.cache_resource.clear()


@pytest.fixture
def mnist_env(monkeypatch, mnist_path):
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(mnist_path))
    return mnist_path


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


# ------------------------------------------------------------------ first look
def test_page_opens_with_every_control_and_start_ready(mnist_env):
    at = open_page()
    for key in ("subset", "lr", "batch_size", "epochs", "weight_decay", "seed"):
        assert at.number_input(key=f"train.{key}") is not None
    assert at.selectbox(key="train.optimizer").value == "adam"
    assert at.select_slider(key="train.dropout").value == "model"
    assert at.toggle(key="train.augment").value is False
    assert at.radio(key="train.model_source").value == training.BUILD  # the Build page's design first
    assert not at.button(key="train.start").disabled
    assert at.button(key="train.stop").disabled and at.button(key="train.pause").disabled
    assert "MNIST t10k images 0–6,999: 7,000 training images" in shown(at)
    assert "press **Start**" in shown(at)
    assert at.number_input(key="train.subset").max == 7_000


def test_invalid_build_design_blocks_start_with_its_message(mnist_env):
    at = AppTest.from_file(TRAIN, default_timeout=120)
    at.session_state["build.spec"] = ModelSpec("broken", (Conv(8, 30), Flatten(), Dense(10)))
    rerun(at)
    from playground.ui.builder import check

    problem = str(check(ModelSpec("broken", (Conv(8, 30), Flatten(), Dense(10)))).error)
    assert any(problem in e and "cannot be trained" in e for e in errors(at))
    assert at.button(key="train.start").disabled
    rerun(at.radio(key="train.model_source").set_value(training.PRESET))
    assert not errors(at) and not at.button(key="train.start").disabled


def test_invalid_learning_rate_shows_the_engines_sentence_and_blocks_start(mnist_env):
    at = configure(open_page(), lr=0.0)
    with pytest.raises(ConfigError) as expected:
        TrainConfig(lr=0.0)
    assert str(expected.value) in errors(at)
    assert at.button(key="train.start").disabled
    at.number_input(key="train.lr").set_value(0.01)
    rerun(at)
    assert not errors(at) and not at.button(key="train.start").disabled


def test_subset_smaller_than_one_batch_with_batch_norm_after_flatten_is_refused(mnist_env):
    at = open_page()
    spec = ModelSpec("bn-dense", (Conv(4, 3), Flatten(), Dense(16), *PRESETS["playground"].layers[1:2], Dense(10)))
    at.session_state["build.spec"] = spec
    at.number_input(key="train.batch_size").set_value(1)
    rerun(at)
    with pytest.raises(ConfigError) as expected:
        train = load_dataset("mnist", split="train", download_ok=False)
        Trainer(spec, TrainConfig(batch_size=1, subset=7000, threads=1), train)
    assert expected.value.field == "batch_size" and str(expected.value) in errors(at)
    assert at.button(key="train.start").disabled


def test_the_build_pages_design_trains(mnist_env):
    at = AppTest.from_file(TRAIN, default_timeout=120)
    at.session_state["build.spec"] = ModelSpec("mine", (Conv(4, 3), Flatten(), Dense(10)))
    rerun(at)
    for name, value in SMALL.items():
        at.number_input(key=f"train.{name}").set_value(value)
    at = start(rerun(at))
    until(at, done)
    assert run_state(at) == "finished"
    assert list(table(at)["Model"]) == ["Build page design (mine)"] and at.metric[0].label == "Test accuracy"


@pytest.mark.parametrize(
    "n,batch,epochs", [(7000, 64, 1), (7000, 64, 3), (7000, 32, 5), (256, 64, 1), (5000, 100, 2), (7000, 64, 4)]
)
def test_validation_points_are_spread_and_clear_of_epoch_ends(n, batch, epochs):
    every = train_runs.validation_interval(n, batch, epochs)
    per_epoch = n // batch
    total = per_epoch * epochs
    mid = [s for s in range(every, total, every) if s % per_epoch]  # the engine's mid-epoch validations
    points = len(mid) + epochs
    assert min(train_runs.VALIDATIONS_PER_RUN, total) <= points <= 2 * train_runs.VALIDATIONS_PER_RUN + epochs
    if every > 2:
        assert min(min(s % per_epoch, per_epoch - s % per_epoch) for s in mid) >= min(every // 4, 3)
    assert train_runs.validation_interval(n, batch, train_runs.VALIDATIONS_PER_RUN) is None  # epoch ends suffice


@pytest.mark.parametrize(
    "position,words",
    [
        (1, "You are next in the queue"),
        (2, "You are 2nd in the queue"),
        (3, "You are 3rd in the queue"),
        (11, "You are 11th in the queue"),
        (22, "You are 22nd in the queue"),
    ],
)
def test_queue_text_names_the_place(position, words):
    assert training.queue_text(position, 2).startswith(words + ": this server trains 2 models at a time")


# ------------------------------------------------------------------ training live
def test_curves_grow_while_training_and_stop_keeps_the_history(mnist_env):
    at = start(configure(open_page(), epochs=100))
    until(at, lambda a: points(a) >= 1 and run_state(a) == "running")
    first = points(at)
    assert not at.button(key="train.stop").disabled and at.button(key="train.start").disabled
    until(at, lambda a: points(a) > first)
    grown = points(at)
    at.button(key="train.stop").click()
    until(at, done, timeout=30)
    assert run_state(at) == "stopped" and points(at) >= grown
    assert "Stopped at step" in shown(at) and "the curves so far are kept" in shown(at)
    rows = table(at)
    assert list(rows["Run"]) == ["Run 1"] and list(rows["State"]) == ["stopped"]
    assert rows["Images"][0] == 256 and rows["Epochs"][0] == 100 and rows["Steps"][0] < 400
    assert not at.button(key="train.start").disabled and at.button(key="train.stop").disabled
    # a second run: both stay in the table, their curves overlaid
    at = start(configure(at, epochs=1, seed=5))
    until(at, done)
    rows = table(at)
    assert list(rows["Run"]) == ["Run 1", "Run 2"] and list(rows["Seed"]) == [0, 5]
    assert at.multiselect(key="train.compare.2").value == ["Run 1", "Run 2"]
    overlay = [names for names in map(trace_names, charts(at)) if "Run 2 · training loss" in names]
    assert len(overlay) == 1 and "Run 1 · training loss" in overlay[0]
    at.multiselect(key="train.compare.2").set_value(["Run 2"])
    rerun(at)
    assert not any("Run 1 · training loss" in trace_names(spec) for spec in charts(at))


def test_pause_holds_the_step_count_and_resume_continues(mnist_env):
    at = start(configure(open_page(), epochs=100))
    until(at, lambda a: points(a) >= 2)
    at.button(key="train.pause").click()
    until(at, lambda a: run_state(a) == "paused", timeout=30)
    held = points(at)
    assert not at.button(key="train.resume").disabled and at.button(key="train.pause").disabled
    (trainer,) = jobs.default_queue().running_jobs()
    for _ in range(3):  # the paused child keeps reporting; its curve holds
        last = trainer.snapshot()
        wait_until(lambda last=last: trainer.snapshot() is not last, what="a progress report")
    assert points(rerun(at)) == held and "Paused at step" in shown(at)
    at.button(key="train.resume").click()
    until(at, lambda a: points(a) > held, timeout=60)
    at.button(key="train.stop").click()
    until(at, done, timeout=30)


def test_a_diverged_run_says_so_suggests_a_rate_and_offers_no_model(mnist_env):
    at = configure(open_page(), optimizer="sgd", lr=1e6)
    assert "1e+06 is far above the 0.001 to 1 SGD usually trains with: expect the loss to explode." in [
        w.value for w in at.warning
    ]  # beside the learning rate, before Start
    at = start(at)
    until(at, done)
    assert run_state(at) == "failed"
    message = next(e for e in errors(at) if "last good weights were restored" in e)
    assert message.endswith(
        "The learning rate 1e+06 is too large for SGD: try 1 or less (SGD usually trains with 0.001 to 1)."
    )
    assert list(table(at)["State"]) == ["failed"]
    assert "Results on the held-out test images" not in shown(at)  # no scores, no download, no "use"
    assert not [b for b in at.button if b.label == "Use this model on the Draw page"]
    # beside a good run, the diverged run's losses would flatten the other's: the overlay goes logarithmic
    at = start(configure(at, optimizer="adam", lr=1e-3, epochs=1))
    until(at, done)
    assert at.toggle(key="train.compare_log.Run 1.Run 2").value is True
    overlay = next(spec for spec in charts(at) if "Run 2 · training loss" in trace_names(spec))
    assert overlay["layout"]["yaxis"]["type"] == "log"
    at.toggle(key="train.compare_log.Run 1.Run 2").set_value(False)
    rerun(at)
    overlay = next(spec for spec in charts(at) if "Run 2 · training loss" in trace_names(spec))
    assert overlay["layout"]["yaxis"].get("type") != "log"


def test_finished_run_matches_the_engine_and_can_be_saved_and_used(mnist_env, monkeypatch):
    saved: list[bytes] = []
    original = memory_media_file_storage.MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        if filename and filename.endswith(".safetensors"):
            saved.append(bytes(path_or_data))
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(memory_media_file_storage.MemoryMediaFileStorage, "load_and_get_id", keep)
    at = start(configure(open_page()))
    until(at, done)
    assert run_state(at) == "finished"

    # the same run outside the app: same seeds, same weights, same scores
    bundle = train_runs.load_bundle("mnist")
    config = TrainConfig(subset=256, epochs=1, threads=1, val_every_steps=train_runs.validation_interval(256, 64, 1))
    twin = Trainer(PRESETS["keras-mnist"], config, bundle.train, bundle.val)
    twin.run()
    ev = evaluate(twin.model_copy(), bundle.test)
    metric = at.metric[0]
    assert metric.label == "Test accuracy" and metric.value == f"{ev.accuracy:.2%}"
    right = int((ev.predictions == bundle.test.labels).sum())
    assert f"{right:,} of 2,000 right on MNIST t10k images 8,000–9,999" in shown(at)
    assert f"**Misclassified test images** ({2000 - right:,};" in shown(at)
    assert table(at)["Test accuracy"][0] == round(100 * ev.accuracy, 2)

    file = saved[-1]
    loaded = load_checkpoint(file)
    twin_state = twin.model_copy().state_dict()
    assert all(torch.equal(v, twin_state[k]) for k, v in loaded.model.state_dict().items())
    assert loaded.metadata["metrics"]["test_acc"] == ev.accuracy
    assert loaded.metadata["config"]["subset"] == 256
    assert loaded.metadata["data"]["test"]["index_ranges"] == [[8000, 9999]]

    at.button(key="train.use_run").click()
    rerun(at)
    name = at.session_state["models.draw_choice"]
    assert name.startswith("Trained: run 1 (keras-mnist") and name in at.session_state["models.session"]
    assert "This model is in use on the Draw page." in [s.value for s in at.success]

    # the downloaded file loads back on the same page: the same scores, shown twice without a clash
    at.file_uploader(key="train.upload").set_value(("run1.safetensors", file, "application/octet-stream"))
    rerun(at)
    assert [m.value for m in at.metric] == [f"{ev.accuracy:.2%}"] * 2


# ------------------------------------------------------------------ the server-wide queue
class Blocker:
    def __init__(self):
        self.release = threading.Event()

    def run(self):
        self.release.wait(30)

    def stop(self):
        self.release.set()


def test_queue_position_is_shown_and_a_queued_run_can_be_stopped(mnist_env, monkeypatch):
    queue = jobs.JobQueue(1)
    blockers = [Blocker(), Blocker()]
    for b in blockers:
        queue.submit(b)
    monkeypatch.setattr(jobs, "default_queue", lambda: queue)
    try:
        at = start(configure(open_page()))
        assert run_state(at) == "queued"
        assert any("You are 2nd in the queue: this server trains 1 model at a time" in i.value for i in at.info)
        blockers[0].release.set()
        until(at, lambda a: any("You are next in the queue" in i.value for i in a.info), timeout=10)
        at.button(key="train.stop").click()
        until(at, done, timeout=10)
        assert run_state(at) == "stopped" and "Stopped before it started." in shown(at)
        assert queue.waiting() == 0 and not at.metric  # nothing trained, nothing to score
    finally:
        queue.shutdown()


# ------------------------------------------------------------------ data: offline, download
def test_offline_without_files_says_so_and_switches_to_synthetic(monkeypatch, tmp_path):
    calls = []

    def offline(name, dest_dir, **kw):
        calls.append(name)
        raise DataError(
            f"Could not download MNIST file t10k-images-idx3-ubyte.gz into {dest_dir} (cannot find "
            "the server (offline?)); put the files there by hand, or try again when online."
        )

    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(data_module, "download", offline)
    at = open_page(timeout=300)
    assert any("try again when online" in e for e in errors(at)) and at.button(key="train.start").disabled
    rerun(at)
    assert calls == ["mnist"]  # not retried on every rerun
    at.button(key="train.retry_data").click()
    rerun(at)
    assert calls == ["mnist", "mnist"]
    at.button(key="train.switch_synthetic").click()
    rerun(at)
    assert at.selectbox(key="train.dataset").value == "synthetic"
    assert "Synthetic digits (generated by CNN Playground, seed 0) — not MNIST" in shown(at)
    assert not errors(at) and not at.button(key="train.start").disabled


def test_missing_files_are_downloaded_with_progress(monkeypatch, tmp_path, mnist_path):
    reports = []

    def fake_download(name, dest_dir, *, progress=None, **kw):
        dest_dir.mkdir(parents=True, exist_ok=True)
        for f in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
            size = (mnist_path / f).stat().st_size
            for done_ in (0, size // 2, size):
                progress(done_, size)
                reports.append((f, done_, size))
            shutil.copy(mnist_path / f, dest_dir / f)

    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(data_module, "download", fake_download)
    at = open_page()
    assert len(reports) == 6 and reports[-1][1] == reports[-1][2]
    assert "MNIST t10k images 0–6,999: 7,000 training images" in shown(at)
    assert not errors(at) and not at.button(key="train.start").disabled
    assert not at.get("progress")  # the bar is gone once loaded


# ------------------------------------------------------------------ load a saved model
def test_upload_scores_a_saved_model_and_refuses_bad_files(mnist_env):
    spec = PRESETS["keras-mnist"]
    model = build(spec, seed=3)
    good = checkpoint_bytes(model, spec, {"metrics": {"val_acc": 0.5}})
    at = open_page()
    at.file_uploader(key="train.upload").set_value(("mine.safetensors", good, "application/octet-stream"))
    rerun(at)
    ev = evaluate(load_checkpoint(good).model, train_runs.load_bundle("mnist").test)
    assert "Loaded “keras-mnist”" in [s.value for s in at.success][0]
    assert at.metric[0].value == f"{ev.accuracy:.2%}"
    at.button(key="train.use_upload").click()
    rerun(at)
    assert at.session_state["models.draw_choice"] == "Loaded: mine.safetensors"

    buf = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, buf)
    for bad in (b"not a model at all", good[: len(good) // 2], buf.getvalue()):
        with pytest.raises(CheckpointError) as expected:
            load_checkpoint(bad)
        at.file_uploader(key="train.upload").set_value(("bad.safetensors", bad, "application/octet-stream"))
        rerun(at)
        assert str(expected.value) in errors(at) and not at.metric


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
