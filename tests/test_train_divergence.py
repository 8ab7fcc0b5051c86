"""How a run that goes wrong ends: the NaN guard (weights and batch-norm statistics restored), divergence
that stays finite, a run stuck at chance, and the learning-rate advice each of them gives."""

from __future__ import annotations

import torch
from test_train import DATA, SMALL, VAL, cfg

from playground.nn.architecture import Act, BatchNorm, Conv, Dense, Flatten, ModelSpec
from playground.nn.presets import PRESETS
from playground.nn.trainer import Trainer


def test_nan_guard_restores_last_good_weights():
    spec = PRESETS["keras-mnist"]
    trainer = Trainer(spec, cfg(optimizer="sgd", lr=1e6, batch_size=64, epochs=5), DATA)
    weights = [{k: v.clone() for k, v in trainer.model.state_dict().items()}]  # weights[s]: after step s
    trainer.callbacks = (
        lambda e: (
            weights.append({k: v.clone() for k, v in trainer.model.state_dict().items()}) if e.kind == "step" else None
        ),
    )
    result = trainer.run()
    k = result.diverged_at
    assert result.state == "failed" and k is not None and k >= 2
    assert f"at step {k} " in result.message
    assert result.message.endswith("too large for SGD: try 1 or less (SGD usually trains with 0.001 to 1).")
    assert "100000" not in result.message  # 10× smaller than 1e6 is still absurd: the usual range is named
    assert len(weights) == k  # steps 1..k-1 completed; step k's loss was not finite
    restored = trainer.model.state_dict()
    assert all(torch.isfinite(v).all() for v in restored.values())
    assert all(torch.equal(restored[name], weights[k - 2][name]) for name in restored)  # gave step k-1 a finite loss
    assert trainer.snapshot().diverged_at == k and result.train_loss[-1][0] == k - 1


def test_a_loss_far_above_its_start_ends_the_run_as_diverged():
    """Adam at 1e6 used to end "Finished" at chance accuracy: every loss was finite, just enormous."""
    result = Trainer(SMALL, cfg(optimizer="adam", lr=1e6, epochs=4), DATA, VAL).run()
    assert result.state == "failed" and result.diverged_at == 20
    assert result.message.startswith("The training loss rose to ") and "by step 20 (epoch 3)" in result.message
    assert result.message.endswith("too large for Adam: try 0.01 or less (Adam usually trains with 1e-05 to 0.01).")
    slightly = Trainer(SMALL, cfg(optimizer="adam", lr=1.0, epochs=4), DATA, VAL).run()
    assert slightly.state == "failed" and slightly.message.endswith("too large for Adam: try 0.1 or 0.01.")


def test_a_run_at_chance_after_an_epoch_with_a_flat_loss_stops_and_says_why():
    result = Trainer(SMALL, cfg(optimizer="adam", lr=1e-7, epochs=5), DATA, VAL).run()
    assert result.state == "failed" and result.steps == 24  # judged at the first epoch end after 20 steps
    assert result.message.startswith("After epoch 3 the model is no better than guessing (")
    assert result.message.endswith("The learning rate 1e-07 is very small for Adam: try 1e-06 or 1e-05.")
    assert Trainer(SMALL, cfg(optimizer="adam", lr=3e-3, epochs=3), DATA, VAL).run().state == "finished"
    # two epochs of 8 steps are too few to judge: the run ends as it is
    assert Trainer(SMALL, cfg(optimizer="adam", lr=1e-7, epochs=2), DATA, VAL).run().state == "finished"


def test_nan_batch_norm_statistics_are_caught_and_restored_with_the_weights():
    """The loss uses the batch's own statistics, so it stayed finite while bn1.running_var became NaN;
    the run then "restored the last good weights" and kept the NaN statistics."""
    spec = ModelSpec("bn", (Conv(4, 3), BatchNorm(), Act("relu"), Flatten(), Dense(10)))
    trainer = Trainer(spec, cfg(epochs=2), DATA)
    calls = []

    def poison(module, args):
        calls.append(module.training)
        if module.training and len(calls) == 4:  # the 4th training step
            module.running_var.fill_(float("nan"))

    trainer.model.bn1.register_forward_pre_hook(poison)
    result = trainer.run()
    assert result.state == "failed" and result.diverged_at == 4
    assert result.message.startswith("The batch-norm statistics became NaN or infinite at step 4 (epoch 1)")
    assert all(torch.isfinite(b).all() for b in trainer.model.buffers() if b.is_floating_point())


def test_learning_rates_far_outside_the_usual_range_are_named():
    from playground.nn.config import rate_warning, smaller_rates

    assert rate_warning(1e-3, "adam") is None and rate_warning(0.05, "sgd") is None
    assert rate_warning(1e6, "adam") == (
        "1e+06 is far above the 1e-05 to 0.01 Adam usually trains with: expect the loss to explode."
    )
    assert rate_warning(1e-7, "sgd").startswith("1e-07 is far below the 0.001 to 1 SGD usually trains with")
    assert smaller_rates(0.5, "sgd") == "try 0.05 or 0.005" and smaller_rates(1000, "sgd").startswith("try 1 or less")
