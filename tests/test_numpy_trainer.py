"""The from-scratch numpy engine trains the course's SimpleConvNet like the PyTorch path: same initial
weights, same batches, the same loss step for step (float64 to 1e-6), and a checkpoint PyTorch can use."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from playground.data.datasets import SPLIT_TRAIN, SPLIT_VAL, load_dataset
from playground.nn.architecture import BatchNorm, Conv, Dense, Flatten, ModelSpec
from playground.nn.config import images_to_tensor, make_optimizer
from playground.nn.numpy_trainer import EngineError, NumpyTrainer, network_of
from playground.nn.presets import get_preset
from playground.nn.run import RunSetup
from playground.nn.trainer import TrainConfig, Trainer


@pytest.fixture(scope="module")
def data(mnist_path):
    return (
        load_dataset("mnist", mnist_path, split=SPLIT_TRAIN, seed=0),
        load_dataset("mnist", mnist_path, split=SPLIT_VAL, seed=0),
    )


def _reference_losses(spec, config, train, steps):
    """The PyTorch path's loop in float64: its seeded model, its seeded batch order, its optimizer and schedule,
    its loss (torch's own functions) and the explicit penalty."""
    setup = RunSetup.of(spec, config, train)
    model = setup.initial_model().double()
    order = torch.Generator().manual_seed(setup.seeds[1])
    images, labels = setup.training_images()
    x, y = images_to_tensor(images).double(), torch.from_numpy(labels)
    opt = make_optimizer(model.parameters(), config)
    sched = None
    if config.lr_schedule == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=setup.total_steps + 1)
    perm, losses = torch.randperm(len(x), generator=order), []
    for b in range(steps):
        idx = perm[b * setup.batch_size : (b + 1) * setup.batch_size]
        logits = model(x[idx])
        if config.loss == "mse":
            loss = F.mse_loss(torch.softmax(logits, 1), F.one_hot(y[idx], 10).double())
        else:
            loss = F.cross_entropy(logits, y[idx])
        weights = [p for p in model.parameters() if p.dim() > 1]
        loss = loss + sum(config.l1 * w.abs().sum() + config.l2 / 2 * (w**2).sum() for w in weights)
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
    return losses


CHOICES = [
    dict(),
    dict(loss="mse", l1=1e-4, l2=1e-3, init="he", optimizer="sgd-momentum", lr=0.05),
    dict(init="std", init_std=0.01, l2=1e-2, optimizer="rmsprop", lr=3e-4, lr_schedule="constant"),
]


@pytest.mark.parametrize("choices", CHOICES, ids=["adam-onecycle", "mse-l1-l2-he-momentum", "std-l2-rmsprop"])
def test_numpy_and_pytorch_give_the_same_loss_for_20_steps(data, choices):
    train, _ = data
    spec = get_preset("simple-convnet")
    settings = dict(optimizer="adam", lr=3e-3, batch_size=32, epochs=1, subset=640, lr_schedule="onecycle")
    config = TrainConfig(**{**settings, **choices})
    seen = []
    trainer = NumpyTrainer(spec, config, train, callbacks=[lambda e: seen.append(e.loss) if e.kind == "step" else None])
    result = trainer.run()
    assert result.state == "finished" and len(seen) == 20
    reference = _reference_losses(spec, config, train, 20)
    np.testing.assert_allclose(seen, reference, rtol=1e-6)
    assert seen[-1] < seen[0]  # it learns
    # and the real (float32) PyTorch trainer agrees to float32 precision
    torch_losses = []
    Trainer(spec, config, train, callbacks=[lambda e: torch_losses.append(e.loss) if e.kind == "step" else None]).run()
    np.testing.assert_allclose(seen, torch_losses, rtol=2e-4)


def test_the_trained_weights_score_the_same_in_pytorch(data):
    train, val = data
    config = TrainConfig(optimizer="adam", lr=1e-3, batch_size=64, epochs=1, subset=320)
    trainer = NumpyTrainer(get_preset("simple-convnet"), config, train, val)
    result = trainer.run()
    step, loss, acc = result.val[-1]
    assert step == 5 and math.isfinite(loss)
    with torch.no_grad():
        logits = trainer.model.double()(images_to_tensor(val.images).double())
    torch_acc = float((logits.argmax(1).numpy() == val.labels).mean())
    assert torch_acc == pytest.approx(acc, abs=1e-9)
    assert trainer.metadata()["engine"] == "numpy" and trainer.metadata()["config"]["subset"] == 320


def test_layers_the_numpy_engine_cannot_train_are_refused_by_name():
    spec = ModelSpec("with-bn", (Conv(8, 3), BatchNorm(), Flatten(), Dense(10)))
    with pytest.raises(EngineError, match="with-bn has a batchnorm layer. Use the PyTorch engine"):
        network_of(spec)
    net, names = network_of(get_preset("simple-convnet"))
    assert names == ["conv1", "relu1", "pool1", "flatten", "dense1", "relu2", "dense2"]
    assert net.shapes()[-1] == (10,)
