"""playground.nn.trainer: config validation, learning, reproducibility, stop/pause, NaN guard, evaluate."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from waiting import wait_until

from playground.nn.architecture import Act, BatchNorm, Conv, Dense, Dropout, Flatten, ModelSpec, Pool
from playground.nn.trainer import (
    RECOMMENDED_CONFIG,
    ConfigError,
    TrainConfig,
    Trainer,
    augment_batch,
    data_record,
    evaluate,
    images_to_tensor,
    index_ranges,
)

SMALL = ModelSpec(
    "small", (Conv(8, 3), Act("relu"), Pool("max", 2), Flatten(), Dense(32), Act("relu"), Dropout(0.2), Dense(10))
)


@dataclass(frozen=True)
class Digits:
    """An in-memory stand-in with the fields of playground.data.datasets.Dataset."""

    name: str
    images: np.ndarray
    labels: np.ndarray
    indices: np.ndarray
    source: str
    synthetic: bool
    classes: tuple[str, ...]


def make_data(n: int, seed: int = 0, start: int = 0) -> Digits:
    """Class k is a bright 6×6 block at one of ten places, on noise: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.int64)
    images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    for i, k in enumerate(labels):
        r, c = 2 + 12 * (k // 5), 2 + 5 * (k % 5)
        images[i, r : r + 6, c : c + 4] = 255
    return Digits(
        "blocks",
        images,
        labels,
        np.arange(start, start + n),
        f"blocks {start}-{start + n - 1}",
        True,
        tuple("0123456789"),
    )


DATA = make_data(256)
VAL = make_data(128, seed=1, start=1000)


def cfg(**kw) -> TrainConfig:
    return TrainConfig(**{"threads": 1, "batch_size": 32, "epochs": 3, **kw})


# ---- configuration ----
@pytest.mark.parametrize(
    "field,value,words",
    [
        ("lr", 0.0, "learning rate must be at least 1e-07"),
        ("lr", -1.0, "learning rate"),
        ("lr", 1e7, "at most 1e+06"),
        ("lr", float("nan"), "number"),
        ("batch_size", 0, "batch size"),
        ("batch_size", 32.0, "whole number"),
        ("epochs", 0, "epochs"),
        ("epochs", True, "whole number"),
        ("weight_decay", -0.1, "weight decay"),
        ("momentum", 1.0, "below"),
        ("dropout", 1.0, "dropout probability"),
        ("subset", 0, "subset size"),
        ("seed", -1, "seed"),
        ("threads", 0, "number of threads"),
        ("val_every_steps", 0, "validation interval"),
        ("optimizer", "lbfgs", "optimizer"),
        ("lr_schedule", "step", "schedule"),
        ("augment", "yes", "Augment"),
    ],
)
def test_config_rejects_out_of_range(field, value, words):
    with pytest.raises(ConfigError) as info:
        TrainConfig(**{field: value})
    assert info.value.field == field and words in str(info.value)
    assert str(info.value).endswith(".")


def test_config_aliases_and_round_trip():
    assert TrainConfig(optimizer="momentum").optimizer == "sgd-momentum"
    assert TrainConfig(optimizer="Adam").optimizer == "adam"
    c = TrainConfig(lr=0.1, subset=100, dropout=0.3)
    assert TrainConfig.from_dict(c.to_dict()) == c
    with pytest.raises(ConfigError, match="Unknown training setting 'speed'"):
        TrainConfig.from_dict({"speed": 3})
    assert RECOMMENDED_CONFIG.augment and RECOMMENDED_CONFIG.lr_schedule == "onecycle"


def test_trainer_rejects_data_that_does_not_fit():
    with pytest.raises(ConfigError, match="between 2 and the 256 training images, not 300"):
        Trainer(SMALL, cfg(subset=300), DATA)
    with pytest.raises(ConfigError, match="at least 2 images per batch") as info:
        Trainer(ModelSpec("bn", (Flatten(), BatchNorm(), Dense(10))), cfg(batch_size=1), DATA)
    assert info.value.field == "batch_size"
    conv_bn = ModelSpec("bn", (Conv(2, 3), BatchNorm(), Flatten(), Dense(10)))
    assert Trainer(conv_bn, cfg(batch_size=1, max_steps=5), DATA).run().state == "finished"
    wrong = Digits("x", np.zeros((4, 32, 32), np.uint8), np.zeros(4, np.int64), np.arange(4), "x", True, ("0",))
    with pytest.raises(ConfigError, match="28×28"):
        Trainer(SMALL, cfg(), wrong)
    bad_labels = Digits("x", np.zeros((4, 28, 28), np.uint8), np.full(4, 12), np.arange(4), "x", True, ("0",))
    with pytest.raises(ConfigError, match="between 0 and 9"):
        Trainer(SMALL, cfg(), bad_labels)


# ---- learning and reproducibility ----
def _train(**kw):
    trainer = Trainer(SMALL, cfg(log_every_steps=1, **kw), DATA, VAL)
    return trainer, trainer.run()


@pytest.mark.parametrize(
    "optimizer,lr", [("adam", 3e-3), ("sgd-momentum", 0.05), ("sgd", 0.1), ("adamw", 3e-3), ("rmsprop", 1e-3)]
)
def test_engine_lowers_loss(optimizer, lr):
    trainer, result = _train(optimizer=optimizer, lr=lr, epochs=4)
    losses = [loss for _, loss in result.train_loss]
    assert result.state == "finished" and result.steps == 4 * 8 == len(losses)
    assert np.mean(losses[-4:]) < 0.5 * np.mean(losses[:2]), losses
    assert result.val_acc is not None and result.val_acc > 0.5


@pytest.mark.parametrize(
    "schedule,optimizer", [("cosine", "sgd-momentum"), ("onecycle", "sgd"), ("onecycle", "rmsprop")]
)
def test_schedules_train(schedule, optimizer):
    _, result = _train(lr_schedule=schedule, optimizer=optimizer, lr=0.05 if "sgd" in optimizer else 3e-3, epochs=4)
    losses = [loss for _, loss in result.train_loss]
    assert result.state == "finished" and np.mean(losses[-4:]) < 0.5 * np.mean(losses[:2])


def test_runs_are_reproducible_with_augmentation_and_dropout():
    a, ra = _train(augment=True, seed=7, weight_decay=1e-4, lr=3e-3)
    b, rb = _train(augment=True, seed=7, weight_decay=1e-4, lr=3e-3)
    c, rc = _train(augment=True, seed=8, weight_decay=1e-4, lr=3e-3)
    assert ra.train_loss == rb.train_loss and ra.val == rb.val
    assert all(torch.equal(p, q) for p, q in zip(a.model.state_dict().values(), b.model.state_dict().values()))
    assert ra.train_loss != rc.train_loss


def test_reproducible_while_another_run_trains():
    """Dropout and augmentation use the run's own generators, not torch's global one."""
    _, alone = _train(augment=True, seed=3)
    other = Trainer(SMALL, cfg(epochs=50), DATA)
    other.start()
    try:
        _, shared = _train(augment=True, seed=3)
    finally:
        other.stop()
        assert other.join(10)
    assert alone.train_loss == shared.train_loss


def test_a_run_leaves_the_global_random_state_alone():
    """A run that re-seeded torch's global generator would change another run's weight init mid-build."""
    before = torch.random.get_rng_state()
    _train(augment=True, seed=5, epochs=1)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_history_snapshot_and_metadata():
    events = []
    trainer = Trainer(SMALL, cfg(val_every_steps=3, subset=200), DATA, VAL, callbacks=[events.append])
    assert trainer.snapshot().state == "queued" and trainer.snapshot().epoch == 0
    result = trainer.run()
    snap = trainer.snapshot()
    assert snap.state == "finished" and snap.done and snap.progress == 1.0
    assert trainer.steps_per_epoch == 6 and snap.total_steps == 18 == snap.step
    assert [s for s, _, _ in snap.val] == [3, 6, 9, 12, 15, 18]  # every 3 steps, and each epoch end
    assert [e.step for e in events if e.kind == "val"] == [3, 6, 9, 12, 15, 18]
    assert [e.kind for e in events].count("step") == 18 and events[-1].kind == "end"
    assert [e.epoch for e in events if e.kind == "epoch"] == [1, 2, 3]
    assert snap.images_per_s > 0 and snap.elapsed_s > 0 and snap.eta_s is None
    assert result.val_acc == snap.val[-1][2] and 0 <= result.val_acc <= 1
    meta = trainer.metadata()
    assert meta["data"]["train"]["index_ranges"] == [[0, 199]] and meta["data"]["train"]["count"] == 200
    assert meta["data"]["val"]["index_ranges"] == [[1000, 1127]] and meta["config"]["subset"] == 200
    assert meta["metrics"]["val_acc"] == result.val_acc
    assert trainer.run() is result  # a run happens once


def test_dropout_override_and_threads():
    seen = []
    trainer = Trainer(
        SMALL,
        cfg(dropout=0.0, threads=2, max_steps=2),
        DATA,
        callbacks=[lambda e: seen.append(torch.get_num_threads())],
    )
    assert trainer.model.dropout1.p == 0.0
    thread = threading.Thread(target=trainer.run)
    thread.start()
    thread.join(30)
    assert seen and set(seen) == {2}


# ---- control ----
class HoldAt:
    """A step callback that holds the training thread at step `step` until the test lets it go, and
    records every step with whether it came after `released`."""

    def __init__(self, step: int):
        self.step, self.reached, self.go, self.released = step, threading.Event(), threading.Event(), False
        self.steps: list[tuple[int, bool]] = []

    def __call__(self, event) -> None:
        if event.kind == "step":
            self.steps.append((event.step, self.released))
            if event.step == self.step:
                self.reached.set()
                assert self.go.wait(60)


def test_stop_takes_effect_within_one_step():
    hold = HoldAt(5)
    trainer = Trainer(SMALL, cfg(epochs=100), DATA, callbacks=[hold])
    trainer.start()
    assert hold.reached.wait(60)
    trainer.stop()
    at_stop = trainer.snapshot().step
    hold.go.set()
    assert trainer.join(10)
    snap = trainer.snapshot()
    assert snap.state == "stopped" and at_stop <= snap.step <= at_stop + 1
    assert snap.step < snap.total_steps and snap.train_loss  # history kept
    assert "Stopped at step" in snap.message


def test_stop_from_a_callback_stops_at_that_step():
    holder = {}
    trainer = Trainer(
        SMALL, cfg(), DATA, callbacks=[lambda e: holder["t"].stop() if e.kind == "step" and e.step == 5 else None]
    )
    holder["t"] = trainer
    assert trainer.run().steps == 5


def test_stop_while_queued_and_start_after():
    trainer = Trainer(SMALL, cfg(), DATA)
    trainer.stop()
    assert trainer.snapshot().state == "stopped"
    trainer.start()
    assert trainer.join(1)
    result = trainer.run()
    assert result.state == "stopped" and result.steps == 0


def test_pause_and_resume():
    hold = HoldAt(3)
    trainer = Trainer(SMALL, cfg(epochs=4), DATA, callbacks=[hold])
    trainer.start()
    assert hold.reached.wait(60)
    running = trainer.snapshot()
    assert running.state == "running" and running.images_per_s > 0 and running.eta_s > 0
    trainer.pause()
    hold.go.set()
    wait_until(lambda: trainer.snapshot().state == "paused", what="the paused state")
    held = trainer.snapshot()
    assert held.state == "paused" and held.step == 3 and held.eta_s is None and "Paused at step" in held.message
    copy = trainer.model_copy()
    assert not copy.training
    assert all(torch.equal(a, b) for a, b in zip(copy.state_dict().values(), trainer.model.state_dict().values()))
    hold.released = True
    trainer.resume()
    assert trainer.join(60)
    assert trainer.snapshot().state == "finished" and trainer.snapshot().step == 32
    # no step ran between the pause and the resume: every step before the release is at most the held one
    assert max(step for step, after in hold.steps if not after) == held.step
    assert min(step for step, after in hold.steps if after) == held.step + 1


def test_failing_callback_fails_the_run_with_a_message():
    def boom(event):
        if event.kind == "step" and event.step == 2:
            raise RuntimeError("listener broke")

    result = Trainer(SMALL, cfg(), DATA, callbacks=[boom]).run()
    assert result.state == "failed" and result.message == "Training failed: listener broke." and result.steps == 2


# ---- helpers ----
def test_evaluate_counts():
    trainer, _ = _train(epochs=2)
    res = evaluate(trainer.model, VAL, batch_size=50)
    with torch.no_grad():
        logits = trainer.model.eval()(images_to_tensor(VAL.images))
    y = torch.as_tensor(VAL.labels)
    assert np.array_equal(res.predictions, logits.argmax(1).numpy())
    assert res.loss == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-5)
    assert res.confusion.sum() == len(VAL.labels) and res.confusion.shape == (10, 10)
    assert res.accuracy == pytest.approx(np.trace(res.confusion) / len(VAL.labels))
    for c in range(10):
        mask = VAL.labels == c
        assert res.per_class_accuracy[c] == pytest.approx((res.predictions[mask] == c).mean())
    only_ones = Digits(
        "x",
        VAL.images[VAL.labels == 1],
        VAL.labels[VAL.labels == 1],
        np.arange(int((VAL.labels == 1).sum())),
        "x",
        True,
        VAL.classes,
    )
    partial = evaluate(trainer.model, only_ones)
    assert np.isnan(partial.per_class_accuracy[0]) and not np.isnan(partial.per_class_accuracy[1])


