"""AppTest for the Train page, part 1: every control and bad setting (the engine's messages next to the
controls), live curves from the background worker, stop/pause, the NaN guard, and a finished run that
matches the engine (retrained with the same seeded settings outside the app: the same weights and test
scores) and can be saved and used. Parts 2 and 3: test_pages_train_data.py, test_pages_train_choices.py.
"""

from __future__ import annotations

import pytest
import torch
from apptest_support import charts, errors, rerun, shown, trace_names
from streamlit.runtime import memory_media_file_storage
from streamlit.testing.v1 import AppTest
from train_page_support import (
    SMALL,
    TRAIN,
    configure,
    done,
    open_page,
    points,
    run_state,
    start,
    table,
    until,
)
from waiting import wait_until

from playground.data.datasets import load_dataset
from playground.nn.architecture import Conv, Dense, Flatten, ModelSpec
from playground.nn.checkpoints import load_checkpoint
from playground.nn.presets import PRESETS
from playground.nn.trainer import ConfigError, TrainConfig, Trainer, evaluate
from playground.serve import jobs
from playground.ui import train_runs, training

pytestmark = pytest.mark.usefixtures("release_sessions")


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
