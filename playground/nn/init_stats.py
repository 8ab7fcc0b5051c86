"""What a network computes before it has learnt anything: each activation layer's values at initialisation
on a batch of training images (mean, std, the share of ReLU units that never fire, a histogram), so the
effect of the initial weights can be seen — a deep sigmoid network with std 0.01 goes silent, He keeps
the ReLUs alive.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from playground.nn.architecture import Act, ModelSpec
from playground.nn.config import TrainConfig, images_to_tensor
from playground.nn.model import forward_all
from playground.nn.run import initial_model
from playground.nn.shapes import infer_shapes

BATCH = 256  # images the statistics are measured on
BINS = 24


@dataclass(frozen=True, eq=False)
class ActivationStats:
    """One activation layer's outputs over the batch."""

    name: str  # the layer's name in the model ("relu1")
    fn: str  # the activation ("relu", "sigmoid", ...)
    mean: float
    std: float
    dead: float | None  # ReLU: share of units (channel and position) that are 0 for every image; else None
    counts: np.ndarray  # (BINS,) histogram of every value
    edges: np.ndarray  # (BINS + 1,)


def activation_statistics(spec: ModelSpec, config: TrainConfig, images: np.ndarray) -> list[ActivationStats]:
    """Statistics of every activation layer of ``spec``'s initial model (as ``config`` draws it) on the
    first BATCH of ``images`` (N, 28, 28) uint8, in evaluation mode (dropout off)."""
    infos = infer_shapes(spec)
    model = initial_model(spec, config).eval()
    x = images_to_tensor(np.asarray(images[:BATCH]))
    with torch.no_grad():
        outputs = forward_all(model, x)
    stats = []
    for info, layer in zip(infos, spec.layers):
        if not isinstance(layer, Act):
            continue
        v = outputs[info.name].double().numpy()
        flat = v.ravel()
        dead = float((v <= 0).all(axis=0).mean()) if layer.fn == "relu" else None
        low, high = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}.get(layer.fn, (float(flat.min()), float(flat.max())))
        counts, edges = np.histogram(flat, bins=BINS, range=(low, high if high > low else low + 1e-9))
        stats.append(ActivationStats(info.name, layer.fn, float(flat.mean()), float(flat.std()), dead, counts, edges))
    return stats