def test_images_to_tensor_normalises():
    x = images_to_tensor(np.array([[[0, 255]]], dtype=np.uint8))
    assert x.shape == (1, 1, 1, 2) and x.dtype == torch.float32
    assert x[0, 0, 0].tolist() == pytest.approx([-0.1307 / 0.3081, (1 - 0.1307) / 0.3081])


def test_augment_batch_is_seeded_and_small():
    x = images_to_tensor(DATA.images[:16])
    a = augment_batch(x, torch.Generator().manual_seed(0))
    b = augment_batch(x, torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and a.shape == x.shape and not torch.equal(a, x)
    assert torch.allclose(augment_batch(x, torch.Generator(), shift_px=0, degrees=0), x, atol=1e-5)
    # the bright block moves by at most 2 px (+1 for rotation about the centre near the block's corner)
    moved = augment_batch(x, torch.Generator().manual_seed(1))
    for i in range(16):
        com = [(torch.argwhere(img[0] > 2.0).float().mean(0)) for img in (x[i], moved[i])]
        assert torch.all((com[0] - com[1]).abs() <= 4.5)


def test_index_ranges_and_data_record():
    assert index_ranges(np.array([5, 0, 1, 2, 3, 9, 10])) == [[0, 3], [5, 5], [9, 10]]
    assert index_ranges(np.array([], dtype=np.int64)) == []
    rec = data_record(DATA, 10)
    assert rec == {"name": "blocks", "source": "blocks 0-255", "synthetic": True, "count": 10, "index_ranges": [[0, 9]]}


def test_stop_while_paused_ends_the_run():
    trainer = Trainer(SMALL, cfg(epochs=20), DATA)
    trainer.pause()  # pausing before the start holds it before step 1
    trainer.start()
    wait_until(lambda: trainer.snapshot().state == "paused")
    assert trainer.snapshot().step == 0
    trainer.stop()
    assert trainer.join(60)
    assert trainer.snapshot().state == "stopped" and trainer.result.steps == 0


# ---- canvas-style copies ----
def test_canvas_copies_add_redrawn_digits_to_every_epoch():
    from playground.nn.trainer import RunSetup

    plain = RunSetup.of(SMALL, cfg(subset=64), DATA)
    setup = RunSetup.of(SMALL, cfg(subset=64, canvas_copies=2), DATA)
    assert (setup.n_train, setup.n_images) == (64, 192) and setup.steps_per_epoch == 3 * plain.steps_per_epoch
    images, labels = setup.training_images()
    assert images.shape == (192, 28, 28) and images.dtype == np.uint8
    assert np.array_equal(images[:64], DATA.images[:64]) and np.array_equal(labels, np.tile(DATA.labels[:64], 3))
    assert not np.array_equal(images[64:128], images[128:])  # each copy is drawn afresh
    again, _ = RunSetup.of(SMALL, cfg(subset=64, canvas_copies=2), DATA).training_images()
    assert np.array_equal(images, again)  # the seed decides every stroke
    other, _ = RunSetup.of(SMALL, cfg(subset=64, canvas_copies=2, seed=1), DATA).training_images()
    assert not np.array_equal(images[64:], other[64:])
    result = Trainer(SMALL, cfg(subset=64, canvas_copies=1, epochs=1), DATA).run()
    assert result.state == "finished" and result.steps == 128 // 32


def test_canvas_copies_are_for_digits_only():
    clothes = dataclasses.replace(DATA, classes=("T-shirt/top",) + tuple("123456789"))
    with pytest.raises(ConfigError, match="redraw handwritten digits") as e:
        Trainer(SMALL, cfg(canvas_copies=1), clothes)
    assert e.value.field == "canvas_copies"
    with pytest.raises(ConfigError, match="between 0 and|at least 0 and at most 8"):
        cfg(canvas_copies=9)


def test_stop_is_honoured_between_validation_batches(monkeypatch):
    """A heavy design validated 1,000 images in batches of 512 and could not be stopped for 90 s; the
    batch now costs about EVAL_BATCH_MACS, and Stop is checked before each one."""
    import playground.nn.config as config_module
    from playground.nn.shapes import infer_shapes, summary_totals

    macs = summary_totals(infer_shapes(SMALL))[1]
    monkeypatch.setattr(config_module, "EVAL_BATCH_MACS", macs * 10)  # 10 images per validation batch
    trainer = Trainer(SMALL, cfg(epochs=1), DATA, make_data(200, seed=5, start=900))
    eval_batches = []

    def on_forward(module, args, output):
        if not module.training:  # a validation batch
            eval_batches.append(len(args[0]))
            trainer.stop()  # pressed while the first validation batch runs

    trainer.model.register_forward_hook(on_forward)
    result = trainer.run()
    assert result.state == "stopped" and result.message.startswith("Stopped at step 8 of 8")
    assert eval_batches == [10]  # the other 19 batches never ran


def test_evaluation_batches_shrink_with_the_cost_of_an_image():
    from playground.nn.config import eval_batch_size

    assert eval_batch_size(100) == 512 and eval_batch_size(4_830_720) == 207  # the playground preset
    assert eval_batch_size(10**8) == 10 and eval_batch_size(10**12) == 1  # the MAC limit, and beyond


def test_a_run_scores_its_test_images_where_it_trains_and_a_stop_abandons_that(monkeypatch):
    import playground.nn.config as config_module
    from playground.nn.shapes import infer_shapes, summary_totals

    test = make_data(300, seed=9, start=2000)
    trainer = Trainer(SMALL, cfg(epochs=1), DATA, VAL, test_data=test)
    result = trainer.run()
    want = evaluate(trainer.model, test)
    assert result.state == "finished" and trainer.test_evaluation is not None
    assert trainer.test_evaluation.accuracy == want.accuracy
    assert (trainer.test_evaluation.predictions == want.predictions).all()

    monkeypatch.setattr(config_module, "EVAL_BATCH_MACS", summary_totals(infer_shapes(SMALL))[1] * 10)
    quitter = Trainer(SMALL, cfg(epochs=1), DATA, None, test_data=test)  # scores 10 images a batch
    scoring = []

    def on_forward(module, args, output):
        if not module.training:  # only the test scoring runs in eval mode here (no validation set)
            scoring.append(len(args[0]))
            quitter.stop()  # the tab closes while the test images are scored

    quitter.model.register_forward_hook(on_forward)
    assert quitter.run().state == "finished"  # the training itself had finished
    assert quitter.test_evaluation is None and len(scoring) == 1


def test_training_accuracy_is_logged_beside_the_training_loss():
    trainer, result = _train(epochs=4)
    snap = trainer.snapshot()
    assert [s for s, _ in snap.train_acc] == [s for s, _ in snap.train_loss] == [s for s, _ in result.train_acc]
    assert all(0.0 <= a <= 1.0 for _, a in snap.train_acc)
    assert snap.train_acc[-1][1] > 0.8 > snap.train_acc[0][1]  # the blocks are learnt


def test_initialisation_loss_and_penalty_choices():
    from playground.nn.config import data_loss, initialise, penalty
    from playground.nn.model import build
    from playground.nn.presets import get_preset

    spec = get_preset("simple-convnet")
    model = initialise(build(spec, seed=0), "std", 0.01, seed=1)
    assert float(model.conv1.weight.detach().std()) == pytest.approx(0.01, rel=0.1) and not model.conv1.bias.any()
    he = initialise(build(spec, seed=0), "he", 0.01, seed=1)
    assert float(he.dense1.weight.detach().std()) == pytest.approx((2 / 4320) ** 0.5, rel=0.05)
    xavier = initialise(build(spec, seed=0), "xavier", 0.01, seed=1)
    assert float(xavier.dense2.weight.detach().std()) == pytest.approx((2 / 110) ** 0.5, rel=0.15)
    default = build(spec, seed=0)
    assert torch.equal(initialise(build(spec, seed=0), "default", 0.01, 1).conv1.weight, default.conv1.weight)
    logits, y = torch.randn(6, 10, generator=torch.Generator().manual_seed(0)), torch.arange(6)
    torch.testing.assert_close(
        data_loss(logits, y, "mse"), F.mse_loss(torch.softmax(logits, 1), F.one_hot(y, 10).float())
    )
    torch.testing.assert_close(data_loss(logits, y), F.cross_entropy(logits, y))
    w = [model.conv1.weight, model.dense1.weight, model.dense2.weight]
    expected = sum(0.1 * t.abs().sum() + 0.05 * (t**2).sum() for t in w)  # biases are not penalised
    torch.testing.assert_close(penalty(model, 0.1, 0.1), expected)
    with pytest.raises(ConfigError, match="Unknown initialisation 'orthogonal'"):
        TrainConfig(init="orthogonal")
    with pytest.raises(ConfigError, match="Unknown loss 'hinge'"):
        TrainConfig(loss="hinge")


def test_the_curve_carries_the_penalty_inside_the_training_loss():
    cfg = TrainConfig(subset=128, batch_size=32, epochs=1, l2=0.01, log_every_steps=1)
    trainer = Trainer(SMALL, cfg, make_data(128), make_data(64, seed=1, start=128))
    snap = (trainer.run(), trainer.snapshot())[1]
    assert [s for s, _ in snap.train_penalty] == [s for s, _ in snap.train_loss] == [1, 2, 3, 4]
    assert all(0 < pen < loss for (_, pen), (_, loss) in zip(snap.train_penalty, snap.train_loss))
