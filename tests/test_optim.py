"""The numpy optimizers and schedules against the PyTorch path's own (make_optimizer + its schedulers)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from playground.nn.config import TrainConfig, make_optimizer
from playground.ops import OpError
from playground.ops.optim import OPTIMIZERS, SCHEDULES, Optimizer, base_momentum, schedule

TOTAL = 30


def _torch_schedule(opt, kind: str, cfg: TrainConfig):
    """The schedulers exactly as playground.nn.trainer makes them."""
    if kind == "cosine":
        decay = lambda s: 0.5 * (1 + math.cos(math.pi * min(s, TOTAL) / TOTAL))  # noqa: E731
        return torch.optim.lr_scheduler.LambdaLR(opt, decay)
    if kind == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=TOTAL + 1)
    return None


@pytest.mark.parametrize("kind", SCHEDULES)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_and_schedule_steps_like_pytorch(name, kind):
    rng = np.random.default_rng(0)
    start = {"w": rng.normal(size=(4, 3)), "b": rng.normal(size=4)}
    grads = [{k: rng.normal(size=v.shape) for k, v in start.items()} for _ in range(TOTAL)]
    cfg = TrainConfig(optimizer=name, lr=0.05, weight_decay=0.01, lr_schedule=kind)
    leaves = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in start.items()}
    opt = make_optimizer(list(leaves.values()), cfg)
    sched = _torch_schedule(opt, kind, cfg)
    params = {k: v.copy() for k, v in start.items()}
    mine = Optimizer(name, weight_decay=cfg.weight_decay)
    for k, g in enumerate(grads):
        group = opt.param_groups[0]
        lr, momentum = schedule(kind, k, TOTAL, cfg.lr, base_momentum(name, cfg.momentum))
        assert lr == pytest.approx(group["lr"], rel=1e-12)
        torch_m = group["betas"][0] if "betas" in group else group["momentum"]
        assert momentum == pytest.approx(torch_m, rel=1e-12)
        for key, t in leaves.items():
            t.grad = torch.tensor(g[key])
        opt.step()
        if sched is not None:
            sched.step()
        mine.step(params, g, lr, momentum)
        for key, t in leaves.items():
            np.testing.assert_allclose(params[key], t.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_unknown_names_are_refused():
    with pytest.raises(OpError, match="Optimizer 'lion' is not known"):
        Optimizer("lion")
    with pytest.raises(OpError, match="schedule 'step' is not known"):
        schedule("step", 0, 10, 0.1, 0.9)
