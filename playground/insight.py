"""What a trained network does with one digit: prediction with an honest "unsure" notice, feature maps,
first-layer kernels, gradient × input saliency and the softmax + cross-entropy arithmetic.

torch + numpy, no streamlit: the Draw & Predict page and the CLI call these and only display the results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from playground.model import forward_all

UNSURE_BELOW = 0.6          # top probability under this -> say the network is unsure
MIN_INK, MAX_INK = 0.002, 0.6  # share of canvas pixels with ink: below = (almost) empty, above = covered


@dataclass(frozen=True)
class Prediction:
    probabilities: np.ndarray   # (10,) softmax, sums to 1
    label: int
    confidence: float
    unsure: bool
    notice: str                 # "" when the answer can be trusted, else one sentence for the user


@dataclass(frozen=True)
class LayerMaps:
    name: str                   # "conv1", "relu1", "pool1"
    shape: tuple[int, ...]      # (C, H, W)
    maps: np.ndarray            # (C, H, W) float32


@dataclass(frozen=True)
class SoftmaxExplanation:
    logits: np.ndarray          # (K,)
    exps: np.ndarray            # (K,) exp(z_k − max z), the numerically stable form
    probabilities: np.ndarray   # (K,)
    target: int
    loss: float                 # −log p_target
    text: str                   # the arithmetic written out


def predict(model: nn.Module, x: torch.Tensor, *, ink_fraction: float | None = None) -> Prediction:
    """Softmax over the logits of x (1, 1, 28, 28), with a notice instead of a confident wrong answer."""
    with torch.no_grad():
        probs = torch.softmax(model(x), dim=1)[0].double().numpy()
    label = int(probs.argmax())
    confidence = float(probs[label])
    notice = ""
    if ink_fraction is not None and ink_fraction < MIN_INK:
        notice = "The canvas is (almost) empty: draw a digit to get a prediction."
    elif ink_fraction is not None and ink_fraction > MAX_INK:
        notice = "Most of the canvas is covered: draw one digit with thin strokes on the black background."
    elif confidence < UNSURE_BELOW:
        second = int(np.argsort(probs)[-2])
        notice = (f"The network is unsure: {label} at {confidence:.0%}, {second} at {probs[second]:.0%}. "
                  "Try drawing the digit larger or more clearly.")
    return Prediction(probs, label, confidence, bool(notice), notice)


def feature_maps(model: nn.Module, x: torch.Tensor) -> list[LayerMaps]:
    """Every layer output that is still an image (C, H, W) for the single input x (1, C, H, W)."""
    with torch.no_grad():
        acts = forward_all(model, x)
    return [LayerMaps(name, tuple(a.shape[1:]), a[0].float().numpy()) for name, a in acts.items() if a.dim() == 4]


def first_layer_kernels(model: nn.Module) -> np.ndarray:
    """The learned kernels of the first convolution: (F, C, KH, KW)."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            return module.weight.detach().double().numpy().copy()
    raise ValueError("The model has no convolution layer.")


def saliency(model: nn.Module, x: torch.Tensor, target: int) -> np.ndarray:
    """Gradient × input of the target logit, clipped at 0 and scaled to [0, 1]: (H, W).

    Bright pixels are strokes that pushed the network towards ``target``. The model is put in eval mode
    and its weights receive no gradient.
    """
    model.eval()
    x = x.detach().clone().requires_grad_(True)
    logits = model(x)
    (grad,) = torch.autograd.grad(logits[0, target], x)
    # x is normalised, so use the un-normalised brightness (ink = positive) times the gradient
    ink = x.detach() - x.detach().min()
    sal = (grad * ink)[0].sum(0).clamp(min=0).double().numpy()
    top = sal.max()
    return sal / top if top > 0 else sal


def softmax_explanation(logits: np.ndarray, target: int) -> SoftmaxExplanation:
    """Softmax and cross-entropy for ``target``, written out with the actual numbers."""
    z = np.asarray(logits, dtype=np.float64)
    shifted = z - z.max()
    exps = np.exp(shifted)
    probs = exps / exps.sum()
    loss = float(-math.log(max(probs[target], 1e-300)))
    terms = " + ".join(f"{e:.3g}" for e in exps)
    text = (f"p({target}) = e^(z{target} − max z) / Σₖ e^(zₖ − max z) = {exps[target]:.3g} / ({terms}) "
            f"= {probs[target]:.4f};  cross-entropy if the true label is {target}: −ln {probs[target]:.4f} = {loss:.4f}")
    return SoftmaxExplanation(z, exps, probs, int(target), loss, text)
