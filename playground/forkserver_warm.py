"""Imported once by the training processes' fork server (see `playground.remote`): it runs one optimizer
step of every kind on a tiny model, so the lazy imports and first-call set-up torch does there (1.7–4 s
measured on 2 cores) happen once per server instead of at the start of every training run.

Importing this module has that side effect on purpose; nothing else imports it.
"""
from __future__ import annotations

import torch
from torch import nn

from playground.train_setup import OPTIMIZERS


def warm() -> None:
    torch.set_num_threads(1)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Dropout(0.1), nn.Linear(2 * 13 * 13, 10))
    x, y = torch.zeros(2, 1, 28, 28), torch.zeros(2, dtype=torch.long)
    for name in OPTIMIZERS:
        opt = {"sgd": lambda p: torch.optim.SGD(p, lr=0.01),
               "sgd-momentum": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9),
               "adam": lambda p: torch.optim.Adam(p), "adamw": lambda p: torch.optim.AdamW(p),
               "rmsprop": lambda p: torch.optim.RMSprop(p)}.get(name, lambda p: torch.optim.SGD(p, lr=0.01))(
                   model.parameters())
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        model.eval()(x)


warm()
