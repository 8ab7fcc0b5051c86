"""The ``nn.Module`` built from an architecture: ``build`` gives an ``nn.Sequential`` with one named child per
layer, so ``forward_all`` returns every activation by name and exported source shares keys.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import torch
from torch import nn

from playground.nn.architecture import (
    LRN,
    LRN_ALPHA,
    LRN_BETA,
    LRN_K,
    Act,
    BatchNorm,
    Conv,
    Dropout,
    Flatten,
    Layer,
    ModelSpec,
    Pool,
)
from playground.nn.shapes import infer_shapes


class SeededDropout(nn.Dropout):
    """nn.Dropout drawing its masks from `self.generator` when set: concurrent runs stay reproducible."""

    generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0 or self.generator is None:
            return super().forward(x)
        keep = torch.empty_like(x).bernoulli_(1 - self.p, generator=self.generator)
        return x * keep.div_(1 - self.p)


def layer_module(layer: Layer, in_shape: tuple[int, ...]) -> nn.Module:
    if isinstance(layer, Conv):
        return nn.Conv2d(
            in_shape[0],
            layer.filters,
            layer.kernel,
            stride=layer.stride,
            padding=layer.padding,
            dilation=layer.dilation,
        )
    if isinstance(layer, Pool):
        return (nn.MaxPool2d if layer.kind == "max" else nn.AvgPool2d)(layer.size, stride=layer.stride or layer.size)
    if isinstance(layer, Act):
        return {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "gelu": nn.GELU}[
            layer.fn
        ]()
    if isinstance(layer, BatchNorm):
        return (nn.BatchNorm2d if len(in_shape) == 3 else nn.BatchNorm1d)(in_shape[0])
    if isinstance(layer, LRN):
        return nn.LocalResponseNorm(layer.size, alpha=LRN_ALPHA, beta=LRN_BETA, k=LRN_K)
    if isinstance(layer, (Dropout, Flatten)):
        return SeededDropout(float(layer.p)) if isinstance(layer, Dropout) else nn.Flatten()
    return nn.Linear(in_shape[0], layer.units)


_INIT_LOCK = threading.Lock()  # weight init uses torch's global generator: one build at a time


def build(spec: ModelSpec, seed: int | None = None) -> nn.Sequential:
    """An nn.Sequential with one named child per layer; forward maps (N, C, H, W) to logits (N, classes).
    A seed makes the initial weights reproducible; torch's global random state is left as it was.
    """
    infos = infer_shapes(spec)
    with _INIT_LOCK, torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        return nn.Sequential(
            OrderedDict((i.name, layer_module(layer, i.in_shape)) for i, layer in zip(infos, spec.layers))
        )


def forward_all(model: nn.Module, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
    """Every layer's output for x (N, C, H, W), keyed by layer name in order; the last is the logits.

    Runs in the model's current mode and grad setting; wrap in torch.no_grad() for display.
    """
    acts: OrderedDict[str, torch.Tensor] = OrderedDict()
    for name, module in model.named_children():
        x = acts[name] = module(x)
    return acts
